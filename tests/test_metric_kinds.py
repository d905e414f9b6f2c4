"""plugins/metric_kinds.py: the built-in metric kinds and `average_deal_size`."""
from __future__ import annotations

import datetime as dt
from types import SimpleNamespace

import jsonschema
import pytest

from flowctl.metric_definitions import DEFINITIONS, KINDS
from flowctl.plugins.metric_kinds import AVERAGE_DEAL_SIZE_SCHEMA, AverageDealSize, flowctl_metric_kinds
from flowctl.workflow import load_workflow

NOW = dt.date(2026, 3, 31)


def _average(config: dict, deals: list[tuple[str, float]]) -> object:
    kind = AverageDealSize(config, None, NOW)  # type: ignore[arg-type]
    for outcome, amount in deals:
        kind.add(SimpleNamespace(outcome=outcome, amount=amount))  # type: ignore[arg-type]
    return kind.result()


@pytest.mark.parametrize("config,deals,value", [
    ({}, [], None),
    ({}, [("won", 100), ("won", 201), ("lost", 1000), ("open", 5)], 150.5),
    ({"outcome": None}, [("won", 10)], 10.0),  # no outcome: won
    ({"outcome": "lost"}, [("won", 100), ("lost", 30), ("lost", 40)], 35.0),
    ({"outcome": "open"}, [("won", 100)], None),
    ({}, [("won", 1), ("won", 1), ("won", 2)], 1.33),
])
def test_average_deal_size(config, deals, value):
    assert _average(config, deals) == (value, {})


@pytest.mark.parametrize("config,valid", [({}, True), ({"outcome": "lost"}, True), ({"outcome": "Won"}, False),
                                          ({"stage": "x"}, False)])
def test_average_deal_size_keys(config, valid):
    assert jsonschema.Draft202012Validator(AVERAGE_DEAL_SIZE_SCHEMA).is_valid(config) is valid


def test_every_builtin_kind_is_registered_with_its_definition():
    kinds = {k.name: k for k in flowctl_metric_kinds()}
    assert set(kinds) == {*KINDS, "average_deal_size"}
    assert all(kinds[name].description == DEFINITIONS.get(name, "") for name in KINDS)
    assert kinds["average_deal_size"].make is AverageDealSize
    assert kinds["average_deal_size"].config_schema is AVERAGE_DEAL_SIZE_SCHEMA


def test_a_builtin_kinds_make_gives_a_fresh_accumulator(project):
    wf = load_workflow(project.workflow)[0]
    kinds = {k.name: k for k in flowctl_metric_kinds()}
    for name, cls in KINDS.items():
        first, second = kinds[name].make({"id": "m", "kind": name}, wf, NOW), kinds[name].make({"id": "m", "kind": name}, wf, NOW)
        assert isinstance(first, cls) and first is not second
