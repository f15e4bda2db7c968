"""Sites a widget was refused on: the widget page's "добавить этот сайт?".

A widget asked from a page whose origin is not in its list answers 403, which the browser
shows its visitor as nothing at all (and its console as a network error). So the service
remembers, per widget key, the few origins it refused most recently, and the owner's
widget page offers to add them in one click.

What it costs: nothing in the database. One process (no ``WIDGET_REDIS_URL``): a bounded
dict in memory, at most ``MAX_ORIGINS`` origins per widget and ``MAX_KEYS`` widgets, the
least recent forgotten. Several processes: a Redis sorted set per widget key (origin →
time), trimmed to ``MAX_ORIGINS`` and expiring after ``KEEP``, written at most once per
``WRITE_EVERY_SECONDS`` per widget and origin, and at most ``MAX_ORIGINS`` times per widget
in that interval, whatever the origins a script makes up (this process's memory decides).
Only keys of existing widgets are recorded (the callers have found the widget). A Redis
outage loses notes, never fails the visitor's request.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import OrderedDict
from datetime import UTC, datetime, timedelta

from flask import current_app, has_app_context, request

from .origins import request_origin

log = logging.getLogger(__name__)

MAX_ORIGINS = 5  # per widget: the owner needs the latest few, not a history
MAX_KEYS = 10_000  # widgets remembered at once in one process
WRITE_EVERY_SECONDS = 60.0
KEEP = timedelta(days=7)
REDIS_PREFIX = "widget-server:refused:"

_lock = threading.Lock()
# widget key -> {origin: wall-clock time of the last refusal}, least recent key first
_memory: OrderedDict[str, OrderedDict[str, float]] = OrderedDict()
# (widget key, origin) -> monotonic time of the last Redis write; widget key -> its writes
_written: dict[tuple[str, str], float] = {}
_key_writes: dict[str, list[float]] = {}


def note_request(key: str) -> None:
    """Remember the origin of the current request, refused for widget ``key``."""
    note(key, request_origin(request.headers.get("Origin"), request.headers.get("Referer")))


def note(key: str, origin: str | None) -> None:
    """Remember that widget ``key`` was refused on ``origin`` now. Never raises."""
    if not key or not origin:
        return
    now = time.time()
    with _lock:
        origins = _memory.pop(key, None) or OrderedDict()
        origins.pop(origin, None)
        origins[origin] = now
        while len(origins) > MAX_ORIGINS:
            origins.popitem(last=False)
        _memory[key] = origins
        while len(_memory) > MAX_KEYS:
            _memory.popitem(last=False)
        shared = _shared_write_due(key, origin, time.monotonic())
    if shared:
        _to_redis(key, origin, now)


def _shared_write_due(key: str, origin: str, now: float) -> bool:
    """Under the lock: whether Redis should hear of this refusal now (see the module)."""
    if not (has_app_context() and current_app.config.get("REDIS_URL")):
        return False
    last = _written.get((key, origin))
    if last is not None and now - last < WRITE_EVERY_SECONDS:
        return False
    recent_writes = [t for t in _key_writes.get(key, ()) if now - t < WRITE_EVERY_SECONDS]
    if len(recent_writes) >= MAX_ORIGINS:
        return False
    if len(_written) >= MAX_KEYS:
        _prune(now)
    _written[(key, origin)] = now
    _key_writes[key] = [*recent_writes, now]
    return True


def _prune(now: float) -> None:
    """Under the lock: forget writes older than the interval (they decide nothing)."""
    for pair in [p for p, t in _written.items() if now - t >= WRITE_EVERY_SECONDS]:
        del _written[pair]
    for key in [k for k, times in _key_writes.items() if now - times[-1] >= WRITE_EVERY_SECONDS]:
        del _key_writes[key]


def _redis():
    # The look cache's client: one connection pool per app for the visitor side's Redis.
    from .look_cache import _redis as look_redis

    return look_redis()


def _to_redis(key: str, origin: str, when: float) -> None:
    try:
        client = _redis()
        if client is None:
            return
        name = REDIS_PREFIX + key
        pipe = client.pipeline(transaction=False)
        pipe.zadd(name, {origin: when})
        pipe.zremrangebyrank(name, 0, -(MAX_ORIGINS + 1))
        pipe.expire(name, int(KEEP.total_seconds()))
        pipe.execute()
    except Exception as exc:  # noqa: BLE001 - a note lost, the visitor's answer unchanged
        log.warning("refused origin not recorded: Redis unavailable (%s)", exc.__class__.__name__)


def recent(key: str) -> list[tuple[str, datetime]]:
    """(origin, naive UTC time) of widget ``key``'s recent refusals, the latest first."""
    found: dict[str, float] = {}
    shared = has_app_context() and current_app.config.get("REDIS_URL")
    if shared:
        try:
            client = _redis()
            rows = client.zrevrange(REDIS_PREFIX + key, 0, MAX_ORIGINS - 1, withscores=True)
            found = {(o.decode() if isinstance(o, bytes) else o): float(t) for o, t in rows}
        except Exception as exc:  # noqa: BLE001 - the page shows what this process knows
            log.warning("refused origins unread: Redis unavailable (%s)", exc.__class__.__name__)
    with _lock:
        for origin, when in (_memory.get(key) or {}).items():
            found[origin] = max(when, found.get(origin, 0.0))
    oldest = time.time() - KEEP.total_seconds()
    rows = sorted(((o, t) for o, t in found.items() if t >= oldest), key=lambda r: -r[1])
    return [
        (origin, datetime.fromtimestamp(when, UTC).replace(tzinfo=None))
        for origin, when in rows[:MAX_ORIGINS]
    ]


def forget(key: str | None = None, origin: str | None = None) -> None:
    """Drop what is remembered: one origin of a widget (added to its list), a widget, or
    everything (tests start from a clean slate)."""
    with _lock:
        if key is None:
            _memory.clear()
            _written.clear()
            _key_writes.clear()
            return
        origins = _memory.get(key)
        if origins is not None:
            if origin is None:
                origins.clear()
            else:
                origins.pop(origin, None)
    if has_app_context() and current_app.config.get("REDIS_URL"):
        try:
            client = _redis()
            if origin is None:
                client.delete(REDIS_PREFIX + key)
            else:
                client.zrem(REDIS_PREFIX + key, origin)
        except Exception as exc:  # noqa: BLE001 - the list filters listed origins anyway
            log.warning("refused origin not forgotten (%s)", exc.__class__.__name__)
