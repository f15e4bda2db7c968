"""The one place that turns PBX ``call_events`` into call stages and outcomes.

A ``call_back`` call has two legs: the PBX rings the operator first and, once
the operator answers, dials the visitor. The PBX reports both legs under one
``session_id``. How events map to what the visitor sees:

=================================================  =====================  ===================
event                                              attempt stage          visitor sees
=================================================  =====================  ===================
``new``                                            ``operator_ringing``   calling_operator
``calling`` to anyone but the visitor, or the     ``operator_ringing``   calling_operator
session's first ``calling`` (the operator leg)
a later ``calling`` whose ``request_number`` is    ``visitor_ringing``    calling_visitor
the visitor's number (the operator has answered)
``connected``                                      ``connected``          connected
``disconnected``                                   (no stage change; the reason is kept)
``end``                                            ``ended`` + outcome    final status
=================================================  =====================  ===================

Outcome on ``end``, from the events (a first guess that ``call_info`` settles,
see below; a visitor who was not reached gets one more try):

* a ``connected`` was seen → ``completed`` (visitor: finished);
* the visitor was being rung and the disconnect reason is ``"3"`` (busy) →
  ``visitor_busy``; otherwise → ``visitor_no_answer``;
* the visitor was never rung → ``operator_no_answer``: the next operator is tried.

Stages only move forward (``STAGE_ORDER``), so a duplicate or a late event
(``calling`` after ``end``) never moves a call backwards. ``end`` is terminal
even when it arrives before ``connected``.

The events' outcome is only a first guess: a live domain may fire ``connected``
when the operator answers, or send no visitor-leg ``calling`` at all
(``docs/pbx-dialects.md``). ``call_info``'s ``session_log`` says per party who
rang (``ct``), answered (``cc``) and hung up (``cd``); ``read_call_info`` reads it
and ``outcome_from_call_info`` lets it decide: only a ``cc`` with the visitor's
digits is a completed call.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
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


def same_number(one: str | None, other: str | None) -> bool:
    """Two numbers are one when their last 10 digits are (``+7…``, ``8…``, ``sip:7…@``)."""
    mine, theirs = digits_of(one or "")[-10:], digits_of(other or "")[-10:]
    return len(mine) == 10 and mine == theirs


def stage_for_event(
    event: Mapping[str, Any], visitor_number: str, *, operator_leg_seen: bool = True
) -> str | None:
    """The stage an event announces, or None when it announces none.

    ``calling`` is "ringing the employee": the session's first one is the operator
    leg even when it carries the visitor's number (``request_number`` may be the
    external number on every event); ``operator_leg_seen`` says one came before.
    """
    state = field(event, "state").lower()
    if state == "new":
        return "operator_ringing"
    if state == "calling":
        to_visitor = same_number(field(event, "request_number"), visitor_number)
        return "visitor_ringing" if to_visitor and operator_leg_seen else "operator_ringing"
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


# call_info status codes that mean the visitor's line was busy (SIP 486/600, Q.850 17).
BUSY_STATUS_CODES = frozenset({"486", "600", "17"})


@dataclass(frozen=True)
class CallInfo:
    """What ``call_info`` shows of one call_back session."""

    logged: bool  # a session_log was there to read
    operator_answered: bool  # some party other than the visitor answered
    visitor_rung: bool
    visitor_answered: bool  # a ``cc`` with the visitor's digits
    over: bool  # the last party rung has hung up
    status_code: str

    @property
    def alive(self) -> bool:
        """The call is still going: ringing, or talking."""
        return self.logged and not self.over

    @property
    def stage(self) -> str:
        """The live stage the log shows (for calls followed without events)."""
        if self.visitor_answered:
            return "connected"
        if self.operator_answered or self.visitor_rung:
            return "visitor_ringing"
        return "operator_ringing"


def read_call_info(info: Mapping[str, Any], visitor_number: str) -> CallInfo:
    """Read ``session_log`` (``0:ct:201;2:cc:201;3:ct:7916…;5:cc:7916…;10:cd:7916…;``)."""
    entries = []
    for item in str(info.get("session_log") or "").split(";"):
        parts = item.strip().split(":")
        if len(parts) >= 3:
            entries.append((parts[1].strip().lower(), ":".join(parts[2:]).strip()))
    visitor = [code for code, party in entries if same_number(party, visitor_number)]
    others = [code for code, party in entries if not same_number(party, visitor_number)]
    last = max((i for i, (code, _) in enumerate(entries) if code == "ct"), default=None)
    over = last is not None and any(
        code == "cd" and party == entries[last][1] for code, party in entries[last + 1 :]
    )
    return CallInfo(
        logged=bool(entries),
        operator_answered="cc" in others,
        visitor_rung="ct" in visitor,
        visitor_answered="cc" in visitor,
        over=over,
        status_code=field(info, "status_code"),
    )


def outcome_from_call_info(info: Mapping[str, Any], current: str, visitor_number: str) -> str:
    """Settle an outcome with ``call_info``; ``current`` is what the events said.

    With a ``session_log``, it decides: a ``cc`` with the visitor's digits is a
    completed call (even if the events missed it), anything less is not (whatever
    ``connected`` said: it may have been the operator's answer). Without one,
    ``state`` 1 with a ``duration`` counts a talk the events missed, and ``state``
    2 undoes a ``completed``.
    """
    seen = read_call_info(info, visitor_number)
    if seen.logged:
        if seen.visitor_answered:
            return "completed"
        if not (seen.operator_answered or seen.visitor_rung):
            return current if current == "operator_timeout" else "operator_no_answer"
        busy = current == "visitor_busy" or seen.status_code in BUSY_STATUS_CODES
        return "visitor_busy" if busy else "visitor_no_answer"
    state = field(info, "state")
    try:
        duration = int(info.get("duration") or 0)
    except (TypeError, ValueError):
        duration = 0
    if state == "1" and duration > 0 and current in ("operator_no_answer", "visitor_no_answer"):
        return "completed"
    if state == "2" and current == "completed":
        return "visitor_no_answer"
    return current
