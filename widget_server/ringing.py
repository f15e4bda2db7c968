"""Connecting a visitor to a department: operator order, placing calls, outcomes.

A request rings its group's operators one at a time, in the widget's order,
moving on when an operator does not answer (an ``end`` without the visitor leg,
or the ring timeout) or a ``call_back`` for that operator fails, until somebody
answers or everyone was tried. With the ``pbx_group`` strategy the group's own
PIN is passed and the PBX distributes the call.

Every change to a request happens under its row lock (``lock_request``), so a
webhook and a queue worker handling the same request cannot interleave.
"""

from __future__ import annotations

import logging
import random
from datetime import timedelta
from typing import Any

from flask import current_app
from sqlalchemy import delete, select, update
from sqlalchemy.exc import IntegrityError

from . import call_states
from .extensions import db
from .models import CallAttempt, CallbackRequest, CallEvent, PbxAccount, Widget, utcnow
from .pbx_client import RESULT_CALLBACK_FAILED, PbxClient, PbxCredentials, PbxError
from .phones import mask_phone
from .widget_texts import status_message

log = logging.getLogger(__name__)

FINAL_STATUSES = {
    "finished",
    "no_operator",
    "visitor_busy",
    "visitor_no_answer",
    "pbx_error",
    "cancelled",
}
ORPHAN_EVENT_TTL = timedelta(minutes=15)


# -- helpers ---------------------------------------------------------------
def pbx_client(account: PbxAccount) -> PbxClient:
    """The PBX client for an account (tests may swap the factory)."""
    factory = current_app.extensions.get("pbx_client_factory")
    if factory:
        return factory(account)
    creds = PbxCredentials(
        api_url=account.api_url,
        client_id=account.client_id,
        sign_key=account.sign_key,
        domain=account.domain,
        ca_bundle=account.ca_bundle,
    )
    return PbxClient(
        creds,
        connect_timeout=current_app.config["PBX_CONNECT_TIMEOUT"],
        read_timeout=current_app.config["PBX_TIMEOUT"],
    )


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
    return req.status in FINAL_STATUSES


def set_status(req: CallbackRequest, status: str) -> None:
    if is_final(req) or req.status == status:
        return
    req.status = status
    now = utcnow()
    if status == "connected" and req.connected_at is None:
        req.connected_at = now
    if status in FINAL_STATUSES:
        req.finished_at = now
    log.info("request %s → %s", req.id, status)


def status_view(req: CallbackRequest, language: str | None = None) -> dict[str, Any]:
    """What the visitor's page gets: coarse status, never numbers or PBX data."""
    return {
        "status": req.status,
        "final": is_final(req),
        "cancellable": req.status == "queued" and not req.attempts,
        "message": status_message(language or req.widget.language, req.status),
        "updated_at": req.updated_at.isoformat(timespec="seconds") + "Z",
    }


def queued_view(language: str) -> dict[str, Any]:
    """The status of a request just accepted."""
    return {
        "status": "queued",
        "final": False,
        "cancellable": True,
        "message": status_message(language, "queued"),
        "updated_at": utcnow().isoformat(timespec="seconds") + "Z",
    }


def operator_order(req: CallbackRequest) -> list[str]:
    """The pins to ring, decided once per request by the widget's strategy."""
    widget: Widget = req.widget
    group = req.widget_group.group
    if widget.ring_strategy == "pbx_group":
        return [group.pin]
    account = widget.pbx_account
    known = {u.pin: u for u in account.users}
    members = [str(p) for p in (group.member_pins or [])]
    # Members the directory marks as non-operators are skipped; unknown pins
    # (directory out of date) are still tried, the PBX will say if they fail.
    pins = [p for p in members if p not in known or known[p].is_operator] or members
    if not pins:
        return []
    if widget.ring_strategy == "random":
        random.SystemRandom().shuffle(pins)
    elif widget.ring_strategy == "round_robin":
        db.session.execute(
            update(Widget).where(Widget.id == widget.id).values(rr_cursor=Widget.rr_cursor + 1)
        )
        cursor = db.session.scalar(select(Widget.rr_cursor).where(Widget.id == widget.id)) or 1
        start = (cursor - 1) % len(pins)
        pins = pins[start:] + pins[:start]
    return pins


# -- placing calls -----------------------------------------------------------
def place_next_call(request_id: int) -> None:
    """Ring the next operator for a request, or finish it when none is left."""
    from .tasks import queue

    req = lock_request(request_id)
    if req is None or is_final(req):
        db.session.rollback()
        return
    last = current_attempt(req)
    if last is not None and last.outcome is None:
        db.session.rollback()  # a call is still under way: a duplicate task
        return
    if req.operator_order is None:
        req.operator_order = operator_order(req)
    tried = {a.operator_pin for a in req.attempts}
    pin = next((p for p in req.operator_order if p not in tried), None)
    if pin is None:
        pbx_failed = bool(req.attempts) and all(a.outcome == "failed" for a in req.attempts)
        set_status(req, "pbx_error" if pbx_failed or not req.operator_order else "no_operator")
        db.session.commit()
        return
    attempt = CallAttempt(
        request=req,
        seq=len(req.attempts) + 1,
        operator_pin=pin,
        stage="sent",
        reached_stage="sent",
        sent_at=utcnow(),
    )
    db.session.add(attempt)
    # The decision to dial is committed before the PBX is asked, so a crash in
    # between leaves a trace instead of a silent second call.
    db.session.commit()
    attempt_id, widget = attempt.id, req.widget
    account = widget.pbx_account
    phone, ring_timeout = req.phone, widget.ring_timeout
    pbx_group = widget.ring_strategy == "pbx_group"

    try:
        session_id = pbx_client(account).call_back(phone, from_pin=pin)
    except PbxError as exc:
        _call_back_failed(request_id, attempt_id, exc)
        return

    lock_account(account.id)
    req = lock_request(request_id)
    attempt = db.session.get(CallAttempt, attempt_id)
    attempt.session_id = session_id
    attempt.accepted_at = utcnow()
    if not is_final(req) and req.status == "queued":
        set_status(req, "calling_operator")
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


