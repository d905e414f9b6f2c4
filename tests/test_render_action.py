"""plugins/render_action.py: `uses: render` writes the rendered template to one file per deal
inside the artifacts folder, whatever the deal id or `output:` holds; a dry run writes none."""
from __future__ import annotations

import datetime as dt
import types
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from flowctl.hooktypes import ActionContext, ActionOutcome
from flowctl.plugins import render_action


def context(out_dir: Path, deal_id: str = "ACME-1", dry_run: bool = False, **params: Any) -> ActionContext:
    """A render job's context whose render() gives the template name, the locale and the deal id back."""
    def render(template: str, locale: str | None = None, **_: Any) -> str:
        return f"{template} in {locale} for {deal_id} — ü\n"

    return ActionContext(deal={"id": deal_id}, state=types.SimpleNamespace(id=deal_id),  # type: ignore[arg-type]
                         job=types.SimpleNamespace(id="render-proposal"), params={"template": "proposal.html.j2",
                                                                                   **params},  # type: ignore[arg-type]
                         workflow=None, now=dt.date(2026, 11, 2), out_dir=out_dir, dry_run=dry_run,  # type: ignore[arg-type]
                         render=render, notify=lambda **_: None)


def test_the_file_is_named_after_the_deal_and_the_template_and_holds_the_text(tmp_path: Path) -> None:
    out = tmp_path / ".flowctl" / "artifacts"
    outcome = render_action.run(context(out))
    target = out / "ACME-1-proposal.html"
    text = "proposal.html.j2 in None for ACME-1 — ü\n"
    assert outcome == ActionOutcome(True, {"file": str(target), "bytes": len(text.encode("utf-8"))})
    assert target.read_text(encoding="utf-8") == text
    assert sorted(p.name for p in out.iterdir()) == ["ACME-1-proposal.html"]  # no temporary file left


@pytest.mark.parametrize("params,name", [
    ({"template": "proposal.md.j2"}, "ACME-1-proposal.md"), ({"template": "plain"}, "ACME-1-plain"),
    ({"output": "acme.html"}, "acme.html"), ({"output": ""}, "ACME-1-proposal.html"),
    ({"output": None}, "ACME-1-proposal.html"),
])
def test_the_template_or_output_names_the_file(tmp_path: Path, params: dict, name: str) -> None:
    render_action.run(context(tmp_path, **params))
    assert [p.name for p in tmp_path.iterdir()] == [name]


@pytest.mark.parametrize("deal_ids", [["A/B", "A:B", "A_B"], ["../../x", "x"], ["ü", "u"], [".hidden", "hidden"]])
def test_each_deal_gets_its_own_file_inside_the_folder(tmp_path: Path, deal_ids: list[str]) -> None:
    out = tmp_path / "artifacts"
    files = [Path(render_action.run(context(out, deal_id)).output["file"]) for deal_id in deal_ids]
    assert len(set(files)) == len(deal_ids) and all(f.parent == out and f.is_file() for f in files)
    assert [p for p in tmp_path.rglob("*") if p.is_file() and p.parent != out] == []


@pytest.mark.parametrize("output", ["../../escape.html", "/etc/flowctl.html", "sub/dir.html", "..", "a\0b"])
def test_an_output_name_never_reaches_outside_the_folder(tmp_path: Path, output: str) -> None:
    out = tmp_path / "artifacts"
    outcome = render_action.run(context(out, output=output))
    assert Path(outcome.output["file"]).parent == out
    assert [p.parent for p in tmp_path.rglob("*") if p.is_file()] == [out]


@pytest.mark.parametrize("template,name", [("emails/offer.html.j2", "ACME-1-emails-offer.html"),
                                           ("a/b/c.md.j2", "ACME-1-a-b-c.md")])
def test_a_template_in_a_subfolder_names_a_file_in_the_folder(tmp_path: Path, template: str, name: str) -> None:
    render_action.run(context(tmp_path / "artifacts", template=template))
    assert [p.relative_to(tmp_path).as_posix() for p in tmp_path.rglob("*") if p.is_file()] == [f"artifacts/{name}"]


@pytest.mark.parametrize("template", ["../offer.html.j2", "/abs/offer.html.j2", "a\\b.j2"])
def test_a_template_name_never_reaches_outside_the_folder(tmp_path: Path, template: str) -> None:
    outcome = render_action.run(context(tmp_path / "artifacts", template=template))
    assert Path(outcome.output["file"]).parent == tmp_path / "artifacts"
    assert [p.parent for p in tmp_path.rglob("*") if p.is_file()] == [tmp_path / "artifacts"]


def test_the_locale_goes_to_the_template(tmp_path: Path) -> None:
    outcome = render_action.run(context(tmp_path, locale="de"))
    assert Path(outcome.output["file"]).read_text(encoding="utf-8").startswith("proposal.html.j2 in de ")


def test_a_dry_run_renders_but_writes_nothing(tmp_path: Path) -> None:
    out = tmp_path / "artifacts"
    outcome = render_action.run(context(out, dry_run=True))
    assert outcome == ActionOutcome(True, {"file": str(out / "ACME-1-proposal.html"), "dry_run": True})
    assert not out.exists()


def test_a_template_that_fails_fails_the_job_and_writes_nothing(tmp_path: Path) -> None:
    ctx = context(tmp_path / "artifacts")

    def broken(template: str, **_: Any) -> str:
        raise ValueError(f"template {template} not found")

    ctx.render = broken
    with pytest.raises(ValueError, match="proposal.html.j2 not found"):  # the runner makes it the job's error
        render_action.run(ctx)
    assert not (tmp_path / "artifacts").exists()


@pytest.mark.parametrize("with_,valid", [
    ({"template": "proposal.html.j2"}, True), ({"template": "p.j2", "output": "x.html", "locale": "de"}, True),
    ({}, False), ({"template": 3}, False), ({"template": "p.j2", "ouptut": "x"}, False),
])
def test_the_with_schema(with_: dict, valid: bool) -> None:
    assert jsonschema.Draft202012Validator(render_action.WITH_SCHEMA).is_valid(with_) is valid


def test_the_action_is_registered_as_render() -> None:
    (action,) = render_action.flowctl_actions()
    assert (action.name, action.run, action.with_schema) == ("render", render_action.run, render_action.WITH_SCHEMA)
