"""`flowctl report` and `flowctl propose` (issue #6): what the report shows and how each
figure agrees with `flowctl metrics`/`forecast`, the Markdown version, locales, the
proposal (the same context as the `render` action), template overrides, the sandbox and
escaping, the README's demo, the Maven data, and a bounded size.
"""
from __future__ import annotations

import datetime as dt
import json
from html import unescape
import re
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from flowctl.compiled import CompiledWorkflow
from flowctl.pipeline import evaluate_all
from flowctl.plugin_manager import Plugins
from flowctl.report import ReportBuilder
from flowctl.report_templates import check_template_name
from flowctl.workflow import load_workflow

from flowctl.testing import invoke_cli as invoke  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
NOW = "2026-11-23"  # the init example's deals are dated around this day
SVG = re.compile(r"<svg\b[^>]*>", re.S)


@pytest.fixture(scope="module")
def demo(tmp_path_factory) -> Path:
    """The example company of `flowctl init` (ten deals), scaffolded once."""
    folder = tmp_path_factory.mktemp("init") / "demo"
    result = invoke("init", folder)
    assert result.exit_code == 0, result.output
    return folder


@pytest.fixture(scope="module")
def demo_html(demo, tmp_path_factory) -> str:
    out = tmp_path_factory.mktemp("out") / "pipeline.html"
    result = invoke("report", "-w", demo / "workflow.yaml", "-o", out, "--now", NOW)
    assert result.exit_code == 0, result.output
    return out.read_text("utf-8")


def context_of(folder: Path, now: str = NOW, locale: str | None = None, when: str | None = None, top: int = 10) -> dict:
    """The report's context built through the engine, as the CLI builds it."""
    plugins = Plugins()
    workflow, problems = load_workflow(str(folder / "workflow.yaml"), plugins)
    assert workflow is not None, problems
    day = dt.date.fromisoformat(now)
    when_day = dt.date.fromisoformat(when) if when else None
    builder = ReportBuilder(workflow, when_day or day, plugins, top)
    for item in evaluate_all(CompiledWorkflow(workflow), [str(folder / "deals")], day, when=when_day):
        if item.state is not None:
            builder.add(item.state)
    return builder.build(locale=locale, methods=plugins.forecast_methods())


def text_of(html: str) -> str:
    """The visible text, roughly: tags dropped, whitespace squeezed."""
    return " ".join(unescape(re.sub(r"<[^>]+>", " ", html)).split())


# ---------------------------------------------------------------------------------
# the HTML report: one self-contained file with every section
# ---------------------------------------------------------------------------------

def test_report_html_is_one_self_contained_file(demo_html):
    assert demo_html.startswith("<!DOCTYPE html>")
    assert "<script" not in demo_html.lower()
    assert "<link" not in demo_html.lower()
    assert "@import" not in demo_html and "url(" not in demo_html
    assert not re.search(r"""(src|href)\s*=\s*["']?(https?:)?//""", demo_html), "no resource from the network"
    assert "<img" not in demo_html
    assert "<style>" in demo_html  # inline CSS


def test_report_has_every_section(demo_html):
    for section in ("pipeline", "conversion", "time", "bottleneck", "forecast", "quota", "backlog", "top", "stuck",
                    "rotting", "alerts"):
        assert f'<section id="{section}">' in demo_html, section
    text = text_of(demo_html)
    for heading in ("Pipeline by stage", "Stage-to-stage conversion", "Time in stage", "Bottleneck", "Forecast",
                    "Forecast against quota, by owner", "Backlog", "Biggest open deals", "Stuck deals",
                    "Rotting deals", "Metric alerts"):
        assert heading in text, heading


def test_charts_are_inline_svg_with_accessible_titles_axes_and_legends(demo_html):
    svgs = re.findall(r"<svg\b.*?</svg>", demo_html, re.S)
    assert len(svgs) == 7  # funnel, conversion, time in stage, forecast totals, by month, quota, backlog
    for svg in svgs:
        head = SVG.match(svg).group(0)
        assert 'role="img"' in head
        ids = re.search(r'aria-labelledby="([^"]+)"', head).group(1).split()
        assert len(ids) == 2
        title = re.search(rf'<title id="{ids[0]}">(.+?)</title>', svg, re.S)
        desc = re.search(rf'<desc id="{ids[1]}">(.+?)</desc>', svg, re.S)
        assert title and title.group(1).strip() and desc and desc.group(1).strip()
        assert 'class="axis-title"' in svg  # titled axes
        assert 'class="legend"' in svg  # a legend
    ids = re.findall(r'<svg\b[^>]*aria-labelledby="([^" ]+)', demo_html)
    assert len(ids) == len(set(ids)), "chart ids are unique"


