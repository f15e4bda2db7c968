"""The funnel's counter: impressions and opens counted without a database write per beacon.

One process (no ``WIDGET_REDIS_URL``): a dict in memory, added to the database by the
process itself at most once a minute (on a beacon after that minute, before the dashboard
reads, by the queue's minute job where the queue runs in that process, as ``run`` ships, and
when the process exits). Several processes: Redis, one hash the beacons ``HINCRBY``, emptied
into the database every minute by a queue job (``insight/tasks.py``); the flush renames
the hash first, so beacons arriving meanwhile go to a fresh one and none is lost.

Counts are exact, no sampling: a beacon costs a dict increment or one Redis command.
What bounds memory is the page path: at most ``MAX_PATHS`` distinct paths per widget and
day are told apart in one process between flushes, later ones are counted under "" (all
pages). One client address tells apart at most ``MAX_PATHS_PER_ADDRESS`` paths of a widget a
day (``AddressPaths``, in the memory of each process), so one script cannot fill a widget's
page breakdown with made-up paths. The day is the display zone's (Moscow), like the
dashboard's days.
"""

from __future__ import annotations

import logging
import threading
import time
import uuid
from collections import OrderedDict, defaultdict
from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

from sqlalchemy import update
from sqlalchemy.exc import IntegrityError

from ..extensions import db
from .columns import FunnelDay

log = logging.getLogger(__name__)

EVENTS = ("impression", "open")
FUNNEL_TZ = ZoneInfo("Europe/Moscow")
FLUSH_SECONDS = 60
MAX_PATHS = 100
MAX_PATH = 200
MAX_PATHS_PER_ADDRESS = 20  # a visitor's pages in a day; an office behind one address, several
MAX_ADDRESSES = 10_000  # (address, widget, day) remembered at once, the least recent forgotten
REDIS_KEY = "widget-server:funnel"

Key = tuple[int, str, str, str]  # widget id, ISO day, variant ("" none), path ("" all)


def today() -> date:
    return datetime.now(UTC).astimezone(FUNNEL_TZ).date()


class MemoryCounter:
    """Counts in this process; thread-safe (gunicorn threads, the test server)."""

    def __init__(self, flush_seconds: int = FLUSH_SECONDS):
        self.flush_seconds = flush_seconds
        self._lock = threading.Lock()
        self._counts: dict[Key, list[int]] = defaultdict(lambda: [0, 0])
        self._paths: dict[tuple[int, str], set[str]] = defaultdict(set)
        self._last_flush = time.monotonic()

    def count(self, widget_id: int, event: str, variant: str, path: str, day: date) -> None:
        with self._lock:
            seen = self._paths[(widget_id, day.isoformat())]
            if path not in seen:
                if len(seen) >= MAX_PATHS:
                    path = ""
                else:
                    seen.add(path)
            self._counts[(widget_id, day.isoformat(), variant, path)][EVENTS.index(event)] += 1

    def take(self) -> dict[Key, list[int]]:
        with self._lock:
            counts, self._counts = dict(self._counts), defaultdict(lambda: [0, 0])
            self._paths.clear()
            self._last_flush = time.monotonic()
        return counts

    def put_back(self, counts: dict[Key, list[int]]) -> None:
        with self._lock:
            for key, (impressions, opens) in counts.items():
                self._counts[key][0] += impressions
                self._counts[key][1] += opens

    def due(self) -> bool:
        return time.monotonic() - self._last_flush >= self.flush_seconds


class AddressPaths:
    """Which paths each client address has had told apart, per widget and day.

    Memory is bounded: the ``MAX_ADDRESSES`` most recently seen (address, widget, day) are
    kept, each with at most ``MAX_PATHS_PER_ADDRESS`` paths, held as their hashes. An address
    forgotten early starts again: the cap can be passed only by many addresses.
    """

    def __init__(self, per_address: int | None = None, addresses: int | None = None) -> None:
        self.per_address = MAX_PATHS_PER_ADDRESS if per_address is None else per_address
        self.addresses = MAX_ADDRESSES if addresses is None else addresses
        self._lock = threading.Lock()
        self._seen: OrderedDict[tuple[str, int, str], set[int]] = OrderedDict()

    def path(self, address: str, widget_id: int, day: date, path: str) -> str:
        """``path``, or "" (all pages) once ``address`` has had its share of other paths."""
        if not path:
            return path
        key = (address, widget_id, day.isoformat())
        with self._lock:
            seen = self._seen.get(key)
            if seen is None:
                seen = self._seen[key] = set()
                while len(self._seen) > self.addresses:
                    self._seen.popitem(last=False)
            else:
                self._seen.move_to_end(key)
            mark = hash(path)
            if mark in seen:
                return path
            if len(seen) >= self.per_address:
                return ""
            seen.add(mark)
            return path


