"""The backtest's origins and the choice of the default method (engine/backtest.py)."""
from __future__ import annotations

import datetime as dt
import json

import pytest

from flowctl.backtest import FALLBACK_METHOD, choose_default, parse_every, schedule


def test_monthly_and_daily_schedules():
    assert schedule(dt.date(2017, 4, 1), dt.date(2017, 10, 1), (1, "mo")) == [dt.date(2017, m, 1) for m in range(4, 11)]
    assert schedule(dt.date(2017, 1, 31), dt.date(2017, 3, 31), (1, "mo")) == [
        dt.date(2017, 1, 31), dt.date(2017, 2, 28), dt.date(2017, 3, 31)]
    assert schedule(dt.date(2017, 1, 1), dt.date(2017, 1, 20), parse_every("1w")) == [
        dt.date(2017, 1, 1), dt.date(2017, 1, 8), dt.date(2017, 1, 15)]
    for bad in ("0mo", "monthly", "1y", ""):
        with pytest.raises(ValueError):
            parse_every(bad)


def methods(**mapes):
    return {"methods": {n: {"mape": m, "origins": o} for n, (m, o) in mapes.items()}}


def test_default_is_the_lowest_error_with_enough_history():
    assert choose_default(methods(weighted=(0.3, 6), historical=(0.1, 6)))[0] == "historical"
    name, why = choose_default(methods(weighted=(0.3, 2), historical=(0.1, 2)))
    assert name == FALLBACK_METHOD and "too little history" in why
    name, why = choose_default(methods(weighted=(0.1, 6), historical=(0.1, 6)))
    assert name == "weighted" and "tie" in why


@pytest.mark.parametrize("step", ["0d", "0w", "0mo"])
def test_a_backtest_step_of_nothing_is_a_usage_error(step, tmp_path):
    from flowctl.testing import invoke_cli as invoke
    from conftest import Project
    project = Project(tmp_path)
    project.deal("A")
    result = invoke("forecast", "--backtest", "--step", step, "-w", project.workflow, project.deals, "--now", "2026-06-01")
    assert result.exit_code == 2, result.output
    assert "--step" in result.output and "Traceback" not in result.output


def test_repeated_origins_are_backtested_once(tmp_path):
    from flowctl.testing import invoke_cli as invoke
    from conftest import Project
    project = Project(tmp_path)
    project.deal("A")
    result = invoke("forecast", "--backtest", "--from", "2026-01-01", "--to", "2026-01-01", "-w", project.workflow,
                    project.deals, "--now", "2026-06-01", "--format", "json")
    assert result.exit_code in (0, 1), result.output  # 1: one deal is too little history to score
    origins = [row["origin"] for row in json.loads(result.stdout)["origins"]]
    assert origins == ["2026-01-01"]  # once, though --from and --to name it both
