"""`flowctl board`: the pipeline as a board — a column per stage with its count and
amount, a card per open deal (name, owner, amount, days in stage, what blocks it; stuck
and rotting marked), then the won and the lost deals.

Deal states come one at a time (from the reader `status` uses, so every column's count
and amount are `status`'s); a column keeps at most `max_cards` cards (the biggest, the
longest waiting first among equals) and counts the rest, so the page stays small for any
number of deals. Totals per owner are kept too, for the page's owner filter. Deal values
are data: shown as text, their control characters dropped.
"""
from __future__ import annotations

import dataclasses
import datetime as dt
import re
from typing import Any

from .catalogs import Words
from .i18n import money, money_short, number
from .model import Workflow
from .report import TopK
from .totals import StageTotals, row_key

MAX_CARDS = 200  # per column
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]+")


def text(value: Any) -> str | None:
    """A deal value as one line of text, without control characters."""
    if value is None:
        return None
    return " ".join(_CONTROL.sub(" ", str(value)).split()) or None


@dataclasses.dataclass
class Column:
    id: str  # a stage id, or won / lost (totals.row_key)
    label: str
    kind: str  # stage | won | lost


class BoardBuilder:
    """Feed it deal states (`add`), then `build()` the board template's context."""

    def __init__(self, workflow: Workflow, day: dt.date, locale: str, words: Words, max_cards: int = MAX_CARDS):
        self.wf, self.day, self.locale, self.words = workflow, day, locale, words
        self.columns = {s.id: Column(s.id, s.text(locale), "stage") for s in workflow.stages}
        self.columns["won"] = Column("won", words._("Won"), "won")
        self.columns["lost"] = Column("lost", words._("Lost"), "lost")
        self.cards = {key: TopK(max_cards) for key in self.columns}
        self.totals = StageTotals()
        self.by_owner: dict[str, StageTotals] = {}
        self.deals = 0

    def add(self, state: Any) -> None:
        self.deals += 1
        key = row_key(state.stage, state.outcome)
        self.totals.add_state(state)
        self.by_owner.setdefault(text(state.owner) or "", StageTotals()).add_state(state)
        if key in ("won", "lost"):
            closed = state.closed_at or state.entered_at
            rank: tuple = (closed.toordinal(), state.amount)  # the latest first
        else:
            rank = (state.amount, state.days_in_stage)
        cards = self.cards[key]
        if cards.wants(rank):
            cards.push(rank, state.id, self._card(state))

    def _card(self, state: Any) -> dict:
        deal, wf, words = state.deal, self.wf, self.words
        currency = text(deal.get("currency")) or wf.currency
        card = {"id": text(state.id), "name": text(deal.get("name")), "account": text(deal.get("account")),
                "owner": text(state.owner) or "", "amount": state.amount,
                "money": money(state.amount, currency, self.locale), "stuck": state.stuck, "rotting": state.rotting,
                "days_in_stage": state.days_in_stage,
                "days_text": words.ngettext("%(n)s day in stage", "%(n)s days in stage", state.days_in_stage,
                                            n=number(state.days_in_stage, self.locale))}
        if state.outcome != "open":
            card["closed_at"] = (state.closed_at or state.entered_at).isoformat()
            return card
        blockers = []
        for gate in state.current_gates:
            if not gate.ok:
                gate_spec = wf.gate_by_id.get(gate.id)
                plain = gate_spec is not None and gate_spec.message and not gate.error and not gate.missing
                says = gate_spec.text(self.locale) if plain and gate_spec is not None else gate.message
                blockers.append({"kind": "gate", "id": gate.id, "text": text(says)})
        for job in state.current_jobs:
            if job.required and job.status in ("pending", "overdue"):
                job_spec = wf.job_by_id.get(job.id)
                blockers.append({"kind": "job", "id": job.id,
                                 "text": text(job_spec.text(self.locale) if job_spec else job.id),
                                 "overdue": job.status == "overdue"})
        card["blockers"] = blockers
        return card

    def build(self, meta: dict | None = None) -> dict:
        """The context of board.html.j2."""
        columns: list[dict[str, Any]] = []
        for key, col in self.columns.items():
            row = self._row(self.totals, key)
            count = int(row["count"])
            stage = self.wf.stage_by_id.get(key)
            if stage is not None and stage.terminal and not count:
                continue  # a deal in the last stage is won or lost: its column is theirs
            cards = self.cards[key].items()
            columns.append({"id": col.id, "label": col.label, "kind": col.kind, "count": count,
                            "amount": round(row["amount"], 2), "weighted": round(row["weighted"], 2),
                            "money": self._money(row["amount"]), "deals_text": self._deals(count),
                            "cards": cards, "more": count - len(cards),
                            "stage": {"max_days": stage.max_days, "rot_days": stage.rot_days} if stage else None})
        owners = sorted(self.by_owner)
        by_owner = {o: {c["id"]: self._totals(self._row(self.by_owner[o], c["id"])) for c in columns} for o in owners}
        open_cols = [c for c in columns if c["kind"] == "stage"]
        return {"locale": self.locale, "language": self.words.language, "currency": self.wf.currency,
                "workflow": self.wf, "columns": columns, "owners": owners, "by_owner": by_owner,
                "open": {"count": sum(c["count"] for c in open_cols), "money": self._money(sum(c["amount"] for c in open_cols)),
                         "weighted": self._money(sum(c["weighted"] for c in open_cols))},
                "meta": {"workflow": self.wf.name, "day": self.day.isoformat(), "deals": self.deals, **(meta or {})}}

    def _money(self, amount: float) -> str:
        return money_short(amount, self.wf.currency, self.locale)

    def _deals(self, count: int) -> str:
        return self.words.ngettext("%(n)s deal", "%(n)s deals", count, n=number(count, self.locale))

    @staticmethod
    def _row(totals: StageTotals, key: str) -> dict[str, float]:
        return totals.rows.get(key) or {"count": 0, "amount": 0.0, "weighted": 0.0}

    def _totals(self, row: dict[str, float]) -> dict:
        count = int(row["count"])
        return {"count": count, "count_text": number(count, self.locale), "deals_text": self._deals(count),
                "money": self._money(row["amount"])}
