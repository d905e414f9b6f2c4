"""The words as gettext catalogs: every message of the sources is in every catalog,
translated with the same placeholders, compiled; a company's own catalog adds a language
or changes a word; catalogs load only when something is rendered."""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from babel.messages.mofile import read_mo
from babel.messages.pofile import read_po

from flowctl.testing import invoke_cli as invoke
from flowctl import catalogs
from flowctl.catalogs import Catalogs, placeholders, problems

ROOT = Path(__file__).resolve().parents[1]
LOCALE = ROOT / "engine" / "locale"
LANGUAGES = sorted(p.name for p in LOCALE.iterdir() if (p / "LC_MESSAGES" / "flowctl.po").is_file())


def read(path: Path):
    with path.open("rb") as f:
        return read_mo(f) if path.suffix == ".mo" else read_po(f)


def entries(catalog) -> dict:
    return {(m.context, m.id if isinstance(m.id, str) else tuple(m.id)): m for m in catalog if m.id}


@pytest.fixture(scope="module")
def extracted(tmp_path_factory) -> dict:
    """What `pybabel extract -F babel.cfg` finds in the sources now."""
    out = tmp_path_factory.mktemp("pot") / "flowctl.pot"
    done = subprocess.run([sys.executable, "-m", "babel.messages.frontend", "-q", "extract", "-F", "babel.cfg",
                           "-o", str(out), "."], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    return entries(read(out))


def test_the_languages_are_there():
    assert {"es", "de", "fr"} <= set(LANGUAGES)


def test_the_template_is_up_to_date(extracted):
    """scripts/update-catalogs was run after the last change of a message."""
    assert set(entries(read(LOCALE / "flowctl.pot"))) == set(extracted)


@pytest.mark.parametrize("lang", LANGUAGES)
def test_every_message_is_translated_with_the_same_placeholders(extracted, lang):
    catalog = read(LOCALE / lang / "LC_MESSAGES" / "flowctl.po")
    assert not catalog.fuzzy, f"{lang}: the catalog's header is marked fuzzy: pybabel compile would skip it"
    mine = entries(catalog)
    missing = sorted(str(k) for k in set(extracted) - set(mine))
    assert not missing, f"{lang} misses {len(missing)} message(s) (run scripts/update-catalogs, then translate): {missing[:5]}"
    stale = sorted(str(k) for k in set(mine) - set(extracted))
    assert not stale, f"{lang} has messages the sources no longer use: {stale[:5]}"
    for key, message in mine.items():
        forms = message.string if isinstance(message.string, tuple) else (message.string,)
        assert all(f.strip() for f in forms), f"{lang}: untranslated {key}"
        assert not message.fuzzy, f"{lang}: fuzzy (check it, then drop the flag) {key}"
        assert problems(message) is None, f"{lang}: {problems(message)}"
        ids = key[1] if isinstance(key[1], tuple) else (key[1],)
        if len(ids) == 1:
            assert placeholders(forms[0]) == placeholders(ids[0]), f"{lang}: placeholders differ in {key}"
        else:
            assert len(forms) == catalog.num_plurals, f"{lang}: {len(forms)} forms, {catalog.num_plurals} wanted: {key}"
            assert placeholders(forms[-1]) == placeholders(ids[1]), f"{lang}: plural placeholders differ in {key}"


@pytest.mark.parametrize("lang", LANGUAGES)
def test_the_compiled_catalog_matches_its_source(lang):
    def strings(path: Path) -> dict:
        return {k: tuple(m.string) if isinstance(m.string, (list, tuple)) else m.string
                for k, m in entries(read(path)).items()}
    po, mo = (strings(LOCALE / lang / "LC_MESSAGES" / f"flowctl.{ext}") for ext in ("po", "mo"))
    assert mo == po, f"{lang}: flowctl.mo is older than flowctl.po: run scripts/update-catalogs"


@pytest.mark.parametrize("text,names", [("%(n)s deals", {"n"}), ("100 %%", set()), ("%(a)s %(b)s %(a)s", {"a", "b"}),
                                        ("%d deals", None), ("%(n)5s", None), ("50%", None), ("", set())])
def test_placeholders(text, names):
    assert placeholders(text) == names


def test_english_is_the_source_and_a_locale_falls_back_to_its_language():
    c = Catalogs()
    assert c.words("en")._("Pipeline report") == "Pipeline report" and c.language("en") == "en"
    assert c.words("de-CH")._("Pipeline report") == "Pipeline-Bericht" and c.language("de_CH") == "de"
    assert c.words("it").pgettext("amount", "Won") == "Won" and c.language("it") == "en"
    fr = c.words("fr")
    assert [fr.ngettext("%(n)s deal", "%(n)s deals", n, n=n) for n in (0, 1, 2)] == ["0 affaire", "1 affaire",
                                                                                     "2 affaires"]
    de = c.words("de")
    assert de.pgettext("amount", "Won") == "Gewonnen" and c.words("es").pgettext("amount", "Won") == "Ganado"
    assert c.words("es")._("Won") == "Ganadas"  # the deals, not the amount: a context tells them apart
    assert de.ngettext("%(n)s day", "%(n)s days", 1.5, n="1,5") == "1,5 Tage"


def company(tmp_path: Path, lang: str, body: str, header: str = "") -> Path:
    folder = tmp_path / "locale" / lang / "LC_MESSAGES"
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "flowctl.po"
    path.write_text(f'msgid ""\nmsgstr ""\n"Language: {lang}\\n"\n"Content-Type: text/plain; charset=utf-8\\n"\n'
                    f"{header}\n{body}", "utf-8")
    return path


def test_a_company_catalog_adds_a_language_and_changes_a_word(tmp_path):
    company(tmp_path, "it", 'msgid "Pipeline report"\nmsgstr "Rapporto della pipeline"\n\n'
                            'msgid "%(n)s deal"\nmsgid_plural "%(n)s deals"\nmsgstr[0] "%(n)s trattativa"\n'
                            'msgstr[1] "%(n)s trattative"\n\n#, fuzzy\nmsgid "Win rate"\nmsgstr "Tasso?"\n',
            header='"Plural-Forms: nplurals=2; plural=(n != 1);\\n"\n')
    company(tmp_path, "de", 'msgid "Pipeline report"\nmsgstr "Vertriebsbericht"\n')
    c = Catalogs([tmp_path / "locale"])
    it = c.words("it")
    assert c.language("it") == "it" and it._("Pipeline report") == "Rapporto della pipeline"
    assert it.ngettext("%(n)s deal", "%(n)s deals", 3, n=3) == "3 trattative"
    assert it._("Win rate") == "Win rate"  # fuzzy: not trusted, English stands
    de = c.words("de")
    assert de._("Pipeline report") == "Vertriebsbericht" and de._("Win rate") == "Gewinnquote"  # the rest: built-in


@pytest.mark.parametrize("body,message", [
    ('msgid "Win rate"\nmsgstr "%(rate)s"\n', "placeholders the message does not: rate"),
    ('msgid "%(n)s deal"\nmsgid_plural "%(n)s deals"\nmsgstr[0] "%(n)999999999s"\nmsgstr[1] "x"\n',
     "only %(name)s placeholders"),
    ('msgid "Win rate"\nmsgstr "ok"\ngarbage here\n', "not a valid gettext catalog"),
    ('msgid "Win rate"\n', "not a valid gettext catalog"),
])
def test_a_broken_company_catalog_is_an_error_naming_it(tmp_path, body, message):
    path = company(tmp_path, "it", body)
    with pytest.raises(catalogs.FlowctlError) as err:
        Catalogs([tmp_path / "locale"]).words("it")
    d = err.value.diagnostics[0]
    assert d.file == str(path) and message in d.message


def test_a_binary_company_catalog_is_an_error(tmp_path):
    path = company(tmp_path, "it", "")
    path.write_bytes(b"\xff\xfe\x00garbage\x00")
    with pytest.raises(catalogs.FlowctlError):
        Catalogs([tmp_path / "locale"]).words("it")


def test_a_report_in_a_companys_own_language(tmp_path):
    assert invoke("init", tmp_path / "demo").exit_code == 0
    demo = tmp_path / "demo"
    company(demo, "it", 'msgid "Pipeline report"\nmsgstr "Rapporto della pipeline"\n')
    out = tmp_path / "r.md"
    result = invoke("report", "-w", demo / "workflow.yaml", "-o", out, "--now", "2026-11-23", "--locale", "it")
    assert result.exit_code == 0, result.output
    text = out.read_text("utf-8")
    assert text.startswith("# Rapporto della pipeline") and "Win rate" in text
    assert "1.089.000 €" in text.replace("\u00a0", " ")  # Italian number formats, from Babel


def test_a_broken_company_catalog_stops_the_report_with_exit_2(tmp_path):
    assert invoke("init", tmp_path / "demo").exit_code == 0
    company(tmp_path / "demo", "en", 'msgid "Pipeline report"\nmsgstr "%d"\n')
    result = invoke("report", "-w", tmp_path / "demo" / "workflow.yaml", "-o", tmp_path / "r.md", "--now", "2026-11-23")
    assert result.exit_code == 2 and "flowctl.po:" in result.output and "Traceback" not in result.output


def test_an_old_template_calling_t_gets_a_clear_message(tmp_path):
    assert invoke("init", tmp_path / "demo").exit_code == 0
    (tmp_path / "demo" / "templates" / "report.md.j2").write_text("# {{ t('report_title') }}\n")
    result = invoke("report", "-w", tmp_path / "demo" / "workflow.yaml", "-o", tmp_path / "r.md")
    assert result.exit_code == 2 and "t('key') is gone" in result.output and "{% trans %}" in result.output


def test_notifications_speak_the_workflows_language(project):
    project.workflow.write_text(project.workflow.read_text().replace("locale: en", "locale: es")
                                + "notifications:\n  - {on: stage_entered, channel: console}\n")
    project.deal("D1")
    result = invoke("run", "--now", "2026-01-05", "--format", "json", *project.args())
    assert result.exit_code == 0, result.output
    assert "[console] to bob@example.com: D1 entró en prospect" in result.stderr
    assert "Entrada en etapa: D1\nEtapa: prospect\nResponsable: bob@example.com\n" in result.stderr
    assert "Fecha: 2026-01-01" in result.stderr  # the date the deal entered the stage


def test_catalogs_load_only_when_something_is_rendered(project):
    project.deal("D1")
    catalogs._builtin_bytes.cache_clear()
    for args in (["validate", "-w", project.workflow, project.deals], ["status", *project.args()],
                 ["run", "--now", "2026-01-05", *project.args()]):
        assert invoke(*args).exit_code == 0
    assert catalogs._builtin_bytes.cache_info().currsize == 0
    result = invoke("report", *project.args("-o", project.root / "r.md", "--locale", "fr"))
    assert result.exit_code == 0 and catalogs._builtin_bytes.cache_info().currsize > 0


def test_the_installed_package_carries_the_catalogs():
    setup = (ROOT / "setup.cfg").read_text("utf-8")
    assert "locale/*/LC_MESSAGES/*.mo" in setup and "locale/*/LC_MESSAGES/*.po" in setup
    assert json.dumps(LANGUAGES)  # every language found here ships
