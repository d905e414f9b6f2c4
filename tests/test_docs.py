"""docs/plugins.md documents every hook with its exact signature, every type plugins use,
every pytest fixture flowctl ships, and shows code that at least parses (datasette's
docs test: a hook added or changed in hookspecs.py without its documentation fails here).
"""
from __future__ import annotations

import ast
import dataclasses
import inspect
import json
import re
import textwrap
from pathlib import Path

import pytest

import flowctl
import flowctl.hookspecs
import flowctl.hooktypes
import flowctl.store
import flowctl.testing
from flowctl.hooktypes import Message

DOCS = Path(__file__).resolve().parents[1] / "docs" / "plugins.md"
TEXT = DOCS.read_text("utf-8")


def _annotation(node: ast.expr | None) -> str | None:
    if node is None:
        return None
    if isinstance(node, ast.Constant) and isinstance(node.value, str):  # a quoted annotation
        return node.value
    return ast.unparse(node)


def hookspecs() -> dict[str, tuple[str, bool]]:
    """name -> (signature as written in hookspecs.py, firstresult)."""
    tree = ast.parse(inspect.getsource(flowctl.hookspecs))
    out = {}
    for node in tree.body:
        if isinstance(node, ast.FunctionDef) and node.name.startswith("flowctl_"):
            args = ", ".join(f"{a.arg}: {_annotation(a.annotation)}" if a.annotation else a.arg
                             for a in node.args.args)
            returns = _annotation(node.returns)
            signature = f"{node.name}({args})" + (f" -> {returns}" if returns else "")
            first = any(isinstance(d, ast.Call) and any(k.arg == "firstresult" and ast.literal_eval(k.value)
                                                        for k in d.keywords) for d in node.decorator_list)
            out[node.name] = (signature, first)
    return out


def sections() -> dict[str, str]:
    """Heading text -> the section's text (up to the next heading of any level)."""
    out: dict[str, str] = {}
    current, lines = None, []
    in_code = False
    for line in TEXT.splitlines():
        if line.startswith("```"):
            in_code = not in_code
        if not in_code and re.match(r"^#{1,6} ", line):
            if current is not None:
                out[current] = "\n".join(lines)
            current, lines = line.lstrip("#").strip(), []
        else:
            lines.append(line)
    if current is not None:
        out[current] = "\n".join(lines)
    return out


HOOKS = hookspecs()
SECTIONS = sections()


def test_hookspecs_are_found():
    assert len(HOOKS) >= 8
    assert HOOKS["flowctl_open_store"] == ("flowctl_open_store(url: str) -> Store | None", True)


@pytest.mark.parametrize("hook", sorted(HOOKS))
def test_every_hook_has_a_section_headed_by_its_exact_signature(hook):
    signature, _ = HOOKS[hook]
    assert f"`{signature}`" in SECTIONS, f"docs/plugins.md has no section headed `{signature}`"


def test_no_section_documents_a_hook_that_does_not_exist():
    documented = {m.group(1) for heading in SECTIONS for m in [re.match(r"`(flowctl_\w+)\(", heading)] if m}
    assert documented == set(HOOKS)
    signatures = {heading.strip("`") for heading in SECTIONS if heading.startswith("`flowctl_")}
    assert signatures == {s for s, _ in HOOKS.values()}


@pytest.mark.parametrize("hook", sorted(HOOKS))
def test_each_hook_section_says_whether_the_first_result_wins(hook):
    signature, first = HOOKS[hook]
    section = SECTIONS[f"`{signature}`"]
    assert "called" in section.lower()  # when it is called
    if first:
        assert "first non-None result wins" in section
    else:
        assert "first non-None result wins" not in section
    if "-> list[" in signature and hook != "flowctl_template_dirs":
        assert "lists are joined" in section


def test_every_public_name_is_documented():
    section = SECTIONS["The public API"]
    for name in flowctl.__all__:
        assert f"`{name}`" in section, f"flowctl.{name} is in __all__ but not in docs/plugins.md's public API"


PLUGIN_CODE = [DOCS, *sorted((DOCS.parents[1] / "examples" / "flowctl-chat").rglob("*.py"))]


@pytest.mark.parametrize("path", PLUGIN_CODE, ids=lambda p: p.name)
def test_plugin_code_imports_only_the_public_api(path):
    text = path.read_text("utf-8")
    internal = re.findall(r"^\s*(?:from flowctl\.(\w+)|import flowctl\.(\w+))", text, re.M)
    assert not [m for m in internal if "plugins" not in m and "testing" not in m], \
        f"{path.name} imports flowctl internals: {internal}"


def test_every_hookspec_has_a_docstring():
    for name in HOOKS:
        assert (getattr(flowctl.hookspecs, name).__doc__ or "").strip(), name


TYPES = ["ChannelType", "ChannelSession", "Message", "DeliveryError", "Action", "ActionContext", "ActionOutcome",
         "ForecastMethod", "ForecastInput", "MetricKind"]


@pytest.mark.parametrize("name", TYPES)
def test_every_type_plugins_use_is_documented_with_its_fields(name):
    assert name in SECTIONS, f"docs/plugins.md has no section `{name}`"
    cls = getattr(flowctl.hooktypes, name)
    if dataclasses.is_dataclass(cls):
        for field in dataclasses.fields(cls):
            assert f"`{field.name}`" in SECTIONS[name], f"{name}.{field.name} is not documented"