def test_report_figures_agree_with_flowctl_metrics_and_forecast(demo, demo_html):
    metrics = invoke("metrics", "-w", demo / "workflow.yaml", "--now", NOW, "--format", "json")
    by_id = {m["id"]: m for m in json.loads(metrics.stdout)["metrics"]}
    ctx = context_of(demo)
    assert ctx["win_rate"]["value"] == by_id["win_rate"]["value"] == 0.5
    assert ctx["outcomes"]["won"]["amount"] == by_id["won_amount"]["value"]
    assert ctx["weighted_pipeline"] == by_id["weighted_pipeline"]["value"]
    assert ctx["bottleneck"]["stage"] == by_id["bottleneck"]["value"]
    assert ctx["stuck"]["count"] == by_id["stuck"]["value"]
    assert ctx["rotting"]["count"] == by_id["rotting"]["value"]
    assert {s["id"]: s["reached"] for s in ctx["stages"]} == by_id["conversion"]["reached"]
    for s in ctx["stages"]:
        if not s["terminal"]:
            assert s["median_days"] == by_id["time_in_stage"]["value"][s["id"]]["median"]
    forecast = invoke("forecast", "-w", demo / "workflow.yaml", "--now", NOW, "--format", "json")
    weighted = next(t for t in ctx["forecast"]["totals"] if t["name"] == "weighted")
    assert weighted["expected"] == json.loads(forecast.stdout)["expected"]
    text = text_of(demo_html)
    assert "€1,089,000" in text  # open pipeline by stage, total
    assert "€517,400" in text  # weighted pipeline
    assert "50.0%" in text


@pytest.mark.parametrize("settings,trials", [("{trials: 300, seed: 7}", None), ("{trials: 300, seed: 8}", None),
                                             ("{trials: 300, seed: 7}", 500)])
def test_the_workflows_forecast_settings_change_the_report_as_they_change_forecast(demo, tmp_path, settings, trials):
    folder = tmp_path / "demo"
    shutil.copytree(demo, folder)
    with open(folder / "workflow.yaml", "a", encoding="utf-8") as f:
        f.write(f"forecast:\n  montecarlo: {settings}\n")
    plugins = Plugins()
    workflow, problems = load_workflow(str(folder / "workflow.yaml"), plugins)
    assert workflow is not None, problems
    builder = ReportBuilder(workflow, dt.date.fromisoformat(NOW), plugins, 10)
    for item in evaluate_all(CompiledWorkflow(workflow), [str(folder / "deals")], dt.date.fromisoformat(NOW)):
        builder.add(item.state)
    totals = builder.build(methods=plugins.forecast_methods(), trials=trials)["forecast"]["totals"]
    reported = next(t for t in totals if t["name"] == "montecarlo")
    given = ["--trials", str(trials)] if trials else []  # --trials wins over the settings in both
    forecast = invoke("forecast", "-w", folder / "workflow.yaml", "--now", NOW, "--method", "montecarlo",
                      "--format", "json", *given)
    assert forecast.exit_code == 0, forecast.output
    figures = json.loads(forecast.stdout)
    assert (figures["trials"], figures["seed"]) == (trials or 300, 8 if "seed: 8" in settings else 7)
    keys = ("expected", "p10", "p50", "p90")
    assert {k: reported[k] for k in keys} == {k: figures[k] for k in keys}


def test_win_rate_says_open_deals_are_not_in_it(demo_html):
    text = text_of(demo_html)
    assert "won / (won + lost) = 1 / (1 + 1); open deals are not in it" in text
    assert "(8 open deals)" in text


