"""A workflow compiled for evaluation: built once per run, used for every deal."""
from __future__ import annotations

from typing import Any

from . import expressions
from .expressions import ExpressionBatch, Outcome
from .model import Workflow
from .schema import SchemaValidator, deal_schema


class CompiledWorkflow:
    def __init__(self, workflow: Workflow):
        self.workflow = workflow
        # One batch per stage: its jobs' done_when, then its gates' when, in order.
        self.batches: dict[str, ExpressionBatch] = {}
        self._singles: dict[str, ExpressionBatch] = {}
        self._gate_fields: dict[str, list[tuple[str, ...]]] = {}
        for stage in workflow.stages:
            sources = [j.done_when for j in stage.jobs if j.done_when is not None]
            sources += [g.when for g in stage.gates if g.when is not None]
            self.batches[stage.id] = ExpressionBatch(sources)
            for job in stage.jobs:
                if job.done_when is not None:
                    self._singles[job.id] = ExpressionBatch([job.done_when])
            for gate in stage.gates:
                if gate.when is not None:
                    self._gate_fields[gate.id] = expressions.deal_fields_used(expressions.parse_expression(gate.when))
        self.deal_validator = SchemaValidator(deal_schema(workflow.fields))

    def single(self, job_id: str, context: dict[str, Any]) -> Outcome:
        return self._singles[job_id].evaluate(context)[0]

    def gate_values(self, gate_id: str, deal: dict) -> dict[str, Any]:
        """The deal values a gate's expression reads, as `explain` shows them."""
        values: dict[str, Any] = {}
        for path in self._gate_fields.get(gate_id, ()):
            value: Any = deal
            for part in path:
                if isinstance(value, dict) and part in value:
                    value = value[part]
                else:
                    value = "<missing>"
                    break
            values["deal." + ".".join(path)] = value.value if isinstance(value, expressions.WrongType) else value
        return values
