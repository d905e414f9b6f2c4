"""Tests for flowctl.templating: templates found in their folders in order, rendered with
the locale's filters, and every failure (missing, broken, failing, too long, a name or a
link leaving its folder) a message naming the template and the line, never a traceback."""
from __future__ import annotations

import os

import pytest

from flowctl.diagnostics import FlowctlError
from flowctl.templating import BrokenTemplate, Templates, _leaves_folder


@pytest.fixture
def folder(tmp_path):
    files = {
        "ok.md.j2": "Hi {{ deal.name }}\n",
        "page.html.j2": "<p>{{ v }}</p>",
        "bad.j2": "line1\n{% if %}\n",
        "boom.j2": "a\nb\n{{ 1 // 0 }}\n",
        "inc.j2": "top\n{% include 'boom.j2' %}\n",
        "miss.j2": "{% include 'nope.j2' %}\n",
        "big.j2": "{% for i in range(100000) %}{{ 'x' * 1000 }}{% endfor %}",
        "money.md.j2": "{{ 1234|money }}",
    }
    for name, text in files.items():
        (tmp_path / name).write_text(text, "utf-8")
    return tmp_path


def failure(templates: Templates, name: str) -> tuple[type, str, int | None, str]:
    with pytest.raises(FlowctlError) as info:
        templates.render(name)
    [d] = info.value.diagnostics
    return type(info.value), d.file, d.line, d.message


def test_deal_values_are_data_and_escaped_only_in_html(folder):
    templates = Templates([folder])
    assert templates.render("ok.md.j2", deal={"name": "<b>{{ x }}</b>"}) == "Hi <b>{{ x }}</b>\n"
    assert templates.render("page.html.j2", v="<b>") == "<p>&lt;b&gt;</p>"


def test_folders_that_do_not_exist_are_left_out(folder):
    assert Templates([folder / "nope", folder, folder / "ok.md.j2"]).folders == [str(folder)]


def test_the_first_folder_wins(tmp_path):
    (tmp_path / "company").mkdir()
    (tmp_path / "plugin").mkdir()
    (tmp_path / "company" / "t.j2").write_text("company")
    (tmp_path / "plugin" / "t.j2").write_text("plugin")
    (tmp_path / "plugin" / "u.j2").write_text("plugin only")
    templates = Templates([tmp_path / "company", tmp_path / "plugin"])
    assert (templates.render("t.j2"), templates.render("u.j2")) == ("company", "plugin only")


def test_for_workflow_puts_the_companys_templates_first(tmp_path):
    (tmp_path / "templates").mkdir()
    (tmp_path / "plugin").mkdir()
    templates = Templates.for_workflow(str(tmp_path / "workflow.yaml"), [tmp_path / "plugin"])
    assert templates.folders == [str(tmp_path / "templates"), str(tmp_path / "plugin")]
    assert Templates.for_workflow(None, [tmp_path / "plugin"]).folders == [str(tmp_path / "plugin")]


def test_templates_have_the_locale_filters(folder):
    assert Templates([folder]).render("money.md.j2", locale="de", currency="CHF").replace("\u00a0", " ") == "1.234 CHF"


@pytest.mark.parametrize("name, kind, line, message", [
    ("nope.j2", BrokenTemplate, None, "no template named 'nope.j2' in {folder}"),
    ("miss.j2", BrokenTemplate, 1, "template miss.j2 failed: no template named 'nope.j2' in {folder}"),
    ("boom.j2", FlowctlError, 3, "template boom.j2 failed: ZeroDivisionError: integer division or modulo by zero"),
    ("inc.j2", FlowctlError, 2,
     "template inc.j2 failed: ZeroDivisionError: integer division or modulo by zero (in boom.j2, line 3)"),
    ("big.j2", FlowctlError, None, "template big.j2 failed: TemplateOutputTooLarge: the text passed 20,000,000 characters"),
    ("../etc/passwd", BrokenTemplate, None, "no template named '../etc/passwd' in {folder} "
                                            "(template names cannot leave their folder: no '..', no absolute path)"),
    ("/etc/passwd", BrokenTemplate, None, "no template named '/etc/passwd' in {folder} "
                                          "(template names cannot leave their folder: no '..', no absolute path)"),
])
def test_each_failure_names_the_template_and_the_line(folder, name, kind, line, message):
    got = failure(Templates([folder]), name)
    assert got == (kind, name, line, message.format(folder=folder))


