"""The time budget of sandboxed work: one deal's expressions, one template rendering.

The size bounds (`sandbox_limits`, the sandbox's operators and filters) keep each single
operation short; what they cannot bound is repetition: nested loops, macros calling
macros, `select`/`map` over long lists with a costly test. So the sandbox's repeated
steps (every call, every filter or test applied by `map`/`select`/`reject`, every
iteration of a template's `{% for %}`) check a deadline, and past it raise `OverBudget`
(a SecurityError: the gate, metric filter or message fails with its message).

The check is one clock read and a comparison (`check()`): evaluation is a hot path. The
deadline is per thread (a render in another thread has its own); `_soonest` holds the
earliest deadline of all threads, so a step only looks further when some deadline passed.
Memory is looked at the same way: 2 ms into one evaluation's work (never for the quick
ones), then every 20 ms, the process's resident memory; more than MEMORY_MB above what it was at the
first look is OverBudget too (output built in a `{% set %}` block is not streamed, so
the output cap cannot see it).

The budgets are configured here and nowhere else:
- FLOWCTL_EXPRESSION_SECONDS (default 1 s): one evaluation of expressions for one deal
  (a stage's `when`/`done_when` together, one `where`); an expression that overran is
  then evaluated alone, with a budget of its own, so only it fails.
- FLOWCTL_TEMPLATE_SECONDS (default 3 s): one rendering (a message's to, subject, body,
  a proposal, a report); in the main thread SIGALRM also stops Python code that makes
  no sandboxed step (`time_budget`).
0 turns a budget off.
"""
from __future__ import annotations

import os
import resource
import signal
import threading
import time
from typing import Any, Iterable, Iterator

from jinja2.exceptions import SecurityError

EXPRESSION_SECONDS = 1.0
TEMPLATE_SECONDS = 3.0  # under the 5 s a whole command may take, process start included
_SETTINGS = {"expression": ("FLOWCTL_EXPRESSION_SECONDS", EXPRESSION_SECONDS),
             "template": ("FLOWCTL_TEMPLATE_SECONDS", TEMPLATE_SECONDS)}


class OverBudget(SecurityError):
    """Sandboxed work ran past its time budget."""


def seconds(kind: str) -> float:
    """The budget of one `kind` ("expression" or "template") of work, from its setting."""
    variable, default = _SETTINGS[kind]
    try:
        value = float(os.environ.get(variable, default))
    except ValueError:
        return default
    return value if value == value else default  # NaN: the default


def setting(kind: str) -> str:
    return _SETTINGS[kind][0]


MEMORY_MB = 256  # what one evaluation or rendering may add to the process's memory
_FIRST_PROBE = 0.002  # seconds into one evaluation's work of the first look at the memory
_PROBE_EVERY = 0.02  # seconds between two looks (about 10 µs each)

_INF = float("inf")
_now = time.monotonic
_soonest = [_INF]  # the earliest deadline or memory probe armed in any thread
_lock = threading.Lock()


class _Armed:
    __slots__ = ("deadline", "says", "probe", "baseline")

    def __init__(self, deadline: float, says: str):
        self.deadline, self.says = deadline, says
        self.probe = min(_now() + _FIRST_PROBE, deadline)
        self.baseline: int | None = None  # memory at the first probe: arming stays one clock read


_armed: dict[int, _Armed] = {}  # thread -> its innermost budget


def _recompute() -> None:
    _soonest[0] = min((a.probe for a in _armed.values()), default=_INF)


def arm(budget: float, kind: str) -> Any:
    """Start a budget of `budget` seconds for this thread (0 or less: none); returns what
    `disarm` needs to restore. A budget armed inside another ends no later than it."""
    ident = threading.get_ident()
    with _lock:
        outer = _armed.get(ident)
        if budget > 0:
            deadline = _now() + budget
            if outer is None or deadline < outer.deadline:
                mine = _armed[ident] = _Armed(deadline, f"took more than {budget:g} s ({setting(kind)})")
                if outer is not None:
                    mine.baseline = outer.baseline
                if mine.probe < _soonest[0]:
                    _soonest[0] = mine.probe
    return outer