def test_funnel_conversion_time_and_bottleneck(demo):
    ctx = context_of(demo)
    stages = {s["id"]: s for s in ctx["stages"]}
    assert stages["proposed"]["open_count"] == 2 and stages["proposed"]["open_amount"] == 435000
    assert stages["prospect"]["reached"] == 10 and stages["prospect"]["conversion"] == 0.9
    assert stages["qualified"]["max_days"] == 21 and stages["qualified"]["over"] is True
    b = ctx["bottleneck"]
    assert b["stage"] == "proposed" and b["next"] == "closed"
    assert "67% of the deals that reached Proposed did not reach Closed" in b["text"]
    rows = ctx["charts"]["time"]["rows"]
    assert all(r["marker"] is not None for r in rows)  # every stage has its max_days drawn


def test_forecast_has_every_registered_method_and_a_band_per_month(demo):
    f = context_of(demo)["forecast"]
    assert [t["name"] for t in f["totals"]] == ["historical", "montecarlo", "runrate", "weighted"]  # by name
    assert [t["label"] for t in f["totals"]] == ["Historical", "Monte Carlo", "Run rate", "Stage-weighted"]
    for t in f["totals"]:
        assert t["p10"] <= t["expected"] <= t["p90"]
    # the headline is the method `forecast` defaults to, not the first by name: ten deals
    # are too little history to backtest, so the fallback
    assert f["main"]["name"] == "weighted"
    months = [m for m in f["months"] if m["key"][:1].isdigit()]
    assert months and months[0]["key"] == "2026-11"
    assert sum(m["deals"] for m in f["months"]) == f["open_deals"] == 8
    december = next(m for m in f["months"] if m["key"] == "2026-12")
    for name in ("weighted", "historical", "montecarlo"):
        r = december["methods"][name]
        assert r["p10"] <= r["expected"] <= r["p90"], name
    assert "error" in december["methods"]["runrate"]  # a run rate is not a sum over the month's deals


def test_quota_per_owner_with_forecast_to_quarter_end(demo):
    q = context_of(demo)["quota"]
    owners = {r["owner"]: r for r in q["owners"]}
    assert set(owners) == {"alice@acme.example", "bob@acme.example", "carol@acme.example"}
    assert owners["alice@acme.example"]["quota"] == 400000
    bob = owners["bob@acme.example"]
    # ACME-2026-005 (310,000 x 0.8, Dec 18) is expected by the quarter's end: 248,000
    assert bob["forecast"] == 248000 and bob["projected_attainment"] == pytest.approx(248000 / 250000)
    assert q["quarter_start"] == "2026-10-01" and q["quarter_end"] == "2026-12-31"


def test_backlog_projection_by_week(demo, tmp_path):
    ctx = context_of(demo)
    b = ctx["backlog"]
    assert b["backlog_amount"] == 120000 and len(b["projection"]) == 13
    out = tmp_path / "r.md"
    result = invoke("report", "-w", demo / "workflow.yaml", "-o", out, "--now", NOW, "--capacity", "20000/week",
                    "--weeks", "4")
    assert result.exit_code == 0, result.output
    text = out.read_text("utf-8")
    assert "given with --capacity" in text and "The backlog shrinks by €5,000 a week." in text
    assert "| 4 | Dec 21, 2026 | €100,000 |" in text


def test_biggest_stuck_and_rotting_deals_with_owners(demo, demo_html):
    ctx = context_of(demo, top=3)
    assert [d["id"] for d in ctx["top_deals"]] == ["ACME-2026-005", "ACME-2026-004", "ACME-2026-003"]
    stuck = {d["id"]: d for d in ctx["stuck"]["deals"]}
    assert stuck["ACME-2026-002"]["owner"] == "bob@acme.example" and stuck["ACME-2026-002"]["over"] == 19
    assert [d["id"] for d in ctx["rotting"]["deals"]] == ["ACME-2026-002"]
    assert ctx["stuck"]["owners"][0]["count"] == 1
    text = text_of(demo_html)
    assert "Vision inspection line for Brenner Foods ACME-2026-002 bob@acme.example Qualified" in text


def test_top_option_limits_the_lists(demo, tmp_path):
    out = tmp_path / "r.html"
    assert invoke("report", "-w", demo / "workflow.yaml", "-o", out, "--now", NOW, "--top", "2").exit_code == 0
    top = out.read_text("utf-8").split('<section id="top">')[1].split("</section>")[0]
    assert len(re.findall(r'<td class="deal">', top)) == 2


