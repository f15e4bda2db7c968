"""The one place that turns PBX ``call_events`` into call stages and outcomes.

A ``call_back`` call has two legs: the PBX rings the operator first and, once
the operator answers, dials the visitor. The PBX reports both legs under one
``session_id``. How events map to what the visitor sees:

=================================================  =====================  ===================
event                                              attempt stage          visitor sees
=================================================  =====================  ===================
``new``                                            ``operator_ringing``   calling_operator
``calling`` to anyone but the visitor              ``operator_ringing``   calling_operator
``calling`` whose ``request_number`` is the        ``visitor_ringing``    calling_visitor
visitor's number (the operator has answered)
``connected``                                      ``connected``          connected
``disconnected``                                   (no stage change; the reason is kept)
``end``                                            ``ended`` + outcome    final status
=================================================  =====================  ===================

Outcome on ``end`` (``completed`` is final at once; the others are refined by
``call_info`` first, and a visitor who was not reached gets one more try):

* a ``connected`` was seen → ``completed`` (visitor: finished);
* the visitor was being rung and the disconnect reason is ``"3"`` (busy) →
  ``visitor_busy``; otherwise → ``visitor_no_answer``;
* the visitor was never rung → ``operator_no_answer``: the next operator is tried.

Stages only move forward (``STAGE_ORDER``), so a duplicate or a late event
(``calling`` after ``end``) never moves a call backwards. ``end`` is terminal
even when it arrives before ``connected``.

Unconfirmed on a live domain (``../shared/pbx-rostelecom.md`` §6): that the
visitor leg shows up as a second ``calling`` with the visitor's number, and
that ``"3"`` means busy. Adjust ``stage_for_event`` and ``outcome_on_end`` here
if a live domain reports differently; nothing else needs to change.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ..phones import digits_of
from ..statuses import Status

STAGE_ORDER = {
    "created": 0,
    "sent": 1,
    "operator_ringing": 2,
    "visitor_ringing": 3,
    "connected": 4,
    "ended": 5,
}

DISCONNECT_BUSY = "3"

# Outcome of one attempt -> request status the visitor sees.
OUTCOME_STATUS = {
    "completed": Status.FINISHED,
    "visitor_busy": Status.VISITOR_BUSY,
    "visitor_no_answer": Status.VISITOR_NO_ANSWER,
}

# Outcomes final as soon as ``end`` arrives; the others wait for ``call_info``,
# which may show a talk whose ``connected`` event was lost or is still on its way.
SETTLED_ON_END = {"completed"}

# Request statuses while a call is live, by attempt stage.
STAGE_STATUS = {
    "created": Status.QUEUED,
    "sent": Status.CALLING_OPERATOR,
    "operator_ringing": Status.CALLING_OPERATOR,
    "visitor_ringing": Status.CALLING_VISITOR,
    "connected": Status.CONNECTED,
}


def field(event: Mapping[str, Any], name: str) -> str:
    """A payload field as a stripped string; absent and "" are the same."""
    value = event.get(name)
    return "" if value is None else str(value).strip()


def stage_for_event(event: Mapping[str, Any], visitor_number: str) -> str | None:
    """The stage an event announces, or None when it announces none."""
    state = field(event, "state").lower()
    if state == "new":
        return "operator_ringing"
    if state == "calling":
        dialled = digits_of(field(event, "request_number"))
        if dialled and dialled == digits_of(visitor_number):
            return "visitor_ringing"
        return "operator_ringing"
    if state == "connected":
        return "connected"
    if state == "end":
        return "ended"
    return None


def advances(current: str, new: str) -> bool:
    """True when ``new`` is later than ``current``."""
    return STAGE_ORDER.get(new, -1) > STAGE_ORDER.get(current, -1)


def outcome_on_end(reached_stage: str, disconnect_reason: str | None) -> str:
    """Outcome of an attempt whose ``end`` arrived, from the furthest stage it reached."""
    if reached_stage == "connected":
        return "completed"
    if reached_stage == "visitor_ringing":
        if (disconnect_reason or "") == DISCONNECT_BUSY:
            return "visitor_busy"
        return "visitor_no_answer"
    return "operator_no_answer"


def outcome_from_call_info(info: Mapping[str, Any], current: str) -> str:
    """Refine an outcome with ``call_info`` (``state`` 1 = answered, ``duration`` in s).

    A talk the events missed (lost or out-of-order ``connected``) still shows in
    ``call_info``; counting it as completed keeps us from ringing the visitor again.
    """
    answered = str(info.get("state", "")).strip() == "1"
    try:
        duration = int(info.get("duration") or 0)
    except (TypeError, ValueError):
        duration = 0
    if answered and duration > 0 and current in ("operator_no_answer", "visitor_no_answer"):
        return "completed"
    return current