def disarm(outer: Any) -> None:
    ident = threading.get_ident()
    with _lock:
        if outer is None:
            _armed.pop(ident, None)
        else:
            _armed[ident] = outer
        _recompute()


class budget:  # noqa: N801 (used as a function: `with budget(1.0, "expression"): ...`)
    def __init__(self, seconds: float, kind: str):
        self.seconds, self.kind = seconds, kind

    def __enter__(self) -> "budget":
        self.outer = arm(self.seconds, self.kind)
        return self

    def __exit__(self, *exc: Any) -> None:
        disarm(self.outer)


def check() -> None:
    """One step of sandboxed work: OverBudget once this thread's deadline has passed, or
    its work has grown the process by more than MEMORY_MB (looked at every 20 ms)."""
    if _now() > _soonest[0]:
        _past()


def _past() -> None:
    mine = _armed.get(threading.get_ident())
    now = _now()
    if mine is None or now <= mine.probe:
        return  # another thread's probe or deadline
    if now > mine.deadline:
        raise OverBudget(mine.says)
    used = _resident_bytes()
    if mine.baseline is None:
        mine.baseline = used
    elif used - mine.baseline > MEMORY_MB << 20:
        raise OverBudget(f"used more than {MEMORY_MB} MB")
    with _lock:
        mine.probe = min(now + _PROBE_EVERY, mine.deadline)
        _recompute()


def _resident_bytes() -> int:
    """The process's resident memory now (Linux); elsewhere its peak so far."""
    try:
        with open("/proc/self/statm", "rb") as f:
            return int(f.read().split()[1]) * _PAGE
    except (OSError, ValueError, IndexError):
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


_PAGE = os.sysconf("SC_PAGE_SIZE") if hasattr(os, "sysconf") else 4096


def timed(iterable: Iterable) -> Iterator:
    """The items of `iterable`, one budget step each (a template's `{% for %}`)."""
    for item in iterable:
        if _now() > _soonest[0]:
            _past()
        yield item


class time_budget:  # noqa: N801 (used as a function: `with time_budget(3): ...`)
    """Raise OverBudget in the body once `seconds` have passed (SIGALRM; main thread
    only, elsewhere no limit): stops Python code that takes no sandboxed step, such as a
    long filter. A nested budget is covered by the outer one. The previous SIGALRM
    handler and timer are restored afterwards.

    The alarm fires again every 0.1 s after the first time (in case template code
    swallowed the exception), so the timer must be disarmed whatever happens: the
    handler never raises in __enter__ or __exit__, and __exit__ runs whenever the body
    was entered."""

    _running: "time_budget | None" = None

    def __init__(self, seconds: float):
        self.seconds = seconds
        self.armed = False

    def __enter__(self) -> "time_budget":
        if (self.seconds <= 0 or time_budget._running is not None
                or threading.current_thread() is not threading.main_thread()
                or not hasattr(signal, "setitimer") or signal.getsignal(signal.SIGALRM) is None):
            return self
        self.started = time.monotonic()
        self.previous_handler = signal.signal(signal.SIGALRM, self._on_alarm)
        self.previous_timer = signal.setitimer(signal.ITIMER_REAL, self.seconds, 0.1)
        time_budget._running = self
        self.armed = True
        return self

    def _on_alarm(self, signum: int, frame: Any) -> None:
        if self.armed and (frame is None or frame.f_code not in _QUIET):
            raise OverBudget(f"took more than {self.seconds:g} s ({setting('template')})")

    def __exit__(self, *exc: Any) -> None:
        if time_budget._running is not self:
            return
        self.armed = False
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, self.previous_handler)
        time_budget._running = None
        delay, interval = self.previous_timer
        if delay > 0:  # someone else's timer was running: let it go on
            signal.setitimer(signal.ITIMER_REAL, max(delay - (time.monotonic() - self.started), 0.001), interval)


_QUIET = (time_budget.__enter__.__code__, time_budget.__exit__.__code__, disarm.__code__, arm.__code__, _past.__code__)
