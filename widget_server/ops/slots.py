"""Under the gevent worker: at most ``WIDGET_THREADS`` requests of a process run at once.

gthread bounds a process's concurrent requests by its threads; gevent would start a greenlet
for every connection, and hundreds of requests at once would outnumber the database pool
(``database.py``: 5 + 10 connections) and wait on it for its timeout instead of queuing. So
each request takes a slot while the app handles it. A live status stream (``visitor/stream.py``)
takes one only while it looks at the database, never while it waits.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Iterator
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # gunicorn's master imports this module: it must not load Flask
    from flask import Flask

_KEY = "request_slots"  # in app.extensions


def limit_requests(app: Flask, slots: int) -> None:
    """Let at most ``slots`` requests run in ``app`` at once."""
    semaphore = threading.BoundedSemaphore(slots)
    app.extensions[_KEY] = semaphore
    inner = app.wsgi_app

    def one_slot(environ, start_response):
        with semaphore:
            return inner(environ, start_response)

    app.wsgi_app = one_slot  # type: ignore[method-assign]


@contextlib.contextmanager
def slot(app: Flask) -> Iterator[None]:
    """Hold one of ``app``'s request slots for the block (nothing when there are none)."""
    semaphore = app.extensions.get(_KEY)
    if semaphore is None:
        yield
        return
    with semaphore:
        yield