def test_every_hooktypes_class_is_documented():
    public = {n for n, obj in vars(flowctl.hooktypes).items()
              if inspect.isclass(obj) and obj.__module__ == flowctl.hooktypes.__name__ and not n.startswith("_")}
    assert public - {"ReportRenderer", "MetricAccumulator"} <= set(TYPES)  # protocols: in the public API's table


def test_the_store_protocol_is_documented_member_by_member():
    section = SECTIONS["The Store protocol"]
    members = [n for n in vars(flowctl.store.Store) if not n.startswith("_")]
    members += list(flowctl.store.Store.__annotations__)
    for member in set(members):
        assert f"`{member}" in section, f"Store.{member} is not documented"


def test_registration_and_switches_are_documented():
    for needle in ("[project.entry-points.flowctl]", "[options.entry_points]", "--plugin",
                   "FLOWCTL_DISABLE_PLUGINS", "FLOWCTL_STRICT_PLUGINS", "flowctl plugins --format json",
                   "pytest11", "X-Flowctl-Key", "X-Flowctl-Signature", "at least once"):
        assert needle in TEXT, needle


def test_every_fixture_of_flowctl_testing_is_documented():
    tree = ast.parse(inspect.getsource(flowctl.testing))
    fixtures = [node.name for node in tree.body if isinstance(node, ast.FunctionDef)
                and any("fixture" in ast.unparse(d) for d in node.decorator_list)]
    assert set(fixtures) >= {"flowctl_project", "flowctl_run", "flowctl_now", "flowctl_store", "captured_notifications"}
    section = SECTIONS["Testing a plugin"]
    for name in fixtures:
        assert f"`{name}`" in section, f"fixture {name} is not documented"


def test_the_webhook_body_example_has_exactly_the_keys_the_webhook_sends():
    from flowctl.plugins.webhook import body_bytes

    section = SECTIONS["The webhook JSON body"]
    example = json.loads(re.search(r"```json\n(.*?)```", section, re.S).group(1))
    sent = json.loads(body_bytes(Message("k", "c", None, "s", "b", {"events": []})))
    assert set(example) == set(sent)
    assert set(example["payload"]) == {"events", "deal"}


def test_python_examples_parse():
    blocks = re.findall(r"```python\n(.*?)```", TEXT, re.S)
    assert len(blocks) >= 4
    for block in blocks:
        ast.parse(block)


def test_the_docs_link_to_files_that_exist():
    for target in re.findall(r"\]\(([^)#]+)(?:#[^)]*)?\)", TEXT):
        if "://" not in target:
            assert (DOCS.parent / target).exists(), target


# --------------------------------------------------------------------------- docs/channels.md

CHANNELS = (DOCS.parent / "channels.md").read_text("utf-8")
KEY_RULE = "<event key>|<rule id, else its index under notifications:>|<channel>|<recipient>"
KEY_DIGEST = "digest|<rule id, else its index under notifications:>|<channel>|<recipient>|<digest hash>"
KEY_ACTION = "<deal>:action:<job>|<channel>|<recipient>"
CONSOLE_LINE = "[<channel>] to <recipient>: <subject>"


def _fill(documented: str, **values: str) -> str:
    """A documented format with its `<placeholders>` replaced (by the first word of their text)."""
    assert f"`{documented}`" in CHANNELS, f"docs/channels.md no longer documents {documented}"
    return re.sub(r"<([^>]+)>", lambda m: values[re.sub(r"\W.*", "", m[1].split()[0])], documented)


def test_the_outbox_keys_are_built_as_channels_md_documents(flowctl_project, flowctl_run, captured_notifications):
    import hashlib

    flowctl_project.write_workflow(flowctl.testing.DEFAULT_WORKFLOW + textwrap.dedent("""\
        channels:
          cap: {use: capture}
        notifications:
          - {id: entered, on: stage_entered, channel: cap}
          - {on: stage_entered, channel: cap, to: "x@example.com"}
          - {on: stage_entered, channel: cap, digest: true}
        stages:
          - id: prospect
            jobs:
              - {id: note, uses: notify, with: {channel: cap}}
        """))
    flowctl_project.deal("D1")
    flowctl_run()
    event = f"D1:stage_entered:prospect:{flowctl_project.now.iso()}"
    part = _fill(KEY_RULE, event=event, rule="2", channel="cap", recipient="rep@example.com")
    digest = hashlib.sha256(part.encode()).hexdigest()[:16]
    assert sorted(m.key for m in captured_notifications) == sorted([
        _fill(KEY_RULE, event=event, rule="entered", channel="cap", recipient="rep@example.com"),
        _fill(KEY_RULE, event=event, rule="1", channel="cap", recipient="x@example.com"),
        _fill(KEY_DIGEST, rule="2", channel="cap", recipient="rep@example.com", digest=digest),
        _fill(KEY_ACTION, deal="D1", job="note", channel="cap", recipient="rep@example.com"),
    ])


def test_the_console_channel_writes_the_documented_line_to_standard_error(flowctl_project, flowctl_run):
    flowctl_project.write_workflow(flowctl.testing.DEFAULT_WORKFLOW + """\
notifications:
  - {on: stage_entered, channel: console, subject: "Hello {{ deal.id }}"}
""")
    flowctl_project.deal("D1")
    output = flowctl_run()  # the JSON report on standard output parses: nothing else is there
    assert "Hello D1" not in output.stdout
    line = _fill(CONSOLE_LINE, channel="console", recipient="rep@example.com", subject="Hello D1")
    assert line in output.stderr.splitlines()
