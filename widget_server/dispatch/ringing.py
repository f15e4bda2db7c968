"""How a group is rung: operator order, placing each call, moving on.

A request rings its group's operators one at a time, in the widget's order,
moving on when an operator does not answer (call_info shows no answer after the
``end``, or nothing shows progress at the ring timeout: ``follow``) or a
``call_back`` for that operator fails, until somebody answers or everyone was
tried; then the group again, ``group_rounds`` times in all. With the
``pbx_group`` strategy the group's own PIN is passed and the PBX distributes the
call. What happens once the PBX answers is in ``events``; when to try again is
in ``retry``. A reply naming a session is a placed call whatever its ``result``
(``docs/pbx-dialects.md``).
"""

from __future__ import annotations

import logging
import random
from datetime import UTC, datetime, timedelta

from flask import current_app
from sqlalchemy import select, update

from ..extensions import db
from ..models import CallAttempt, CallbackRequest, Widget, utcnow
from ..pbx.client import client_for
from ..pbx.errors import RESULT_CALLBACK_FAILED, PbxError
from ..statuses import HeldReason, Status
from . import hours, retry
from .events import session_known
from .queue import IN_FLIGHT, queue
from .state import give_up, in_flight, is_final, lock_request, set_status

log = logging.getLogger(__name__)


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


def place_next_call(request_id: int) -> None:
    """Ring the next operator for a request, or settle it when none is left.

    Safe to run twice or late: it does nothing while a call is in flight, before
    the request is due, or after it is final.
    """
    req = lock_request(request_id)
    if req is None or is_final(req) or in_flight(req):
        db.session.rollback()
        return
    now = utcnow()
    if req.next_dispatch_at is not None and req.next_dispatch_at > now + timedelta(seconds=1):
        db.session.rollback()  # an early duplicate; the due job or the sweep comes back
        return
    try:
        later = _next_allowed_time(req, now)
    except LookupError:
        give_up(req, Status.NO_OPERATOR, "held", reason=HeldReason.NO_HOURS)
        return
    if later is not None:
        # Out of hours or night for the visitor: never dial now, come back then.
        req.next_dispatch_at = later
        set_status(req, Status.SCHEDULED)
        db.session.commit()
        queue().place_next_call.schedule(args=(request_id,), eta=later.replace(tzinfo=UTC))
        return
    if req.deadline_at is None:
        req.deadline_at = now + timedelta(seconds=current_app.config["DISPATCH_DEADLINE"])
    if req.operator_order is None:
        req.operator_order = operator_order(req)
    pin = _next_pin(req)
    if pin is None:
        _group_tried(req, now)
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
    attempt_id, phone = attempt.id, req.phone
    client = client_for(req.widget.pbx_account)
    # The reads above began a transaction: end it, so that a worker waiting on a slow PBX
    # (up to WIDGET_PBX_DEADLINE) holds none of the pool's few connections.
    db.session.commit()
    try:
        session_id = client.call_back(phone, from_pin=pin)
    except PbxError as exc:
        _call_back_failed(request_id, attempt_id, exc)
        return
    session_known(request_id, attempt_id, session_id)


def _this_round(req: CallbackRequest) -> list[CallAttempt]:
    """This round's attempts that reached the PBX (an unreachable PBX tried nobody)."""
    return [a for a in req.attempts if a.round == req.round and a.outcome != "pbx_unavailable"]


def _next_pin(req: CallbackRequest) -> str | None:
    tried = {a.operator_pin for a in _this_round(req)}
    return next((p for p in req.operator_order if p not in tried), None)


def _group_tried(req: CallbackRequest, now: datetime) -> None:
    """Everyone in the group was tried this round: refused, another round, or missed."""
    tried = _this_round(req)
    if not req.operator_order or (tried and all(a.outcome == "failed" for a in tried)):
        give_up(req, Status.PBX_ERROR, "failed", reason="every call_back was refused")
        return
    pause = retry.round_pause(req)
    if pause is None:
        give_up(req, Status.NO_OPERATOR, "missed", reason="no operator answered")
        return
    # Nobody answered: ring the group again after the widget's pause.
    req.round += 1
    req.next_dispatch_at = now + timedelta(seconds=pause)
    set_status(req, Status.OPERATORS_BUSY)
    db.session.commit()
    queue().place_next_call.schedule(args=(req.id,), delay=pause, priority=IN_FLIGHT)


def _call_back_failed(request_id: int, attempt_id: int, exc: PbxError) -> None:
    """Record a refused or unanswered ``call_back`` and decide what comes next."""
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
        # This operator's leg failed: try the next, ahead of requests not yet begun.
        queue().place_next_call(request_id, priority=IN_FLIGHT)
        return
    if not exc.retryable:
        attempt.outcome = "failed"
        give_up(req, Status.PBX_ERROR, "failed", reason=exc.message)
        return
    # The PBX is down or overloaded: the same call may work in a while.
    attempt.outcome = "pbx_unavailable"
    req.dispatch_tries += 1
    delay = retry.pbx_retry_wait(req.dispatch_tries, now, req.deadline_at)
    if delay is None:
        give_up(req, Status.PBX_ERROR, "failed", reason=f"the PBX kept failing: {exc.message}")
        return
    req.next_dispatch_at = now + timedelta(seconds=delay)
    set_status(req, Status.RETRYING)
    db.session.commit()
    queue().place_next_call.schedule(args=(request_id,), delay=delay, priority=IN_FLIGHT)


def _next_allowed_time(req: CallbackRequest, now: datetime) -> datetime | None:
    """None when the request may be dialled now, else the earliest (naive UTC) time it may.

    :raise LookupError: no allowed time in the next two weeks.
    """
    aware = now.replace(tzinfo=UTC)
    if hours.can_call_now(req.widget, req.visitor_tz, aware):
        return None
    later = hours.next_call_time(req.widget, req.visitor_tz, aware)
    if later is None:
        raise LookupError("no working hours ahead")
    return later.astimezone(UTC).replace(tzinfo=None)
