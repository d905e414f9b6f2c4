"""Delivering the outbox through channel plugins.

Each channel's messages go in order through one session per run (a plugin's `open`: its
connections and TLS context made once), channels side by side in a small pool of threads,
a channel's `rate:` honoured. Only this module's caller thread touches the store: each
result is recorded the moment it arrives, so a crash resends at most the messages in
flight. A message that failed `max_attempts` times is `dead`: no longer tried until
`flowctl run --retry-dead`.
"""
from __future__ import annotations

import contextlib
import dataclasses
import os
import queue
import re
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Callable

from .diagnostics import FlowctlError
from .channel_settings import CORE_SETTINGS, DEFAULT_MAX_ATTEMPTS
from .hooktypes import ChannelSession, ChannelType, DeliveryError, Message
from .liveness import claimer_dead, process_tag
from .model import Workflow
from .notify import channels_of
from .store import OutboxItem, Store, mask_url

POOL_SIZE = 4  # channels delivered at once: enough to overlap slow receivers, polite to all
_RATE = re.compile(CORE_SETTINGS["rate"]["pattern"])


def rate_interval(rate: object) -> float:
    """Seconds between two messages for a `rate:` such as `5/s` or `30/min` (0: no limit)."""
    if rate is None:
        return 0.0
    match = _RATE.match(str(rate))
    if not match or float(str(rate).split("/")[0]) <= 0:
        raise DeliveryError(f"`rate` must be like 5/s or 30/min, not {rate!r}")
    per = 60.0 if match.group(2).startswith("min") else 1.0
    return per / float(str(rate).split("/")[0])


def max_attempts(config: dict | None) -> int:
    value = (config or {}).get("max_attempts", DEFAULT_MAX_ATTEMPTS)
    return value if isinstance(value, int) and not isinstance(value, bool) and value >= 1 else DEFAULT_MAX_ATTEMPTS


def resolve_secrets(config: dict) -> dict:
    """The channel config with every `X_env: VAR` also given as `X: <value of VAR>`."""
    out = dict(config)
    for key, var in config.items():
        if key.endswith("_env") and isinstance(var, str):
            value = os.environ.get(var)
            if value is None:
                raise DeliveryError(f"environment variable {var} (for {key[:-4]}) is not set")
            out[key[:-4]] = value
    return out


def scrub(text: str, secrets: list[str]) -> str:
    """An error as the outbox and the run show it: no secret value, no URL password."""
    for secret in sorted(secrets, key=len, reverse=True):
        if len(secret) >= 3:  # shorter "secrets" would blank out ordinary words
            text = text.replace(secret, "***")
    return re.sub(r"(?<=://)[^/\s@]*@", "***@", mask_url(text))


@dataclasses.dataclass
class DeliveryReport:
    sent: int = 0
    failed: list[str] = dataclasses.field(default_factory=list)
    dead: int = 0  # messages dead in the outbox after this delivery (all channels)
    by_channel: dict[str, dict[str, int]] = dataclasses.field(default_factory=dict)  # sent, failed, dead, waiting


class _PerMessage:
    """The session of a plugin without `open`: its `send` per message."""

    def __init__(self, send: Callable[[dict, Message], None], config: dict):
        self._send, self._config = send, config

    def send(self, message: Message) -> None:
        self._send(self._config, message)

    def close(self) -> None:
        pass


