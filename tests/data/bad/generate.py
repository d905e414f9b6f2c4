"""Writes the bad-input corpus of tests/test_bad_inputs.py (run it from anywhere:
`python tests/data/bad/generate.py`). Every case is one file (or, for imports, a map and
a CSV) whose first lines say what is wrong and what the output must contain:

    # bad: what is wrong
    # expect: text that must appear in the output (`@L:C` stands for `<file>:L:C`)
    # rc: 1            (only where the exit code is not 2)

Binary and non-UTF-8 cases keep these lines in a sidecar `<file>.expect`. The 50 MB
file, the schema-generated wrong types and the missing paths are made by the test.
"""
from __future__ import annotations

import json
import shutil
from pathlib import Path

HERE = Path(__file__).parent

BASE_WORKFLOW = """\
flowctl: 1
name: bad-corpus
currency: EUR
fields:
  roi: {type: number}
channels:
  hook: {use: webhook, url: "http://127.0.0.1:9/hook", timeout: 1}
stages:
  - id: prospect
    probability: 0.1
    max_days: 10
    rot_days: 5
    jobs:
      - {id: verify, title: Verify the prospect, owner: rep, due: 7d}
      - {id: meet, required: false}
  - id: qualified
    probability: 0.4
    gates:
      - {id: roi-ok, when: "deal.roi >= 1.2", message: ROI too low}
  - id: proposed
    probability: 0.6
    gates:
      - {id: price-approved, approval: management}
  - id: closed
    terminal: true
metrics:
  - {id: conv, kind: conversion, from: prospect, to: qualified, target: ">= 0.3"}
notifications:
  - {on: stage_entered, channel: console}
"""

GOOD_DEAL = """\
id: GOOD-1
name: A good deal
owner: bob@example.com
amount: 1000
created: 2026-01-01
roi: 1.5
jobs:
  verify: 2026-01-03
"""

RENDER_WORKFLOW = """\
flowctl: 1
name: render-corpus
fields:
  roi: {type: number}
stages:
  - id: prospect
    jobs:
      - {id: proposal, uses: render, with: {template: proposal.md.j2}}
      - {id: verify}
  - id: closed
    terminal: true
notifications:
  - {on: stage_entered, channel: console}
"""

GOOD_MAP = """\
columns: {id: Id, name: Name, owner: Owner, amount: Amount, created: Created}
history: {prospect: Created}
"""

GOOD_CSV = "Id,Name,Owner,Amount,Created\nI-1,One,ann@example.com,1000,2026-01-02\nI-2,Two,bob@example.com,2000,2026-01-03\n"

cases: dict[str, tuple[str | bytes, list[str]]] = {}


def case(folder: str, name: str, text: str | bytes, what: str, *expect: str, rc: int | None = None) -> None:
    lines = [f"bad: {what}", *(f"expect: {e}" if not e.startswith("name: ") else e for e in expect)] + ([f"rc: {rc}"] if rc is not None else [])
    cases[f"{folder}/{name}"] = (text, lines)


def wf(name: str, old: str, new: str, what: str, *expect: str) -> None:
    assert old in BASE_WORKFLOW, old
    case("workflows", name + ".yaml", BASE_WORKFLOW.replace(old, new, 1), what, *expect)


def deal(name: str, text: str | bytes, what: str, *expect: str, ext: str = ".yaml") -> None:
    case("deals", name + ext, text, what, *expect)


# What the workflow does not know about a deal is a warning (SPEC section 2, first rule):
# `validate` exits 0 (2 with --strict), `run` evaluates and records the deal.
WARNED = {'date-activity', 'date-approval', 'date-job', 'date-order', 'huge-order', 'huge-probability', 'huge-roi', 'ref-approval-role', 'ref-unknown-gate', 'ref-unknown-job', 'ref-unknown-stage-claim', 'ref-unknown-stage-history', 'type-activities-mapping', 'type-field-roi', 'type-history-strings', 'type-jobs-list', 'type-orders-amount', 'type-unknown-key'}


def dealx(name: str, extra: str, what: str, *expect: str) -> None:
    text = "id: BAD-" + name + "\nname: x\nowner: bob@example.com\n" + extra
    case("deals", name + ".yaml", text, what, *expect, rc=0 if name in WARNED else None)


# ------------------------------------------------------------------ YAML syntax (both kinds)

