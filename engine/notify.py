"""Notifications: from events and the workflow's rules to outbox items (delivery.py
delivers them).

An outbox item's key is deterministic (event key + rule + recipient), so it is queued
once; delivery marks it sent, and a failed delivery stays queued for the next run.
"""
from __future__ import annotations

import datetime as dt
import hashlib

from . import sandbox_budget
from .catalogs import N_
from .diagnostics import FlowctlError
from .expressions import ENV
from .model import Workflow
from .store import Event, OutboxItem
from .templating import BrokenTemplate, Templates

# The subject of a rule without `subject:`, by event kind; filled in with the event's
# values (as data: never rendered as a template).
DEFAULT_SUBJECTS = {
    "stage_entered": N_("%(deal)s entered %(stage)s"),
    "stage_regressed": N_("%(deal)s moved back to %(stage)s"),
    "job_overdue": N_("%(deal)s: %(job)s is overdue"),
    "deal_stuck": N_("%(deal)s is stuck in %(stage)s (%(days)s days)"),
    "deal_rotting": N_("%(deal)s has had no activity for a while"),
    "gate_blocked": N_("%(deal)s is blocked by %(gate)s"),
    "deal_won": N_("%(deal)s won"),
    "deal_lost": N_("%(deal)s lost"),
    "metric_alert": N_("Metric %(metric)s is off target"),
}
DIGEST_SUBJECT = N_("%(count)s item(s) need your attention")
IMPLICIT_CHANNELS = {"console": {"use": "console"}}
DIGEST_PART = "digest"  # outbox status of an event waiting to be combined into a digest
UNRENDERED = "unrendered"  # outbox status of a message whose `to`, subject or body failed for its deal: never sent
DIGESTED = "digested"


def channels_of(workflow: Workflow) -> dict[str, dict]:
    return {**IMPLICIT_CHANNELS, **workflow.channels}


def rendered_recipient(to: str, templates: Templates, context: dict) -> str | None:
    """A `to` template (a rule's, or an action's `ctx.notify`): None, no recipient, when it
    renders to nothing; never the owner instead."""
    return templates.render_string(to, **context).strip() or None


def recipient_for(event: Event, deal: dict, rule: dict, templates: Templates, context: dict) -> str | None:
    """The rule's `to` (a template), else the job's owner for job_overdue when it is an
    address, else the deal's owner."""
    if rule.get("to"):
        return rendered_recipient(rule["to"], templates, context)
    owner = (event.data or {}).get("owner")
    if event.kind == "job_overdue" and owner and "@" in owner:
        return owner
    return deal.get("owner") if deal else None


