"""How a live call is followed when events do not settle it: ring timeout and polling.

Scheduled when a call is placed (``events.follow_later``): first after the ring
timeout, which never comes before the PBX's own ring time, then again while the
call is alive. Each look asks ``call_info`` before anything moves on, because
there is no hang-up method: dialling the next operator while the PBX still rings
the first would ring two, and the visitor twice. So:

* ``call_info`` shows the call over (the last party rung has hung up, whoever the
  log names: the visitor by number or, as in the seed article, only the operator
  by login) → it is settled as if its ``end`` came;
* it shows the call alive (ringing or talking) → looked at again later;
* the account's calls are polled (no events expected, or none came) → its stage
  is read from ``call_info`` and it is looked at again; never another dial; the
  stage shown never claims the visitor was reached without their own answer in
  the log (``CallInfo.stage``);
* an account expecting events got none for this call → flagged, the owner told,
  and from then on its calls are polled;
* nothing shows progress → the operator did not answer: the next one is rung.
"""

from __future__ import annotations

import logging

from sqlalchemy import exists, select

from ..extensions import db
from ..models import CallAttempt, CallEvent, PbxAccount, utcnow
from ..notify import outbox
from ..pbx import events as call_states
from ..statuses import Outcome
from . import retry
from .events import move_to_stage, polled
from .queue import queue
from .settle import fetch_call_info
from .state import current_attempt, is_final, lock_request

log = logging.getLogger(__name__)


def follow_call(attempt_id: int, early: bool = False) -> None:
    """Look at a live call once: settle it, watch it again, or move on (see above).

    ``early`` is the look at ``retry.EVENTS_GRACE`` before a longer ring timeout:
    it checks for missing events and the call's end, never moves on.
    """
    attempt = db.session.get(CallAttempt, attempt_id)
    if (
        attempt is None
        or not _live(attempt)
        or not (attempt.session_id or attempt.event_session_id)
    ):
        db.session.rollback()
        return
    heard = db.session.scalar(select(exists().where(CallEvent.attempt_id == attempt_id)))
    info = fetch_call_info(attempt)  # before the lock: it is a network call
    req = lock_request(attempt.request_id)
    db.session.refresh(attempt)
    if is_final(req) or not _live(attempt) or current_attempt(req) is not attempt:
        db.session.rollback()
        return
    widget = req.widget
    account = widget.pbx_account
    seen = call_states.read_call_info(info, req.phone) if info is not None else None
    if not heard and _events_expected_but_missing(account, attempt):
        _flag_missing_events(account, req)
    if seen is not None and seen.over:
        log.info("request %s: call_info shows session %s over", req.id, attempt.session_id)
        attempt.stage = "ended"
        attempt.ended_at = utcnow()
        db.session.commit()
        outbox.kick()  # in case the owner was just told
        queue().finish_attempt(attempt.id)
        return
    if seen is not None and seen.logged:
        move_to_stage(req, attempt, seen.stage)
    if (seen is not None and seen.alive) or polled(account):
        db.session.commit()
        outbox.kick()  # in case the owner was just told
        queue().follow_call.schedule(args=(attempt_id,), delay=retry.poll_delay(account))
        return
    ring_delay = retry.ring_check_delay(widget.ring_timeout, account.ring_seconds)
    if early:
        db.session.commit()
        queue().follow_call.schedule(args=(attempt_id,), delay=ring_delay - retry.EVENTS_GRACE)
        return
    stage = call_states.STAGE_ORDER[attempt.reached_stage]
    if stage >= call_states.STAGE_ORDER["visitor_ringing"] or widget.ring_strategy == "pbx_group":
        db.session.commit()  # its events are flowing: the end will come
        return
    attempt.outcome = Outcome.OPERATOR_TIMEOUT
    req.next_dispatch_at = utcnow()
    log.info(
        "request %s: operator %s did not answer in %ss",
        req.id,
        attempt.operator_pin,
        ring_delay,
    )
    db.session.commit()
    queue().place_next_call(req.id)


def _live(attempt: CallAttempt) -> bool:
    return attempt.outcome is None and attempt.stage != "ended"


def _events_expected_but_missing(account: PbxAccount, attempt: CallAttempt) -> bool:
    """Events are expected, none came for this call, and none since it was placed."""
    if not account.events_expected or account.events_missing_at is not None:
        return False
    since = attempt.accepted_at or attempt.sent_at
    return account.last_event_at is None or account.last_event_at < since


def _flag_missing_events(account: PbxAccount, req) -> None:
    """Mark the account as sending no events and tell its owner, in this transaction."""
    account.events_missing_at = utcnow()
    log.warning(
        "PBX account %s: an accepted call_back got no call_events; its calls are polled",
        account.id,
    )
    outbox.record(
        account.owner_id,
        "failed",
        request_id=req.id,
        dedupe_key=f"no-events-{account.id}-{account.events_missing_at:%Y%m%d}",
        extra={
            "reason": "the PBX sends no call events: check the external system address "
            "and that call_events is switched on; calls are followed by call_info meanwhile"
        },
    )
