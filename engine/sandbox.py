"""The sandbox shared by expressions, templates and notification rules: Jinja2's
immutable sandbox, which also bounds the work a single operation may do.

`*` and `**` are bounded by the size of their result, `%` and `str.format` by their
widths and output, the filters and methods that build long strings (`center`, `indent`,
`wordwrap`, `join`, `lipsum`, `'x'.ljust(n)`, ...) by their width and output. What one
operation cannot bound, repetition, is bounded in time by `sandbox_budget`; the filters
whose work does not follow their input's size are in `sandbox_limits`. Whole templates
are bounded in time and output by `templating.Templates`.
"""
from __future__ import annotations

import re
import types
from typing import Any, Callable

from jinja2 import nodes
from jinja2 import filters as _filters
from jinja2.exceptions import SecurityError
from jinja2.sandbox import ImmutableSandboxedEnvironment, SandboxedFormatter
from jinja2.utils import generate_lorem_ipsum, pass_environment, pass_eval_context
from markupsafe import EscapeFormatter, Markup

from . import sandbox_budget
from .sandbox_budget import check as _step
from .sandbox_limits import BOUNDED_FILTERS

MAX_SEQUENCE = 100_000  # items a `*` may make
MAX_INT_BITS = 100_000  # bits of an integer a `*` or `**` may make (about 30,000 digits)
MAX_WIDTH = 1_000_000  # a width, count or length given to a filter or a string method
MAX_OUTPUT = 20_000_000  # characters one operation, or a whole template, may produce
MAX_WRAPPED = 1_000_000  # characters `wordwrap` may wrap (Python's textwrap: about 0.5 s per million)


# --------------------------------------------------------------------------- bounded operations

_SEQUENCES = (str, bytes, list, tuple)


def _too_large(what: str) -> SecurityError:
    return SecurityError(f"{what} would be too large")


# What an item that is not text weighs: it prints as several characters (`|tojson`,
# `|string` of 20,000,000 small numbers took 2.6 s and 270 MB in one uninterruptible call).
_ITEM_WEIGHT = 8


def _weight(value: Any, budget: int) -> int:
    """Characters of text in `value`, and _ITEM_WEIGHT for every other item, counted
    through nested lists and tuples; stops counting once past `budget` (so the cost is
    bounded by the budget)."""
    total = 0
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, (str, bytes)):
            total += len(item) + 1
        elif isinstance(item, range):
            total += len(item) * _ITEM_WEIGHT + 1
        elif isinstance(item, (list, tuple)):
            total += _ITEM_WEIGHT
            stack.extend(item)
        else:
            total += _ITEM_WEIGHT
        if total > budget:
            break
    return total


