"""Metric kinds as a plugin writes them: accumulators fed one deal at a time, and ones
that fail in each of their three steps."""
from flowctl import MetricKind, SlimState, hookimpl


class Largest:
    def __init__(self, config, workflow, now):
        self.seen, self.best = 0, None

    def add(self, state: SlimState) -> None:
        assert not isinstance(state, (list, tuple))  # one deal, never a list
        self.seen += 1
        self.best = state.amount if self.best is None else max(self.best, state.amount)

    def result(self):
        return self.best, {"deals_seen": self.seen}


class FailsIn:
    def __init__(self, config, workflow, now):
        self.step = config["fail_in"]
        if self.step == "make":
            raise RuntimeError("cannot start")

    def add(self, state):
        if self.step == "add":
            raise ValueError("bad deal")

    def result(self):
        if self.step == "result":
            raise ZeroDivisionError("no result")
        return 1, {}


@hookimpl
def flowctl_metric_kinds():
    return [MetricKind("largest", Largest, "the largest amount"), MetricKind("fails_in", FailsIn)]
