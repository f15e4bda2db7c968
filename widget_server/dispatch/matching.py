"""Which of our call attempts a PBX event belongs to, if any.

By its session id first: the ``call_back`` reply's, or the alias the PBX's events
turned out to carry. An event whose id we do not know is matched by the operator
PIN, the visitor's number (last 10 digits) and time: a live domain may answer
``call_back`` with one id (a UUID) and send events under another (``SD…``), and
the events of our call may outrun the reply naming its session. The attempt row
(with ``sent_at``) is committed before ``call_back`` is sent (``ringing``), so the
first event of our call always finds it on arrival.

The webhook hears every call of the domain; an event that matches none of ours
is not ours to keep (``may_be_ours`` says which few are kept a moment longer).
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from sqlalchemy import exists, or_, select

from ..extensions import db
from ..models import CallAttempt, CallbackRequest, CallEvent, PbxAccount, Widget, utcnow
from ..pbx import events as call_states

# A call_back's events are matched by number and PIN this long after it was sent.
ADOPTION_WINDOW = timedelta(minutes=10)


def attempt_for_session(account: PbxAccount, session_id: str) -> CallAttempt | None:
    """The attempt whose reply or whose events named ``session_id``."""
    return db.session.scalar(
        select(CallAttempt)
        .join(CallbackRequest)
        .join(Widget)
        .where(
            or_(CallAttempt.session_id == session_id, CallAttempt.event_session_id == session_id),
            Widget.pbx_account_id == account.id,
        )
    )


def from_our_call_back(payload: dict[str, Any], pin: str, phone: str) -> bool:
    """The PBX names the operator PIN and the visitor's number in a call_back's events."""
    return call_states.field(payload, "from_pin") == pin and call_states.same_number(
        call_states.field(payload, "request_number"), phone
    )


def attempt_for_event(account: PbxAccount, payload: dict[str, Any]) -> CallAttempt | None:
    """A recent unsettled attempt of ours this event of an unknown session belongs to.

    Candidates have no events yet (neither under the reply's id nor an alias), name
    the event's operator PIN and the visitor's number; the latest sent wins.
    """
    pin = call_states.field(payload, "from_pin")
    if not pin or not call_states.field(payload, "request_number"):
        return None
    has_events = exists().where(CallEvent.attempt_id == CallAttempt.id)
    candidates = db.session.scalars(
        select(CallAttempt)
        .join(CallbackRequest)
        .join(Widget)
        .where(
            Widget.pbx_account_id == account.id,
            CallAttempt.event_session_id.is_(None),
            CallAttempt.outcome.is_(None),
            CallAttempt.operator_pin == pin,
            CallAttempt.sent_at >= utcnow() - ADOPTION_WINDOW,
            ~has_events,
        )
        .order_by(CallAttempt.sent_at.desc())
    ).all()
    return next((a for a in candidates if from_our_call_back(payload, pin, a.request.phone)), None)


def orphan_events(account: PbxAccount, session_id: str) -> list[CallEvent]:
    """Stored events of ``session_id`` not linked to an attempt yet, in arrival order."""
    return list(
        db.session.scalars(
            select(CallEvent)
            .where(
                CallEvent.pbx_account_id == account.id,
                CallEvent.session_id == session_id,
                CallEvent.attempt_id.is_(None),
            )
            .order_by(CallEvent.id)
        )
    )


def may_be_ours(account: PbxAccount, session_id: str, payload: dict[str, Any]) -> bool:
    """An unmatched outbound event that may still be our call's: kept until a reply says.

    A later event of a session already kept is; so is one naming no PIN (nothing to
    match it by) whose number is the visitor's of a call_back still awaiting its
    reply, which may name this session. Anything else is another call on the domain.
    """
    if _held(account, session_id):
        return True
    if call_states.field(payload, "from_pin"):
        return False  # a PIN to match by, and ``attempt_for_event`` found no call of ours
    number = call_states.field(payload, "request_number")
    if not number:
        return False
    awaiting = db.session.scalars(
        select(CallbackRequest.phone)
        .join(CallAttempt)
        .join(Widget)
        .where(
            Widget.pbx_account_id == account.id,
            CallAttempt.session_id.is_(None),
            CallAttempt.event_session_id.is_(None),
            CallAttempt.outcome.is_(None),
            CallAttempt.sent_at >= utcnow() - ADOPTION_WINDOW,
        )
    )
    return any(call_states.same_number(number, phone) for phone in awaiting)


def _held(account: PbxAccount, session_id: str) -> bool:
    """An event of ``session_id`` is kept, not linked to an attempt yet."""
    return db.session.scalar(
        select(
            exists().where(
                CallEvent.pbx_account_id == account.id,
                CallEvent.session_id == session_id,
                CallEvent.attempt_id.is_(None),
            )
        )
    )


def claimed(account_id: int, session_ids: list[str]) -> set[str]:
    """Those of ``session_ids`` an attempt of the account turned out to own."""
    if not session_ids:
        return set()
    rows = db.session.execute(
        select(CallAttempt.session_id, CallAttempt.event_session_id)
        .join(CallbackRequest)
        .join(Widget)
        .where(
            Widget.pbx_account_id == account_id,
            or_(
                CallAttempt.session_id.in_(session_ids),
                CallAttempt.event_session_id.in_(session_ids),
            ),
        )
    )
    return {sid for row in rows for sid in row if sid in session_ids}
