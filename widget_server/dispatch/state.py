"""A request's state: its row lock, its status moves, and how it ends.

Every change to a request happens under its row lock (``lock_request``), so a
webhook and a queue worker handling the same request cannot interleave. Every
status change goes through ``set_status``, which refuses a move that
``statuses.ALLOWED`` does not list.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import timedelta
from typing import Any

from sqlalchemy import update

from ..extensions import db
from ..models import CallAttempt, CallbackRequest, PbxAccount, utcnow
from ..notify import outbox
from ..ops import metrics
from ..statuses import FINAL, WAITING, Status, may_move
from . import changes

log = logging.getLogger(__name__)


def lock_request(request_id: int) -> CallbackRequest | None:
    """Load a request for update, taking its row lock first.

    The no-op UPDATE takes the lock on PostgreSQL and the write lock on SQLite
    before anything is read, so what we read next is current.
    """
    db.session.execute(
        update(CallbackRequest)
        .where(CallbackRequest.id == request_id)
        .values(id=CallbackRequest.id)
    )
    return db.session.get(CallbackRequest, request_id, populate_existing=True)


def lock_account(account_id: int) -> None:
    """Serialise event intake and session adoption for one PBX account."""
    db.session.execute(
        update(PbxAccount).where(PbxAccount.id == account_id).values(id=PbxAccount.id)
    )


def current_attempt(req: CallbackRequest) -> CallAttempt | None:
    return req.attempts[-1] if req.attempts else None


def is_final(req: CallbackRequest) -> bool:
    return req.status in FINAL


def set_status(req: CallbackRequest, status: Status) -> bool:
    """Move a request to ``status`` if ``statuses.ALLOWED`` lets it; True when it moved.

    A request not stored yet (no status) takes its first status here too. An
    illegal move is a bug in the call machine: it is refused and logged as an error.
    """
    old = req.status
    if old == status:
        return False
    if not may_move(old, status):
        if old not in FINAL:  # a late job finding a final request is normal, not a bug
            log.error("request %s: illegal status move %s → %s refused", req.id, old, status)
        return False
    req.status = status
    now = utcnow()
    if status == Status.CONNECTED:
        record_connected(req)
    if status in FINAL:
        req.finished_at = now
        if old is not None:  # a request held at intake is counted by the intake
            metrics.count_final(status)
            outbox.record_ended(req)  # the CRMs told of it note the outcome
    log.info("request %s → %s", req.id, status)
    changes.mark(db.session(), req.handle)  # the live status streams hear it after commit
    return True


def record_connected(req: CallbackRequest, attempt: CallAttempt | None = None) -> None:
    """Note that the request's call connected: the one way every path records it.

    The events' ``connected`` (``set_status``), call_info read after the call when polling
    or after its ``end`` (``settle``: a completed talk the events never showed), the PBX's
    call journal (``reconcile``): each calls this, so the log's "Состоялся 0:06", the
    checklist's test call and the figures' talks agree. The first time counts; a talk
    learnt afterwards is dated to its start, its end less its duration, when known.
    """
    if req.connected_at is not None:
        return
    when = utcnow()
    if attempt is not None and attempt.ended_at is not None and attempt.duration:
        when = attempt.ended_at - timedelta(seconds=attempt.duration)
    if req.created_at is not None:
        when = max(when, req.created_at)
    req.connected_at = when


def in_flight(req: CallbackRequest) -> bool:
    """True while a placed call has no outcome yet."""
    last = current_attempt(req)
    return last is not None and last.outcome is None


def cancellable(req: CallbackRequest) -> bool:
    """Nothing is ringing and nothing will before the next dial."""
    return req.status in WAITING and not in_flight(req)


def give_up(req: CallbackRequest, status: Status, kind: str, *, reason: str) -> None:
    """Final status for the visitor, the owner told with the number; commits.

    ``kind`` is the owner's notification (``held``, ``missed``, ``failed``); a
    held request keeps ``reason`` as its held reason.
    """
    set_status(req, status)
    req.next_dispatch_at = None
    if kind == "held":
        req.held_reason = reason[:64]
    _notify_owner(req, kind, reason=reason)
    db.session.commit()
    outbox.kick()


def _notify_owner(req: CallbackRequest, kind: str, **extra: Any) -> None:
    """Record a notification for the request's owner in the current transaction."""
    outbox.record(req.widget.owner_id, kind, request_id=req.id, extra=extra or None)


def cancel_held(req_id: int, may_cancel: Callable[[CallbackRequest], bool]) -> bool:
    """Cancel a held request its visitor was shown as waiting (``visitor/disguise.py``)."""
    req = lock_request(req_id)
    if req is None or req.status != Status.HELD or not may_cancel(req):
        db.session.rollback()
        return False
    set_status(req, Status.CANCELLED)
    db.session.commit()
    return True


def cancel(req_id: int) -> bool:
    """Cancel a request nothing rings for; False when it is too late."""
    req = lock_request(req_id)
    if req is None or not cancellable(req):
        db.session.rollback()
        return False
    set_status(req, Status.CANCELLED)
    db.session.commit()
    return True
