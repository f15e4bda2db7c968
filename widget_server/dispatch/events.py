"""How a PBX event becomes a status: storing events, applying them, settling attempts.

``pbx.events`` says what an event means (its stage, an attempt's outcome); this
module applies that to the database under the request's lock: events are stored
once (duplicates are refused by their key), events that outrun our ``call_back``
answer are kept briefly and adopted once the session is known, and an attempt
that ended is settled with ``call_info`` before the request goes on or finishes.
"""

from __future__ import annotations

import logging
from datetime import timedelta
from typing import Any
from urllib.parse import urlsplit

from flask import current_app
from sqlalchemy import delete, select, update
from sqlalchemy.exc import IntegrityError

from ..extensions import db
from ..models import CallAttempt, CallbackRequest, CallEvent, PbxAccount, Widget, utcnow
from ..pbx import events as call_states
from ..pbx.client import PbxError, client_for
from ..phones import digits_of, mask_phone
from ..statuses import WAITING, Status
from . import retry
from .queue import queue
from .state import current_attempt, give_up, is_final, lock_account, lock_request, set_status

log = logging.getLogger(__name__)

# Events of calls not (yet) ours are kept this long for adoption, then dropped.
ORPHAN_EVENT_TTL = timedelta(minutes=15)
# A call_back whose answer we lost is matched with events this recent.
ADOPTION_WINDOW = timedelta(minutes=10)
# A caller who asked for a callback this recently is named to the PBX.
RETURN_CALL_WINDOW = timedelta(days=30)


# -- intake ------------------------------------------------------------------
def record_event(account: PbxAccount, payload: dict[str, Any]) -> str:
    """Store a verified ``call_events`` payload and apply it; return what happened."""
    session_id = call_states.field(payload, "session_id")
    state = call_states.field(payload, "state").lower()
    event_time = call_states.field(payload, "timestamp")
    if not session_id or not state:
        log.warning("call_events without session_id or state ignored")
        return "ignored"
    lock_account(account.id)
    account.last_event_at = utcnow()
    attempt = db.session.scalar(
        select(CallAttempt)
        .join(CallbackRequest)
        .join(Widget)
        .where(CallAttempt.session_id == session_id, Widget.pbx_account_id == account.id)
    )
    if attempt is None:
        # Not (yet) ours. Our call_back's own events can outrun its answer, so
        # outbound events are kept briefly for place_next_call to adopt; every
        # other call on the domain is none of our business and is dropped.
        if call_states.field(payload, "type").lower() != "outbound":
            log.info("call_events for session %s we did not start: ignored", session_id)
            db.session.commit()
            return "ignored"
        stored = _store_event(account, None, session_id, state, event_time, payload)
        pending = _unanswered_attempt_for(account, payload)
        if pending is not None:
            # Our call_back timed out or its worker died, yet the PBX placed the call.
            log.info("session %s adopted by request %s", session_id, pending.request_id)
            session_known(pending.request_id, pending.id, session_id)
            return "adopted"
        return stored
    req = lock_request(attempt.request_id)
    db.session.refresh(attempt)
    stored = _store_event(account, attempt, session_id, state, event_time, payload, commit=False)
    if stored == "duplicate":
        return stored
    ended = _apply_event(req, attempt, payload)
    db.session.commit()
    if ended:
        queue().finish_attempt(attempt.id)
    return "applied"


def _store_event(account, attempt, session_id, state, event_time, payload, commit=True) -> str:
    """Keep an event once; "duplicate" when its key was seen, else "stored"/"orphan"."""
    event = CallEvent(
        pbx_account_id=account.id,
        attempt_id=attempt.id if attempt else None,
        session_id=session_id,
        state=state,
        event_time=event_time[:32],
        payload=payload,
    )
    try:
        with db.session.begin_nested():
            db.session.add(event)
    except IntegrityError:
        db.session.rollback()
        log.info("duplicate %s event for session %s ignored", state, session_id)
        return "duplicate"
    if commit:
        db.session.commit()
    return "orphan" if attempt is None else "stored"


