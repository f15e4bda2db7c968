"""How an ended attempt is settled: call_info decides, then the request goes on or ends.

After ``end`` (or when ``follow`` sees call_info show the call over, or the sweep
gives up waiting for an ``end``), ``finish_attempt`` reads call_info, settles the
attempt's outcome (``pbx.events.outcome_from_call_info``) and moves the request:
finished, the visitor tried once more, or the next operator.
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
from ..statuses import Status
from . import retry
from .queue import IN_FLIGHT, queue
from .state import current_attempt, give_up, is_final, lock_request, set_status

log = logging.getLogger(__name__)

# call_info after `end` is asked this many more times, this far apart, before the
# events' outcome stands alone: a short bound on the visitor's wait for "finished".
CALL_INFO_TRIES = 2
CALL_INFO_RETRY_SECONDS = 3


def finish_attempt(attempt_id: int) -> None:
    """After ``end``: fetch ``call_info``, settle the outcome from it, go on or finish.

    call_info decides the outcome (``pbx.events.outcome_from_call_info``); when it
    fails it is asked again a few times, a few seconds apart, then the events'
    outcome stands as the best evidence.
    """
    claimed = db.session.execute(
        update(CallAttempt)
        .where(CallAttempt.id == attempt_id, CallAttempt.call_info_fetched.is_(False))
        .values(call_info_fetched=True)
    ).rowcount
    db.session.commit()
    attempt = db.session.get(CallAttempt, attempt_id)
    if attempt is None:
        return
    info = fetch_call_info(attempt) if claimed else None
    req = lock_request(attempt.request_id)
    db.session.refresh(attempt)
    if info is not None:
        _keep_call_info(attempt, info)
    elif claimed and attempt.outcome is None and attempt.call_info_tries < CALL_INFO_TRIES:
        attempt.call_info_tries += 1
        attempt.call_info_fetched = False
        db.session.commit()
        queue().finish_attempt.schedule(args=(attempt_id,), delay=CALL_INFO_RETRY_SECONDS)
        return
    if claimed and attempt.is_record and attempt.recording is None:
        attempt.recording = "pending"
        queue().fetch_recording(attempt.id)
    if attempt.outcome is not None:
        db.session.commit()  # timed out earlier, or already settled
        return
    outcome = call_states.outcome_on_end(attempt.reached_stage, attempt.disconnect_reason)
    if info is not None:
        outcome = call_states.outcome_from_call_info(info, outcome, req.phone)
    attempt.outcome = outcome
    log.info("request %s: attempt %s settled as %s", req.id, attempt.seq, outcome)
    if attempt is not current_attempt(req) or is_final(req):
        db.session.commit()
        return
    if outcome == "completed":
        set_status(req, Status.FINISHED)
        db.session.commit()
    elif outcome in ("visitor_busy", "visitor_no_answer"):
        _visitor_not_reached(req, Status(outcome))
    else:
        req.next_dispatch_at = utcnow()
        db.session.commit()
        queue().place_next_call(req.id, priority=IN_FLIGHT)  # the same request goes on


def fetch_call_info(attempt: CallAttempt) -> dict[str, Any] | None:
    """``call_info`` of an attempt, under the reply's id then its events' id; None on failure."""
    client = client_for(attempt.request.widget.pbx_account)
    ids = dict.fromkeys(i for i in (attempt.session_id, attempt.event_session_id) if i)
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
