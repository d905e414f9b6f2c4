"""Whether the process that claimed something (a run, an outbox message) is still alive.

A claim is tagged "host:pid". On the same host a dead pid is certain; on another host
nothing can be told, and callers fall back on a lease (a time limit)."""
from __future__ import annotations

import os
import socket


def process_tag() -> str:
    """This process, as claims name it."""
    return f"{socket.gethostname()}:{os.getpid()}"


def claimer_alive(claimer: str | None) -> bool | None:
    """Whether the process that made the claim lives; None when it cannot be told (another
    host, or no claimer recorded)."""
    host, _, pid = (claimer or "").rpartition(":")
    if host != socket.gethostname() or not pid.isdigit():
        return None
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return False
    except OSError:  # e.g. another user's process: alive
        return True
    return True


def claimer_dead(claimer: str | None) -> bool:
    """True when the claim was made by a process of this host that is gone (killed)."""
    return claimer_alive(claimer) is False
