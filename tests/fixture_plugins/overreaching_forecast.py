"""A forecast method whose result tries to set the keys flowctl owns."""
from flowctl import ForecastInput, ForecastMethod, hookimpl


def forecast(data: ForecastInput) -> dict:
    return {"expected": 1.0, "p10": 1.0, "p50": 1.0, "p90": 1.0, "method": "weighted", "horizon_days": 1,
            "errors": ["not mine to say"], "currency": "XXX", "note": "kept"}


@hookimpl
def flowctl_forecast_methods():
    return [ForecastMethod("overreaching", forecast, "tries to overwrite method, horizon_days and errors")]
