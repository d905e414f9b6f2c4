"""plugins/builtin_templates.py: the packaged templates folder, holding every template the
core and the built-in actions name, and the report formats by file suffix."""
from __future__ import annotations

import re
from pathlib import Path

import jinja2
import pytest

from flowctl.plugins import builtin_templates

FOLDER = builtin_templates.flowctl_template_dirs()[0]
ROOT = Path(__file__).resolve().parents[1]


def test_the_folder_is_the_installed_packages_templates() -> None:
    (folder,) = builtin_templates.flowctl_template_dirs()
    assert folder.is_dir() and folder.resolve() == (ROOT / "templates").resolve()


def named_in_the_code() -> list[str]:
    """Every template name (`<name>.<format>.j2`) the engine and the plugins mention; not
    bare suffixes such as `html.j2`, which autoescaping matches."""
    names = set()
    for path in [*ROOT.glob("engine/**/*.py"), *ROOT.glob("plugins/*.py")]:
        names.update(re.findall(r"[\"'`]([\w-]+\.\w+\.j2)[\"'`]", path.read_text(encoding="utf-8")))
    return sorted(names)


@pytest.mark.parametrize("name", named_in_the_code())
def test_each_template_the_code_names_is_in_the_folder(name: str) -> None:
    assert (FOLDER / name).is_file(), name


@pytest.mark.parametrize("name", sorted(p.name for p in FOLDER.glob("*.j2")))
def test_each_template_parses(name: str) -> None:
    jinja2.Environment(extensions=["jinja2.ext.i18n"]).parse((FOLDER / name).read_text(encoding="utf-8"))


def test_report_formats_by_suffix() -> None:
    formats = builtin_templates.flowctl_report_formats()
    assert formats == {".html": "report.html.j2", ".md": "report.md.j2", ".markdown": "report.md.j2"}
    assert all(suffix.startswith(".") and suffix == suffix.lower() for suffix in formats)
    assert all((FOLDER / name).is_file() for name in formats.values())