def test_metric_alerts_list_declared_metrics_off_target(project, tmp_path):
    project.workflow.write_text(project.workflow.read_text() + textwrap.dedent("""\
        metrics:
          - {id: win-target, title: Win rate target, kind: win_rate, target: ">= 0.9"}
          - {id: won-by-owner, kind: win_rate, group_by: owner, target: ">= 0.9"}
        """))
    project.deal("D1", "outcome: won\nclosed_at: 2026-03-01\n")
    project.deal("D2", "outcome: lost\nclosed_at: 2026-03-02\n")
    project.deal("D3", "")
    out = tmp_path / "r.html"
    result = invoke("report", *project.args("-o", out, "--now", "2026-03-10"))
    assert result.exit_code == 0, result.output
    alerts = text_of(out.read_text("utf-8").split('<section id="alerts">')[1].split("</section>")[0])
    assert "off target Win rate target 50.00% >= 0.9" in alerts
    assert "owner = bob@example.com" in alerts


def test_as_of_shows_the_pipeline_as_it_stood(demo, tmp_path):
    then = context_of(demo, when="2026-08-01")
    now = context_of(demo)
    assert then["meta"]["deals"] < now["meta"]["deals"]
    assert then["meta"]["day"] == "2026-08-01"
    out = tmp_path / "r.html"
    result = invoke("report", "-w", demo / "workflow.yaml", "-o", out, "--now", NOW, "--as-of", "2026-08-01")
    assert result.exit_code == 0, result.output
    text = text_of(out.read_text("utf-8"))
    assert "The pipeline as it stood on August 1, 2026" in text
    assert "as of August 1, 2026" in text


# ---------------------------------------------------------------------------------
# Markdown
# ---------------------------------------------------------------------------------

def test_report_markdown_has_the_same_figures_as_tables(demo, tmp_path):
    out = tmp_path / "report.md"
    result = invoke("report", "-w", demo / "workflow.yaml", "-o", out, "--now", NOW)
    assert result.exit_code == 0, result.output
    md = out.read_text("utf-8")
    assert md.startswith("# Pipeline report · acme-sales")
    for heading in ("## Pipeline by stage", "## Bottleneck", "## Forecast", "## Forecast against quota, by owner",
                    "## Backlog", "## Biggest open deals", "## Stuck deals", "## Rotting deals", "## Metric alerts"):
        assert heading in md
    assert "| Proposed | 2 | €435,000 | €335,500 | 70% |" in md
    assert "| **Win rate** | **50.0%** · won / (won + lost) = 1 / (1 + 1); open deals are not in it |" in md
    assert "<svg" not in md and "<div" not in md
    # every table row has as many cells as its header
    for block in re.findall(r"((?:^\|.*\|\n)+)", md, re.M):
        rows = block.strip().splitlines()
        widths = {len(re.findall(r"(?<!\\)\|", r)) for r in rows}
        assert len(widths) == 1, block


def test_an_unknown_suffix_exits_2_naming_the_known_ones(demo, tmp_path):
    result = invoke("report", "-w", demo / "workflow.yaml", "-o", tmp_path / "report.pdf")
    assert result.exit_code == 2
    assert "unknown report format '.pdf'" in result.output
    assert ".html" in result.output and ".md" in result.output
    assert not (tmp_path / "report.pdf").exists()


# ---------------------------------------------------------------------------------
# locales
# ---------------------------------------------------------------------------------

@pytest.mark.parametrize("locale, words, stage, amount, date", [
    ("en", ("Pipeline report", "Win rate", "Amount (EUR)", "open deals are not in it"), "Prospect", "€1,089,000",
     "November 23, 2026"),
    ("es", ("Informe del pipeline", "Tasa de éxito", "Importe (EUR)", "las abiertas no cuentan"), "Perspectiva",
     "1.089.000 €", "23 de noviembre de 2026"),
    ("de", ("Pipeline-Bericht", "Gewinnquote", "Betrag (EUR)", "offene Deals zählen nicht mit"), "Interessent",
     "1.089.000 €", "23. November 2026"),
    ("fr", ("Rapport de pipeline", "Taux de réussite", "Montant (EUR)", "les affaires ouvertes n'y comptent pas"),
     "Qualifiée", "1 089 000 €", "23 novembre 2026"),
])
def test_report_in_each_language(demo, tmp_path, locale, words, stage, amount, date):
    out = tmp_path / f"r-{locale}.html"
    result = invoke("report", "-w", demo / "workflow.yaml", "-o", out, "--now", NOW, "--locale", locale)
    assert result.exit_code == 0, result.output
    html = out.read_text("utf-8")
    assert f'<html lang="{locale}">' in html
    text = text_of(html).replace("\u00a0", " ").replace("\u202f", " ")
    for word in words:
        assert word in text, word
    assert stage in text and amount in text and date in text


