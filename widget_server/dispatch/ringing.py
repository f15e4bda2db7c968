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
from datetime import UTC, timedelta
from typing import Any

from flask import current_app
from sqlalchemy import delete, select, update
from sqlalchemy.exc import IntegrityError

from ..extensions import db
from ..models import CallAttempt, CallbackRequest, CallEvent, PbxAccount, Widget, utcnow
from ..ops import metrics
from ..pbx import events as call_states
from ..pbx.client import RESULT_CALLBACK_FAILED, PbxClient, PbxCredentials, PbxError
from ..phones import digits_of, mask_phone
from ..visitor.texts import status_message

log = logging.getLogger(__name__)

FINAL_STATUSES = {
    "finished",
    "no_operator",
    "visitor_busy",
    "visitor_no_answer",
    "pbx_error",
    "cancelled",
    # Stored but never dialled (a widget cap, or the limit store down); the visitor
    # is told the same as for an accepted request.
    "held",
}
# Waiting for the next dial: nothing is ringing, the visitor may still cancel.
WAITING_STATUSES = {"queued", "scheduled", "retrying", "operators_busy", "visitor_retry"}
ORPHAN_EVENT_TTL = timedelta(minutes=15)
SWEEP_GRACE = timedelta(seconds=20)
# PBX unreachable: wait this long before trying again (seconds, then the last one
# repeats), each with up to 25 % jitter, until the request's deadline.
RETRY_BACKOFF = (5, 15, 45, 120, 300)


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
        metrics.count_final(status)
    log.info("request %s → %s", req.id, status)


def in_flight(req: CallbackRequest) -> bool:
    """True while a placed call has no outcome yet."""
    last = current_attempt(req)
    return last is not None and last.outcome is None


def cancellable(req: CallbackRequest) -> bool:
    """Nothing is ringing and nothing will before the next dial."""
    return req.status in WAITING_STATUSES and not in_flight(req)


def status_view(req: CallbackRequest, language: str | None = None) -> dict[str, Any]:
    """What the visitor's page gets: coarse status, never numbers or PBX data."""
    view = {
        "status": req.status,
        "final": is_final(req),
        "cancellable": cancellable(req),
        "message": status_message(language or req.widget.language, req.status),
        "updated_at": req.updated_at.isoformat(timespec="seconds") + "Z",
        "scheduled_for": None,
    }
    if req.status == "scheduled":
        from . import hours as working_hours

        # "Позвоним завтра в 10:00." in the visitor's zone, and the moment itself.
        view.update(working_hours.scheduled_view(req, language or req.widget.language))
    return view