SYNTAX = {
    "unclosed-flow-seq": ("stages: [a, b\n", "did not find expected ',' or ']'"),
    "unclosed-flow-map": ("stages:\n  - {id: a, terminal: true\n", "did not find expected ',' or '}'"),
    "unclosed-nested-flow": ("stages: [{id: a, jobs: [x, y}]\n", "YAML syntax error"),
    "bad-indent": ("stages:\n  - id: a\n   terminal: true\n", "did not find expected '-' indicator"),
    "bad-indent-mapping": ("name: x\n  currency: EUR\n", "mapping values are not allowed"),
    "dedent-in-seq": ("stages:\n    - id: a\n  - id: b\n", "YAML syntax error"),
    "tab-indent": ("stages:\n\t- id: a\n", "found character that cannot start any token"),
    "tab-after-key": ("name:\tx\nstages:\n\t- id: a\n", "YAML syntax error"),
    "unterminated-double-quote": ('name: "x\nstages: []\n', "while scanning a quoted scalar"),
    "unterminated-single-quote": ("name: 'x\nstages: []\n", "while scanning a quoted scalar"),
    "invalid-escape": ('name: "a\\qb"\nstages: []\n', "found unknown escape character"),
    "invalid-hex-escape": ('name: "a\\xZZ"\nstages: []\n', "YAML syntax error"),
    "invalid-unicode-escape": ('name: "a\\uD8"\nstages: []\n', "YAML syntax error"),
    "stray-document-end": ("name: x\n...\nstages: []\n", "did not find expected <document start>"),
    "stray-document-start": ("name: x\n---\nstages: []\n", "more than one YAML document"),
    "two-documents": ("name: x\n---\nname: y\n", "more than one YAML document"),
    "undefined-alias": ("name: *nope\nstages: []\n", "found undefined alias"),
    "alias-before-anchor": ("name: *a\ncurrency: &a EUR\n", "found undefined alias"),
    "duplicate-anchor-then-alias": ("a: &x 1\nb: &x 2\nname: *x\n", "YAML syntax error"),
    "colon-in-plain-scalar": ("name: a: b\nstages: []\n", "mapping values are not allowed"),
    "python-tag": ("name: !!python/object/apply:os.system ['echo hi']\n", "could not determine a constructor"),
    "python-name-tag": ("name: !!python/name:os.system ''\n", "could not determine a constructor"),
    "unknown-tag": ("name: !foo x\n", "could not determine a constructor for the tag '!foo'"),
    "bad-yaml-directive": ("%YAML 9.9\n---\nname: x\n", "found incompatible YAML document"),
    "unknown-directive": ("%FOO bar\n---\nname: x\n", "found unknown directive name"),
    "block-entry-in-flow": ("stages: [ - a ]\n", "did not find expected node content"),
    "mapping-after-seq": ("stages:\n  - a\n  b: c\n", "did not find expected '-' indicator"),
    "control-character": ("name: x\x07y\n", "unacceptable character"),
    "at-sign": ("name: @x\n", "found character that cannot start any token"),
    "backtick": ("name: `x\n", "found character that cannot start any token"),
    "unclosed-bracket-key": ("[name: x\n", "YAML syntax error"),
    "overlong-implicit-key": ("k" * 1100 + ": x\n", "could not find expected ':'"),
    "merge-of-scalar": ("<<: 5\n", "expected a mapping or list of mappings for merging"),
    "literal-bad-indent": ("name: |\n    a\n  b\n", "YAML syntax error"),
    "literal-bad-indicator": ("name: |x\n  a\n", "did not find expected comment or line break"),
    "unhashable-key": ("? [a, b]\n: c\n", "found unhashable key"),
    "flow-extra-bracket": ("stages: [a, b]]\n", "YAML syntax error"),
    "quote-then-text": ('name: "x" y\n', "YAML syntax error"),
    "anchor-on-nothing-then-key": ("name: &\n", "YAML syntax error"),
    "comment-without-space": ("name: x#y\nstages: [a]#c\n", "stages"),
}
for key, (body, message) in SYNTAX.items():
    case("workflows", f"yaml-{key}.yaml", "flowctl: 1\n" + body, f"YAML: {key.replace('-', ' ')}", message)
for key in ("unclosed-flow-seq", "bad-indent", "tab-indent", "unterminated-double-quote", "invalid-escape",
            "stray-document-end", "stray-document-start", "undefined-alias", "colon-in-plain-scalar", "python-tag",
            "unknown-tag", "mapping-after-seq", "control-character", "overlong-implicit-key", "unhashable-key",
            "literal-bad-indicator"):
    body, message = SYNTAX[key]
    deal(f"yaml-{key}", "id: BAD-1\n" + body.replace("stages", "tags"), f"YAML: {key.replace('-', ' ')}", message)

# positions checked by hand
case("workflows", "yaml-position-unclosed-quote.yaml", 'flowctl: 1\nname: "broken\nstages: []\n',
     "a quote never closed: reported at the end of the file", "@4:1", "found unexpected end of stream")
case("workflows", "yaml-position-tab.yaml", "flowctl: 1\nname: x\nstages:\n\t- id: a\n",
     "a tab indents a line", "@4:1")
case("workflows", "yaml-position-escape.yaml", 'flowctl: 1\nname: "a\\qb"\n', "bad escape", "@2:9")
case("workflows", "yaml-position-control-character.yaml", "flowctl: 1\nname: x\x07y\n",
     "a control character: the message must say where it is", "@2:", "unacceptable character")
deal("yaml-position-colon", "id: BAD-1\nname: Fleet: telemetry\n", "a colon in a plain value", "@2:12")
deal("yaml-crlf-syntax", "id: BAD-1\r\nname: \"x\r\nowner: y\r\n", "CRLF file with an unclosed quote", "@4:1")
deal("yaml-bom-syntax", "\ufeffid: BAD-1\nname: [x\n", "BOM, then an unclosed flow sequence", "@3:1")

# ------------------------------------------------------------------ encodings, empties, odd documents

def binary(folder: str, name: str, data: bytes, what: str, *expect: str) -> None:
    case(folder, name, data, what, *expect)


for folder, ext in (("workflows", ".yaml"), ("deals", ".yaml")):
    binary(folder, "enc-latin1" + ext, "name: caf\xe9\n".encode("latin-1"), "Latin-1 bytes", "@1:10", "not UTF-8")
    binary(folder, "enc-utf16" + ext, "name: x\n".encode("utf-16"), "UTF-16 with BOM", "@1:1", "not UTF-8")
    binary(folder, "enc-nul" + ext, b"name: x\x00y\n", "a NUL byte", "binary file")
    binary(folder, "enc-png" + ext, b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(range(256)), "a PNG", "not UTF-8")
    binary(folder, "enc-random" + ext, bytes((i * 97 + 13) % 256 for i in range(4096)), "random bytes", "not UTF-8")
    binary(folder, "enc-overlong-utf8" + ext, b"name: \xc0\xaf\n", "overlong UTF-8", "@1:7", "not UTF-8")
    binary(folder, "enc-truncated-utf8" + ext, b"name: caf\xc3", "UTF-8 cut in the middle of a character", "not UTF-8")
    binary(folder, "enc-surrogate-utf8" + ext, b"name: \xed\xa0\x80\n", "an encoded surrogate", "not UTF-8")
    binary(folder, "enc-gzip" + ext, b"\x1f\x8b\x08\x00\x00\x00\x00\x00\x00\x03" + bytes(64), "a gzip file", "not UTF-8")
binary("deals", "enc-latin1.json", '{"id": "caf\xe9"}'.encode("latin-1"), "Latin-1 JSON", "not UTF-8")
binary("deals", "enc-nul.json", b'{"id": "a\x00"}', "a NUL byte in JSON", "binary file")

