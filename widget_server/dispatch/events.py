"""How a PBX event becomes a status: storing events, applying them, settling attempts.

``pbx.events`` says what an event means (its stage, an attempt's outcome); this
module applies that to the database under the request's lock: events are stored
once (duplicates are refused by their key), events that outrun our ``call_back``
answer or carry another session id are matched to our call on arrival
(``matching``), events of the domain's other calls are counted and dropped, and
an attempt that ended is settled by ``call_info`` before the request goes on or
finishes. ``follow`` watches calls events do not settle.
"""

from __future__ import annotations

import logging
from datetime import timedelta
from typing import Any
from urllib.parse import urlsplit

from flask import current_app
from sqlalchemy import delete, func, select
from sqlalchemy.exc import IntegrityError

from ..extensions import db
from ..models import CallAttempt, CallbackRequest, CallEvent, PbxAccount, Widget, utcnow
from ..pbx import events as call_states
from ..pbx import exchanges
from ..phones import mask_phone
from ..statuses import WAITING, Status
from . import matching, retry
from .queue import queue
from .state import current_attempt, lock_account, lock_request, set_status

log = logging.getLogger(__name__)

# Events that may be our call's (``matching.may_be_ours``) wait this long for the
# reply that claims them, then go.
ORPHAN_EVENT_TTL = timedelta(minutes=15)
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
    if account.events_missing_at is not None:
        log.info("PBX account %s: call_events arrive again", account.id)
        account.events_missing_at = None
    attempt = matching.attempt_for_session(account, session_id)
    if attempt is None:
        return _unknown_session(account, session_id, state, event_time, payload)
    req = lock_request(attempt.request_id)
    db.session.refresh(attempt)
    stored = _store_event(account, attempt, session_id, state, event_time, payload, commit=False)
    if stored == "duplicate":
        return stored
    ended = _apply_event(req, attempt, payload)
    db.session.commit()
    if ended:
        finish_later(attempt.id)
    return "applied"


def _unknown_session(account, session_id, state, event_time, payload) -> str:
    """An event of a session we do not know: ours, perhaps ours, or none of ours.

    Our call_back's events can outrun its reply or carry another id than the reply's:
    one naming the operator PIN and the visitor of a call_back of ours is adopted on
    arrival (``matching``). The webhook hears every other call of the domain too, with
    third parties' numbers: those are counted ("not_ours") and never stored.
    """
    kind = call_states.field(payload, "type").lower()
    if kind == "outbound":
        ours = matching.attempt_for_event(account, payload)
        if ours is not None:
            stored = _store_event(account, None, session_id, state, event_time, payload, False)
            if stored == "duplicate":
                return stored
            # In the transaction holding the account's lock: no second event of this
            # session can look for its attempt before the alias is there.
            alias_known(ours.request_id, ours.id, session_id)
            return "adopted"
        if matching.may_be_ours(account, session_id, payload):
            return _store_event(account, None, session_id, state, event_time, payload)
    db.session.commit()
    # Counted by the webhook ("not_ours"); the line says what it was, never whose.
    log.info(
        "PBX account %s: %s event of another call on the domain (%s), not kept",
        account.id,
        state[:16],
        kind[:16] or "no type",
    )
    return "not_ours"


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
    stage = call_states.stage_for_event(
        payload, req.phone, operator_leg_seen=_callings(attempt) > 1
    )
    if stage is None:
        return False
    if stage == "ended":
        if attempt.stage == "ended":
            return False
        attempt.stage = "ended"
        attempt.ended_at = utcnow()
        attempt.is_record = call_states.field(payload, "is_record").lower() == "true"
        # The outcome waits for call_info: `connected` may have been the operator's.
        return True
    move_to_stage(req, attempt, stage)
    return False


def _callings(attempt: CallAttempt) -> int:
    """``calling`` events stored for the attempt, the one being applied included."""
    return db.session.scalar(
        select(func.count())
        .select_from(CallEvent)
        .where(CallEvent.attempt_id == attempt.id, CallEvent.state == "calling")
    )


def move_to_stage(req: CallbackRequest, attempt: CallAttempt, stage: str) -> None:
    """Advance a live attempt to ``stage`` and show it to the visitor."""
    if call_states.advances(attempt.reached_stage, stage):
        attempt.reached_stage = stage
        if attempt.stage != "ended":
            attempt.stage = stage
    if attempt is current_attempt(req) and attempt.outcome is None:
        if req.status in WAITING:
            # Placed, but the move to calling died with the process: it rang first.
            set_status(req, Status.CALLING_OPERATOR)
        set_status(req, call_states.STAGE_STATUS[attempt.reached_stage])


