"""Which of our call attempts a PBX event belongs to.

By its session id first: the ``call_back`` reply's, or the alias the PBX's events
turned out to carry. An event whose id we do not know is matched by the operator
PIN, the visitor's number (last 10 digits) and time: a live domain may answer
``call_back`` with one id (a UUID) and send events under another (``SD…``), and
the events of our call may outrun the reply naming its session.
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