case("workflows", "empty.yaml", "", "an empty workflow file")
case("workflows", "only-comments.yaml", "# nothing here\n# at all\n", "only comments")
case("workflows", "only-document-marker.yaml", "---\n", "only ---")
case("workflows", "scalar.yaml", "just some text\n", "a scalar document", "must be a mapping")
case("workflows", "list.yaml", "- flowctl: 1\n- name: x\n", "a list document", "must be a mapping")
case("workflows", "whitespace.yaml", "   \n\n   \n", "only blank lines")
deal("empty", "", "an empty deal file", "empty file")
deal("only-comments", "# a deal will go here\n", "only comments", "empty file")
deal("only-document-marker", "---\n...\n", "only markers", "empty file")
deal("scalar", "ACME-1\n", "a scalar", "must be a mapping")
deal("list", "- id: A\n- id: B\n", "a bare list", "must be a mapping")
deal("deals-not-list", "deals: {id: A}\n", "`deals:` is a mapping", "`deals:` must be a list")
deal("deals-entry-scalar", "deals:\n  - 5\n", "`deals:` entry is a number", "must be a mapping (a deal)")
deal("deals-extra-key", "deals: []\nowner: x\n", "a key beside `deals:`", "unknown key 'owner'")
deal("empty", "", "an empty JSON deal", "invalid JSON", ext=".json")
deal("json-syntax", '{"id": "A", "name": }', "JSON: missing value", "@1:21", "invalid JSON")
deal("json-trailing-comma", '{"id": "A",}', "JSON: trailing comma", "@1:12", "invalid JSON")
deal("json-single-quotes", "{'id': 'A'}", "JSON: single quotes", "@1:2", "invalid JSON")
deal("json-comment", '{"id": "A" // no\n}', "JSON: a comment", "invalid JSON")
deal("json-unclosed", '{"id": "A"', "JSON: unclosed object", "invalid JSON")
deal("json-nan", '{"id": "A", "amount": NaN}', "JSON: NaN", "amount")
deal("json-two-values", '{"id": "A"} {"id": "B"}', "JSON: two documents", "@1:13", "invalid JSON")
deal("json-array", '[{"id": "A"}]', "JSON: a bare list", "must be a mapping", ext=".json")
deal("json-duplicate-key", '{"id": "A", "name": "x", "name": "y"}', "JSON: a duplicate key", "duplicate key 'name'", ext=".json")
deal("json-bad-escape", '{"id": "A\\q"}', "JSON: bad escape", "@1:", "invalid JSON", ext=".json")
for n in ("json-syntax", "json-trailing-comma", "json-single-quotes", "json-comment", "json-unclosed", "json-nan",
          "json-two-values"):
    cases[f"deals/{n}.json"] = cases.pop(f"deals/{n}.yaml")

# ------------------------------------------------------------------ alias bombs, nesting

LAUGHS = "lol0: &a0 [lol]\n" + "".join(
    f"lol{i}: &a{i} [{', '.join([f'*a{i - 1}'] * 10)}]\n" for i in range(1, 10))
case("workflows", "bomb-billion-laughs.yaml", "flowctl: 1\nname: x\nx-bomb:\n" + "".join("  " + l for l in LAUGHS.splitlines(True)),
     "billion laughs: 10^9 values once aliases are expanded", "too many YAML alias expansions")
deal("bomb-billion-laughs", "id: BAD-1\nx-bomb:\n" + "".join("  " + l for l in LAUGHS.splitlines(True)),
     "billion laughs in a deal", "too many YAML alias expansions")
MERGE_BOMB = "m0: &m0 {a: 1, b: 2, c: 3, d: 4, e: 5, f: 6, g: 7, h: 8, i: 9, j: 10}\n" + "".join(
    f"m{i}: &m{i} {{{', '.join(f'k{k}: *m{i - 1}' for k in range(10))}}}\n" for i in range(1, 9))
deal("bomb-nested-mappings", "id: BAD-2\nx-bomb:\n" + "".join("  " + l for l in MERGE_BOMB.splitlines(True)),
     "aliases of mappings nested 8 deep, 10 wide", "too many YAML alias expansions")
case("workflows", "bomb-quotas.yaml", BASE_WORKFLOW.replace("currency: EUR\n", "currency: EUR\nx-b: &b0 [1, 2, 3, 4, 5, 6, 7, 8, 9, 10]\n" + "".join(
    f"x-b{i}: &b{i} [{', '.join([f'*b{i - 1}'] * 10)}]\n" for i in range(1, 8))),
     "an alias bomb beside the workflow's keys", "too many YAML alias expansions")
case("imports", "bomb.map.yaml", "columns: {id: Id}\nx: &a [1, 2, 3, 4, 5, 6, 7, 8, 9, 10]\n" + "".join(
    f"x{i}: &a{i} [{', '.join(['*a' if i == 1 else f'*a{i - 1}'] * 10)}]\n" for i in range(1, 9)),
     "an alias bomb in an import map", "too many YAML alias expansions")

case("workflows", "nest-flow-100000.yaml", "flowctl: 1\nname: x\nx-deep: " + "[" * 100_000 + "]" * 100_000 + "\n",
     "flow sequences nested 100,000 deep", "nesting too deep")
case("workflows", "nest-flow-mapping-5000.yaml", "flowctl: 1\nname: x\nx-deep: " + "{a: " * 5000 + "1" + "}" * 5000 + "\n",
     "flow mappings nested 5,000 deep", "x-deep")
case("workflows", "nest-block-1100.yaml", "flowctl: 1\nname:\n" + "".join(" " * i + f"k{i}:\n" for i in range(1, 1100)),
     "block mappings nested 1,100 deep", "name")
deal("nest-flow-100000", "id: BAD-1\nname: " + "[" * 100_000 + "]" * 100_000 + "\n", "flow sequences nested 100,000 deep",
     "nesting too deep")
deal("nest-block-1100", "id: BAD-1\nname:\n" + "".join(" " * i + f"k{i}:\n" for i in range(1, 1100)),
     "block mappings nested 1,100 deep", "name")
deal("nest-block-seq-5000", "id: BAD-1\ntags:\n  " + "- " * 5000 + "x\n",
     "block sequences nested 5,000 deep", "tags")
deal("nest-json-100000", '{"id": "BAD-1", "name": ' + "[" * 100_000 + "]" * 100_000 + "}",
     "JSON arrays nested 100,000 deep", "nesting too deep", ext=".json")
