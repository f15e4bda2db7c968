"""How an ended attempt is settled: all the evidence decides, then the request goes on or ends.

After ``end`` (or when ``follow`` sees call_info show the call over, or the sweep
gives up waiting for an ``end``), ``finish_attempt`` reads call_info, settles the
attempt's outcome from it and the call's events (``pbx.events.decide_outcome``)
and moves the request:

* ``completed`` or ``unconfirmed`` → finished (the visitor reads that the call has
  ended, true either way); an unconfirmed call is never rung again: the owner sees
  it, with the reason, and can dial it from the request's page;
* ``visitor_busy`` / ``visitor_no_answer`` (positive evidence that the visitor's
  phone rang unanswered) → one more try a few minutes later, then missed;
* anything else → the next operator.
"""

from __future__ import annotations

import logging
from datetime import timedelta
from typing import Any

from sqlalchemy import update

from ..extensions import db
from ..models import CallAttempt, CallbackRequest, utcnow
from ..pbx import events as call_states
from ..pbx.client import PbxError, client_for
from ..statuses import ENDED_CALL, VISITOR_NOT_REACHED, Outcome, Status
from . import retry
from .queue import IN_FLIGHT, queue
from .state import (
    current_attempt,
    give_up,
    is_final,
    lock_request,
    record_connected,
    set_status,
)

log = logging.getLogger(__name__)

# call_info after `end` is asked this many more times, this far apart, before the
# events' outcome stands alone: a short bound on the visitor's wait for "finished".
CALL_INFO_TRIES = 2
CALL_INFO_RETRY_SECONDS = 3


def finish_attempt(attempt_id: int) -> None:
    """After ``end``: fetch ``call_info``, settle the outcome, go on or finish.

    The outcome comes from call_info and the events together
    (``pbx.events.decide_outcome``); when call_info fails it is asked again a few
    times, a few seconds apart, then the events decide alone.
    """
    claimed = db.session.execute(
        update(CallAttempt)
        .where(CallAttempt.id == attempt_id, CallAttempt.call_info_fetched.is_(False))
        .values(call_info_fetched=True)
    ).rowcount
    db.session.commit()
    attempt = db.session.get(CallAttempt, attempt_id)
    if attempt is None or not claimed:
        # Another finish job holds the claim and is asking call_info (an `end` and the
        # follow-up both ask for one; the sweep frees a claim whose job died): settling
        # here, without that answer, would decide on less evidence than there is.
        db.session.rollback()
        return
    info = fetch_call_info(attempt)
    req = lock_request(attempt.request_id)
    db.session.refresh(attempt)
    if info is not None:
        _keep_call_info(attempt, info)
    elif attempt.outcome is None and attempt.call_info_tries < CALL_INFO_TRIES:
        attempt.call_info_tries += 1
        attempt.call_info_fetched = False
        db.session.commit()
        queue().finish_attempt.schedule(args=(attempt_id,), delay=CALL_INFO_RETRY_SECONDS)
        return
    if attempt.is_record and attempt.recording is None:
        attempt.recording = "pending"
        queue().fetch_recording(attempt.id)
    if attempt.outcome is not None:
        db.session.commit()  # timed out earlier, or already settled
        return
    decision = decide(attempt, req.phone, info)
    outcome = attempt.outcome = decision.outcome
    log.info(
        "request %s: attempt %s settled as %s (%s)", req.id, attempt.seq, outcome, decision.why
    )
    if outcome == Outcome.COMPLETED:
        # The visitor talked, whether or not an event said `connected` (polled accounts,
        # a lost event): recorded as the events' `connected` would have.
        record_connected(req, attempt)
    if attempt is not current_attempt(req) or is_final(req):
        db.session.commit()
        return
    if outcome in ENDED_CALL:
        set_status(req, Status.FINISHED)
        db.session.commit()
    elif outcome in VISITOR_NOT_REACHED:
        _visitor_not_reached(req, Status(outcome))
    else:
        req.next_dispatch_at = utcnow()
        db.session.commit()
        queue().place_next_call(req.id, priority=IN_FLIGHT)  # the same request goes on


def decide(
    attempt: CallAttempt, visitor_phone: str, info: dict[str, Any] | None = None
) -> call_states.Decision:
    """The outcome of an ended attempt and why, from its events and ``info`` (its call_info,
    or None when that failed). The timeline asks again with the stored call_info."""
    events = [event.payload or {} for event in attempt.events]
    return call_states.decide_outcome(events, info, visitor_phone, attempt.reached_stage)


def fetch_call_info(attempt: CallAttempt) -> dict[str, Any] | None:
    """``call_info`` of an attempt, under the reply's id then its events' id; None on failure.

    Its callers have only read so far: the transaction ends here (their objects are read
    again under the lock), so that a job waiting on a slow PBX holds no pool connection.
    """
    client = client_for(attempt.request.widget.pbx_account)
    ids = dict.fromkeys(i for i in (attempt.session_id, attempt.event_session_id) if i)
    db.session.commit()
    for session_id in ids:
        try:
            return client.call_info(session_id)
        except PbxError as exc:
            log.warning("call_info for session %s failed: %s", session_id, exc.message)
    return None


def _keep_call_info(attempt: CallAttempt, info: dict[str, Any]) -> None:
    attempt.call_info = info
    attempt.answered = str(info.get("state", "")).strip() == "1"
    try:
        attempt.duration = int(info.get("duration") or 0)
    except (TypeError, ValueError):
        attempt.duration = None
    if str(info.get("is_record", "")).lower() == "true":
        attempt.is_record = True


def _visitor_not_reached(req: CallbackRequest, status: Status) -> None:
    """One more try a few minutes later, through the group again; else missed. Commits."""
    delay = retry.visitor_retry_delay(req)
    if delay is None:
        give_up(req, status, "missed", reason="the visitor did not answer")
        return
    req.visitor_retries += 1
    req.round += 1
    req.next_dispatch_at = utcnow() + timedelta(seconds=delay)
    set_status(req, Status.VISITOR_RETRY)
    db.session.commit()
    queue().place_next_call.schedule(args=(req.id,), delay=delay, priority=IN_FLIGHT)