def test_the_workflow_locale_is_the_default(project, tmp_path):
    project.workflow.write_text(project.workflow.read_text().replace("locale: en", "locale: de"))
    project.deal("D1")
    out = tmp_path / "r.md"
    assert invoke("report", *project.args("-o", out, "--now", "2026-03-10")).exit_code == 0
    assert out.read_text("utf-8").startswith("# Pipeline-Bericht")


def test_an_unknown_locale_exits_2(demo, tmp_path):
    result = invoke("report", "-w", demo / "workflow.yaml", "-o", tmp_path / "r.html", "--locale", "xx-bogus")
    assert result.exit_code == 2 and "unknown locale" in result.output


# ---------------------------------------------------------------------------------
# proposals
# ---------------------------------------------------------------------------------

def test_propose_html_shows_account_amount_included_jobs_owner_and_validity(demo, tmp_path):
    out = tmp_path / "proposal.html"
    result = invoke("propose", "ACME-2026-005", "-w", demo / "workflow.yaml", "-o", out, "--now", NOW)
    assert result.exit_code == 0, result.output
    text = text_of(out.read_text("utf-8"))
    assert "Depalletising robots for Hofmann Getränke" in text
    assert "Prepared for Hofmann Getränke GmbH" in text
    assert "Investment €310,000" in text
    assert "Valid until December 23, 2026" in text  # 30 days from --now
    assert "Present the final proposal" in text and "Develop a plan for the product" in text  # jobs done
    assert "Render the proposal document" not in text  # automated jobs are not listed
    assert "bob@acme.example" in text


@pytest.mark.parametrize("locale, words", [
    ("es", ("Propuesta", "Preparada para", "310.000 €", "Presentar la propuesta final", "23 de diciembre de 2026")),
    ("de", ("Angebot", "Erstellt für", "310.000 €", "Den endgültigen Vorschlag einreichen", "23. Dezember 2026")),
])
def test_propose_markdown_in_other_languages(demo, tmp_path, locale, words):
    out = tmp_path / "proposal.md"
    result = invoke("propose", "ACME-2026-005", "-w", demo / "workflow.yaml", "-o", out, "--now", NOW,
                    "--locale", locale)
    assert result.exit_code == 0, result.output
    md = out.read_text("utf-8").replace("\u00a0", " ")
    for word in words:
        assert word in md, word


def test_propose_formats_the_amount_in_the_deals_own_currency(project, tmp_path):
    project.deal("D1", "currency: USD\naccount: Initech\nname: Printers\n")
    out = tmp_path / "p.md"
    assert invoke("propose", "D1", *project.args("-o", out, "--now", "2026-03-10")).exit_code == 0
    assert "**$1,000**" in out.read_text("utf-8")


def test_propose_an_unknown_deal_exits_2(demo, tmp_path):
    result = invoke("propose", "NOPE-1", "-w", demo / "workflow.yaml", "-o", tmp_path / "p.html")
    assert result.exit_code == 2 and "no deal with id 'NOPE-1'" in result.output