deal("nest-json-objects-3000", '{"id": "BAD-1", "name": ' + '{"a": ' * 3000 + "1" + "}" * 3000 + "}",
     "JSON objects nested 3,000 deep", "nesting too deep", ext=".json")
case("imports", "nest.map.yaml", "columns: {id: Id}\nvalues: " + "[" * 100_000 + "]" * 100_000 + "\n",
     "an import map nested 100,000 deep", "nesting too deep")

# ------------------------------------------------------------------ duplicate keys

case("workflows", "dup-top.yaml", BASE_WORKFLOW.replace("currency: EUR\n", "currency: EUR\ncurrency: USD\n"),
     "a top-level key twice", "@4:1", "duplicate key 'currency' (first defined on line")
wf("dup-in-flow-job", "{id: meet, required: false}", "{id: meet, required: false, required: true}",
   "a key twice in a flow mapping", "duplicate key 'required'")
wf("dup-in-stage", "    probability: 0.4\n", "    probability: 0.4\n    probability: 0.5\n", "a stage key twice",
   "duplicate key 'probability'")
wf("dup-quoted-and-plain", "currency: EUR\n", "currency: EUR\n\"currency\": USD\n", "the same key quoted and plain",
   "duplicate key 'currency'")
wf("dup-merge-then-key", "currency: EUR\n", "x-base: &base {currency: EUR}\n<<: *base\ncurrency: USD\nname: again\n",
   "a key from `<<` then twice by hand", "duplicate key 'name'")
dealx("dup-top", "amount: 1\namount: 2\n", "a deal key twice", "@5:1", "duplicate key 'amount'")
dealx("dup-in-jobs", "jobs:\n  verify: 2026-01-01\n  verify: 2026-01-02\n", "a job twice under jobs:", "duplicate key 'verify'")
dealx("dup-in-approval", "approvals:\n  price-approved: {by: a, by: b, role: management, at: 2026-01-01}\n",
      "a key twice in an approval", "duplicate key 'by'")
dealx("dup-ids-in-list", "", "placeholder")  # replaced below
del cases["deals/dup-ids-in-list.yaml"]
deal("dup-ids-in-list", "deals:\n  - {id: A}\n  - {id: A}\n", "two deals with one id", "duplicate deal id 'A'")
case("imports", "dup.map.yaml", "columns: {id: Id}\ncolumns: {id: Name}\n", "a map key twice",
     "duplicate key 'columns'")

# ------------------------------------------------------------------ wrong types (by hand; more come from the schema)

wf("type-stages-mapping", "stages:\n", "stages:\n  prospect: {}\nx-old-stages:\n", "stages: a mapping", "expected array")
wf("type-probability-string", "probability: 0.1", "probability: high", "probability: text", "expected number")
wf("type-max-days-float", "max_days: 10", "max_days: 10.5", "max_days: a float", "max_days")
wf("type-terminal-string", "terminal: true", 'terminal: "yes"', "terminal: quoted text", "expected boolean")
wf("type-jobs-mapping", "    jobs:\n", "    jobs: {verify: 7d}\n    x-jobs:\n", "jobs: a mapping", "expected array")
wf("type-gate-scalar", "      - {id: price-approved, approval: management}", "      - price-approved",
   "a gate as a bare string", "expected object")
wf("type-name-list", "name: bad-corpus", "name: [bad, corpus]", "name: a list", "expected string")
wf("type-flowctl-string", "flowctl: 1", 'flowctl: "one"', "flowctl: text", "flowctl")
wf("type-channels-list", "channels:\n", "channels:\n  - hook\nx-channels:\n", "channels: a list", "expected object")
wf("type-notifications-mapping", "notifications:\n", "notifications:\n  stage_entered: console\nx-n:\n",
   "notifications: a mapping", "expected array")
wf("type-required-string", "required: false", "required: nope", "required: text", "expected boolean")
wf("type-when-number", 'when: "deal.roi >= 1.2"', "when: 12", "when: a number", "when")
dealx("type-amount-string", "amount: lots\n", "amount: text", "expected number or null")
dealx("type-amount-bool", "amount: true\n", "amount: a boolean", "expected number or null")
dealx("type-jobs-list", "jobs: [verify]\n", "jobs: a list", "expected object or null")
dealx("type-activities-mapping", "activities: {at: 2026-01-01}\n", "activities: a mapping", "expected array or null")
dealx("type-history-strings", "history: [prospect]\n", "history entries: strings", "expected object")
dealx("type-id-list", "x-id: 1\n", "placeholder")
del cases["deals/type-id-list.yaml"]
deal("type-id-list", "id: [1, 2]\nname: x\n", "id: a list", "expected string or integer")
dealx("type-outcome", "outcome: maybe\n", "outcome: not an outcome", "'maybe' is not one of open, won, lost")
dealx("type-orders-amount", "orders: [{id: SO-1, amount: -5}]\n", "a negative order", "out of range")
dealx("type-unknown-key", "amout: 5\n", "a misspelt key", "unknown key 'amout'", "did you mean 'amount'")
dealx("type-field-roi", "roi: high\n", "a workflow field of the wrong type", "expected number")
dealx("missing-id", "", "placeholder")
del cases["deals/missing-id.yaml"]
deal("missing-id", "name: no id\namount: 5\n", "no id", "missing required key 'id'")

# ------------------------------------------------------------------ unknown references

case("workflows", "ref-extends-missing.yaml", "flowctl: 1\nname: x\nextends: nowhere/base.yaml\n",
     "extends a file that does not exist", "@3:10", "extends: no such file 'nowhere/base.yaml'")
case("workflows", "ref-extends-builtin.yaml", "flowctl: 1\nname: x\nextends: builtin:eight-stage\n",
     "extends an unknown built-in", "no built-in workflow 'builtin:eight-stage'")
case("workflows", "ref-extends-folder.yaml", "flowctl: 1\nname: x\nextends: _folder.yaml\n",
     "extends a folder", "is a folder, not a workflow file")
case("workflows", "ref-extends-self.yaml", "flowctl: 1\nname: x\nextends: ref-extends-self.yaml\n",
     "extends itself", "extends cycle")