def _mul(left: Any, right: Any) -> Any:
    if isinstance(left, _SEQUENCES) or isinstance(right, _SEQUENCES):
        seq, n = (left, right) if isinstance(left, _SEQUENCES) else (right, left)
        if isinstance(n, int) and n > 1:
            if len(seq) * n > MAX_SEQUENCE:
                raise SecurityError(f"result would be too large (more than {MAX_SEQUENCE} items)")
            if isinstance(seq, (list, tuple)) and _weight(seq, MAX_OUTPUT // n) * n > MAX_OUTPUT:
                raise SecurityError(f"result would be too large (more than {MAX_OUTPUT} characters and items in all)")
    elif isinstance(left, int) and isinstance(right, int) and left.bit_length() + right.bit_length() > MAX_INT_BITS:
        raise SecurityError(f"result would be too large (more than {MAX_INT_BITS} bits)")
    return left * right


def _pow(left: Any, right: Any) -> Any:
    if isinstance(right, (int, float)):
        if abs(right) > 1000:
            raise SecurityError("exponent too large")
        if isinstance(left, int) and isinstance(right, int) and right > 1 and left.bit_length() * right > MAX_INT_BITS:
            raise SecurityError(f"result would be too large (more than {MAX_INT_BITS} bits)")
    return left ** right


# `%` conversion specifiers: `%(name)-*.*s`; groups: width, precision.
_PERCENT_SPEC = re.compile(r"%(?:\([^)]*\))?[-#0 +]*(\*|\d+)?(?:\.(\*|\d*))?[hlL]?[a-zA-Z%]")
_DIGITS = re.compile(r"\d+")


def _check_width(value: Any, what: str = "width") -> None:
    if isinstance(value, int) and not -MAX_WIDTH <= value <= MAX_WIDTH:
        raise SecurityError(f"{what} {value if value.bit_length() < 64 else 'so large'} is too large "
                            f"(at most {MAX_WIDTH:,})")


def _check_percent(template: Any, values: Any) -> None:
    """A printf-style format (`'%10s' % x`, `|format`) must not ask for huge widths, and its
    result must stay under MAX_OUTPUT characters."""
    stars = False
    specs = 0
    for m in _PERCENT_SPEC.finditer(template):
        specs += 1
        for group in m.groups():
            if group == "*":
                stars = True
            elif group and (len(group) > 7 or int(group) > MAX_WIDTH):
                raise SecurityError(f"a format width or precision of {group if len(group) < 20 else 'so many digits'} "
                                    f"is too large (at most {MAX_WIDTH:,})")
    items = values if isinstance(values, tuple) else (values,)
    if stars:
        for v in items:
            _check_width(v)
    if specs:
        if isinstance(values, dict):  # `%(x)s` may name the same value many times
            size = max((len(v) for v in values.values() if isinstance(v, (str, bytes))), default=0) * specs
        else:
            size = sum(len(v) for v in items if isinstance(v, (str, bytes)))
        if len(template) + size > MAX_OUTPUT:
            raise _too_large("the formatted text")


def _mod(left: Any, right: Any) -> Any:
    if isinstance(left, str):
        _check_percent(left, right)
    elif isinstance(left, bytes):
        _check_percent(left.decode("latin-1"), right)
    return left % right


class _BoundedFormatter(SandboxedFormatter):
    """`str.format` in the sandbox (attributes checked by Jinja2), with bounded widths and
    a bounded result."""

    _written = 0

    def format_field(self, value: Any, format_spec: str) -> Any:
        for digits in _DIGITS.findall(format_spec):
            if len(digits) > 7 or int(digits) > MAX_WIDTH:
                raise SecurityError(f"a format width or precision of {digits if len(digits) < 20 else 'so many digits'} "
                                    f"is too large (at most {MAX_WIDTH:,})")
        out = super().format_field(value, format_spec)
        self._written += len(out)
        if self._written > MAX_OUTPUT:
            raise _too_large("the formatted text")
        return out


class _BoundedEscapeFormatter(_BoundedFormatter, EscapeFormatter):
    pass


# --------------------------------------------------------------------------- bounded filters and globals


def _text_size(s: Any) -> int:
    return len(s) if isinstance(s, (str, bytes)) else len(str(s))


def _center(value: Any, width: int = 80) -> str:
    _check_width(width)
    return _filters.do_center(value, width)


def _indent(s: Any, width: int | str = 4, first: bool = False, blank: bool = False) -> str:
    _check_width(width)
    unit = len(width) if isinstance(width, str) else max(int(width), 0)
    size = _text_size(s)
    if size + (size + 1) * unit > MAX_OUTPUT and size + (len(str(s).splitlines()) + 1) * unit > MAX_OUTPUT:
        raise _too_large("the indented text")
    return _filters.do_indent(s, width, first, blank)


def _format(value: Any, *args: Any, **kwargs: Any) -> str:
    _check_percent(str(value), kwargs or args)
    return _filters.do_format(value, *args, **kwargs)


@pass_environment
def _wordwrap(environment: Any, s: Any, width: int = 79, break_long_words: bool = True,
              wrapstring: str | None = None, break_on_hyphens: bool = True) -> str:
    _check_width(width)
    size = _text_size(s)
    if size > MAX_WRAPPED:
        raise SecurityError(f"wordwrap of {size:,} characters is too large (at most {MAX_WRAPPED:,})")
    sep = len(wrapstring if wrapstring is not None else environment.newline_sequence)
    if size + (size // max(int(width), 1) + str(s).count(" ") + 1) * sep > MAX_OUTPUT:
        raise _too_large("the wrapped text")
    return _filters.do_wordwrap(environment, s, width, break_long_words, wrapstring, break_on_hyphens)


@pass_environment
def _truncate(env: Any, s: Any, length: int = 255, killwords: bool = False, end: str = "...",
              leeway: int | None = None) -> str:
    _check_width(length, "length")
    _check_width(leeway, "leeway")
    return _filters.do_truncate(env, s, length, killwords, end, leeway)


@pass_eval_context
def _join(eval_ctx: Any, value: Any, d: str = "", attribute: str | int | None = None) -> str:
    items = list(value)
    if attribute is not None:
        items = list(map(_filters.make_attrgetter(eval_ctx.environment, attribute), items))
    size = len(str(d)) * max(len(items) - 1, 0)
    for item in items:
        size += _text_size(item) if isinstance(item, (str, bytes)) else _weight(item, MAX_OUTPUT)
        if size > MAX_OUTPUT:
            raise _too_large("the joined text")
    return _filters.sync_do_join(eval_ctx, items, d)


@pass_environment
def _sum(environment: Any, iterable: Any, attribute: str | int | None = None, start: Any = 0) -> Any:
    items = list(iterable)
    if attribute is not None:
        items = list(map(_filters.make_attrgetter(environment, attribute), items))
    if isinstance(start, _SEQUENCES) or any(isinstance(x, _SEQUENCES) for x in items):
        # summing lists copies them again and again: bound the result and the copying
        total = len(start) if isinstance(start, _SEQUENCES) else 0
        copied = 0
        for x in items:
            total += len(x) if isinstance(x, _SEQUENCES) else 1
            copied += total
            if total > MAX_SEQUENCE or copied > 100 * MAX_SEQUENCE:
                raise SecurityError(f"result would be too large (more than {MAX_SEQUENCE} items, "
                                    "or too many partial sums to copy)")
    return sum(items, start)


def _replace_size(s: Any, old: Any, new: Any, count: Any = -1) -> int:
    """The length of `s.replace(old, new, count)`, without making it."""
    if not isinstance(s, (str, bytes)) or type(old) is not type(s) or type(new) is not type(s):
        s, old, new = str(s), str(old), str(new)
    found = s.count(old) if old else len(s) + 1
    if isinstance(count, int) and count >= 0:
        found = min(found, count)
    return len(s) + found * (len(new) - len(old))


@pass_eval_context
def _replace(eval_ctx: Any, s: Any, old: Any, new: Any, count: int | None = None) -> str:
    if _replace_size(s, old, new, -1 if count is None else count) > MAX_OUTPUT:
        raise _too_large("the replaced text")
    return _filters.do_replace(eval_ctx, s, old, new, count)


def _lipsum(n: int = 5, html: bool = True, min: int = 20, max: int = 100) -> str:
    for value in (n, min, max):
        _check_width(value, "count")
    if n * max * 12 > MAX_OUTPUT:  # words are at most 11 letters and a space or comma
        raise _too_large(f"lipsum({n}, max={max})")
    return generate_lorem_ipsum(n, html, min, max)


# --------------------------------------------------------------------------- bounded methods of strings, bytes, ints


def _check_method_call(method: Any, owner: Any, args: tuple, kwargs: dict) -> tuple:
    """`'x'.center(10**9)`, `'x'.zfill(...)`, `(1).to_bytes(10**9)`, `sep.join(...)`,
    `s.replace(...)`, `s.expandtabs(...)`: refused when the result would be too large.
    Returns the arguments to call with (an iterable given to `join` is read once)."""
    for value in (*args, *kwargs.values()):
        if isinstance(value, int):
            _check_width(value, "an argument")
    name = getattr(method, "__name__", "")
    if isinstance(owner, (str, bytes)):
        if name == "join" and len(args) == 1:
            items = list(args[0])
            size = len(owner) * max(len(items) - 1, 0)
            for item in items:
                size += len(item) if isinstance(item, (str, bytes)) else 0
                if size > MAX_OUTPUT:
                    raise _too_large("the joined text")
            args = (items,)
        elif name == "replace" and len(args) >= 2 and isinstance(args[0], type(owner)) and isinstance(args[1], type(owner)):
            if _replace_size(owner, *args[:3]) > MAX_OUTPUT:
                raise _too_large("the replaced text")
        elif name == "expandtabs":
            size = args[0] if args else kwargs.get("tabsize", 8)
            tabs = owner.count("\t") if isinstance(owner, str) else owner.count(b"\t")
            if isinstance(size, int) and len(owner) + tabs * size > MAX_OUTPUT:
                raise _too_large("the expanded text")
    return args


_TIMED = "flowctl_timed"  # the filter every `{% for %}` iterates through (see SafeEnvironment._parse)


class SafeEnvironment(ImmutableSandboxedEnvironment):
    """The sandbox shared by expressions and templates: no attribute escapes, no
    mutation of deal data, bounded `*`, `**`, `%`, `range`, `str.format` and the
    filters and methods that build long strings."""

    def unsafe_undefined(self, obj: Any, attribute: str) -> Any:
        # `''.__class__` fails loudly instead of rendering as nothing.
        raise SecurityError(f"access to attribute {attribute!r} of {type(obj).__name__!r} object is unsafe")

    intercepted_binops = frozenset(["*", "**", "%"])
    _BINOPS = {"*": _mul, "**": _pow, "%": _mod}
    _BOUNDED_FILTERS = {"center": _center, "indent": _indent, "format": _format, "wordwrap": _wordwrap,
                        "truncate": _truncate, "join": _join, "sum": _sum, "replace": _replace}

    def __init__(self, *args: Any, **kwargs: Any):
        super().__init__(*args, **kwargs)
        self.filters.update(self._BOUNDED_FILTERS)
        self.filters.update(BOUNDED_FILTERS)
        self.filters[_TIMED] = sandbox_budget.timed
        self.globals["lipsum"] = _lipsum

    def _parse(self, source: str, name: str | None, filename: str | None) -> nodes.Template:
        # Every `{% for %}` iterates through the time budget: an empty nested loop
        # takes no other sandboxed step.
        tree = super()._parse(source, name, filename)
        for loop in tree.find_all(nodes.For):
            loop.iter = nodes.Filter(loop.iter, _TIMED, [], [], None, None, lineno=loop.iter.lineno)
        return tree

    # `map('filter')`, `select('test')`, `reject(...)` apply filters and tests through
    # these: one budget step per item.
    def call_filter(self, name: str, value: Any, args: Any = None, kwargs: Any = None,
                    context: Any = None, eval_ctx: Any = None) -> Any:
        _step()
        return super().call_filter(name, value, args, kwargs, context, eval_ctx)

    def call_test(self, name: str, value: Any, args: Any = None, kwargs: Any = None,
                  context: Any = None, eval_ctx: Any = None) -> Any:
        _step()
        return super().call_test(name, value, args, kwargs, context, eval_ctx)

    def call_binop(self, context: Any, operator_: str, left: Any, right: Any) -> Any:
        return self._BINOPS[operator_](left, right)

    def call(__self, __context: Any, __obj: Any, *args: Any, **kwargs: Any) -> Any:  # noqa: N805
        _step()  # every call: a macro calling macros, range() in a loop
        owner = getattr(__obj, "__self__", None)
        if isinstance(owner, (str, bytes, int)) and (args or kwargs):
            args = _check_method_call(__obj, owner, args, kwargs)
        return super().call(__context, __obj, *args, **kwargs)

    def wrap_str_format(self, value: Any) -> Callable[..., str] | None:
        """`str.format` / `format_map`: Jinja2's sandboxed formatter, with bounded widths
        and a bounded result."""
        if (not isinstance(value, (types.MethodType, types.BuiltinMethodType))
                or value.__name__ not in ("format", "format_map") or not isinstance(value.__self__, str)):
            return None
        f_self: str = value.__self__
        str_type = type(f_self)
        is_format_map = value.__name__ == "format_map"
        env = self

        def wrapper(*args: Any, **kwargs: Any) -> str:
            if is_format_map:
                if kwargs or len(args) != 1:
                    raise TypeError("format_map() takes exactly one argument")
                kwargs, args = args[0], ()
            formatter: SandboxedFormatter = (_BoundedEscapeFormatter(env, escape=f_self.escape)
                                             if isinstance(f_self, Markup) else _BoundedFormatter(env))
            return str_type(formatter.vformat(f_self, args, kwargs))

        wrapper.__name__ = value.__name__
        return wrapper