def test_the_render_action_and_propose_pass_the_same_context(project, tmp_path, monkeypatch):
    """The render action's context (runner) and propose's are the same keys and values."""
    from flowctl.templating import Templates
    project.workflow.write_text(project.workflow.read_text().replace(
        "      - {id: meet, required: false}\n",
        "      - {id: meet, required: false}\n      - {id: doc, uses: render, with: {template: proposal.md.j2}, required: false}\n"))
    project.deal("D1", "name: Fleet\naccount: ACME\nexpected_close: 2026-04-01\n")
    seen = []
    original = Templates.render

    def spy(self, name, **context):
        if name.startswith("proposal"):
            seen.append(context)
        return original(self, name, **context)

    monkeypatch.setattr(Templates, "render", spy)
    assert invoke("run", *project.args("--now", "2026-03-10")).exit_code == 0
    assert invoke("propose", "D1", *project.args("-o", tmp_path / "p.md", "--now", "2026-03-10")).exit_code == 0
    by_action, by_propose = seen
    assert set(by_action) == set(by_propose) == {"deal", "state", "workflow", "locale", "now"}
    assert by_action["deal"] == by_propose["deal"]
    assert by_action["locale"] == by_propose["locale"] and by_action["now"] == by_propose["now"] == "2026-03-10"
    assert by_action["workflow"].digest == by_propose["workflow"].digest
    assert {k: v for k, v in by_action["state"].items() if k != "jobs"} == \
           {k: v for k, v in by_propose["state"].items() if k != "jobs"}
    artifact = (project.root / ".flowctl" / "artifacts" / "D1-proposal.md").read_text("utf-8")
    mine = (tmp_path / "p.md").read_text("utf-8")
    assert artifact.splitlines()[0] == mine.splitlines()[0] == "# Proposal: Fleet"
    if "money" in Templates([]).env.filters:  # the runner's templates have the i18n filters (core change)
        assert artifact == mine


# ---------------------------------------------------------------------------------
# templates: overriding, safe names, the sandbox, escaping
# ---------------------------------------------------------------------------------

def test_a_company_template_overrides_the_built_in(project, tmp_path):
    project.deal("D1")
    (project.root / "templates").mkdir()
    (project.root / "templates" / "report.md.j2").write_text("OURS {{ meta.workflow }} {{ meta.deals }}\n")
    out = tmp_path / "r.md"
    assert invoke("report", *project.args("-o", out, "--now", "2026-03-10")).exit_code == 0
    assert out.read_text() == "OURS test-sales 1\n"


def test_a_plugins_templates_come_after_the_company_and_before_the_built_ins(project, tmp_path, monkeypatch):
    plugin_dir = tmp_path / "plug"
    (plugin_dir / "tpl").mkdir(parents=True)
    (plugin_dir / "report_tpl_plugin.py").write_text(textwrap.dedent("""\
        from pathlib import Path
        from flowctl.hookspecs import hookimpl

        @hookimpl
        def flowctl_template_dirs():
            return [Path(__file__).parent / "tpl"]
        """))
    (plugin_dir / "tpl" / "report.md.j2").write_text("PLUGIN\n")
    (plugin_dir / "tpl" / "proposal.md.j2").write_text("PLUGIN PROPOSAL {{ deal.id }}\n")
    monkeypatch.syspath_prepend(str(plugin_dir))
    project.deal("D1")
    out = tmp_path / "r.md"
    assert invoke("--plugin", "report_tpl_plugin", "report", *project.args("-o", out)).exit_code == 0
    assert out.read_text() == "PLUGIN\n"
    assert invoke("--plugin", "report_tpl_plugin", "propose", "D1", *project.args("-o", out)).exit_code == 0
    assert out.read_text() == "PLUGIN PROPOSAL D1\n"
    (project.root / "templates").mkdir()
    (project.root / "templates" / "report.md.j2").write_text("COMPANY\n")
    assert invoke("--plugin", "report_tpl_plugin", "report", *project.args("-o", out)).exit_code == 0
    assert out.read_text() == "COMPANY\n"


def test_init_copies_the_built_in_templates_for_editing(demo):
    copied = {p.name for p in (demo / "templates").glob("*.j2")}
    assert {"report.html.j2", "report.md.j2", "proposal.html.j2", "proposal.md.j2", "_charts.html.j2"} <= copied


@pytest.mark.parametrize("name", ["../x.j2", "../../etc/passwd", "/etc/passwd", "sub/../../x.j2", "..\\x.j2",
                                  "C:/x.j2"])
def test_template_names_cannot_leave_their_folders(project, tmp_path, name):
    project.deal("D1")
    for args in (("report",), ("propose", "D1")):
        result = invoke(*args, *project.args("-o", tmp_path / "x.html", "--template", name))
        assert result.exit_code == 2, (args, name)
        assert "refused" in result.output and "no absolute path, no '..'" in result.output
    with pytest.raises(Exception):
        check_template_name(name)
    assert check_template_name("sub/report.html.j2") == "sub/report.html.j2"


