"""Telling the live status streams that a request changed, once its change is committed.

``mark`` notes a request's handle in the session (``set_status`` does, and so does
any flush that changes a request's row or adds a call to it); when that session commits, the
handles are published: on Redis pub/sub when ``WIDGET_REDIS_URL`` is set (every
process's streams hear it), else to this process's listeners only (the other
processes' streams notice through their poll loop, ``visitor/watch.py``). A rolled
back change is never published. Publishing never fails the commit it follows.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import TYPE_CHECKING

from flask import Flask, current_app, has_app_context
from sqlalchemy import event
from sqlalchemy.orm import Session

from ..models import CallAttempt, CallbackRequest

if TYPE_CHECKING:
    import redis

log = logging.getLogger(__name__)
CHANNEL = "widget-server:status-changed"
_PENDING = "status_changed"  # key in Session.info
_LISTENERS = "status_listeners"  # key in app.extensions


def mark(session: Session, handle: str | None) -> None:
    """Publish ``handle`` when ``session`` next commits."""
    if handle:
        session.info.setdefault(_PENDING, set()).add(handle)


def listen(app: Flask, callback: Callable[[set[str]], None]) -> None:
    """Call ``callback(handles)`` after each commit of ``app`` in this process that changed
    requests (without Redis; with it, the subscribers hear every process)."""
    listeners = app.extensions.setdefault(_LISTENERS, [])
    if callback not in listeners:
        listeners.append(callback)


def unlisten(app: Flask, callback: Callable[[set[str]], None]) -> None:
    listeners = app.extensions.get(_LISTENERS, [])
    if callback in listeners:
        listeners.remove(callback)


def redis_client(url: str) -> redis.Redis:
    """One client (and connection pool) per process and URL, kept on the app."""
    clients = current_app.extensions.setdefault("status_redis", {})
    if url not in clients:
        import redis  # only where Redis is configured: a lean process without it

        clients[url] = redis.Redis.from_url(url, socket_timeout=2, socket_connect_timeout=2)
    return clients[url]


def publish(handles: set[str]) -> None:
    """Tell every stream watching one of ``handles`` to look again."""
    if not has_app_context():
        return
    url = current_app.config.get("REDIS_URL")
    if url:
        from redis import RedisError

        try:
            pipe = redis_client(url).pipeline(transaction=False)
            for handle in handles:
                pipe.publish(CHANNEL, handle)
            pipe.execute()
        except RedisError as exc:
            # The streams' periodic refresh still shows the change, only later.
            log.warning("status change not published: %s", exc.__class__.__name__)
        return
    for callback in list(current_app.extensions.get(_LISTENERS, ())):
        try:
            callback(handles)
        except Exception:  # a listener's bug must not fail the commit that already happened
            log.exception("status change listener failed")


@event.listens_for(Session, "before_flush")
def _changed_rows(session: Session, _context, _instances) -> None:
    """Any change to a request's row, or a new call for it, may change its status view."""
    for obj in session.dirty:
        if isinstance(obj, CallbackRequest) and session.is_modified(obj):
            mark(session, obj.handle)
        elif isinstance(obj, CallAttempt) and obj.request is not None:
            mark(session, obj.request.handle)
    for obj in session.new:
        if isinstance(obj, CallAttempt) and obj.request is not None:
            mark(session, obj.request.handle)


@event.listens_for(Session, "after_commit")
def _after_commit(session: Session) -> None:
    handles = session.info.pop(_PENDING, None)
    if handles:
        publish(handles)


@event.listens_for(Session, "after_rollback")
def _after_rollback(session: Session) -> None:
    session.info.pop(_PENDING, None)
