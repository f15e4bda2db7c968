"""The durable backstop behind every queued job: the database is searched for lost work.

The queue carries work, the rows are the truth: a job lost to a crash, a
restart or a queue outage is found here from the database and run again.
"""

from __future__ import annotations

import logging
from datetime import timedelta

from flask import current_app
from sqlalchemy import select, update

from ..extensions import db
from ..models import CallAttempt, CallbackRequest, utcnow
from ..statuses import FINAL
from .events import reconcile_attempt
from .queue import queue

log = logging.getLogger(__name__)

# A job due just now is left to the queue, which is on time.
SWEEP_GRACE = timedelta(seconds=20)
# An ended attempt nobody settled for this long lost its finish job.
UNSETTLED_AFTER = timedelta(minutes=2)


def sweep() -> None:
    """Run again whatever the queue lost (every minute)."""
    now = utcnow()
    config = current_app.config
    # Due a while ago and still waiting: its queue job was lost.
    due = db.session.scalars(
        select(CallbackRequest.id).where(
            CallbackRequest.status.not_in(FINAL),
            CallbackRequest.next_dispatch_at.is_not(None),
            CallbackRequest.next_dispatch_at <= now - SWEEP_GRACE,
        )
    ).all()
    # Sent, but neither a session id nor a failure was ever recorded (the worker died).
    unconfirmed = db.session.scalars(
        select(CallAttempt.id).where(
            CallAttempt.session_id.is_(None),
            CallAttempt.outcome.is_(None),
            CallAttempt.sent_at
            < now - timedelta(seconds=config["PBX_TIMEOUT"] + config["UNKNOWN_CALL_GRACE"]),
        )
    ).all()
    # Placed, but its end never arrived.
    silent = db.session.scalars(
        select(CallAttempt.id).where(
            CallAttempt.session_id.is_not(None),
            CallAttempt.stage != "ended",
            CallAttempt.outcome.is_(None),
            CallAttempt.accepted_at < now - timedelta(seconds=config["END_TIMEOUT"]),
        )
    ).all()
    unsettled = _unsettled_attempts(now)
    db.session.rollback()
    for request_id in due:
        queue().place_next_call(request_id)
    for attempt_id in unconfirmed:
        queue().resolve_attempt(attempt_id)
    for attempt_id in silent:
        reconcile_attempt(attempt_id)
    for attempt_id in unsettled:
        queue().finish_attempt(attempt_id)
    if due or unconfirmed or silent or unsettled:
        log.info(
            "sweep: %s due, %s unconfirmed, %s silent, %s unsettled",
            len(due),
            len(unconfirmed),
            len(silent),
            len(unsettled),
        )


def _unsettled_attempts(now) -> list[int]:
    """Attempts ended long ago that nobody settled: the finish job was lost, or the worker
    died between claiming the attempt (call_info_fetched) and settling it, a claim nobody
    will finish, so it is released first."""
    ended_long_ago = (
        CallAttempt.stage == "ended",
        CallAttempt.session_id.is_not(None),
        CallAttempt.ended_at < now - UNSETTLED_AFTER,
    )
    db.session.execute(
        update(CallAttempt)
        .where(
            *ended_long_ago, CallAttempt.outcome.is_(None), CallAttempt.call_info_fetched.is_(True)
        )
        .values(call_info_fetched=False)
    )
    db.session.commit()
    return list(
        db.session.scalars(
            select(CallAttempt.id).where(*ended_long_ago, CallAttempt.call_info_fetched.is_(False))
        ).all()
    )
