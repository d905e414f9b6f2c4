"""Gate and `done_when` expressions: Jinja2 expressions, checked and compiled once per
run, evaluated in Jinja2's immutable sandbox.

Every expression of a stage is compiled into ONE sandboxed call that returns all their
results (a call costs about 8 µs whatever it does); only when that call fails are the
expressions evaluated one by one, to say which failed and why.
"""
from __future__ import annotations

import dataclasses
import operator
from typing import Any, Callable, Iterable

from jinja2 import StrictUndefined, nodes
from jinja2.exceptions import SecurityError, TemplateError, TemplateSyntaxError, UndefinedError
from jinja2.parser import Parser
from jinja2.sandbox import ImmutableSandboxedEnvironment

NAMES = ("deal", "now", "stage", "days_in_stage")
MAX_SEQUENCE = 100_000


class MissingField(UndefinedError):
    def __init__(self, name: str):
        super().__init__(f"missing field '{name}'")
        self.field = name


class _Missing(StrictUndefined):
    """Undefined whose error names the missing field."""

    def _fail_with_undefined_error(self, *args: Any, **kwargs: Any) -> Any:
        if self._undefined_name is not None:
            raise MissingField(str(self._undefined_name))
        raise UndefinedError(self._undefined_hint or "undefined value")

    __add__ = __radd__ = __sub__ = __rsub__ = __mul__ = __rmul__ = __truediv__ = __rtruediv__ = _fail_with_undefined_error
    __lt__ = __le__ = __gt__ = __ge__ = __int__ = __float__ = __len__ = __iter__ = __str__ = __bool__ = _fail_with_undefined_error
    __getitem__ = __contains__ = __call__ = __mod__ = __rmod__ = __pow__ = __rpow__ = _fail_with_undefined_error


def _bounded(op: Callable) -> Callable:
    def call(left: Any, right: Any) -> Any:
        for a, b in ((left, right), (right, left)):
            if isinstance(a, (str, list, tuple)) and isinstance(b, int) and len(a) * b > MAX_SEQUENCE:
                raise SecurityError(f"result would be too large (more than {MAX_SEQUENCE} items)")
        if op is operator.pow and isinstance(right, (int, float)) and abs(right) > 1000:
            raise SecurityError("exponent too large")
        return op(left, right)
    return call


class SafeEnvironment(ImmutableSandboxedEnvironment):
    """The sandbox shared by expressions and templates: no attribute escapes, no
    mutation of deal data, bounded `*`, `**` and `range`."""

    intercepted_binops = frozenset(["*", "**"])
    _BINOPS = {"*": _bounded(operator.mul), "**": _bounded(operator.pow)}

    def call_binop(self, context: Any, operator_: str, left: Any, right: Any) -> Any:
        return self._BINOPS[operator_](left, right)


ENV = SafeEnvironment(undefined=_Missing)


class ExpressionError(ValueError):
    """An expression that does not parse or names what it may not."""


def parse_expression(source: str) -> nodes.Expr:
    """Jinja2's own parse of one expression; ExpressionError with a clear message."""
    text = str(source)
    if "{{" in text or "}}" in text or "{%" in text:
        raise ExpressionError("write the expression without {{ }}: it is already an expression")
    parser = Parser(ENV, text, state="variable")
    try:
        expr = parser.parse_expression()
        if not parser.stream.eos:
            token = parser.stream.current
            raise ExpressionError(f"unexpected {token.value!r} after the expression")
    except TemplateSyntaxError as exc:
        raise ExpressionError(f"expression does not parse: {exc.message}") from None
    return expr


def names_used(expr: nodes.Node) -> set[str]:
    return {n.name for n in expr.find_all(nodes.Name) if n.ctx == "load"}


def deal_fields_used(expr: nodes.Node) -> list[tuple[str, ...]]:
    """Field paths read from `deal`: `deal.bant.budget` -> ('bant', 'budget')."""
    paths = []
    methods = {id(call.node) for call in [expr, *expr.find_all(nodes.Call)] if isinstance(call, nodes.Call)}
    for node in [expr, *expr.find_all((nodes.Getattr, nodes.Getitem))]:
        if not isinstance(node, (nodes.Getattr, nodes.Getitem)) or id(node) in methods:
            continue  # deal.get(...) is a method of the mapping, not a field
        chain: list[str] = []
        current: nodes.Node = node
        while isinstance(current, (nodes.Getattr, nodes.Getitem)):
            if isinstance(current, nodes.Getattr):
                chain.append(current.attr)
            elif isinstance(current.arg, nodes.Const) and isinstance(current.arg.value, str):
                chain.append(current.arg.value)
            else:
                chain = []  # dynamic key: cannot be checked statically
                break
            current = current.node
        if chain and isinstance(current, nodes.Name) and current.name == "deal":
            paths.append(tuple(reversed(chain)))
    # Keep only the longest chains (deal.bant.budget also visits deal.bant), each once.
    longest = [p for p in paths if not any(len(q) > len(p) and q[: len(p)] == p for q in paths)]
    return list(dict.fromkeys(longest))


def check_expression(source: str) -> nodes.Expr:
    """Parse and check the names an expression uses; ExpressionError if it may not run."""
    expr = parse_expression(source)
    unknown = sorted(names_used(expr) - set(NAMES))
    if unknown:
        raise ExpressionError(f"unknown name '{unknown[0]}': expressions can use {', '.join(NAMES)}")
    return expr


@dataclasses.dataclass
class Outcome:
    value: bool
    error: str | None = None
    missing: str | None = None


class ExpressionBatch:
    """All expressions of one stage, compiled into one sandboxed call."""

    def __init__(self, sources: Iterable[str]):
        self.sources = list(sources)
        self._single = [ENV.compile_expression(s, undefined_to_none=False) for s in self.sources]
        self._all = (ENV.compile_expression("[" + ", ".join(f"({s})" for s in self.sources) + "]",
                                            undefined_to_none=False)
                     if len(self.sources) > 1 else None)

    def evaluate(self, context: dict[str, Any]) -> list[Outcome]:
        if not self.sources:
            return []
        if self._all is not None:
            try:
                values = self._all(**context)
                if all(v is True or v is False for v in values):
                    return [Outcome(v) for v in values]
            except Exception:
                pass
        return [_evaluate_one(fn, context) for fn in self._single]


def _evaluate_one(fn: Callable, context: dict[str, Any]) -> Outcome:
    try:
        value = fn(**context)
    except MissingField as exc:
        return Outcome(False, str(exc), exc.field)
    except (TemplateError, SecurityError) as exc:
        return Outcome(False, f"{type(exc).__name__}: {exc}")
    except (TypeError, ValueError, ArithmeticError, AttributeError, LookupError, OverflowError) as exc:
        return Outcome(False, f"{type(exc).__name__}: {exc}")
    except RecursionError:
        return Outcome(False, "expression too deep")
    if value is True or value is False:
        return Outcome(value)
    return Outcome(False, f"gave {value!r}, not true or false")