def _apply_event(req: CallbackRequest, attempt: CallAttempt, payload: dict[str, Any]) -> bool:
    """Move an attempt (and its request) forward; return True when the call ended."""
    state = call_states.field(payload, "state").lower()
    if state == "disconnected":
        reason = call_states.field(payload, "disconnect_reason")
        if reason:
            attempt.disconnect_reason = reason[:32]
        return False
    stage = call_states.stage_for_event(payload, req.phone)
    if stage is None:
        return False
    if stage == "ended":
        if attempt.stage == "ended":
            return False
        attempt.stage = "ended"
        attempt.ended_at = utcnow()
        attempt.is_record = call_states.field(payload, "is_record").lower() == "true"
        outcome = call_states.outcome_on_end(attempt.reached_stage, attempt.disconnect_reason)
        if outcome in call_states.SETTLED_ON_END and attempt.outcome is None:
            # Nothing call_info could add changes these: tell the visitor now.
            attempt.outcome = outcome
            if attempt is current_attempt(req):
                set_status(req, call_states.OUTCOME_STATUS[outcome])
        return True
    if call_states.advances(attempt.reached_stage, stage):
        attempt.reached_stage = stage
        if attempt.stage != "ended":
            attempt.stage = stage
    if attempt is current_attempt(req) and attempt.outcome is None:
        set_status(req, call_states.STAGE_STATUS[attempt.reached_stage])
    return False


# -- sessions ------------------------------------------------------------------
def session_known(request_id: int, attempt_id: int, session_id: str) -> None:
    """Record the PBX session of an attempt and catch up on its events.

    Called with the ``call_back`` answer, and when the events of a call_back whose
    answer was lost name its session (adoption).
    """
    attempt = db.session.get(CallAttempt, attempt_id)
    widget = attempt.request.widget
    account = widget.pbx_account
    phone, pin = attempt.request.phone, attempt.operator_pin
    ring_timeout, pbx_group = widget.ring_timeout, widget.ring_strategy == "pbx_group"
    lock_account(account.id)
    req = lock_request(request_id)
    db.session.refresh(attempt)
    attempt.session_id = session_id
    attempt.accepted_at = utcnow()
    if req.status in WAITING:
        set_status(req, Status.CALLING_OPERATOR)
    log.info(
        "request %s: call_back to %s via operator %s, session %s",
        request_id,
        mask_phone(phone),
        pin,
        session_id,
    )
    # Events may have arrived before we knew the session id: adopt them now.
    orphans = db.session.scalars(
        select(CallEvent)
        .where(
            CallEvent.pbx_account_id == account.id,
            CallEvent.session_id == session_id,
            CallEvent.attempt_id.is_(None),
        )
        .order_by(CallEvent.id)
    ).all()
    ended = False
    for event in orphans:
        event.attempt_id = attempt.id
        ended = _apply_event(req, attempt, event.payload) or ended
    db.session.commit()
    if ended:
        queue().finish_attempt(attempt_id)
    elif not pbx_group:
        queue().check_ring_timeout.schedule(args=(attempt_id,), delay=ring_timeout)


def _from_our_call_back(payload: dict[str, Any], pin: str, digits: str) -> bool:
    """The PBX names the operator PIN and the visitor's number in a call_back's events."""
    return (
        call_states.field(payload, "from_pin") == pin
        and digits_of(call_states.field(payload, "request_number")) == digits
    )


def _unanswered_attempt_for(account: PbxAccount, payload: dict[str, Any]) -> CallAttempt | None:
    """A recent attempt whose call_back never told us its session, matching this event."""
    pin = call_states.field(payload, "from_pin")
    digits = digits_of(call_states.field(payload, "request_number"))
    if not pin or not digits:
        return None
    candidates = db.session.scalars(
        select(CallAttempt)
        .join(CallbackRequest)
        .join(Widget)
        .where(
            Widget.pbx_account_id == account.id,
            CallAttempt.session_id.is_(None),
            CallAttempt.outcome.is_(None),
            CallAttempt.operator_pin == pin,
            CallAttempt.sent_at >= utcnow() - ADOPTION_WINDOW,
        )
        .order_by(CallAttempt.sent_at.desc())
    ).all()
    return next((a for a in candidates if digits_of(a.request.phone) == digits), None)


def resolve_attempt(attempt_id: int) -> None:
    """Settle a call_back whose answer never came: adopt its events, or hand over to the owner."""
    attempt = db.session.get(CallAttempt, attempt_id)
    if attempt is None or attempt.session_id or attempt.outcome is not None:
        db.session.rollback()
        return
    account = attempt.request.widget.pbx_account
    digits = digits_of(attempt.request.phone)
    events = db.session.scalars(
        select(CallEvent)
        .where(
            CallEvent.pbx_account_id == account.id,
            CallEvent.attempt_id.is_(None),
            CallEvent.received_at >= attempt.sent_at - timedelta(seconds=5),
        )
        .order_by(CallEvent.id)
    ).all()
    pin = attempt.operator_pin
    match = next((e for e in events if _from_our_call_back(e.payload, pin, digits)), None)
    if match is not None:
        session_known(attempt.request_id, attempt.id, match.session_id)
        return
    req = lock_request(attempt.request_id)
    db.session.refresh(attempt)
    if attempt.outcome is not None or attempt.session_id:
        db.session.rollback()
        return
    attempt.outcome = "unknown"
    attempt.stage = attempt.reached_stage = "ended"
    attempt.ended_at = utcnow()
    log.warning(
        "request %s: no trace of the call_back sent at %s; the owner takes over",
        req.id,
        attempt.sent_at,
    )
    give_up(
        req,
        Status.PBX_ERROR,
        "failed",
        reason="the PBX did not confirm the call; it may or may not have rung",
    )