def _call_back_failed(request_id: int, attempt_id: int, exc: PbxError) -> None:
    from .tasks import queue

    req = lock_request(request_id)
    attempt = db.session.get(CallAttempt, attempt_id)
    attempt.pbx_result, attempt.pbx_message = exc.result, exc.message[:500]
    attempt.stage = attempt.reached_stage = "ended"
    attempt.ended_at = utcnow()
    if exc.ambiguous:
        # The PBX may be placing the call right now: dialling again could ring
        # the visitor twice, so the request stops here for the owner to handle.
        attempt.outcome = "unknown"
        set_status(req, "pbx_error")
        log.warning("request %s: call_back outcome unknown (%s)", request_id, exc.message)
        db.session.commit()
        return
    attempt.outcome = "failed"
    log.warning(
        "request %s: call_back via %s failed: %s", request_id, attempt.operator_pin, exc.message
    )
    if exc.result == RESULT_CALLBACK_FAILED:
        db.session.commit()
        queue().place_next_call(request_id)  # this operator's leg failed: try the next
        return
    set_status(req, "pbx_error")
    db.session.commit()


def check_ring_timeout(attempt_id: int) -> None:
    """Move on when an operator has been ringing longer than the widget's ring timeout."""
    from .tasks import queue

    attempt = db.session.get(CallAttempt, attempt_id)
    if attempt is None:
        return
    req = lock_request(attempt.request_id)
    db.session.refresh(attempt)
    if (
        is_final(req)
        or attempt.outcome is not None
        or current_attempt(req) is not attempt
        or call_states.STAGE_ORDER[attempt.reached_stage]
        >= call_states.STAGE_ORDER["visitor_ringing"]
    ):
        db.session.rollback()
        return
    attempt.outcome = "operator_timeout"
    log.info(
        "request %s: operator %s did not answer in %ss",
        req.id,
        attempt.operator_pin,
        req.widget.ring_timeout,
    )
    db.session.commit()
    queue().place_next_call(req.id)


# -- events ------------------------------------------------------------------
def record_event(account: PbxAccount, payload: dict[str, Any]) -> str:
    """Store a verified ``call_events`` payload and apply it; return what happened."""
    from .tasks import queue

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
        return _store_event(account, None, session_id, state, event_time, payload)
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


def finish_attempt(attempt_id: int) -> None:
    """After ``end``: fetch ``call_info`` once, settle the outcome, go on or finish."""
    from .tasks import queue

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
            info = pbx_client(attempt.request.widget.pbx_account).call_info(attempt.session_id)
        except PbxError as exc:
            log.warning("call_info for session %s failed: %s", attempt.session_id, exc.message)
    req = lock_request(attempt.request_id)
    db.session.refresh(attempt)
    if info is not None:
        attempt.call_info = info
        attempt.answered = str(info.get("state", "")).strip() == "1"
        try:
            attempt.duration = int(info.get("duration") or 0)
        except (TypeError, ValueError):
            attempt.duration = None
        if str(info.get("is_record", "")).lower() == "true":
            attempt.is_record = True
    if attempt.outcome is not None:
        db.session.commit()  # timed out earlier, or already settled
        return
    outcome = call_states.outcome_on_end(attempt.reached_stage, attempt.disconnect_reason)
    if info is not None:
        outcome = call_states.outcome_from_call_info(info, outcome)
    attempt.outcome = outcome
    go_on = False
    if attempt is current_attempt(req) and not is_final(req):
        if outcome in call_states.OUTCOME_STATUS:
            set_status(req, call_states.OUTCOME_STATUS[outcome])
        else:
            go_on = True
    db.session.commit()
    if go_on:
        queue().place_next_call(req.id)


def prune_orphan_events() -> None:
    """Drop events of calls that never turned out to be ours (they hold others' numbers)."""
    cutoff = utcnow() - ORPHAN_EVENT_TTL
    db.session.execute(
        delete(CallEvent).where(CallEvent.attempt_id.is_(None), CallEvent.received_at < cutoff)
    )
    db.session.commit()


def cancel(req_id: int) -> bool:
    """Cancel a request nothing has rung for yet; False when it is too late."""
    req = lock_request(req_id)
    if req is None or req.status != "queued" or req.attempts:
        db.session.rollback()
        return False
    set_status(req, "cancelled")
    db.session.commit()
    return True


def register_tasks(huey, in_app) -> dict[str, Any]:
    """The ringing tasks, for ``tasks.init_queue``."""
    from huey import crontab

    return {
        "place_next_call": huey.task(name="place_next_call")(in_app(place_next_call)),
        "finish_attempt": huey.task(name="finish_attempt")(in_app(finish_attempt)),
        "check_ring_timeout": huey.task(name="check_ring_timeout")(in_app(check_ring_timeout)),
        "prune_orphan_events": huey.periodic_task(
            crontab(minute="*/5"), name="prune_orphan_events"
        )(in_app(prune_orphan_events)),
    }