@pytest.mark.parametrize("escape", [
    "{{ ''.__class__.__mro__ }}",
    "{{ ''.__class__.__mro__[1].__subclasses__() }}",
    "{{ workflow.__class__.__init__.__globals__ }}",
    "{{ cycler.__init__.__globals__.os }}",
    "{{ t.__globals__ }}",
])
def test_a_template_escaping_the_sandbox_fails_cleanly(project, tmp_path, escape):
    project.deal("D1")
    (project.root / "templates").mkdir()
    (project.root / "templates" / "report.html.j2").write_text(f"<p>{escape}</p>\n")
    (project.root / "templates" / "proposal.md.j2").write_text(f"{escape}\n")
    for args, out in ((("report",), "r.html"), (("propose", "D1"), "p.md")):
        done = subprocess.run([sys.executable, "-m", "flowctl", *args, *project.args("-o", str(tmp_path / out))],
                              capture_output=True, text=True)
        assert done.returncode == 2, (escape, done.stdout, done.stderr)
        assert "Traceback" not in done.stderr
        assert "unsafe" in done.stderr
        assert not (tmp_path / out).exists()


NASTY = "<script>alert(1)</script>"


@pytest.fixture
def nasty(project):
    (project.deals / "D1.yaml").write_text(textwrap.dedent(f"""\
        id: D1
        name: "{NASTY}"
        account: "{{{{ 7*7 }}}} Corp"
        owner: "<b>bob</b>@example.com"
        amount: 90000
        created: 2026-01-01
        expected_close: 2026-04-01
        """))
    return project


def test_deal_values_are_escaped_in_html_and_never_rendered(nasty, tmp_path):
    report, proposal = tmp_path / "r.html", tmp_path / "p.html"
    assert invoke("report", *nasty.args("-o", report, "--now", "2026-03-10")).exit_code == 0
    assert invoke("propose", "D1", *nasty.args("-o", proposal, "--now", "2026-03-10")).exit_code == 0
    for out in (report, proposal):
        html = out.read_text("utf-8")
        assert NASTY not in html and "<b>bob</b>" not in html
        assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
        assert "{{ 7*7 }} Corp" in html and "49 Corp" not in html
        assert "<script" not in html.lower()


def test_deal_values_are_escaped_in_markdown(nasty, tmp_path):
    report, proposal = tmp_path / "r.md", tmp_path / "p.md"
    assert invoke("report", *nasty.args("-o", report, "--now", "2026-03-10")).exit_code == 0
    assert invoke("propose", "D1", *nasty.args("-o", proposal, "--now", "2026-03-10")).exit_code == 0
    for out in (report, proposal):
        md = out.read_text("utf-8")
        assert "<script>" not in md and "&lt;script&gt;alert(1)&lt;/script&gt;" in md
        assert "{{ 7*7 }} Corp" in md and "49 Corp" not in md


def test_deal_values_are_escaped_in_the_render_actions_proposal(nasty):
    nasty.workflow.write_text(nasty.workflow.read_text().replace(
        "      - {id: meet, required: false}\n",
        "      - {id: meet, required: false}\n      - {id: doc, uses: render, with: {template: proposal.html.j2}, required: false}\n"))
    assert invoke("run", *nasty.args("--now", "2026-03-10")).exit_code == 0
    html = (nasty.root / ".flowctl" / "artifacts" / "D1-proposal.html").read_text("utf-8")
    assert NASTY not in html and "&lt;script&gt;" in html and "{{ 7*7 }} Corp" in html


# ---------------------------------------------------------------------------------
# whole runs: the README's demo, errors, the empty pipeline, Maven, a bounded size
# ---------------------------------------------------------------------------------

