"""The live status stream: ``GET /api/v1/requests/<handle>/events`` as Server-Sent Events.

Each message's ``data:`` is exactly the JSON ``GET /api/v1/requests/<handle>`` answers
(``status.py``): one at once, one per change, comment keep-alives in between, and the
stream ends after a final status. A change is heard through this process's ``Hub``
(``watch.py``); between changes the stream only waits, holding no database connection
and, under the gevent worker, no thread. A disguised request (``disguise.py``) changes
with time, not with events, so its stream looks again every poll interval, exactly as
its polling would.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator
from typing import Any

from flask import Response, current_app, stream_with_context
from sqlalchemy.exc import SQLAlchemyError

from ..extensions import db
from ..models import CallbackRequest
from ..ops import slots
from . import disguise, watch
from .status import status_view

log = logging.getLogger(__name__)
KEEPALIVE_SECONDS = 15.0  # under the idle timeouts of proxies (nginx: 60 s)
REFRESH_EVERY = 4  # keep-alives between looks of our own, in case a change went unheard
MAX_SECONDS = 600.0  # then the browser's EventSource reconnects (after RETRY_MS)
RETRY_MS = 1000


def status_events(req: CallbackRequest, language: str) -> Response:
    """The response streaming ``req``'s status view in ``language``."""
    request_id, handle = req.id, req.handle
    hub = watch.hub_for(current_app._get_current_object())  # type: ignore[attr-defined]
    db.session.remove()  # no connection held while the stream waits
    body = stream_with_context(_events(hub, request_id, handle, language))
    response = Response(body, content_type="text/event-stream; charset=utf-8")
    response.headers["X-Accel-Buffering"] = "no"  # nginx: pass each message on at once
    return response


def _events(hub: watch.Hub, request_id: int, handle: str, language: str) -> Iterator[str]:
    started, last, quiet = time.monotonic(), None, 0
    first = f"retry: {RETRY_MS}\n"
    with hub.watch(handle) as changed:
        while True:
            changed.clear()  # before looking, so a change while we look is not lost
            view, ticking = _current(request_id, language)
            if view is None:
                return
            if view != last:
                yield f"{first}data: {current_app.json.dumps(view)}\n\n"
                first, last = "", view
            if view["final"] or time.monotonic() - started > MAX_SECONDS:
                return
            if ticking:
                changed.wait(current_app.config["STATUS_POLL_MS"] / 1000)
                continue
            while not changed.wait(KEEPALIVE_SECONDS):
                yield ": keep-alive\n\n"
                quiet += 1
                if quiet % REFRESH_EVERY == 0 or time.monotonic() - started > MAX_SECONDS:
                    break


def _current(request_id: int, language: str) -> tuple[dict[str, Any] | None, bool]:
    """The status view now (None when the request is gone or the database fails), and
    whether it changes with time alone (a disguised request)."""
    try:
        with slots.slot(current_app):  # a request's share of the database pool, briefly
            req = db.session.get(CallbackRequest, request_id)
            if req is None:
                return None, False
            return status_view(req, language), disguise.disguised(req)
    except SQLAlchemyError as exc:
        # The stream ends; the widget falls back to polling, which says 503 while it lasts.
        log.warning("status stream: database error: %s", exc.__class__.__name__)
        return None, False
    finally:
        db.session.remove()
