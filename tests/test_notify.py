"""Tests for flowctl.notify: which rules an event matches, the outbox items they give
(deterministic keys, recipients, subjects in the workflow's language, digest parts), a
message that fails for one deal's values, and digests."""
from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

import flowctl.templates
from flowctl import notify
from flowctl.diagnostics import Diagnostic, FlowctlError
from flowctl.store import Event
from flowctl.templating import BrokenTemplate, Templates
from flowctl.workflow_model import build

TEMPLATES = Path(flowctl.templates.__file__).parent  # the built-in message and digest templates
NOW = dt.date(2026, 11, 23)
DEAL = {"id": "D1", "name": "Fleet", "owner": "bob@example.com", "amount": 1000, "secret": "kept out"}


def notifier(*rules: dict, locale: str = "en", folders: tuple = ()) -> notify.Notifier:
    workflow = build({"name": "t", "locale": locale, "notifications": list(rules),
                      "stages": [{"id": "open", "name": {"en": "Open", "de": "Offen"},
                                  "jobs": [{"id": "call", "title": {"en": "Call them", "de": "Anrufen"}, "owner": "ann"}]},
                                 {"id": "won"}]}, "w.yaml")
    return notify.Notifier(workflow, Templates([*folders, TEMPLATES]))


def event(kind: str = "stage_entered", stage: str | None = "open", **data) -> Event:
    return Event(f"D1:{kind}:{NOW}", kind, "D1", stage, NOW, data)


def test_an_event_matches_the_rules_on_its_kind():
    n = notifier({"on": "stage_entered", "channel": "console"}, {"on": ["deal_won", "stage_entered"], "channel": "ops"},
                 {"on": "deal_lost", "channel": "console"})
    items = n.items_for(event(), DEAL, NOW)
    assert [(i.channel, i.status) for i in items] == [("console", "queued"), ("ops", "queued")]
    assert n.items_for(event("job_overdue"), DEAL, NOW) == []


def test_the_key_is_event_rule_channel_and_recipient():
    n = notifier({"id": "r1", "on": "stage_entered", "channel": "console"}, {"on": "stage_entered", "channel": "ops"})
    first, second = n.items_for(event(), DEAL, NOW)
    assert first.key == f"D1:stage_entered:{NOW}|r1|console|bob@example.com"
    assert second.key == f"D1:stage_entered:{NOW}|1|ops|bob@example.com"  # a rule without id: its index
    assert [i.key for i in n.items_for(event(), DEAL, NOW)] == [first.key, second.key]  # the same every run


@pytest.mark.parametrize("kind, data, subject", [
    ("stage_entered", {}, "D1 entered Open"),
    ("stage_regressed", {}, "D1 moved back to Open"),
    ("job_overdue", {"job": "call"}, "D1: Call them is overdue"),
    ("deal_stuck", {"days_in_stage": 12}, "D1 is stuck in Open (12 days)"),
    ("deal_rotting", {}, "D1 has had no activity for a while"),
    ("gate_blocked", {"gate": "roi"}, "D1 is blocked by roi"),
    ("deal_won", {}, "D1 won"),
    ("deal_lost", {}, "D1 lost"),
    ("metric_alert", {"metric": "velocity"}, "Metric velocity is off target"),
    ("something_new", {}, "something_new"),  # a kind without a default subject: the kind
])
def test_default_subjects(kind, data, subject):
    [item] = notifier({"on": kind, "channel": "console"}).items_for(event(kind, **data), DEAL, NOW)
    assert item.subject == subject


def test_default_subjects_speak_the_workflows_language():
    [item] = notifier({"on": "stage_entered", "channel": "console"}, locale="de").items_for(event(), DEAL, NOW)
    assert item.subject == "D1 ist jetzt in Offen"  # the stage's German name too


def test_a_subject_template_sees_the_deal_and_the_event():
    [item] = notifier({"on": "stage_entered", "channel": "console",
                       "subject": "  {{ deal.name }} / {{ event.kind }} / {{ stage_name }}  "}).items_for(event(), DEAL, NOW)
    assert item.subject == "Fleet / stage_entered / Open"


def test_the_payload_keeps_only_the_deals_public_keys():
    [item] = notifier({"on": "stage_entered", "channel": "console"}).items_for(event(), DEAL, NOW)
    assert item.payload["deal"] == {"id": "D1", "name": "Fleet", "owner": "bob@example.com", "amount": 1000}
    assert item.payload["events"] == [event().to_json()] and item.created_at == NOW and item.body