case("workflows", "ref-extends-binary.yaml", "flowctl: 1\nname: x\nextends: enc-nul.yaml\n",
     "extends a binary file", "binary file", "name: enc-nul.yaml")
case("workflows", "ref-extends-traversal.yaml", "flowctl: 1\nname: x\nextends: ../../../../../../../../etc/passwd\n",
     "extends a system file", "name: passwd")
case("workflows", "ref-extends-builtin-traversal.yaml", "flowctl: 1\nname: x\nextends: builtin:../cli/common\n",
     "extends builtin: with a path", "no built-in workflow")
case("workflows", "ref-remove-unknown.yaml", "flowctl: 1\nname: x\nextends: builtin:six-stage\nstages:\n  - {id: negotiation, remove: true}\n",
     "removes a stage the base does not have", "cannot remove stage 'negotiation'")
case("workflows", "ref-after-unknown.yaml", "flowctl: 1\nname: x\nextends: builtin:six-stage\nstages:\n  - {id: legal, after: negociation}\n",
     "places a stage after one that does not exist", "after: no stage 'negociation'")
wf("ref-metric-from", "from: prospect", "from: prospekt", "a metric from an unknown stage", "no stage 'prospekt'")
wf("ref-metric-to", "to: qualified", "to: qualifed", "a metric to an unknown stage", "no stage 'qualifed'", "did you mean 'qualified'")
wf("ref-metric-kind", "kind: conversion", "kind: conversation", "an unknown metric kind", "unknown metric kind 'conversation'")
wf("ref-channel-rule", "channel: console}", "channel: emial}", "a rule names an unknown channel", "no channel 'emial'")
wf("ref-channel-use", "use: webhook", "use: carrier-pigeon", "a channel of an unknown type", "no plugin provides the channel type 'carrier-pigeon'")
wf("ref-action", "{id: meet, required: false}", "{id: meet, uses: fax}", "a job uses an unknown action", "no plugin provides the action 'fax'")
wf("ref-duplicate-job-across", "      - {id: price-approved, approval: management}",
   "      - {id: price-approved, approval: management}\n    jobs:\n      - {id: verify}", "a job id in two stages", "duplicate job id 'verify'")
wf("ref-duplicate-stage", "  - id: proposed\n", "  - id: qualified\n", "a stage id twice", "duplicate stage id 'qualified'")
wf("ref-notification-template", "{on: stage_entered, channel: console}", "{on: stage_entered, channel: console, template: no-such-template.txt.j2}",
   "a rule names a template that does not exist", "no-such-template.txt.j2")
wf("ref-render-template", "{id: meet, required: false}", "{id: meet, uses: render, with: {template: no-such-proposal.html.j2}}",
   "a render job names a template that does not exist", "no-such-proposal.html.j2")
wf("ref-terminal-not-last", "  - id: proposed\n", "  - id: proposed\n    terminal: true\n", "a terminal stage before the last", "is not the last stage")
wf("ref-version", "flowctl: 1", "flowctl: 2", "format version 2", "flowctl")
case("workflows", "ref-no-stages.yaml", "flowctl: 1\nname: x\nstages: []\n", "no stages", "no stages")
case("workflows", "ref-missing-version.yaml", BASE_WORKFLOW.replace("flowctl: 1\n", ""), "no `flowctl:` key", "flowctl")
dealx("ref-unknown-job", "jobs:\n  verfy: 2026-01-02\n", "an unknown job", "@5:3", "unknown job 'verfy'", "did you mean 'verify'")
dealx("ref-unknown-gate", "approvals:\n  price-aproved: {by: a, role: management, at: 2026-01-01}\n", "an unknown gate",
      "unknown gate 'price-aproved'")
dealx("ref-unknown-stage-history", "history:\n  - {stage: prospekt, at: 2026-01-01}\n", "history names an unknown stage",
      "unknown stage 'prospekt'")
dealx("ref-unknown-stage-claim", "stage: negotiation\n", "claims an unknown stage", "unknown stage 'negotiation'")
dealx("ref-approval-role", "approvals:\n  price-approved: {by: a, role: intern, at: 2026-01-01}\n",
      "an approval by the wrong role", "needs an approval by role 'management', not 'intern'")

# ------------------------------------------------------------------ durations and dates

for name, value in (("words", "7 days"), ("negative", "-1d"), ("fraction", "1.5d"), ("unit", "7x"), ("empty", '""'),
                    ("years", "1y"), ("minutes", "30m"), ("number", "7"), ("huge", "99999999999999999999d")):
    wf(f"duration-{name}", "due: 7d", f"due: {value}", f"due: {value}", "due" if name not in ("huge",) else "bad duration")
wf("duration-retry-backoff", "{id: meet, required: false}", "{id: meet, uses: notify, with: {channel: console}, retry: {attempts: 2, backoff: soon}}",
   "retry backoff: soon", "backoff")
for name, value, message in (("not-on-calendar", "2026-02-30", "not a date on the calendar"),
                             ("month-13", "2026-13-01", "not a date on the calendar"),
                             ("year-zero", "0000-01-01", "not a date on the calendar"),
                             ("words", "yesterday", "ISO date"),
                             ("us-style", "01/02/2026", "ISO date"),
                             ("no-dashes", "20260101", "created"),
                             ("five-digit-year", "99999-01-01", "ISO date"),
                             ("single-digits", "2026-1-1", "ISO date"),
                             ("bad-hour", "2026-01-01T25:00:00", "created"),
                             ("number", "2026", "created")):
    dealx(f"date-{name}", f"created: {value}\n", f"created: {value}", "@4:10", message)
dealx("date-job", "jobs:\n  verify: 2026-02-31\n", "a job done on 31 February", "not a date on the calendar")
dealx("date-activity", "activities:\n  - {at: soon, kind: call}\n", "an activity at 'soon'", "ISO date")
dealx("date-order", "orders:\n  - {amount: 5, placed: 2026-00-10}\n", "an order placed in month 0", "orders")
dealx("date-approval", "approvals:\n  price-approved: {by: a, role: management, at: 2026-04-31}\n", "approved on 31 April",
      "not a date on the calendar")

# ------------------------------------------------------------------ huge numbers