def queued_view(language: str) -> dict[str, Any]:
    """The status of a request just accepted."""
    return {
        "status": "queued",
        "final": False,
        "cancellable": True,
        "message": status_message(language, "queued"),
        "updated_at": utcnow().isoformat(timespec="seconds") + "Z",
        "scheduled_for": None,
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
    """Ring the next operator for a request, or settle it when none is left.

    Safe to run twice or late: it does nothing while a call is in flight, before
    the request is due, or after it is final.
    """
    from .queue import queue

    req = lock_request(request_id)
    if req is None or is_final(req) or in_flight(req):
        db.session.rollback()
        return
    now = utcnow()
    if req.next_dispatch_at is not None and req.next_dispatch_at > now + timedelta(seconds=1):
        db.session.rollback()  # an early duplicate; the due job or the sweep comes back
        return
    widget = req.widget
    try:
        later = _next_allowed_time(req, now)
    except LookupError:
        _give_up(req, "no_operator", "held", reason="no working hours in the next 14 days")
        return
    if later is not None:
        # Out of hours or night for the visitor: never dial now, come back then.
        req.next_dispatch_at = later
        set_status(req, "scheduled")
        db.session.commit()
        queue().place_next_call.schedule(args=(request_id,), eta=later.replace(tzinfo=UTC))
        return
    if req.deadline_at is None:
        req.deadline_at = now + timedelta(seconds=current_app.config["DISPATCH_DEADLINE"])
    if req.operator_order is None:
        req.operator_order = operator_order(req)
    this_round = [a for a in req.attempts if a.round == req.round]
    tried = {a.operator_pin for a in this_round if a.outcome != "pbx_unavailable"}
    pin = next((p for p in req.operator_order if p not in tried), None)
    if pin is None:
        leg_failures = [a for a in this_round if a.outcome != "pbx_unavailable"]
        if not req.operator_order or (
            leg_failures and all(a.outcome == "failed" for a in leg_failures)
        ):
            _give_up(req, "pbx_error", "failed", reason="every call_back was refused")
            return
        if req.round < widget.group_rounds:
            # Nobody answered: ring the group again after the widget's pause.
            req.round += 1
            req.next_dispatch_at = now + timedelta(seconds=widget.round_pause)
            set_status(req, "operators_busy")
            db.session.commit()
            queue().place_next_call.schedule(args=(request_id,), delay=widget.round_pause)
            return
        _give_up(req, "no_operator", "missed", reason="no operator answered")
        return
    attempt = CallAttempt(
        request=req,
        seq=len(req.attempts) + 1,
        operator_pin=pin,
        stage="sent",
        reached_stage="sent",
        sent_at=utcnow(),
        round=req.round,
    )
    req.next_dispatch_at = None
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
    _session_known(request_id, attempt_id, session_id, ring_timeout, pbx_group)


def _session_known(
    request_id: int, attempt_id: int, session_id: str, ring_timeout: int, pbx_group: bool
) -> None:
    """Record the PBX session of an attempt and catch up on its events."""
    from .queue import queue

    attempt = db.session.get(CallAttempt, attempt_id)
    account = attempt.request.widget.pbx_account
    phone, pin = attempt.request.phone, attempt.operator_pin
    lock_account(account.id)
    req = lock_request(request_id)
    db.session.refresh(attempt)
    attempt.session_id = session_id
    attempt.accepted_at = utcnow()
    if req.status in WAITING_STATUSES:
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
    from .queue import queue

    req = lock_request(request_id)
    attempt = db.session.get(CallAttempt, attempt_id)
    attempt.pbx_result, attempt.pbx_message = exc.result, exc.message[:500]
    now = utcnow()
    if exc.ambiguous:
        # The PBX may be placing the call right now: dialling again could ring the
        # visitor twice. Its events may still name the session; resolve_attempt
        # waits for them, then hands the request to the owner.
        log.warning("request %s: call_back outcome unknown (%s)", request_id, exc.message)
        db.session.commit()
        queue().resolve_attempt.schedule(
            args=(attempt_id,), delay=current_app.config["UNKNOWN_CALL_GRACE"]
        )
        return
    attempt.stage = attempt.reached_stage = "ended"
    attempt.ended_at = now
    log.warning(
        "request %s: call_back via %s failed: %s", request_id, attempt.operator_pin, exc.message
    )
    if exc.result == RESULT_CALLBACK_FAILED:
        attempt.outcome = "failed"
        req.next_dispatch_at = now  # the sweep's mark, should the job below be lost
        db.session.commit()
        queue().place_next_call(request_id)  # this operator's leg failed: try the next
        return
    if exc.retryable:
        # The PBX is down or overloaded: the same call may work in a while.
        attempt.outcome = "pbx_unavailable"
        req.dispatch_tries += 1
        delay = retry_delay(req.dispatch_tries)
        if req.deadline_at is not None and now + timedelta(seconds=delay) > req.deadline_at:
            _give_up(req, "pbx_error", "failed", reason=f"the PBX kept failing: {exc.message}")
            return
        req.next_dispatch_at = now + timedelta(seconds=delay)
        set_status(req, "retrying")
        db.session.commit()
        queue().place_next_call.schedule(args=(request_id,), delay=delay)
        return
    attempt.outcome = "failed"
    _give_up(req, "pbx_error", "failed", reason=exc.message)


def retry_delay(tries: int) -> float:
    """Capped exponential backoff with jitter, for the ``tries``-th retry (1-based)."""
    steps = current_app.config.get("RETRY_BACKOFF") or RETRY_BACKOFF
    base = steps[min(tries, len(steps)) - 1]
    return base * (1 + random.SystemRandom().uniform(0, 0.25))


def _give_up(req: CallbackRequest, status: str, kind: str, *, reason: str) -> None:
    """Final status for the visitor, the owner told with the number; commits."""
    set_status(req, status)
    req.next_dispatch_at = None
    if kind == "held":
        req.held_reason = reason[:64]
    notify_owner(req, kind, reason=reason)
    db.session.commit()
    kick_notifications()


def notify_owner(req: CallbackRequest, kind: str, **extra: Any) -> None:
    """Record a notification for the request's owner in the current transaction."""
    from ..notify import outbox as notifications

    notifications.record(req.widget.owner_id, kind, request_id=req.id, extra=extra or None)


def kick_notifications() -> None:
    from ..notify import outbox as notifications

    notifications.kick()


def _next_allowed_time(req: CallbackRequest, now) -> Any:
    """None when the request may be dialled now, else the earliest UTC time it may.

    :raise LookupError: no allowed time in the next two weeks.
    """
    from . import hours as working_hours

    aware = now.replace(tzinfo=UTC)
    if working_hours.can_call_now(req.widget, req.visitor_tz, aware):
        return None
    later = working_hours.next_call_time(req.widget, req.visitor_tz, aware)
    if later is None:
        raise LookupError("no working hours ahead")
    return later.astimezone(UTC).replace(tzinfo=None)


def check_ring_timeout(attempt_id: int) -> None:
    """Move on when an operator has been ringing longer than the widget's ring timeout."""
    from .queue import queue

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
    req.next_dispatch_at = utcnow()
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
    from .queue import queue

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
            widget = pending.request.widget
            _session_known(
                pending.request_id,
                pending.id,
                session_id,
                widget.ring_timeout,
                widget.ring_strategy == "pbx_group",
            )
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


def _unanswered_attempt_for(account: PbxAccount, payload: dict[str, Any]) -> CallAttempt | None:
    """A recent attempt whose call_back never told us its session, matching this event.

    Matched by operator PIN and the visitor's number, both of which the PBX puts in
    the events of a call_back call.
    """
    pin = call_states.field(payload, "from_pin")
    digits = digits_of(call_states.field(payload, "request_number"))
    if not pin or not digits:
        return None
    since = utcnow() - timedelta(minutes=10)
    candidates = db.session.scalars(
        select(CallAttempt)
        .join(CallbackRequest)
        .join(Widget)
        .where(
            Widget.pbx_account_id == account.id,
            CallAttempt.session_id.is_(None),
            CallAttempt.outcome.is_(None),
            CallAttempt.operator_pin == pin,
            CallAttempt.sent_at >= since,
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
    match = next(
        (
            e
            for e in events
            if call_states.field(e.payload, "from_pin") == attempt.operator_pin
            and digits_of(call_states.field(e.payload, "request_number")) == digits
        ),
        None,
    )
    if match is not None:
        widget = attempt.request.widget
        _session_known(
            attempt.request_id,
            attempt.id,
            match.session_id,
            widget.ring_timeout,
            widget.ring_strategy == "pbx_group",
        )
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
    _give_up(
        req,
        "pbx_error",
        "failed",
        reason="the PBX did not confirm the call; it may or may not have rung",
    )


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
    from .queue import queue

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
    go_on = False
    if attempt is current_attempt(req) and not is_final(req):
        if outcome == "completed":
            set_status(req, "finished")
        elif outcome in ("visitor_busy", "visitor_no_answer"):
            if req.visitor_retries < 1:
                # One more try, a few minutes later, through the group again.
                delay = current_app.config["VISITOR_RETRY_DELAY"]
                req.visitor_retries += 1
                req.round += 1
                req.next_dispatch_at = utcnow() + timedelta(seconds=delay)
                set_status(req, "visitor_retry")
                db.session.commit()
                queue().place_next_call.schedule(args=(req.id,), delay=delay)
                return
            _give_up(req, outcome, "missed", reason="the visitor did not answer")
            return
        else:
            go_on = True
            req.next_dispatch_at = utcnow()
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


def sweep() -> None:
    """The durable backstop behind every queued job (runs every minute).

    The queue carries work, the rows are the truth: a job lost to a crash, a
    restart or a queue outage is found here from the database and run again.
    """
    from .queue import queue

    now = utcnow()
    config = current_app.config
    # Due a while ago and still waiting: its queue job was lost (a job due just now is
    # left to the queue, which is on time).
    due = db.session.scalars(
        select(CallbackRequest.id).where(
            CallbackRequest.status.not_in(FINAL_STATUSES),
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
    # Ended, but nobody settled it (the finish job was lost).
    unsettled = db.session.scalars(
        select(CallAttempt.id).where(
            CallAttempt.stage == "ended",
            CallAttempt.call_info_fetched.is_(False),
            CallAttempt.session_id.is_not(None),
            CallAttempt.ended_at < now - timedelta(minutes=2),
        )
    ).all()
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


def reconcile_attempt(attempt_id: int) -> None:
    """A call whose ``end`` never came is treated as ended; ``call_info`` tells the rest."""
    from .queue import queue

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


def fetch_recording(attempt_id: int) -> None:
    """Check that a recorded call's file can be had (it may lag the end); raises to retry.

    The link itself is one-time and bound to our IP, so it is not kept: it is asked
    for again when someone wants to listen.
    """
    attempt = db.session.get(CallAttempt, attempt_id)
    if attempt is None or not attempt.session_id or attempt.recording == "available":
        return
    try:
        pbx_client(attempt.request.widget.pbx_account).get_record(
            attempt.session_id, current_app.config.get("EGRESS_IP")
        )
    except PbxError as exc:
        attempt.recording = "pending"
        db.session.commit()
        raise RuntimeError(f"recording not ready: {exc.message}") from None
    attempt.recording = "available"
    db.session.commit()


def open_recording(attempt: CallAttempt):
    """A fresh one-time ``get_record`` link for a call, opened as a stream.

    Links are one-time and bound to our IP, so each listen asks the PBX again.
    Returns the streaming ``requests.Response``; the caller closes it.

    :raise PbxError: the PBX has no recording (yet) or the download failed.
    """
    client = pbx_client(attempt.request.widget.pbx_account)
    url = client.get_record(attempt.session_id, current_app.config.get("EGRESS_IP"))
    return client.open_record(url)


def cancel(req_id: int) -> bool:
    """Cancel a request nothing rings for; False when it is too late."""
    req = lock_request(req_id)
    if req is None or not cancellable(req):
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
        "resolve_attempt": huey.task(name="resolve_attempt")(in_app(resolve_attempt)),
        # The PBX may need minutes to make a recording available.
        "fetch_recording": huey.task(name="fetch_recording", retries=5, retry_delay=30)(
            in_app(fetch_recording)
        ),
        "sweep": huey.periodic_task(crontab(minute="*"), name="sweep")(in_app(sweep)),
        "prune_orphan_events": huey.periodic_task(
            crontab(minute="*/5"), name="prune_orphan_events"
        )(in_app(prune_orphan_events)),
    }
