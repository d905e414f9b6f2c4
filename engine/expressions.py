"""Gate and `done_when` expressions: Jinja2 expressions, checked and compiled once per
run, evaluated in the sandbox (`sandbox.SafeEnvironment`, shared with templates).

Every expression of a stage is compiled into ONE sandboxed call that returns all their
results (a call costs about 8 µs whatever it does); only when that call fails are the
expressions evaluated one by one, to say which failed and why.
"""
from __future__ import annotations

import dataclasses
from typing import Any, Callable, Iterable

from jinja2 import StrictUndefined, nodes
from jinja2.exceptions import SecurityError, TemplateError, TemplateSyntaxError, UndefinedError
from jinja2.parser import Parser
from jinja2.sandbox import UNSAFE_ASYNC_GENERATOR_ATTRIBUTES, UNSAFE_COROUTINE_ATTRIBUTES, UNSAFE_GENERATOR_ATTRIBUTES

from . import sandbox_budget
from .sandbox import SafeEnvironment

NAMES = ("deal", "now", "stage", "days_in_stage")


class MissingField(UndefinedError):
    def __init__(self, name: str):
        super().__init__(f"missing field '{name}'")
        self.field = name


class WrongTypeField(MissingField):
    def __init__(self, name: str, message: str):
        UndefinedError.__init__(self, message)
        self.field = name


class WrongType:
    """A declared deal field of the wrong type (`roi: high`), as evaluation sees it:
    any use of it in an expression fails naming the field; shown, it is its value."""

    __slots__ = ("name", "value", "problem")

    def __init__(self, name: str, value: Any, problem: str):
        self.name, self.value, self.problem = name, value, problem

    def _fail(self, *args: Any, **kwargs: Any) -> Any:
        raise WrongTypeField(self.name, self.problem)

    __add__ = __radd__ = __sub__ = __rsub__ = __mul__ = __rmul__ = __truediv__ = __rtruediv__ = _fail
    __lt__ = __le__ = __gt__ = __ge__ = __eq__ = __ne__ = __int__ = __float__ = __len__ = __iter__ = __bool__ = _fail
    __getitem__ = __contains__ = __call__ = __mod__ = __rmod__ = __pow__ = __rpow__ = _fail
    __neg__ = __pos__ = __abs__ = __floordiv__ = __rfloordiv__ = __round__ = _fail
    __hash__ = object.__hash__

    def __getattr__(self, attribute: str) -> Any:
        if attribute.startswith("__"):  # copy, pickle and friends probing for hooks
            raise AttributeError(attribute)
        self._fail()

    def __str__(self) -> str:
        return str(self.value)

    def __repr__(self) -> str:
        return repr(self.value)


class _Missing(StrictUndefined):
    """Undefined whose error names the missing field."""

    def _fail_with_undefined_error(self, *args: Any, **kwargs: Any) -> Any:
        if self._undefined_name is not None:
            raise MissingField(str(self._undefined_name))
        raise UndefinedError(self._undefined_hint or "undefined value")

    __add__ = __radd__ = __sub__ = __rsub__ = __mul__ = __rmul__ = __truediv__ = __rtruediv__ = _fail_with_undefined_error
    __lt__ = __le__ = __gt__ = __ge__ = __int__ = __float__ = __len__ = __iter__ = __str__ = __bool__ = _fail_with_undefined_error
    __getitem__ = __contains__ = __call__ = __mod__ = __rmod__ = __pow__ = __rpow__ = _fail_with_undefined_error


ENV = SafeEnvironment(undefined=_Missing)


class ExpressionError(ValueError):
    """An expression that does not parse or names what it may not."""


def parse_expression(source: str) -> nodes.Expr:
    """Jinja2's own parse of one expression; ExpressionError with a clear message."""
    text = str(source)
    if "{{" in text or "}}" in text or "{%" in text:
        raise ExpressionError("write the expression without {{ }}: it is already an expression")
    try:
        parser = Parser(ENV, text, state="variable")  # the lexer runs here: an unclosed quote fails here
        expr = parser.parse_expression()
        if not parser.stream.eos:
            token = parser.stream.current
            raise ExpressionError(f"unexpected {token.value!r} after the expression")
    except TemplateSyntaxError as exc:
        message = exc.message or "syntax error"
        if message.startswith("unexpected char ") and message[17:18] in ("'", '"'):  # `unexpected char "'" at 0`
            message = f"a quoted string is not closed ({message})"
        raise ExpressionError(f"expression does not parse: {message}") from None
    except RecursionError:
        raise ExpressionError("expression does not parse: nested too deeply") from None
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


# Attributes that reach a frame or code object without a leading underscore.
_INTERNAL_NAMES = frozenset(UNSAFE_GENERATOR_ATTRIBUTES | UNSAFE_COROUTINE_ATTRIBUTES | UNSAFE_ASYNC_GENERATOR_ATTRIBUTES)
# Filters (and tests) that read an attribute named by an argument: (positional index or None, keyword).
_ATTRIBUTE_ARGS = {"attr": (0, "name"), "selectattr": (0, "attribute"), "rejectattr": (0, "attribute"),
                   "groupby": (0, "attribute"), "map": (None, "attribute"), "sort": (None, "attribute"),
                   "unique": (None, "attribute"), "min": (None, "attribute"), "max": (None, "attribute"),
                   "sum": (None, "attribute"), "join": (None, "attribute")}