BIG400 = "1" + "0" * 400
BIG5000 = "1" + "0" * 5000
wf("huge-probability-float", "probability: 0.1", "probability: 1.0e+400", "probability 1e400 (infinity)", "probability")
wf("huge-probability-int", "probability: 0.1", f"probability: {BIG400}", "probability 10**400", "probability")
wf("huge-max-days", "max_days: 10", f"max_days: {BIG400}", "max_days 10**400", "max_days")
wf("huge-rot-days", "rot_days: 5", "rot_days: 100000000000000000000", "rot_days 10**20", "rot_days")
wf("huge-quota", "currency: EUR\n", f"currency: EUR\nquotas: {{default: {BIG5000}}}\n", "a quota of 10**5000", "quotas")
wf("huge-quota-inf", "currency: EUR\n", "currency: EUR\nquotas: {default: .inf}\n", "an infinite quota", "quotas")
wf("huge-retry", "{id: meet, required: false}", f"{{id: meet, uses: notify, with: {{channel: console}}, retry: {{attempts: {BIG400}}}}}",
   "retry attempts 10**400", "attempts")
wf("huge-max-days-float", "max_days: 10", "max_days: 1.0e+400", "max_days infinity", "max_days")
for name, value in (("string-1e400", "1e400"), ("float-1e400", "1.0e+400"), ("inf", ".inf"), ("minus-inf", "-.inf"),
                    ("nan", ".nan"), ("int-10-400", BIG400), ("int-10-5000", BIG5000), ("hex", "0x" + "f" * 2000)):
    dealx(f"huge-amount-{name}", f"amount: {value}\n", f"amount: {value[:20]}", "@4:9", "amount")
dealx("huge-probability", f"probability: {BIG400}\n", "probability 10**400", "probability")
dealx("huge-order", f"orders:\n  - {{amount: {BIG400}}}\n", "an order of 10**400", "amount")
dealx("huge-roi", f"roi: {BIG400}\n", "a field of 10**400", "roi")
deal("huge-json-1e400", '{"id": "BAD-1", "amount": 1e400}', "JSON amount 1e400", "@1:27", "amount", ext=".json")
deal("huge-json-int-400", '{"id": "BAD-1", "amount": ' + BIG400 + "}", "JSON amount 10**400", "amount", ext=".json")
deal("huge-json-int-5000", '{"id": "BAD-1", "amount": ' + BIG5000 + "}", "JSON amount 10**5000", "amount", ext=".json")

# ------------------------------------------------------------------ expressions

for name, source in (("dangling-operator", "deal.roi >="), ("four-equals", "deal.roi ==== 1"), ("open-paren", "(deal.roi > 1"),
                     ("braces", "{{ deal.roi > 1 }}"), ("block-tag", "{% if deal.roi %}true{% endif %}"),
                     ("if-without-else-then", "deal.roi if"), ("double-dot", "deal..roi"), ("quote", "'unterminated"),
                     ("statement", "deal.roi; import os"), ("assignment", "deal.roi = 3"), ("lambda", "lambda: 1"),
                     ("trailing-text", "deal.roi > 1 and"), ("unknown-name", "os.system('id')"),
                     ("unknown-field", "deal.rio >= 1.2")):
    wf(f"expr-{name}", 'when: "deal.roi >= 1.2"', "when: " + json.dumps(source), f"when: {source}", "@19:")
# expressions that try to reach Python internals: validate must refuse them (they can never be a field)
INTERNALS = {
    "dunder-class": "deal.__class__",
    "field-dunder": "deal.roi.__class__.__mro__",
    "attr-filter": "deal|attr('__class__')",
    "string-mro": "''.__class__.__mro__[1].__subclasses__()",
    "items-globals": "deal.items.__globals__",
    "format-trick": "'{0.__class__}'.format(deal)",
    "cycler": "cycler.__init__.__globals__.os",
    "lipsum": "lipsum.__globals__['os']",
    "joiner": "joiner.__init__.__globals__",
    "namespace": "namespace.__init__.__globals__",
    "range-class": "range.__class__",
    "self-context": "self._TemplateReference__context",
    "request": "request.application.__globals__",
    "config": "config.__class__.__init__.__globals__",
    "private-attr": "deal._abc_impl",
    "getitem-dunder": "deal['__class__']",
}
for name, source in INTERNALS.items():
    wf(f"expr-internals-{name}", 'when: "deal.roi >= 1.2"', "when: " + json.dumps(source),
       f"an expression reaching Python internals: {source}", "@19:")
wf("expr-done-when", "{id: meet, required: false}", "{id: meet, done_when: 'deal.meet ==='}", "done_when does not parse", "done_when")
wf("expr-where", "{on: stage_entered, channel: console}", "{on: stage_entered, channel: console, where: 'deal.amount >'}",
   "a rule's where does not parse", "where")
# templates written in the workflow (subjects, recipients)
wf("tmpl-subject-syntax", "{on: stage_entered, channel: console}", "{on: stage_entered, channel: console, subject: '{{ deal.id '}",
   "a subject template that does not parse", "@29:")
wf("tmpl-to-syntax", "{on: stage_entered, channel: console}", "{on: stage_entered, channel: console, to: '{% if %}'}",
   "a recipient template that does not parse", "@29:")
wf("tmpl-subject-block", "{on: stage_entered, channel: console}", "{on: stage_entered, channel: console, subject: '{% for x in y %}'}",
   "a subject with an unclosed for", "@29:")

# ------------------------------------------------------------------ misc structure

wf("struct-unknown-top-key", "currency: EUR\n", "currency: EUR\ncurency: USD\n", "an unknown top-level key", "unknown key 'curency'")
wf("struct-unknown-stage-key", "    max_days: 10\n", "    max_days: 10\n    maxdays: 10\n", "an unknown stage key", "unknown key 'maxdays'")
wf("struct-stage-without-id", "  - id: qualified\n", "  - name: qualified\n", "a stage without id", "missing required key 'id'")
wf("struct-bad-id", "  - id: qualified\n", "  - id: Qualified Stage!\n", "an id with spaces", "id")
wf("struct-probability-range", "probability: 0.6", "probability: 6", "probability 6", "out of range")
wf("struct-forecast-category", "    probability: 0.6\n", "    probability: 0.6\n    forecast_category: maybe\n", "an unknown forecast category",
   "'maybe' is not one of")
