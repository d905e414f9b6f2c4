"""`flowctl board`: one self-contained page, columns whose totals are `status`'s, a card
per open deal with what blocks it, won and lost at the end, an owner filter that works
in a real browser (Debian's chromium, headless), in en/es/de/fr."""
from __future__ import annotations

import json
import os
import re
from html import unescape
from pathlib import Path

import pytest

import browser
from flowctl.testing import invoke_cli as invoke
from flowctl.board import text

NOW = "2026-11-23"


@pytest.fixture(scope="module")
def demo(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("board") / "demo"
    assert invoke("init", folder).exit_code == 0
    return folder


@pytest.fixture(scope="module")
def chromium() -> str:
    path = browser.find_chromium(install=bool(os.environ.get("CI")))
    if path is None:
        if os.environ.get("CI"):
            pytest.fail("chromium is not installed: run scripts/ensure-chromium")
        pytest.skip("chromium is not installed: run scripts/ensure-chromium")
    return path


def board(demo: Path, out: Path, *extra: str):
    result = invoke("board", "-w", demo / "workflow.yaml", "-o", out, "--now", NOW, *extra)
    assert result.exit_code == 0, result.output
    return out.read_text("utf-8")


def columns(html: str) -> dict[str, dict]:
    out = {}
    for m in re.finditer(r'<section class="column (\w+)" id="column-[^"]*" data-column="([^"]+)" data-count="(\d+)" '
                         r'data-amount="([\d.]+)"', html):
        out[unescape(m.group(2))] = {"kind": m.group(1), "count": int(m.group(3)), "amount": float(m.group(4))}
    return out


def status(demo: Path, *extra: str) -> dict:
    return json.loads(invoke("status", "-w", demo / "workflow.yaml", "--now", NOW, "--format", "json", *extra).stdout)["summary"]


@pytest.mark.parametrize("extra", [(), ("--as-of", "2026-10-01"), ("--as-of", "2026-07-01")])
def test_column_totals_are_status_totals(demo, tmp_path, extra):
    html = board(demo, tmp_path / "b.html", *extra)
    summary = status(demo, *extra)
    cols = columns(html)
    for stage, figures in summary["by_stage"].items():
        shown = cols.get(stage, {"count": 0, "amount": 0.0})
        assert (shown["count"], shown["amount"]) == (figures["count"], figures["amount"]), stage
    assert (cols["won"]["count"], cols["won"]["amount"]) == (summary["won"]["count"], summary["won"]["amount"])
    assert (cols["lost"]["count"], cols["lost"]["amount"]) == (summary["lost"]["count"], summary["lost"]["amount"])
    assert list(cols)[-2:] == ["won", "lost"]  # won and lost at the end
    open_cards = sum(1 for c in cols.values() if c["kind"] == "stage" for _ in range(c["count"]))
    assert html.count('<article class="card') == open_cards + cols["won"]["count"] + cols["lost"]["count"]
    if extra:
        assert "only facts dated on or before that day count" in html


def test_the_page_is_self_contained_and_escapes_deal_values(demo, tmp_path):
    deal = demo / "deals" / "ACME-2026-001.yaml"
    original = deal.read_text("utf-8")
    deal.write_text(original.replace("name: Palletising cell for Nordhafen Logistik",
                                     'name: "<script>alert(1)</script>\\e[31m\\u0007 {{ 7*7 }}"'), "utf-8")
    try:
        html = board(demo, tmp_path / "b.html")
    finally:
        deal.write_text(original, "utf-8")
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html and "<script>alert" not in html
    assert "\x1b" not in html and "\x07" not in html and "{{ 7*7 }}" in html
    assert not re.search(r'(src|href)="(https?:)?//', html) and "@import" not in html
    assert html.count("<script") == 2  # the owner data (JSON) and the filter


def test_cards_say_what_blocks_a_deal_and_mark_stuck_and_rotting(demo, tmp_path):
    html = board(demo, tmp_path / "b.html")
    card = re.search(r'<article class="card stuck rotting" data-owner="bob@acme.example" data-deal="ACME-2026-002">'
                     r'(.*?)</article>', html, re.S)
    assert card, "ACME-2026-002 is stuck and rotting"
    body = card.group(1)
    assert "40 days in stage" in body and "Decide how the product will be created (overdue)" in body
    developed = re.search(r'data-deal="ACME-2026-004">(.*?)</article>', html, re.S).group(1)
    assert "Expected ROI must be at least 1.2 before we propose" in developed  # a gate that fails


@pytest.mark.parametrize("locale,words", [
    ("en", ("Pipeline board", "Waiting for", "All owners", "€1.1M")),
    ("es", ("Tablero del pipeline", "Pendiente de", "Todos los responsables", "Perspectiva")),
    ("de", ("Pipeline-Board", "Wartet auf", "Alle Verantwortlichen", "Interessent")),
    ("fr", ("Tableau du pipeline", "En attente de", "Tous les responsables", "Qualifiée")),
])
def test_the_board_speaks_each_language(demo, tmp_path, locale, words):
    html = board(demo, tmp_path / f"b-{locale}.html", "--locale", locale)
    assert f'<html lang="{locale}">' in html
    for word in words:
        assert word in unescape(html), word


def test_a_column_keeps_its_biggest_cards_and_counts_the_rest(demo, tmp_path):
    html = board(demo, tmp_path / "b.html", "--max-cards", "1")
    qualified = re.search(r'data-column="qualified".*?</section>', html, re.S).group(0)
    assert qualified.count("<article") == 1 and "… and 1 more" in qualified and 'data-count="2"' in qualified
    assert "ACME-2026-002" in qualified  # 60,000 before 24,000


def test_a_bad_deal_is_reported_and_the_board_is_written(demo, tmp_path):
    bad = demo / "deals" / "ZZ-bad.yaml"
    bad.write_text("id: ZZ\namount: lots\n", "utf-8")
    try:
        result = invoke("board", "-w", demo / "workflow.yaml", "-o", tmp_path / "b.html", "--now", NOW)
    finally:
        bad.unlink()
    assert result.exit_code == 1 and "ZZ-bad.yaml:2:9: error" in result.output
    assert "could not be read" in (tmp_path / "b.html").read_text("utf-8")


def test_usage_errors_exit_2(demo, tmp_path):
    assert invoke("board", "-w", demo / "workflow.yaml").exit_code == 2  # no -o
    result = invoke("board", "-w", demo / "workflow.yaml", "-o", tmp_path / "b.html", "--locale", "xx-bogus")
    assert result.exit_code == 2 and "unknown locale" in result.output
    result = invoke("board", "-w", demo / "workflow.yaml", "-o", tmp_path / "b.html", "--template", "../x.j2")
    assert result.exit_code == 2 and "refused" in result.output
    assert invoke("board", "-w", demo / "workflow.yaml", "-o", tmp_path / "none" / "b.html").exit_code == 2


@pytest.mark.parametrize("value,expected", [("a\x1b[31mb", "a [31mb"), ("  x \n y ", "x y"), (None, None), ("\x07", None),
                                            (42, "42")])
def test_text_of_a_deal_value(value, expected):
    assert text(value) == expected


# ---------------------------------------------------------------------------------
# in a real browser
# ---------------------------------------------------------------------------------

def visible_cards(dom: str) -> list[str]:
    tags = re.findall(r'<article class="card[^>]*>', dom)
    return [re.search(r'data-deal="([^"]+)"', tag).group(1) for tag in tags if " hidden" not in tag]


def test_the_browser_shows_every_column_and_card(chromium, demo, tmp_path):
    out = tmp_path / "b.html"
    board(demo, out)
    page = browser.load(chromium, out, (1600, 1100))
    assert page.returncode == 0 and page.console == [], page.console
    assert len(visible_cards(page.dom)) == 10
    assert re.search(r'id="filtered" hidden', page.dom)


def test_the_owner_filter_works_without_a_server(chromium, demo, tmp_path):
    out = tmp_path / "b.html"
    html = board(demo, out)
    page = browser.load(chromium, f"{out}#owner=alice%40acme.example", (1600, 1100))
    assert page.console == [], page.console
    alice = {m.group(1) for m in re.finditer(r'data-owner="alice@acme.example" data-deal="([^"]+)"', html)}
    assert set(visible_cards(page.dom)) == alice and len(alice) >= 3
    assert not re.search(r'id="filtered" hidden', page.dom)
    counts = {m.group(1): m.group(2) for m in re.finditer(
        r'data-column="([^"]+)"[^>]*>\s*<h2><span class="label">[^<]*</span><span class="count">([^<]*)</span>', page.dom)}
    summary = json.loads(invoke("status", "-w", demo / "workflow.yaml", "--now", NOW, "--format", "json").stdout)
    mine = [d for d in summary["deals"] if d["owner"] == "alice@acme.example" and d["outcome"] == "open"]
    assert counts["proposed"] == str(sum(d["stage"] == "proposed" for d in mine))
    assert counts["prospect"] == str(sum(d["stage"] == "prospect" for d in mine))


def test_an_unknown_owner_in_the_link_shows_everything(chromium, demo, tmp_path):
    out = tmp_path / "b.html"
    board(demo, out)
    page = browser.load(chromium, f"{out}#owner=nobody", (1600, 1100))
    assert len(visible_cards(page.dom)) == 10 and page.console == []


@pytest.mark.parametrize("locale", ["en", "fr"])
def test_a_screenshot_of_the_board_is_not_blank(chromium, demo, tmp_path, locale):
    out = tmp_path / f"b-{locale}.html"
    board(demo, out, "--locale", locale)
    shots = os.environ.get("FLOWCTL_SCREENSHOTS")
    shot = Path(shots) / f"board-{locale}.png" if shots else tmp_path / f"board-{locale}.png"
    page = browser.screenshot(chromium, out, shot, (1600, 1100))
    assert page.returncode == 0 and shot.exists() and page.console == []
    info = browser.png_summary(shot)
    assert (info["width"], info["height"]) == (1600, 1100)
    assert info["distinct_colours"] > 100 and 0.05 < info["non_white"] < 0.9  # columns, cards, text: inked, not a block
