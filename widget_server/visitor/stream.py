"""The live status stream: ``GET /api/v1/requests/<handle>/events`` as Server-Sent Events.

Each message's ``data:`` is exactly the JSON ``GET /api/v1/requests/<handle>`` answers
(``status.py``): one at once, one per change, comment keep-alives in between, and the
stream ends after a final status. A change is heard through this process's ``Hub``
(``watch.py``); between changes the stream only waits, holding no database connection
and, under the gevent worker, no thread. A disguised request (``disguise.py``) changes
with time, not with events: its stream sleeps until its phase ends, so it costs what a
real one costs and sends the same lines at the same moments. Each client network
(``abuse/client_ip.py``) holds at most ``WIDGET_STREAMS_PER_IP`` streams open per process.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

from flask import Flask, Response, current_app, stream_with_context
from sqlalchemy.exc import SQLAlchemyError

from ..abuse.client_ip import client_ip_key
from ..dispatch import hours
from ..extensions import db
from ..models import CallbackRequest
from ..ops import metrics, slots
from . import disguise, watch
from .guards import error
from .status import status_view

log = logging.getLogger(__name__)
KEEPALIVE_SECONDS = 15.0  # under the idle timeouts of proxies (nginx: 60 s)
REFRESH_EVERY = 4  # keep-alives between looks of our own, in case a change went unheard
MAX_SECONDS = 600.0  # then the browser's EventSource reconnects (after RETRY_MS)
RETRY_MS = 1000
OVER_CAP_RETRY_AFTER = 60  # seconds; the widget polls meanwhile (embed/src/status_follow.js)
PAST_THE_PHASE = 0.01  # seconds: look a hair after a disguised phase ends, never before


class OpenStreams:
    """How many streams each client network holds open in this process."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._open: dict[str, int] = {}

    def take(self, client: str, most: int) -> Callable[[], None] | None:
        """One more stream for ``client``, and the call that gives it back (at most once);
        None when ``client`` already holds ``most``."""
        with self._lock:
            if self._open.get(client, 0) >= most:
                return None
            self._open[client] = self._open.get(client, 0) + 1
        taken = True

        def give_back() -> None:
            nonlocal taken
            with self._lock:
                if not taken:
                    return
                taken = False
                left = self._open.get(client, 1) - 1
                if left > 0:
                    self._open[client] = left
                else:
                    self._open.pop(client, None)

        return give_back


def open_streams(app: Flask) -> OpenStreams:
    """This process's count of open streams for ``app``."""
    found = app.extensions.get("open_streams")
    if found is None:
        found = app.extensions.setdefault("open_streams", OpenStreams())
    return found


def status_events(req: CallbackRequest, language: str) -> Response:
    """The response streaming ``req``'s status view in ``language``.

    :raise ApiError: 429 when the client holds ``STREAMS_PER_IP`` streams open here already:
        the widget then polls, as for any stream it cannot open.
    """
    app = current_app._get_current_object()  # type: ignore[attr-defined]
    client = client_ip_key()
    give_back = open_streams(app).take(client, app.config["STREAMS_PER_IP"])
    if give_back is None:
        # Each open stream costs memory and a socket however cheap its wait: one client
        # (or one bot with many handles) must not hold thousands of them.
        log.info("status stream refused: %s holds too many open", client)
        metrics.count_refusal("stream_cap")
        raise error(429, "rate_limited", retry_after=OVER_CAP_RETRY_AFTER)
    try:
        request_id, handle = req.id, req.handle
        hub = watch.hub_for(app)
        db.session.remove()  # no connection held while the stream waits
        body = stream_with_context(_then(_events(hub, request_id, handle, language), give_back))
        response = Response(body, content_type="text/event-stream; charset=utf-8")
        response.headers["X-Accel-Buffering"] = "no"  # nginx: pass each message on at once
        response.call_on_close(give_back)  # the server closes every response it sent
    except BaseException:
        give_back()
        raise
    return response


def _then(events: Iterator[str], give_back: Callable[[], None]) -> Iterator[str]:
    """``events``, then the stream's place given back as soon as they end, before the server
    ends the response: a client that opens its next stream the moment this one ends must not
    find its place still taken (``call_on_close`` would run only after the client saw the
    end). ``call_on_close`` stays for a client that leaves first; a second give-back is a
    no-op."""
    try:
        yield from events
    finally:
        give_back()


def _events(hub: watch.Hub, request_id: int, handle: str, language: str) -> Iterator[str]:
    """A real and a disguised request's streams alike: a message per change, and a keep-alive
    after each ``KEEPALIVE_SECONDS`` with nothing sent, whatever woke the stream meanwhile
    (so that the cadence tells nothing of what the server heard)."""
    started, last, quiet = time.monotonic(), None, 0
    first, sent = f"retry: {RETRY_MS}\n", started
    with hub.watch(handle) as changed:
        while True:
            changed.clear()  # before looking, so a change while we look is not lost
            view, due = _current(request_id, language)
            if view is None:
                return
            if view != last:
                yield f"{first}data: {current_app.json.dumps(view)}\n\n"
                first, last, sent = "", view, time.monotonic()
            if view["final"] or time.monotonic() - started > MAX_SECONDS:
                return
            # A disguised request changes with time alone: it wakes when its phase ends, as
            # a real one wakes when its worker changes it; neither looks in between.
            phase_ends = None if due is None else time.monotonic() + due + PAST_THE_PHASE
            while True:
                wake = sent + KEEPALIVE_SECONDS
                if phase_ends is not None:
                    wake = min(wake, phase_ends)
                if changed.wait(max(0.0, wake - time.monotonic())):
                    break
                now = time.monotonic()
                if phase_ends is not None and now >= phase_ends:
                    break
                if now < sent + KEEPALIVE_SECONDS:
                    continue
                yield ": keep-alive\n\n"
                sent, quiet = time.monotonic(), quiet + 1
                if quiet % REFRESH_EVERY == 0 or time.monotonic() - started > MAX_SECONDS:
                    break


def _current(request_id: int, language: str) -> tuple[dict[str, Any] | None, float | None]:
    """The status view now (None when the request is gone or the database fails), and for a
    disguised request the seconds until its view changes on its own (else None)."""
    try:
        with slots.slot(current_app):  # a request's share of the database pool, briefly
            req = db.session.get(CallbackRequest, request_id)
            if req is None:
                return None, None
            now = hours.utc_now()
            view = status_view(req, language, now=now)
            if not disguise.disguised(req):
                return view, None
            naive = hours.as_utc(now).replace(tzinfo=None)
            until = disguise.progress(req, naive).until
            return view, None if until is None else max(0.0, (until - naive).total_seconds())
    except SQLAlchemyError as exc:
        # The stream ends; the widget falls back to polling, which says 503 while it lasts.
        log.warning("status stream: database error: %s", exc.__class__.__name__)
        return None, None
    finally:
        db.session.remove()