# -- sessions ------------------------------------------------------------------
def session_known(request_id: int, attempt_id: int, session_id: str) -> None:
    """Record the PBX session of an attempt and catch up on its events.

    Called with the ``call_back`` answer, and when an attempt whose answer was lost
    is found to have been placed (its events named it).
    """
    attempt = db.session.get(CallAttempt, attempt_id)
    account = attempt.request.widget.pbx_account
    phone, pin = attempt.request.phone, attempt.operator_pin
    lock_account(account.id)
    req = lock_request(request_id)
    db.session.refresh(attempt)
    attempt.session_id = session_id
    attempt.accepted_at = attempt.accepted_at or utcnow()
    if req.status in WAITING:
        set_status(req, Status.CALLING_OPERATOR)
    if attempt.event_session_id and attempt.event_session_id != session_id:
        _session_mismatch(account, attempt)
    log.info(
        "request %s: call_back to %s via operator %s, session %s",
        request_id,
        mask_phone(phone),
        pin,
        session_id,
    )
    _catch_up(req, attempt, matching.orphan_events(account, session_id))


def alias_known(request_id: int, attempt_id: int, event_session_id: str) -> None:
    """Our call's events come under ``event_session_id``: link them to the attempt."""
    attempt = db.session.get(CallAttempt, attempt_id)
    account = attempt.request.widget.pbx_account
    req = lock_request(request_id)
    db.session.refresh(attempt)
    attempt.event_session_id = event_session_id
    if req.status in WAITING and attempt is current_attempt(req) and attempt.outcome is None:
        # Its events say the call was placed, as a reply would (``session_known``).
        set_status(req, Status.CALLING_OPERATOR)
    if attempt.session_id and attempt.session_id != event_session_id:
        _session_mismatch(account, attempt)
    log.info("request %s: events of session %s matched by PIN and number", req.id, event_session_id)
    _catch_up(req, attempt, matching.orphan_events(account, event_session_id), follow=False)


def _session_mismatch(account: PbxAccount, attempt: CallAttempt) -> None:
    """Events carry another id than the reply's: matched by number; the owner's page says so."""
    if account.session_mismatch_at is None:
        account.session_mismatch_at = utcnow()
    log.warning(
        "PBX account %s: call_back answered session %s, its events say %s",
        account.id,
        attempt.session_id,
        attempt.event_session_id,
    )


def _catch_up(req, attempt, orphans, follow: bool = True) -> None:
    """Apply events that came before we knew them to be ours; commits, then follows the call."""
    ended = False
    for event in orphans:
        event.attempt_id = attempt.id
        db.session.flush()
        ended = _apply_event(req, attempt, event.payload) or ended
    # An end kept earlier and never settled (its finish job lost with the queue): now.
    ended = ended or (attempt.stage == "ended" and attempt.outcome is None)
    db.session.commit()
    if ended:
        finish_later(attempt.id)
    elif follow:
        follow_later(attempt.id)


def finish_later(attempt_id: int) -> None:
    """Queue the settling of an attempt whose end is committed; never raises: the end is
    kept, so the webhook answers 200 and the sweep settles it once the queue is back."""
    try:
        queue().finish_attempt(attempt_id)
    except Exception as exc:  # Redis down, a full queue file: the rows still say it
        log.error(
            "attempt %s ended but its settling could not be queued (%s); the sweep will",
            attempt_id,
            exc.__class__.__name__,
        )


def polled(account: PbxAccount) -> bool:
    """Calls of this account are followed by polling call_info: no events, or none come."""
    return not account.events_expected or account.events_missing_at is not None


def follow_later(attempt_id: int) -> None:
    """Schedule the next look at a live call (``follow.follow_call``)."""
    attempt = db.session.get(CallAttempt, attempt_id)
    widget = attempt.request.widget
    account = widget.pbx_account
    if polled(account):
        delay = retry.poll_delay(account)
    else:
        delay = retry.ring_check_delay(widget.ring_timeout, account.ring_seconds)
    if delay > retry.EVENTS_GRACE and not polled(account):
        # A long ring timeout: the check for missing events comes first, on time.
        queue().follow_call.schedule(args=(attempt_id, True), delay=retry.EVENTS_GRACE)
        return
    queue().follow_call.schedule(args=(attempt_id,), delay=delay)


# -- the end of an attempt -------------------------------------------------------
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
    finish_later(attempt_id)


def prune_orphan_events() -> None:
    """Drop kept events of calls that never turned out to be ours, and the exchange
    journal's copies of them: they may hold others' numbers."""
    stale = (CallEvent.attempt_id.is_(None), CallEvent.received_at < utcnow() - ORPHAN_EVENT_TTL)
    sessions: dict[int, list[str]] = {}
    for account_id, session_id in db.session.execute(
        select(CallEvent.pbx_account_id, CallEvent.session_id).where(*stale).distinct()
    ):
        sessions.setdefault(account_id, []).append(session_id)
    db.session.execute(delete(CallEvent).where(*stale))
    for account_id, ids in sessions.items():
        ours = matching.claimed(account_id, ids)
        exchanges.forget_events(account_id, [sid for sid in ids if sid not in ours])
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