# -- the end of an attempt -------------------------------------------------------
def finish_attempt(attempt_id: int) -> None:
    """After ``end``: fetch ``call_info`` once, settle the outcome, go on or finish."""
    claimed = db.session.execute(
        update(CallAttempt)
        .where(CallAttempt.id == attempt_id, CallAttempt.call_info_fetched.is_(False))
        .values(call_info_fetched=True)
    ).rowcount
    db.session.commit()
    attempt = db.session.get(CallAttempt, attempt_id)
    if attempt is None:
        return
    info = None
    if claimed and attempt.session_id:
        try:
            info = client_for(attempt.request.widget.pbx_account).call_info(attempt.session_id)
        except PbxError as exc:
            log.warning("call_info for session %s failed: %s", attempt.session_id, exc.message)
    req = lock_request(attempt.request_id)
    db.session.refresh(attempt)
    if info is not None:
        _keep_call_info(attempt, info)
    if claimed and attempt.is_record and attempt.recording is None:
        attempt.recording = "pending"
        queue().fetch_recording(attempt.id)
    if attempt.outcome is not None:
        db.session.commit()  # timed out earlier, or already settled
        return
    outcome = call_states.outcome_on_end(attempt.reached_stage, attempt.disconnect_reason)
    if info is not None:
        outcome = call_states.outcome_from_call_info(info, outcome)
    attempt.outcome = outcome
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
        queue().place_next_call(req.id)


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
    queue().place_next_call.schedule(args=(req.id,), delay=delay)


def reconcile_attempt(attempt_id: int) -> None:
    """A call whose ``end`` never came is treated as ended; ``call_info`` tells the rest."""
    attempt = db.session.get(CallAttempt, attempt_id)
    if attempt is None or attempt.stage == "ended":
        db.session.rollback()
        return
    lock_request(attempt.request_id)
    db.session.refresh(attempt)
    attempt.stage = "ended"
    attempt.ended_at = utcnow()
    log.warning(
        "session %s: no end event after %ss; reconciling through call_info",
        attempt.session_id,
        current_app.config["END_TIMEOUT"],
    )
    db.session.commit()
    queue().finish_attempt(attempt_id)


def prune_orphan_events() -> None:
    """Drop events of calls that never turned out to be ours (they hold others' numbers)."""
    cutoff = utcnow() - ORPHAN_EVENT_TTL
    db.session.execute(
        delete(CallEvent).where(CallEvent.attempt_id.is_(None), CallEvent.received_at < cutoff)
    )
    db.session.commit()


# -- who is calling ----------------------------------------------------------------
def caller_info(account: PbxAccount, digits: str) -> dict[str, str]:
    """What the PBX may show about an incoming caller: ``displayName`` and ``PIN``.

    A recent callback requester gets the shop's name and, unless the PBX distributes
    the group's calls itself, the operator they last talked to. Empty for anyone else.
    """
    phone = "+" + digits
    req = db.session.scalar(
        select(CallbackRequest)
        .join(Widget)
        .where(
            Widget.pbx_account_id == account.id,
            CallbackRequest.phone == phone,
            CallbackRequest.created_at >= utcnow() - RETURN_CALL_WINDOW,
        )
        .order_by(CallbackRequest.created_at.desc())
        .limit(1)
    )
    if req is None:
        return {}
    host = urlsplit(req.origin).hostname or req.origin
    label = "Callback" if req.widget.language == "en" else "Обратный звонок"
    info = {"displayName": f"{label}: {host}"}
    pin = db.session.scalar(
        select(CallAttempt.operator_pin)
        .join(CallbackRequest)
        .join(Widget)
        .where(
            Widget.pbx_account_id == account.id,
            CallbackRequest.phone == phone,
            CallAttempt.reached_stage == "connected",
        )
        .order_by(CallAttempt.id.desc())
        .limit(1)
    )
    if pin and req.widget.ring_strategy != "pbx_group":
        info["PIN"] = pin
    return info
