"""Who is watching which request in this process, and waking them when it changes.

One ``Hub`` per app and process, started by the first stream. A change reaches it in
one of two ways, never one query per visitor:

* with ``WIDGET_REDIS_URL``: one subscriber per process on the channel
  ``dispatch/changes.py`` publishes to after each commit, from any process;
* without Redis (one machine: one web process and its queue worker): the commits of
  this process directly, and one poll loop over every handle watched here, one query
  per ``WIDGET_STATUS_WATCH_POLL_MS`` for all of them, for the queue worker's changes.

Waiting is a ``threading.Event``: under the gevent worker (``ops/server.py``) it is a
greenlet's wait, so a waiting visitor holds no thread.
"""

from __future__ import annotations

import contextlib
import logging
import threading
from collections.abc import Iterator
from typing import Any

from flask import Flask
from sqlalchemy import select
from sqlalchemy.exc import SQLAlchemyError

from ..dispatch import changes
from ..extensions import db
from ..models import CallbackRequest

log = logging.getLogger(__name__)
POLL_CHUNK = 500  # handles per query of the poll loop


class Hub:
    """The watched handles of this process and the one loop that hears of their changes."""

    def __init__(self, app: Flask):
        self.app = app
        self._lock = threading.Lock()
        self._waiters: dict[str, set[threading.Event]] = {}
        self._started = False
        self.stopped = threading.Event()

    @contextlib.contextmanager
    def watch(self, handle: str) -> Iterator[threading.Event]:
        """An event set whenever the request ``handle`` may have changed, while in the block."""
        self._start()
        waiter = threading.Event()
        with self._lock:
            self._waiters.setdefault(handle, set()).add(waiter)
        try:
            yield waiter
        finally:
            with self._lock:
                watching = self._waiters.get(handle)
                if watching is not None:
                    watching.discard(waiter)
                    if not watching:
                        del self._waiters[handle]

    def watched(self) -> list[str]:
        with self._lock:
            return list(self._waiters)

    def notify(self, handles: set[str] | list[str]) -> None:
        """Wake everyone watching one of ``handles``."""
        with self._lock:
            waiters = [w for h in handles for w in self._waiters.get(h, ())]
        for waiter in waiters:
            waiter.set()

    def stop(self) -> None:
        self.stopped.set()
        changes.unlisten(self.app, self.notify)

    def _start(self) -> None:
        # Started by the first stream, in the worker process (never before gunicorn forks).
        with self._lock:
            if self._started:
                return
            self._started = True
        url = self.app.config.get("REDIS_URL")
        if url:
            target = self._subscribe
        else:
            changes.listen(self.app, self.notify)
            target = self._poll
        threading.Thread(target=target, args=(url,), name="status-watch", daemon=True).start()

    # -- with Redis -----------------------------------------------------------------------
    def _subscribe(self, url: str) -> None:
        """Hear every process's published changes until stopped; reconnect after an error."""
        import redis  # only where Redis is configured: a lean process without it

        lost = False
        while not self.stopped.is_set():
            try:
                client = redis.Redis.from_url(
                    url, socket_connect_timeout=2, health_check_interval=30
                )
                pubsub = client.pubsub(ignore_subscribe_messages=True)
                pubsub.subscribe(changes.CHANNEL)
                if lost:
                    # What was published while we were away is lost: every stream looks
                    # again, once per reconnection (not once per failed attempt).
                    self.notify(self.watched())
                    lost = False
                while not self.stopped.is_set():
                    message = pubsub.get_message(timeout=1.0)
                    if message and message["type"] == "message":
                        self.notify([message["data"].decode()])
            except redis.RedisError as exc:
                if not lost:
                    log.warning(
                        "status watch: Redis subscription lost (%s)", exc.__class__.__name__
                    )
                lost = True
                self.stopped.wait(1.0)

    # -- without Redis ----------------------------------------------------------------------
    def _poll(self, _url: None) -> None:
        """One query for all the handles watched here, every poll interval."""
        seen: dict[str, Any] = {}
        interval = self.app.config["STATUS_WATCH_POLL_MS"] / 1000
        while not self.stopped.wait(interval):
            handles = self.watched()
            if not handles:
                seen.clear()
                continue
            try:
                with self.app.app_context():
                    now = _versions(handles)
            except SQLAlchemyError as exc:
                log.warning("status watch: poll failed (%s)", exc.__class__.__name__)
                continue
            # A handle new to the loop counts as changed: it may have moved since its stream
            # last looked, before this loop first saw it.
            changed = [h for h, version in now.items() if seen.get(h) != version]
            seen = now
            if changed:
                self.notify(changed)


def _versions(handles: list[str]) -> dict[str, Any]:
    """What of each request its status view depends on, for ``handles``."""
    found: dict[str, Any] = {}
    try:
        for start in range(0, len(handles), POLL_CHUNK):
            rows = db.session.execute(
                select(
                    CallbackRequest.handle,
                    CallbackRequest.status,
                    CallbackRequest.updated_at,
                    CallbackRequest.next_dispatch_at,
                ).where(CallbackRequest.handle.in_(handles[start : start + POLL_CHUNK]))
            )
            found.update((row[0], tuple(row[1:])) for row in rows)
    finally:
        db.session.remove()
    return found


def hub_for(app: Flask) -> Hub:
    """This process's hub for ``app``."""
    hub = app.extensions.get("status_hub")
    if hub is None:
        hub = app.extensions.setdefault("status_hub", Hub(app))
    return hub