class Notifier:
    """Turns events into outbox items according to the workflow's `notifications:`."""

    def __init__(self, workflow: Workflow, templates: Templates):
        self.workflow = workflow
        self.templates = templates
        self.rules = [(i, r) for i, r in enumerate(workflow.notifications)]
        self._where = {i: ENV.compile_expression(r["where"], undefined_to_none=True)
                       for i, r in self.rules if r.get("where")}
        self._where_seconds = sandbox_budget.seconds("expression")

    def _context(self, event: Event, deal: dict | None) -> dict:
        wf = self.workflow
        stage = wf.stage_by_id.get(event.stage or "")
        job = wf.job_by_id.get((event.data or {}).get("job", ""))
        return {"event": event.to_json(), "deal": deal or {}, "workflow": {"name": wf.name, "currency": wf.currency}, "locale": wf.locale,
                "stage_name": stage.text(wf.locale) if stage else (event.stage or ""),
                "job": {"id": job.id, "owner": job.owner, "title": job.text(wf.locale)} if job else None,
                "job_title": job.text(wf.locale) if job else "", "now": event.at.isoformat()}

    def items_for(self, event: Event, deal: dict | None, now: dt.date) -> list[OutboxItem]:
        """Outbox items for one event. A digest rule's item is a part (status `digest`),
        kept in the outbox with the event, so a crash cannot lose it; `digests` later
        combines the parts into one message per recipient."""
        out = []
        for i, rule in self.rules:
            kinds = rule["on"] if isinstance(rule["on"], list) else [rule["on"]]
            if event.kind not in kinds:
                continue
            context = self._context(event, deal)
            if i in self._where:
                try:
                    with sandbox_budget.budget(self._where_seconds, "expression"):
                        if not self._where[i](**context):
                            continue
                except Exception:  # a where that fails (or overruns its budget) matches nothing
                    continue
            try:
                out.append(self._item(i, rule, event, deal, context, now))
            except BrokenTemplate:
                raise
            except Exception as exc:  # this deal's values broke this message: that message alone fails
                out.append(OutboxItem(f"{event.key}|{rule.get('id', i)}|{rule['channel']}|", rule["channel"], None, "", "",
                                      {"events": [event.to_json()], "deal": _deal_payload(deal)}, status=UNRENDERED,
                                      last_error=f"cannot render the message of rule {rule.get('id', i)}: {render_error(exc)}",
                                      created_at=now))
        return out

    def _item(self, i: int, rule: dict, event: Event, deal: dict | None, context: dict, now: dt.date) -> OutboxItem:
        to = recipient_for(event, deal or {}, rule, self.templates, context)
        key = f"{event.key}|{rule.get('id', i)}|{rule['channel']}|{to}"
        if rule.get("digest"):
            part = {**context, "deal": _deal_payload(deal), "rule": i}
            return OutboxItem(key, rule["channel"], to, "", "", part, status=DIGEST_PART, created_at=now)
        subject = (self.templates.render_string(rule["subject"], **context) if rule.get("subject")
                   else self._default_subject(event, context))
        body = self.templates.render(rule.get("template") or "message.txt.j2", **context)
        return OutboxItem(key, rule["channel"], to, subject.strip(), body,
                          {"events": [event.to_json()], "deal": _deal_payload(deal)}, created_at=now)

    def _default_subject(self, event: Event, context: dict) -> str:
        if event.kind not in DEFAULT_SUBJECTS:
            return event.kind
        data = event.data or {}
        words = self.templates.catalogs.words(self.workflow.locale)
        return words._(DEFAULT_SUBJECTS[event.kind], deal=context["deal"].get("id", event.deal),
                       stage=context["stage_name"], job=context["job_title"], days=data.get("days_in_stage", ""),
                       gate=data.get("gate", ""), metric=data.get("metric", ""))

    def digests(self, parts: list[OutboxItem], now: dt.date) -> list[OutboxItem]:
        """One message per (rule, channel, recipient) listing all its waiting parts."""
        groups: dict[tuple, list[OutboxItem]] = {}
        for part in parts:
            groups.setdefault((part.payload.get("rule"), part.channel, part.recipient), []).append(part)
        out = []
        for (i, channel, to), items in sorted(groups.items(), key=lambda kv: str(kv[0])):
            rule = self.workflow.notifications[i] if isinstance(i, int) and i < len(self.workflow.notifications) else {}
            digest = hashlib.sha256("\n".join(sorted(p.key for p in items)).encode()).hexdigest()[:16]
            context = {"events": [p.payload for p in items], "recipient": to, "count": len(items),
                       "now": now.isoformat(), "workflow": {"name": self.workflow.name}, "locale": self.workflow.locale}
            subject = (self.templates.render_string(rule["subject"], **context) if rule.get("subject") else
                       self.templates.catalogs.words(self.workflow.locale)._(DIGEST_SUBJECT, count=len(items)))
            body = self.templates.render(rule.get("template") or "digest.txt.j2", **context)
            out.append(OutboxItem(f"digest|{rule.get('id', i)}|{channel}|{to}|{digest}", channel, to, subject.strip(), body,
                                  {"events": [p.payload.get("event") for p in items]}, created_at=now))
        return out


def render_error(exc: BaseException) -> str:
    """A template failure in one line, without the template's internals."""
    if isinstance(exc, FlowctlError) and exc.diagnostics:
        return exc.diagnostics[0].message
    return f"{type(exc).__name__}: {exc}"


def _deal_payload(deal: dict | None) -> dict:
    if not deal:
        return {}
    return {k: deal.get(k) for k in ("id", "name", "account", "owner", "amount", "currency", "expected_close") if k in deal}