def deliver(store: Store, workflow: Workflow, channel_types: dict[str, ChannelType], *,
            sleep: Callable[[float], None] = time.sleep, pool: int = POOL_SIZE) -> DeliveryReport:
    """Try every queued or failed outbox item once; record each attempt as it ends."""
    report = DeliveryReport()
    channels = channels_of(workflow)
    dead = [i.key for i in store.outbox(("sending",)) if claimer_dead(i.claimed_by)]
    by_channel: dict[str, list[OutboxItem]] = {}
    for item in store.claim_outbox(claimer=process_tag(), reclaim=dead):
        by_channel.setdefault(item.channel, []).append(item)
    results: queue.Queue = queue.Queue()

    def work(name: str, items: list[OutboxItem]) -> None:
        try:
            _deliver_channel(channels.get(name), name, channel_types, items, results.put, sleep)
        finally:
            results.put(None)  # this channel is done

    with ThreadPoolExecutor(max_workers=max(1, min(pool, len(by_channel))), thread_name_prefix="deliver") as ex:
        futures = [ex.submit(work, name, items) for name, items in by_channel.items()]
        remaining = len(futures)
        while remaining:
            got = results.get()
            if got is None:
                remaining -= 1
                continue
            _record(store, report, channels, *got)
        for future in futures:
            future.result()  # a FlowctlError from a plugin stops the run, as before
    for item in store.outbox(("dead",)):
        report.dead += 1
        report.by_channel.setdefault(item.channel, _counts())["dead"] += 1
    return report


def _counts() -> dict[str, int]:
    return {"sent": 0, "failed": 0, "dead": 0, "waiting": 0}


def _record(store: Store, report: DeliveryReport, channels: dict[str, dict], item: OutboxItem,
            error: str | None) -> None:
    counts = report.by_channel.setdefault(item.channel, _counts())
    if error is None:
        store.mark_outbox(item.key, "sent")
        report.sent += 1
        counts["sent"] += 1
        return
    gives_up = item.attempts + 1 >= max_attempts(channels.get(item.channel))
    store.mark_outbox(item.key, "dead" if gives_up else "failed", error)
    counts["failed"] += 1
    if not gives_up:
        counts["waiting"] += 1
    report.failed.append(f"{item.channel} to {item.recipient}: {error}"
                         + (f" (dead after {item.attempts + 1} attempts: `flowctl run --retry-dead` tries it again)"
                            if gives_up else ""))


def _deliver_channel(config: dict | None, name: str, channel_types: dict[str, ChannelType], items: list[OutboxItem],
                     put: Callable[[tuple[OutboxItem, str | None]], None], sleep: Callable[[float], None]) -> None:
    """One channel's messages, in order, through one session (in a pool thread)."""
    session: ChannelSession | None = None
    secrets: list[str] = []
    problem = None
    interval = 0.0
    try:
        if config is None:
            raise DeliveryError(f"no channel '{name}' in the workflow any more")
        kind = channel_types.get(str(config.get("use")))
        if kind is None:
            raise DeliveryError(f"no plugin provides the channel type '{config.get('use')}'")
        interval = rate_interval(config.get("rate"))
        resolved = resolve_secrets(config)
        secrets = [str(resolved[k[:-4]]) for k in config if k.endswith("_env") and resolved.get(k[:-4])]
        plugin_config = {k: v for k, v in resolved.items() if k not in CORE_SETTINGS}
        session = kind.open(plugin_config) if kind.open is not None else _PerMessage(kind.send, plugin_config)
    except DeliveryError as exc:
        problem = str(exc)
    except FlowctlError:
        raise
    except Exception as exc:  # a channel plugin's bug must not lose the messages
        problem = f"channel plugin failed: {type(exc).__name__}: {exc}"
    last = None
    try:
        for item in items:
            if problem is not None or session is None:
                put((item, scrub(problem or "no session", secrets)))
                continue
            if interval and last is not None and (wait := last + interval - time.monotonic()) > 0:
                sleep(wait)
            last = time.monotonic()
            try:
                session.send(Message(item.key, item.channel, item.recipient, item.subject, item.body, item.payload))
            except DeliveryError as exc:
                put((item, scrub(str(exc), secrets)))
            except FlowctlError:
                raise
            except Exception as exc:
                put((item, scrub(f"channel plugin failed: {type(exc).__name__}: {exc}", secrets)))
            else:
                put((item, None))
    finally:
        if session is not None:
            with contextlib.suppress(Exception):  # a failed goodbye changes nothing delivered
                session.close()
