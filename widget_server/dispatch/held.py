"""Requests held because the limit store was down are decided again once it answers.

With Redis down the per-number limits cannot be counted, so a request is held, never dialled
unlimited (``abuse/limits.py``), and the owner is told once. A visitor who asked for a call
during an outage is still a lead: every minute the requests held so in the last
``STORE_WAIT`` are put through the same limits again, oldest first; those allowed are
dialled as if just sent, the others stay held with the reason that holds them now. A store
still down leaves them all for the next minute.
"""

from __future__ import annotations

import logging
from datetime import timedelta

from sqlalchemy import select

from ..abuse import limits
from ..extensions import db
from ..models import CallbackRequest, utcnow
from ..statuses import HeldReason, Status
from .queue import queue
from .state import lock_request, set_status

log = logging.getLogger(__name__)

STORE_WAIT = timedelta(minutes=30)  # a visitor still waits for a call asked this recently
BATCH = 200


def decide_held_again() -> int:
    """Put the requests held for the limit store through the limits again; how many go on."""
    since = utcnow() - STORE_WAIT
    waiting = db.session.scalars(
        select(CallbackRequest.id)
        .where(
            CallbackRequest.status == Status.HELD,
            CallbackRequest.held_reason == HeldReason.LIMIT_STORE,
            CallbackRequest.created_at >= since,
        )
        .order_by(CallbackRequest.id)
        .limit(BATCH)
    ).all()
    db.session.rollback()
    released = 0
    for request_id in waiting:
        outcome = _decide_again(request_id)
        if outcome is None:
            break  # the store is still down: all of them wait for the next minute
        released += outcome
    if released:
        log.info("%s requests held while the limit store was down are dialled now", released)
    return released


def _decide_again(request_id: int) -> int | None:
    """1 when the request goes on, 0 when it stays held, None when the store is still down."""
    req = lock_request(request_id)
    if req is None or req.status != Status.HELD or req.held_reason != HeldReason.LIMIT_STORE:
        db.session.rollback()
        return 0
    decision = limits.check_dial(req.widget, req.phone, req.client_ip)
    if decision.action == "hold" and decision.reason == HeldReason.LIMIT_STORE:
        db.session.rollback()
        return None
    if not decision.allowed:
        # Another request for the number is under way, or it is over its limits or the
        # widget's cap now, as it would have been then: never dialled later either.
        req.held_reason = HeldReason.WIDGET_CAP if decision.held else HeldReason.NUMBER_LIMIT
        db.session.commit()
        return 0
    req.held_reason = None
    set_status(req, Status.QUEUED)
    req.next_dispatch_at = utcnow()
    db.session.commit()
    queue().place_next_call(req.id)
    return 1
