"""The report and the proposal in a real headless browser (Debian's chromium): the DOM
the browser builds has the charts with their titles and the key figures, the page
writes nothing to its console, and a screenshot is not blank.

Chromium comes from /usr/bin/chromium (scripts/ensure-chromium installs it). In CI (the
CI environment variable set) a missing browser fails the tests; elsewhere they skip.
"""
from __future__ import annotations

import os
import re
from html import unescape
from pathlib import Path

import pytest

import browser
from flowctl.testing import invoke_cli

NOW = "2026-11-23"
SHOTS = os.environ.get("FLOWCTL_SCREENSHOTS")  # a folder to keep the screenshots in, if set


@pytest.fixture(scope="module")
def chromium() -> str:
    path = browser.find_chromium(install=bool(os.environ.get("CI")))
    if path is None:
        message = "chromium is not installed: run scripts/ensure-chromium"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    return path


def invoke(*args) -> None:
    result = invoke_cli(*args)
    assert result.exit_code == 0, result.output


@pytest.fixture(scope="module")
def demo(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("browser") / "demo"
    invoke("init", folder)
    return folder


@pytest.fixture(scope="module")
def reports(demo) -> dict[str, Path]:
    out = {}
    for locale in ("en", "es", "de"):
        out[locale] = demo / f"pipeline-{locale}.html"
        invoke("report", "-w", demo / "workflow.yaml", "-o", out[locale], "--now", NOW, "--locale", locale)
    return out


def dom_text(dom: str) -> str:
    body = re.sub(r"<(style|title|desc)\b.*?</\1>", " ", dom, flags=re.S)
    return " ".join(unescape(re.sub(r"<[^>]+>", " ", body)).replace("\u00a0", " ").split())


FIGURES = {
    "en": ("Pipeline report", "€1,089,000", "€517,400", "50.0%", "open deals are not in it", "Proposed → Closed"),
    "es": ("Informe del pipeline", "1.089.000 €", "517.400 €", "50,0 %", "las abiertas no cuentan", "Propuesta → Cerrada"),
    "de": ("Pipeline-Bericht", "1.089.000 €", "517.400 €", "50,0 %", "offene Deals zählen nicht mit",
           "Vorgeschlagen → Geschlossen"),
}


@pytest.mark.parametrize("locale", ["en", "es", "de"])
def test_the_browser_builds_the_charts_and_shows_the_key_figures(chromium, reports, locale):
    page = browser.load(chromium, reports[locale])
    assert page.returncode == 0, page.stderr[-2000:]
    assert page.dom.count("<svg") == 7
    charts = re.findall(r"<svg\b[^>]*role=\"img\"[^>]*>.*?</svg>", page.dom, re.S)
    assert len(charts) == 7
    for svg in charts:
        labelled = re.search(r'aria-labelledby="([^" ]+) ([^"]+)"', svg)
        assert labelled, svg[:200]
        assert re.search(rf'<title id="{labelled.group(1)}">[^<]+</title>', svg)
        assert re.search(rf'<desc id="{labelled.group(2)}">[^<]+</desc>', svg)
        assert len(re.findall(r"<rect|<circle|<path", svg)) >= 3  # something is drawn
    text = dom_text(page.dom)
    for figure in FIGURES[locale]:
        assert figure in text, figure
    assert page.console == [], page.console


@pytest.mark.parametrize("locale", ["en", "es", "de"])
def test_a_screenshot_of_the_report_is_not_blank(chromium, reports, locale, tmp_path):
    shot = Path(SHOTS) / f"report-{locale}.png" if SHOTS else tmp_path / f"report-{locale}.png"
    page = browser.screenshot(chromium, reports[locale], shot, (1280, 2400))
    assert page.returncode == 0 and shot.exists(), page.stderr[-2000:]
    info = browser.png_summary(shot)
    assert (info["width"], info["height"]) == (1280, 2400)
    assert info["distinct_colours"] > 100  # text, bars, cards: many colours (anti-aliased)
    assert 0.03 < info["non_white"] < 0.6  # inked, but not a solid block
    assert page.console == [], page.console


def test_the_proposal_in_the_browser_shows_a_deal_name_as_text(chromium, demo, tmp_path):
    deal = demo / "deals" / "ACME-2026-001.yaml"
    original = deal.read_text("utf-8")
    deal.write_text(original.replace("name: Palletising cell for Nordhafen Logistik",
                                     'name: "<script>console.error(1)</script><img src=x onerror=alert(2)>"'))
    try:
        out = tmp_path / "proposal.html"
        invoke("propose", "ACME-2026-001", "-w", demo / "workflow.yaml", "-o", out, "--now", NOW)
    finally:
        deal.write_text(original)
    page = browser.load(chromium, out, (1000, 1400))
    assert page.returncode == 0
    assert "<script" not in page.dom and "<img" not in page.dom
    assert "<script>console.error(1)</script><img src=x onerror=alert(2)>" in dom_text(page.dom)
    assert "Investment €85,000" in dom_text(page.dom)
    assert page.console == [], page.console
    shot = browser.screenshot(chromium, out, tmp_path / "proposal.png", (1000, 1400))
    assert shot.console == []
    assert browser.png_summary(tmp_path / "proposal.png")["distinct_colours"] > 50


def test_the_helper_sees_console_errors(chromium, tmp_path):
    """The check above would catch a page that writes to its console."""
    page = tmp_path / "broken.html"
    page.write_text("<!DOCTYPE html><p>x</p><script>console.error('boom'); missingFunction();</script>")
    seen = browser.load(chromium, page).console
    assert any("boom" in m for m in seen) and any("Uncaught" in m for m in seen)


def test_the_png_reader_reads_what_it_writes(tmp_path):
    image = browser.Image(3, 2, 3, [bytes([255, 0, 0, 0, 255, 0, 0, 0, 255]), bytes([255] * 9)])
    browser.write_png(tmp_path / "x.png", image)
    again = browser.read_png(tmp_path / "x.png")
    assert (again.width, again.height) == (3, 2) and again.pixel(1, 0) == (0, 255, 0) and again.pixel(2, 1) == (255,) * 3
