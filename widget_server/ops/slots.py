"""Under the gevent worker: at most ``WIDGET_THREADS`` requests of a process run at once.

gthread bounds a process's concurrent requests by its threads; gevent would start a greenlet
for every connection, and hundreds of requests at once would outnumber the database pool
(``database.py``: 5 + 10 connections) and wait on it for its timeout instead of queuing. So
each request takes a slot while the app handles it. A live status stream (``visitor/stream.py``)
takes one only while it looks at the database, never while it waits.

A request's body is read whole before its slot is taken, within ``WIDGET_BODY_TIMEOUT``
seconds and ``MAX_REQUEST_BYTES``: otherwise a client sending its body a byte at a time (no
authentication needed for ``/pbx/<id>/call_events``) would hold a slot for as long as it
likes, and a few such clients every slot of the process. Waiting for a body costs a greenlet.
"""

from __future__ import annotations

import contextlib
import io
import logging
import threading
from collections.abc import Iterator
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # gunicorn's master imports this module: it must not load Flask
    from flask import Flask

log = logging.getLogger(__name__)

_KEY = "request_slots"  # in app.extensions
# The largest body any route takes is an owner's form with a pasted CA bundle: well under this.
MAX_REQUEST_BYTES = 1024 * 1024
_CHUNK = 64 * 1024


def limit_requests(app: Flask, slots: int) -> None:
    """Let at most ``slots`` requests run in ``app`` at once, each with its body already read."""
    body_timeout = app.config["BODY_TIMEOUT"]
    semaphore = threading.BoundedSemaphore(slots)
    app.extensions[_KEY] = semaphore
    inner = app.wsgi_app

    def one_slot(environ, start_response):
        refusal = read_body_first(environ, body_timeout)
        if refusal is not None:
            return refusal(environ, start_response)
        with semaphore:
            return inner(environ, start_response)

    app.wsgi_app = one_slot  # type: ignore[method-assign]


def _has_body(environ) -> bool:
    length = environ.get("CONTENT_LENGTH") or ""
    chunked = "chunked" in environ.get("HTTP_TRANSFER_ENCODING", "").lower()
    return chunked or (length.strip() not in ("", "0"))


def read_body_first(environ, timeout: float):
    """Read the request's body into memory within ``timeout`` seconds, at most
    ``MAX_REQUEST_BYTES``; None when done (the app reads it from memory), else the
    refusal to send (413 too large, 408 too slow; the connection is closed)."""
    from werkzeug.exceptions import RequestEntityTooLarge, RequestTimeout

    if not _has_body(environ):
        return None
    try:
        declared = int(environ.get("CONTENT_LENGTH") or -1)
    except ValueError:
        declared = -1
    if declared > MAX_REQUEST_BYTES:
        return _closing(RequestEntityTooLarge())
    wanted = declared if declared >= 0 else MAX_REQUEST_BYTES + 1
    try:
        body = _read_within(environ["wsgi.input"], wanted, timeout)
    except _TooSlow:
        log.warning("request body not received in %g s: refused", timeout)
        return _closing(RequestTimeout())
    if len(body) > MAX_REQUEST_BYTES:
        return _closing(RequestEntityTooLarge())
    environ["wsgi.input"] = io.BytesIO(body)
    environ["CONTENT_LENGTH"] = str(len(body))
    environ.pop("HTTP_TRANSFER_ENCODING", None)  # what is left is a plain, known length
    return None


class _TooSlow(Exception):
    pass


def _read_within(stream, wanted: int, seconds: float) -> bytes:
    """Up to ``wanted`` bytes of ``stream``, cut off by a gevent timer at ``seconds``."""
    from gevent import Timeout  # in the gevent worker only (server.py)

    parts, size = [], 0
    timer = Timeout(seconds)
    timer.start()
    try:
        while size < wanted:
            part = stream.read(min(_CHUNK, wanted - size))
            if not part:
                break
            parts.append(part)
            size += len(part)
    except Timeout as exc:
        if exc is not timer:
            raise
        raise _TooSlow from None
    finally:
        timer.close()
    return b"".join(parts)


def _closing(error):
    """A refusal that also closes the connection: the rest of a body left unread must not be
    taken for the next request."""
    response = error.get_response()
    response.headers["Connection"] = "close"
    return response


@contextlib.contextmanager
def slot(app: Flask) -> Iterator[None]:
    """Hold one of ``app``'s request slots for the block (nothing when there are none)."""
    semaphore = app.extensions.get(_KEY)
    if semaphore is None:
        yield
        return
    with semaphore:
        yield