_NO_INTERNALS = "no deal field or value has one: expressions cannot reach Python's internals"


def _is_internal(name: str) -> bool:
    return name.startswith("_") or name in _INTERNAL_NAMES


def internals_used(expr: nodes.Node | str) -> str | None:
    """Why an expression reaches for Python's internals (an attribute or item whose name
    starts with `_`, a string naming one, `str.format`), or None. The sandbox stops these
    at run time too; this says so when the workflow is checked."""
    if not isinstance(expr, nodes.Node):
        expr = parse_expression(expr)
    kinds = (nodes.Getattr, nodes.Getitem, nodes.Const, nodes.Call, nodes.Filter, nodes.Test)
    for node in [expr, *expr.find_all(kinds)]:  # find_all leaves out the node itself
        if not isinstance(node, kinds):
            continue
        if isinstance(node, nodes.Getattr):
            if _is_internal(node.attr):
                return f"attribute '{node.attr}' is refused: {_NO_INTERNALS}"
            continue
        if isinstance(node, nodes.Getitem):
            if isinstance(node.arg, nodes.Const) and isinstance(node.arg.value, str) and _is_internal(node.arg.value):
                return f"item '{node.arg.value}' is refused: {_NO_INTERNALS}"
            continue
        if isinstance(node, nodes.Const):
            if isinstance(node.value, str) and node.value.startswith("__"):
                return f"the string {node.value[:40]!r} names a Python internal: {_NO_INTERNALS}"
            continue
        if isinstance(node, nodes.Call):
            if isinstance(node.node, nodes.Getattr) and node.node.attr in ("format", "format_map"):
                return (f"`.{node.node.attr}(...)` is refused in expressions: use the `format` filter "
                        "(`'%s of %s'|format(deal.name, deal.account)`)")
            continue
        spec = _ATTRIBUTE_ARGS.get(node.name)  # a Filter or a Test
        if spec is None:
            continue
        index, keyword = spec
        if node.dyn_args is not None or node.dyn_kwargs is not None:
            return f"`{node.name}` must be given its arguments one by one, not as *args or **kwargs"
        named = [kw.value for kw in node.kwargs if kw.key == keyword]
        if index is not None and len(node.args) > index:
            named.append(node.args[index])
        elif node.name == "map" and node.args:  # map('filter', *args): map('attr', '_x')
            if not isinstance(node.args[0], nodes.Const):
                return "the filter given to `map` must be written as a plain string"
            if node.args[0].value == "attr":
                named.append(node.args[1] if len(node.args) > 1 else nodes.Const(""))
        for arg in named:
            if not (isinstance(arg, nodes.Const) and isinstance(arg.value, (str, int))):
                return f"the attribute given to `{node.name}` must be written as a plain string"
            if isinstance(arg.value, str) and any(_is_internal(part) for part in arg.value.split(".")):
                return f"attribute '{arg.value}' given to `{node.name}` is refused: {_NO_INTERNALS}"
    return None


def check_expression(source: str) -> nodes.Expr:
    """Parse and check the names an expression uses; ExpressionError if it may not run."""
    expr = parse_expression(source)
    unknown = sorted(names_used(expr) - set(NAMES))
    if unknown:
        raise ExpressionError(f"unknown name '{unknown[0]}': expressions can use {', '.join(NAMES)}")
    internal = internals_used(expr)
    if internal:
        raise ExpressionError(internal)
    return expr


@dataclasses.dataclass
class Outcome:
    value: bool
    error: str | None = None
    missing: str | None = None


class ExpressionBatch:
    """All expressions of one stage, compiled into one sandboxed call, evaluated within
    the expression time budget (`sandbox_budget`, read once when compiled)."""

    def __init__(self, sources: Iterable[str]):
        self.sources = list(sources)
        self.seconds = sandbox_budget.seconds("expression")
        self._single = [ENV.compile_expression(s, undefined_to_none=False) for s in self.sources]
        self._all = (ENV.compile_expression("[" + ", ".join(f"({s})" for s in self.sources) + "]",
                                            undefined_to_none=False)
                     if len(self.sources) > 1 else None)

    def evaluate(self, context: dict[str, Any]) -> list[Outcome]:
        if not self.sources:
            return []
        if self._all is not None:
            outer = sandbox_budget.arm(self.seconds, "expression")
            try:
                values = self._all(**context) or []
                if all(v is True or v is False for v in values):
                    return [Outcome(v) for v in values]
            except Exception:
                pass
            finally:
                sandbox_budget.disarm(outer)
        # One by one, each with a budget of its own: only an expression that overran fails.
        return [_evaluate_one(fn, context, self.seconds) for fn in self._single]


def _evaluate_one(fn: Callable, context: dict[str, Any], seconds: float) -> Outcome:
    outer = sandbox_budget.arm(seconds, "expression")
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
    finally:
        sandbox_budget.disarm(outer)
    if value is True or value is False:
        return Outcome(value)
    return Outcome(False, f"gave {value!r}, not true or false")
