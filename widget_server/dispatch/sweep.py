"""The durable backstop behind every queued job: the database is searched for lost work.

The queue carries work, the rows are the truth: a job lost to a crash, a
restart or a queue outage is found here from the database and run again.
"""

from __future__ import annotations

import logging
from datetime import timedelta

from flask import current_app
from sqlalchemy import or_, select, update

from ..extensions import db
from ..models import CallAttempt, CallbackRequest, utcnow
from ..statuses import FINAL
from .events import reconcile_attempt
from .queue import queue

log = logging.getLogger(__name__)

# A job due just now is left to the queue, which is on time.
SWEEP_GRACE = timedelta(seconds=20)
# An ended attempt claimed for settling this long ago lost the worker settling it.
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
            # A call_back may take the whole deadline to answer.
            CallAttempt.sent_at
            < now
            - timedelta(
                seconds=max(config["PBX_TIMEOUT"], config["PBX_DEADLINE"])
                + config["UNKNOWN_CALL_GRACE"]
            ),
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
    """Ended attempts nobody settled.

    Unclaimed past ``SWEEP_GRACE``: the finish job was lost (a crash, or a queue that
    could not be reached when the end was kept: ``events.finish_later``), so they are
    settled now, not minutes later while the visitor still reads "connected".
    Claimed (call_info_fetched) past ``UNSETTLED_AFTER`` and still without an outcome:
    the worker died between the claim and the settling, a claim nobody will finish, so
    it is released first. An attempt whose events alone named it (its reply was lost)
    was placed too.
    """
    ended = (
        CallAttempt.stage == "ended",
        or_(CallAttempt.session_id.is_not(None), CallAttempt.event_session_id.is_not(None)),
    )
    db.session.execute(
        update(CallAttempt)
        .where(
            *ended,
            CallAttempt.ended_at < now - UNSETTLED_AFTER,
            CallAttempt.outcome.is_(None),
            CallAttempt.call_info_fetched.is_(True),
        )
        .values(call_info_fetched=False)
    )
    db.session.commit()
    return list(
        db.session.scalars(
            select(CallAttempt.id).where(
                *ended,
                CallAttempt.ended_at < now - SWEEP_GRACE,
                CallAttempt.call_info_fetched.is_(False),
            )
        ).all()
    )