wf("struct-on-unknown-event", "on: stage_entered", "on: stage_exploded", "an unknown event kind", "stage_exploded")
wf("struct-metric-target", 'target: ">= 0.3"', 'target: "at least 0.3"', "a target that is not a comparison", "target")

# ------------------------------------------------------------------ import maps and CSVs

def imp(name: str, map_text: str | None, csv_text: str | bytes | None, what: str, *expect: str, rc: int | None = None) -> None:
    if map_text is not None:
        case("imports", f"{name}.map.yaml", map_text, what, *expect, rc=rc)
    if csv_text is not None:
        if map_text is None:
            case("imports", f"{name}.csv", csv_text, what, *expect, rc=rc)
        else:
            cases[f"imports/{name}.csv"] = (csv_text, [])


imp("map-syntax", "columns: {id: Id\n", None, "a map that does not parse", "@2:1", "YAML syntax error")
imp("map-empty", "", None, "an empty map", "must be a mapping")
imp("map-list", "- id\n- name\n", None, "a map that is a list", "must be a mapping")
imp("map-unknown-key", GOOD_MAP + "colums: {}\n", None, "an unknown map key", "unknown key 'colums'")
imp("map-no-columns", "history: {prospect: Created}\n", None, "no columns", "`columns:` is required")
imp("map-no-id", "columns: {name: Name}\n", None, "no id column", "columns.id is required")
imp("map-unknown-field", "columns: {id: Id, amout: Amount}\n", None, "an unknown deal field", "'amout' is not a deal field")
imp("map-column-not-text", "columns: {id: Id, amount: 5}\n", None, "a column that is a number", "must name a CSV column")
imp("map-bad-outcome", GOOD_MAP + "values: {outcome: {W: victory}}\n", None, "an outcome that is not one", "is not an outcome")
imp("map-history-stage", "columns: {id: Id}\nhistory: {prospekt: Created}\n", None, "history of an unknown stage", "no stage 'prospekt'")
imp("map-bad-type", GOOD_MAP + "types: {amount: money}\n", None, "an unknown type", "'money' is not one of")
imp("map-lookup", GOOD_MAP + "lookup: {account: {by: owner}}\n", None, "a lookup without a table", "lookup.account")
imp("map-name-brace", GOOD_MAP + "name: '{Name'\n", None, "a name template with an open brace", "name must be a template")
imp("map-name-attribute", GOOD_MAP + "name: '{Name.foo}'\n", None, "a name template reading an attribute", "name", rc=None)
imp("map-name-dunder", GOOD_MAP + "name: '{Name.__class__.__mro__}'\n", None, "a name template reaching Python internals", "name")
imp("map-name-width", GOOD_MAP + "name: '{Name:>1000000000}'\n", None, "a name template a gigabyte wide", "name")
imp("map-name-index", GOOD_MAP + "name: '{0}'\n", None, "a positional name field", "name")
imp("map-missing-column", "columns: {id: Identifier}\n", None, "a column the CSV does not have", "names column 'Identifier'")
imp("map-binary", None, None, "")
del_keys = []
binary("imports", "map-binary.map.yaml", b"\x00\x01\x02columns", "a binary map", "binary file")
binary("imports", "map-latin1.map.yaml", "columns: {id: Num\xe9ro}\n".encode("latin-1"), "a Latin-1 map", "not UTF-8")
imp("map-tag", "columns: !!python/object/apply:os.system ['id']\n", None, "a Python tag in a map", "could not determine a constructor")
imp("csv-latin1", None, "Id,Name,Owner,Amount,Created\nI-1,Caf\xe9,a@b.c,1,2026-01-01\n".encode("latin-1"), "a Latin-1 CSV", "utf-8")
imp("csv-utf16", None, GOOD_CSV.encode("utf-16"), "a UTF-16 CSV", "utf-8")
imp("csv-binary", None, b"\x89PNG\r\n\x1a\n" + bytes(range(256)), "a PNG given as the CSV", "csv")
imp("csv-empty", None, "", "an empty CSV", "does not have")
imp("csv-header-only", None, "Name,Owner\n", "a header without the mapped columns", "names column 'Id'")
imp("csv-duplicate-ids", None, GOOD_CSV + "I-1,Again,c@d.e,5,2026-01-04\n", "an id twice", "@4:1", "id 'I-1' again")
imp("csv-bad-date", None, GOOD_CSV + "I-3,Three,c@d.e,5,03/04/2026\n", "a row with a bad date", "@4:1", "row skipped", rc=1)
imp("csv-bad-amount", None, GOOD_CSV + "I-4,Four,c@d.e,lots,2026-01-04\n", "a row with a bad amount", "@4:1", "row skipped", rc=1)
imp("csv-no-id", None, GOOD_CSV + ",Nameless,c@d.e,5,2026-01-04\n", "a row without id", "row skipped", rc=1)
imp("csv-unclosed-quote", None, GOOD_CSV + 'I-5,"Five,c@d.e,5,2026-01-04\n', "a quote never closed", "csv")
imp("csv-huge-field", None, "Id,Name,Owner,Amount,Created\nI-6," + "x" * 200_000 + ",a@b.c,1,2026-01-01\n", "a field past csv's limit",
    "field larger than field limit")
imp("csv-huge-amount", None, GOOD_CSV + f"I-7,Seven,c@d.e,{BIG5000},2026-01-04\n", "an amount of 10**5000", "row skipped", rc=1)
imp("csv-amount-inf", None, GOOD_CSV + "I-8,Eight,c@d.e,1e400,2026-01-04\n", "an amount of 1e400", "row skipped", rc=1)

# ------------------------------------------------------------------ company templates (render action, report, propose)

