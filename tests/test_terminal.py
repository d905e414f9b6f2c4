"""Deal values reach a terminal escaped: no ESC, OSC, BEL, CSI or direction overrides."""
from __future__ import annotations

import json

import pytest
from hypothesis import given
from hypothesis import strategies as st

from engine.terminal import escape_controls

NASTY = ["\x1b]0;pwned\x07", "\x1b[2J\x1b[H", "\x9b31m", "a\x08\x08b", "\u202egnp.exe", "\x07", "\x1bP+q\x1b\\", "\x7f"]
RAW = ("\x1b", "\x07", "\x9b", "\x08", "\u202e", "\x7f")


@given(st.text())
def test_nothing_raw_is_left_and_plain_text_is_kept(text):
    shown = escape_controls(text)
    assert not any(ch in shown for ch in RAW)
    if text.isprintable():
        assert shown == text


@pytest.mark.parametrize("nasty", NASTY)
def test_status_explain_and_run_show_deal_values_escaped(cli, project, nasty):
    body = f"name: {json.dumps('Fleet ' + nasty)}\nowner: {json.dumps('bob' + nasty)}\n"
    (project.deals / "D1.yaml").write_text(f"id: D1\namount: 1000\ncreated: 2026-01-01\n{body}")
    (project.deals / "D2.yaml").write_text(f"id: D2\ncreated: 2026-01-01\njobs: {{{json.dumps('x' + nasty)}: 2026-01-02}}\n")
    common = ("-w", str(project.workflow), "--now", "2026-02-05")
    outputs = [cli("status", str(project.deals), *common), cli("explain", "D1", str(project.deals), *common),
               cli("run", str(project.deals), *project.args("--now", "2026-02-05")),
               cli("run", str(project.deals), *project.args("--now", "2026-02-05", "--dry-run")),
               cli("validate", *common[:2], str(project.deals))]
    for result in outputs:
        assert "Traceback" not in result.output
        assert not any(ch in result.output for ch in RAW), repr(result.output)
    assert escape_controls(nasty) in outputs[1].output  # shown, escaped, not dropped