def address_paths_for(app) -> AddressPaths:
    """The app's ``AddressPaths``, made on first use (each process its own)."""
    return app.extensions.setdefault("funnel_address_paths", AddressPaths())


class RedisCounter:
    """Counts in one Redis hash shared by every process; the field names the row and event."""

    def __init__(self, client, key: str = REDIS_KEY):
        self.client, self.key = client, key

    def count(self, widget_id: int, event: str, variant: str, path: str, day: date) -> None:
        field = "|".join((str(widget_id), day.isoformat(), variant, event, path))
        self.client.hincrby(self.key, field, 1)

    def take(self) -> dict[Key, list[int]]:
        from redis import ResponseError

        taking = f"{self.key}:flushing:{uuid.uuid4().hex}"
        try:
            self.client.rename(self.key, taking)
        except ResponseError as exc:  # "no such key": nothing counted since
            if "no such key" in str(exc).lower():
                return {}
            raise
        raw = self.client.hgetall(taking)
        self.client.delete(taking)
        counts: dict[Key, list[int]] = defaultdict(lambda: [0, 0])
        for field, value in raw.items():
            field = field.decode() if isinstance(field, bytes) else field
            widget_id, day, variant, event, path = field.split("|", 4)
            counts[(int(widget_id), day, variant, path)][EVENTS.index(event)] += int(value)
        return dict(counts)

    def put_back(self, counts: dict[Key, list[int]]) -> None:
        pipe = self.client.pipeline()
        for (widget_id, day, variant, path), pair in counts.items():
            for event, amount in zip(EVENTS, pair, strict=True):
                if amount:
                    field = "|".join((str(widget_id), day, variant, event, path))
                    pipe.hincrby(self.key, field, amount)
        pipe.execute()

    def due(self) -> bool:
        return False  # the queue job flushes Redis, never a web request


def counter_for(app):
    """The app's counter, made on first use: Redis when configured, else memory."""
    counter = app.extensions.get("funnel_counter")
    if counter is None:
        url = app.config.get("REDIS_URL")
        if url:
            import redis  # only where Redis is configured

            counter = RedisCounter(redis.Redis.from_url(url, socket_timeout=1))
        else:
            counter = MemoryCounter()
        app.extensions["funnel_counter"] = counter
    return counter


def flush_before_exit(app) -> int:
    """What this process still counts in memory goes to the database before it exits: on a
    quiet site nothing else may flush it for hours, and a restart would lose it. (Redis keeps
    its counts; the queue job empties them.)"""
    counter = app.extensions.get("funnel_counter")
    if not isinstance(counter, MemoryCounter):
        return 0
    with app.app_context():
        return flush(counter)


def flush(counter) -> int:
    """Add what ``counter`` holds to ``funnel_days``; returns the rows touched.

    On a database failure the counts go back into the counter for the next flush.
    """
    counts = counter.take()
    if not counts:
        return 0
    try:
        for key, (impressions, opens) in counts.items():
            _add(key, impressions, opens)
        db.session.commit()
    except Exception:  # the database, or anything else: keep the counts either way
        db.session.rollback()
        counter.put_back(counts)
        log.warning("funnel: the database refused %s rows; kept for the next flush", len(counts))
        return 0
    return len(counts)


def _add(key: Key, impressions: int, opens: int) -> None:
    """Add to one row, made if missing (a racing flush's insert wins, then we add to it)."""
    widget_id, day, variant, path = key
    where = (
        FunnelDay.widget_id == widget_id,
        FunnelDay.day == date.fromisoformat(day),
        FunnelDay.variant == variant,
        FunnelDay.path == path,
    )
    increment = (
        update(FunnelDay)
        .where(*where)
        .values(impressions=FunnelDay.impressions + impressions, opens=FunnelDay.opens + opens)
    )
    if db.session.execute(increment).rowcount:
        return
    row = FunnelDay(
        widget_id=widget_id,
        day=date.fromisoformat(day),
        variant=variant,
        path=path,
        impressions=impressions,
        opens=opens,
    )
    try:
        with db.session.begin_nested():
            db.session.add(row)
    except IntegrityError:
        # Another process made the row meanwhile, or the widget is gone.
        db.session.execute(increment)
