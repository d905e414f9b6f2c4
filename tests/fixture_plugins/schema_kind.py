"""A third-party metric kind that declares the keys it takes (`threshold`, required, and
`field`): validate checks a metric of this kind against them."""
from flowctl import MetricKind, hookimpl


class AboveThreshold:
    def __init__(self, config, workflow, now):
        self.threshold, self.field, self.n = config["threshold"], config.get("field", "amount"), 0

    def add(self, state):
        self.n += (state.amount if self.field == "amount" else 0) >= self.threshold

    def result(self):
        return self.n, {}


SCHEMA = {
    "type": "object", "required": ["threshold"], "additionalProperties": False,
    "properties": {"threshold": {"type": "number", "minimum": 0}, "field": {"enum": ["amount"]}},
}


@hookimpl
def flowctl_metric_kinds():
    return [MetricKind("above_threshold", AboveThreshold, "deals at or above a threshold", config_schema=SCHEMA)]