@pytest.mark.parametrize("rule, ev, deal, recipient", [
    ({}, event(), DEAL, "bob@example.com"),  # the deal's owner
    ({"to": "ops@example.com"}, event(), DEAL, "ops@example.com"),
    ({"to": "{{ deal.owner }}"}, event(), DEAL, "bob@example.com"),
    ({"to": "{{ deal.nobody }}"}, event(), DEAL, None),  # renders to nothing: no recipient, not the owner
    ({}, event("job_overdue", job="call", owner="ann@example.com"), DEAL, "ann@example.com"),  # the job's owner
    ({}, event("job_overdue", job="call", owner="ann"), DEAL, "bob@example.com"),  # not an address: the deal's
    ({}, event(), None, None),  # no deal (a pipeline event)
    ({}, event(), {"id": "D1"}, None),  # a deal without owner
])
def test_recipient(rule, ev, deal, recipient):
    assert notify.recipient_for(ev, deal or {}, rule, Templates([]), {"deal": deal or {}}) == recipient


@pytest.mark.parametrize("where, matches", [
    ("deal.amount > 500", True), ("deal.amount > 5000", False), ("event.kind == 'stage_entered'", True),
    ("deal.missing.deeper > 1", False),  # undefined: None, not an error
    ("1 / 0", False),  # a where that fails matches nothing
])
def test_where_filters_events(where, matches):
    items = notifier({"on": "stage_entered", "channel": "console", "where": where}).items_for(event(), DEAL, NOW)
    assert bool(items) is matches


def test_a_message_its_deal_breaks_is_unrendered_and_the_others_go(tmp_path):
    (tmp_path / "bad.txt.j2").write_text("{{ deal.amount // 0 }}")
    n = notifier({"id": "a", "on": "stage_entered", "channel": "console", "template": "bad.txt.j2"},
                 {"id": "b", "on": "stage_entered", "channel": "console"}, folders=(tmp_path,))
    broken, fine = n.items_for(event(), DEAL, NOW)
    assert (broken.status, broken.recipient, broken.key) == (notify.UNRENDERED, None, f"D1:stage_entered:{NOW}|a|console|")
    assert broken.last_error.startswith("cannot render the message of rule a: template bad.txt.j2 failed: ZeroDivisionError")
    assert fine.status == "queued"


def test_a_broken_template_is_the_workflows_problem(tmp_path):
    (tmp_path / "bad.txt.j2").write_text("{% if %}")
    n = notifier({"on": "stage_entered", "channel": "console", "template": "bad.txt.j2"}, folders=(tmp_path,))
    with pytest.raises(BrokenTemplate):
        n.items_for(event(), DEAL, NOW)


def test_a_digest_rule_gives_parts_and_digests_combine_them_per_recipient():
    n = notifier({"id": "d", "on": "stage_entered", "channel": "console", "digest": "daily"})
    parts = [item for deal in ({**DEAL, "id": "D1"}, {**DEAL, "id": "D2"}, {**DEAL, "id": "D3", "owner": "eve@x.org"})
             for item in n.items_for(Event(f"{deal['id']}:e", "stage_entered", deal["id"], "open", NOW), deal, NOW)]
    assert [p.status for p in parts] == [notify.DIGEST_PART] * 3 and all(p.body == "" for p in parts)
    digests = n.digests(parts, NOW)
    assert [(d.recipient, d.subject) for d in digests] == [
        ("bob@example.com", "2 item(s) need your attention"), ("eve@x.org", "1 item(s) need your attention")]
    assert all(d.key.startswith("digest|d|console|") and d.status == "queued" for d in digests)
    assert n.digests(list(reversed(parts)), NOW)[0].key == digests[0].key  # the same parts, the same key
    assert n.digests(parts[:1], NOW)[0].key != digests[0].key


def test_digests_of_nothing_are_nothing():
    assert notifier().digests([], NOW) == []


def test_channels_include_the_implicit_console():
    n = notifier()
    assert notify.channels_of(n.workflow) == {"console": {"use": "console"}}


@pytest.mark.parametrize("exc, text", [
    (FlowctlError(Diagnostic("t", "template t failed: boom")), "template t failed: boom"),
    (ValueError("bad"), "ValueError: bad"),
    (KeyError("k"), "KeyError: 'k'"),
])
def test_render_error_is_one_line(exc, text):
    assert notify.render_error(exc) == text