def test_a_syntax_error_is_placed_in_its_file(folder):
    kind, file, line, message = failure(Templates([folder]), "bad.j2")
    assert (kind, file, line) == (BrokenTemplate, str(folder / "bad.j2"), 2)
    assert message.startswith("template syntax error: ")


def test_without_any_folder_a_template_is_missing_from_any_folder(tmp_path):
    assert failure(Templates([]), "x.j2")[3] == "no template named 'x.j2' in any folder"


def test_a_link_out_of_the_folder_is_no_template(folder, tmp_path_factory):
    outside = tmp_path_factory.mktemp("outside") / "secret.txt"
    outside.write_text("secret")
    os.symlink(outside, folder / "link.j2")
    (folder / "includes-link.j2").write_text("{% include 'link.j2' %}")
    assert failure(Templates([folder]), "link.j2") == (BrokenTemplate, "link.j2", None, (
        f"no template named 'link.j2' in {folder} ('link.j2' is a link to a file outside the template folders)"))
    assert failure(Templates([folder]), "includes-link.j2") == (BrokenTemplate, "includes-link.j2", 1, (
        f"template includes-link.j2 failed: no template named 'link.j2' in {folder} "
        "('link.j2' is a link to a file outside the template folders)"))


def test_a_link_within_the_folder_is_followed(folder):
    os.symlink(folder / "ok.md.j2", folder / "alias.md.j2")
    assert Templates([folder]).render("alias.md.j2", deal={"name": "x"}) == "Hi x\n"


@pytest.mark.parametrize("source, context, text", [
    ("{{ a }}", {"a": "A"}, "A"), ("", {}, ""), ("{{ missing }}", {}, ""), ("{{ a.b.c }}", {}, ""),  # chainable
    ("{{ 1234|num }}", {"locale": "de"}, "1.234"),
])
def test_render_string(source, context, text):
    assert Templates([]).render_string(source, **context) == text


@pytest.mark.parametrize("source, kind, message", [
    ("{{ a", BrokenTemplate, "template '{{ a' failed: TemplateSyntaxError: unexpected end of template"),
    ("{% include 'x' %}", BrokenTemplate, "template \"{% include 'x' %}\" failed: no template named 'x'"),
    ("{{ 1/0 }}", FlowctlError, "template '{{ 1/0 }}' failed: ZeroDivisionError: division by zero"),
    ("x" * 100 + "{{ 1/0 }}", FlowctlError, "template '" + "x" * 77 + "...' failed: ZeroDivisionError"),
    ("{{ deal.__class__ }}", FlowctlError, "template '{{ deal.__class__ }}' failed: SecurityError: "),
])
def test_render_string_failures_name_the_workflows_text(source, kind, message):
    with pytest.raises(FlowctlError) as info:
        Templates([]).render_string(source)
    [d] = info.value.diagnostics
    assert type(info.value) is kind and d.file == "workflow" and d.message.startswith(message), d.message


@pytest.mark.parametrize("name, leaves", [
    ("a.j2", False), ("sub/a.j2", False), ("a..b.j2", False), ("../a.j2", True), ("sub/../../a.j2", True),
    ("/etc/passwd", True), ("\\x", True), ("sub\\..\\..\\a", True), ("C:/x", True), ("c:x", True),
])
def test_leaves_folder(name, leaves):
    assert _leaves_folder(name) is leaves