def test_readme_demo_init_run_report(tmp_path):
    flowctl = [sys.executable, "-m", "flowctl"]
    assert subprocess.run([*flowctl, "init", "--force", "demo"], cwd=tmp_path, capture_output=True).returncode == 0
    demo = tmp_path / "demo"
    run = subprocess.run([*flowctl, "run"], cwd=demo, capture_output=True, text=True)
    assert run.returncode == 0, run.stderr
    done = subprocess.run([*flowctl, "report", "-o", "pipeline.html"], cwd=demo, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert "wrote pipeline.html" in done.stdout
    html = (demo / "pipeline.html").read_text("utf-8")
    assert html.count("<svg") == 7 and "acme-sales" in html


def test_a_deal_with_errors_is_skipped_the_report_written_and_exit_1(project, tmp_path):
    project.deal("D1")
    (project.deals / "bad.yaml").write_text("id: BAD\namount: lots\n")
    out = tmp_path / "r.html"
    result = invoke("report", *project.args("-o", out, "--now", "2026-03-10"))
    assert result.exit_code == 1
    assert out.exists() and "could not be read and is left out" in text_of(out.read_text("utf-8"))


def test_an_empty_pipeline_renders(project, tmp_path):
    for suffix in ("html", "md"):
        out = tmp_path / f"r.{suffix}"
        result = invoke("report", *project.args("-o", out, "--now", "2026-03-10"))
        assert result.exit_code == 0, result.output
        assert "No deals yet" in out.read_text("utf-8") or suffix == "md"


@pytest.fixture(scope="module")
def maven(maven_import) -> Path:
    """conftest's one import of the session; read-only (the reports go to tmp_path)."""
    return maven_import


@pytest.mark.parametrize("locale", ["en", "es", "de"])
def test_maven_report_renders_in_every_language(maven, tmp_path, locale):
    for suffix in ("html", "md"):
        out = tmp_path / f"maven-{locale}.{suffix}"
        result = invoke("report", "-w", maven / "workflow.yaml", "-o", out, "--now", "2017-12-31", "--locale", locale)
        assert result.exit_code == 0, result.output
        text = out.read_text("utf-8").replace("\u00a0", " ")
        assert {"en": "63.2%", "es": "63,2 %", "de": "63,2 %"}[locale] in text  # the README's win rate
        assert "Engaging" in text
        if suffix == "html":
            assert text.count("<svg") == 6  # no orders in the export: no backlog to project


def test_maven_report_figures(maven):
    ctx = context_of(maven, now="2017-12-31")
    assert ctx["win_rate"]["won"] == 4238 and ctx["win_rate"]["lost"] == 2473
    assert ctx["outcomes"]["won"]["amount"] == 10005534
    assert ctx["bottleneck"]["stage"] == "engaging"
    assert ctx["stuck"]["count"] == 1479
    assert ctx["forecast"]["undated"] == ctx["forecast"]["open_deals"] == 2089  # the export has no expected close


def test_the_report_size_stays_bounded(tmp_path):
    sys.path.insert(0, str(ROOT / "benchmarks"))
    try:
        from synthetic import WORKFLOW, write_deals
    finally:
        sys.path.pop(0)
    sizes = {}
    for n in (150, 1500):
        folder = tmp_path / str(n)
        folder.mkdir()
        (folder / "workflow.yaml").write_text(WORKFLOW)
        write_deals(folder / "deals", n)
        out = tmp_path / f"{n}.html"
        result = invoke("report", "-w", folder / "workflow.yaml", "-o", out, "--now", NOW, "--top", "5")
        assert result.exit_code == 0, result.output
        html = out.read_text("utf-8")
        sizes[n] = len(html)
        ids = set(re.findall(r"BENCH-\d{7}", html))
        assert len(ids) <= 3 * 5  # the top 5 biggest, stuck and rotting deals, never every deal
    assert sizes[1500] < 1.3 * sizes[150] and sizes[1500] < 150_000


@pytest.mark.parametrize("body", ["amount: 1.0e+29\n", "amount: 1.0e+300\n", "amount: 123456789012345678901234567890\n",
                                  "amount: 0.5\n", "amount: ~\n", "name: ''\n", ""])
def test_proposals_and_reports_render_for_every_valid_deal(cli, project, tmp_path, body):
    (project.deals / "D1.yaml").write_text(f"id: D1\ncreated: 2026-01-01\n{body}")
    common = ("-w", str(project.workflow), "--now", "2026-01-05")
    assert cli("validate", *common[:2], str(project.deals / "D1.yaml")).exit_code == 0
    for suffix in ("md", "html"):
        result = cli("propose", "D1", str(project.deals), *common, "-o", str(tmp_path / f"p.{suffix}"))
        assert result.exit_code == 0, result.output
        assert "Traceback" not in result.output
    result = cli("report", str(project.deals), *common, "-o", str(tmp_path / "r.html"))
    assert result.exit_code == 0, result.output