TEMPLATES = {
    "syntax-unclosed-var": ("Hello {{ deal.name }\n", "proposal.md.j2", "template syntax error"),
    "syntax-unclosed-block": ("{% if deal.name %}\nno end\n", "proposal.md.j2", "template syntax error"),
    "syntax-unknown-tag": ("{% frobnicate %}\n", "proposal.md.j2", "template syntax error"),
    "syntax-bad-filter": ("{{ deal.name|no_such_filter }}\n", "proposal.md.j2", "no_such_filter"),
    "syntax-line-3": ("line one\nline two\n{{ deal.name + }}\n", "proposal.md.j2", "3"),
    "include-etc-passwd": ("{% include '/etc/passwd' %}\n", "proposal.md.j2", "/etc/passwd"),
    "include-traversal": ("{% include '../workflow.yaml' %}\n", "proposal.md.j2", "../workflow.yaml"),
    "extends-traversal": ("{% extends '../../x' %}\n", "proposal.md.j2", "../../x"),
    "import-os": ("{% import 'os' as os %}{{ os.system('id') }}\n", "proposal.md.j2", "os"),
    "from-import": ("{% from '/etc/hostname' import x %}\n", "proposal.md.j2", "/etc/hostname"),
    "recursion-macro": ("{% macro f(n) %}{{ f(n + 1) }}{% endmacro %}{{ f(0) }}\n", "proposal.md.j2", "proposal"),
    "huge-range": ("{% for x in range(10**9) %}{{ x }}{% endfor %}\n", "proposal.md.j2", "proposal"),
    "huge-string": ("{{ 'a' * 10**9 }}\n", "proposal.md.j2", "proposal"),
    "huge-list": ("{{ ([1] * 10**9)|length }}\n", "proposal.md.j2", "proposal"),
    "nested-loops": ("{% for i in range(100000) %}{% for j in range(100000) %}{% endfor %}{% endfor %}\n", "proposal.md.j2", "proposal"),
    "center-gigabyte": ("{{ deal.name|center(10**9)|length }}\n", "proposal.md.j2", "proposal"),
    "format-width": ("{{ '%*s'|format(10**9, 'a')|length }}\n", "proposal.md.j2", "proposal"),
    "chained-power": ("{{ (((9**1000)**1000)**1000) > 1 }}\n", "proposal.md.j2", "proposal"),
    "message-syntax": ("{{ event.kind \n", "message.txt.j2", "message.txt.j2"),
}
for name, (text, target, message) in TEMPLATES.items():
    case("templates", f"{name}--{target}", text, f"company template {target}: {name.replace('-', ' ')}", message,
         rc=1 if target.startswith("proposal") else 2)
binary("templates", "binary--proposal.md.j2", b"\x89PNG\r\n\x1a\n\x00\x00" + bytes(range(128, 256)), "a binary template", "proposal.md.j2")
binary("templates", "latin1--proposal.md.j2", "Caf\xe9 {{ deal.name }}\n".encode("latin-1"), "a Latin-1 template", "proposal.md.j2")

# ------------------------------------------------------------------ `flowctl done` on files it must refuse

DONE = {
    "syntax": ("id: D-1\nname: \"open\njobs: {}\n", "@4:1"),
    "duplicate-key": ("id: D-1\njobs: {}\njobs: {}\n", "duplicate key 'jobs'"),
    "alias-bomb": ("id: D-1\njobs: {}\nx-bomb:\n" + "".join("  " + l for l in LAUGHS.splitlines(True)), "too many YAML alias expansions"),
    "jobs-list": ("id: D-1\njobs: [verify]\n", "jobs"),
    "jobs-scalar": ("id: D-1\njobs: verify\n", "jobs"),
    "two-documents": ("id: D-1\n---\nid: D-2\n", "more than one YAML document"),
    "deep": ("id: D-1\nname: " + "[" * 100_000 + "]" * 100_000 + "\n", "nesting too deep"),
    "empty": ("", "empty file"),
    "list-of-two": ("deals:\n  - {id: D-1}\n  - {id: D-2}\n", "holds 2 deals"),
    "tab": ("id: D-1\njobs:\n\tverify: 2026-01-01\n", "@3:1"),
    "python-tag": ("id: !!python/object/apply:os.system ['id']\n", "could not determine a constructor"),
    "huge-int": ("id: D-1\namount: " + BIG5000 + "\njobs: {}\n", "amount"),
}
for name, (text, message) in DONE.items():
    case("done", f"{name}.yaml", text, f"`flowctl done` on a deal file: {name.replace('-', ' ')}", message)
binary("done", "latin1.yaml", "id: D-1\nname: caf\xe9\n".encode("latin-1"), "`flowctl done` on a Latin-1 file", "not UTF-8")
binary("done", "nul.yaml", b"id: D-1\nname: a\x00\n", "`flowctl done` on a binary file", "binary")


def _shift(line: str, by: int) -> str:
    if line.startswith("expect: @"):
        row, _, rest = line[len("expect: @"):].partition(":")
        return f"expect: @{int(row) + by}:{rest}"
    return line


def write() -> None:
    for folder in ("workflows", "deals", "imports", "templates", "done", "_base"):
        shutil.rmtree(HERE / folder, ignore_errors=True)
        (HERE / folder).mkdir()
    (HERE / "workflows" / "_folder.yaml").mkdir()
    (HERE / "workflows" / "_folder.yaml" / ".keep").write_text("a folder named like a workflow file\n")
    base = HERE / "_base"
    (base / "workflow.yaml").write_text(BASE_WORKFLOW)
    (base / "good-deal.yaml").write_text(GOOD_DEAL)
    (base / "render-workflow.yaml").write_text(RENDER_WORKFLOW)
    (base / "good.map.yaml").write_text(GOOD_MAP)
    (base / "good.csv").write_text(GOOD_CSV)
    for rel, (text, lines) in sorted(cases.items()):
        path = HERE / rel
        textual = isinstance(text, str) and not rel.endswith((".json", ".csv", ".j2")) and lines and "\x00" not in text \
            and not text.startswith(("\ufeff", "%"))
        if textual:  # positions are written relative to the case's text: shift them past the header
            lines = [_shift(line, len(lines)) for line in lines]
        header = "".join(f"# {line}\n" for line in lines)
        if isinstance(text, str):
            data = (header + text if textual else text).encode("utf-8")
        else:
            data = text
        path.write_bytes(data)
        if lines and not textual:
            path.with_name(path.name + ".expect").write_text(header)


if __name__ == "__main__":
    write()
    print(f"{len(cases)} cases written under {HERE}")
