"""flowctl.totals: the one per-stage totals of run, the dry run's plan, status and board."""
from __future__ import annotations

import random
from types import SimpleNamespace

from flowctl.store import SnapshotRow
from flowctl.totals import StageTotals, row_key


def states(n: int, seed: int) -> list[SimpleNamespace]:
    rng = random.Random(seed)
    out = []
    for _ in range(n):
        outcome = rng.choice(["open", "open", "won", "lost"])
        amount, probability = round(rng.uniform(0, 1e6), 2), rng.choice([0.1, 0.3, 0.6])
        out.append(SimpleNamespace(stage=rng.choice(["a", "b", "c"]), outcome=outcome, amount=amount,
                                   probability=probability,
                                   weighted_amount=amount * probability if outcome == "open" else 0.0))
    return out


def test_a_deal_counts_in_its_stage_while_open_else_in_its_outcome():
    assert [row_key("a", o) for o in ("open", "won", "lost")] == ["a", "won", "lost"]


def test_states_snapshot_rows_and_their_json_agree_for_any_deals():
    for seed in range(20):
        deals = states(random.Random(seed).randint(0, 60), seed)
        by_state, by_row, by_dict = StageTotals(), StageTotals(), StageTotals()
        for s in deals:
            by_state.add_state(s)
        by_row.add_snapshot(SnapshotRow("x", s.stage, s.outcome, s.amount, s.probability, "", None) for s in deals)
        by_dict.add_snapshot({"stage": s.stage, "outcome": s.outcome, "amount": s.amount,
                              "probability": s.probability} for s in deals)
        assert by_state == by_row == by_dict
        assert by_state.total("count") == sum(1 for s in deals if s.outcome == "open")
        assert by_state.closed("won")["count"] == sum(1 for s in deals if s.outcome == "won")
        assert by_state.closed("lost")["amount"] == sum(s.amount for s in deals if s.outcome == "lost")
        assert all(row["weighted"] == 0 for key, row in by_state.rows.items() if key in ("won", "lost"))


def test_merging_parts_gives_the_totals_of_the_whole():
    for seed in range(10):
        deals = states(50, seed)
        whole, parts = StageTotals(), [StageTotals() for _ in range(3)]
        for i, s in enumerate(deals):
            whole.add_state(s)
            parts[i % 3].add_state(s)
        merged = StageTotals()
        for part in parts:
            merged.merge(part)
        assert merged.rows.keys() == whole.rows.keys()
        for key, row in whole.rows.items():
            assert merged.rows[key]["count"] == row["count"]
            assert abs(merged.rows[key]["amount"] - row["amount"]) < 1e-6


def test_nothing_is_zero_everywhere():
    empty = StageTotals()
    assert empty.total("amount") == 0 and empty.closed("won") == {"count": 0, "amount": 0.0} and empty.to_json() == {}
