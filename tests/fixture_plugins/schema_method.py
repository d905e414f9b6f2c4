"""A third-party forecast method that declares its settings (`factor`, required): validate
checks the workflow's `forecast: {scaled: ...}` against them, and the method gets them
in ForecastInput.options."""
from flowctl import ForecastMethod, hookimpl


def forecast(data):
    total = data.options["factor"] * sum(s.amount for s in data.states if s.outcome == "open")
    return {"expected": total, "p10": total, "p50": total, "p90": total, "new": 0.0,
            "factor_seen": data.options["factor"]}


SCHEMA = {"type": "object", "required": ["factor"], "additionalProperties": False,
          "properties": {"factor": {"type": "number", "exclusiveMinimum": 0}}}


@hookimpl
def flowctl_forecast_methods():
    return [ForecastMethod("scaled", forecast, "open amount times a factor", config_schema=SCHEMA)]
