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

Stages only move forward (``STAGE_ORDER``), so a duplicate or a late event
(``calling`` after ``end``) never moves a call backwards. ``end`` is terminal
even when it arrives before ``connected``.

How an ended call is settled is ``decide_outcome``: it reads every piece of
evidence (the call's events, ``call_info``'s ``session_log``, ``state``,
``duration`` and ``status_code``) and returns the outcome with the reason. The
cost is asymmetric: ringing a visitor again after they talked is worse than not
retrying one who missed the call (the owner sees that one and can redial), so a
visitor is tried again only on positive evidence that their phone rang and was
not answered; evidence that is thin or contradicts itself ends the call
``unconfirmed`` (``docs/pbx-dialects.md``).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from ..phones import digits_of
from ..statuses import Outcome, Status

STAGE_ORDER = {
    "created": 0,
    "sent": 1,
    "operator_ringing": 2,
    "visitor_ringing": 3,
    "connected": 4,
    "ended": 5,
}

# disconnect_reason codes SalesMan observed on live domains (shared/pbx-rostelecom.md §2.2):
# "3" busy, "5" a successful call; "" means no audio connection, but unused keys also
# arrive as "", so an empty reason never counts as evidence on its own.
DISCONNECT_BUSY = "3"
DISCONNECT_SUCCESS = "5"

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


# call_info status codes that mean the visitor's line was busy (SIP 486/600, Q.850 17),
# or that it rang without an answer (SIP 408/480/487, Q.850 18/19).
BUSY_STATUS_CODES = frozenset({"486", "600", "17"})
NO_ANSWER_STATUS_CODES = frozenset({"408", "480", "487", "18", "19"})
# session_log codes of a party's own leg: rings, answers, hangs up. Others (the seed's
# ``el`` for the external line, ``ru`` for routing to a user) say nothing of a ring.
LEG_CODES = frozenset({"ct", "cc", "cd"})


@dataclass(frozen=True)
class CallInfo:
    """What ``call_info``'s ``session_log`` shows of one call_back session."""

    logged: bool  # a session_log was there to read
    operator_answered: bool  # some party other than the visitor answered
    visitor_named: bool  # a ring, answer or hang-up entry with the visitor's digits
    visitor_rung: bool  # a ``ct`` with the visitor's digits
    visitor_answered: bool  # a ``cc`` with the visitor's digits
    over: bool  # the last party rung has hung up
    status_code: str

    @property
    def alive(self) -> bool:
        """The call is still going: ringing, or talking."""
        return self.logged and not self.over

    @property
    def stage(self) -> str:
        """The live stage the log shows (for calls followed without events).

        Never ``connected`` without the visitor's own ``cc``: once the operator
        answered the PBX dials the visitor, which is all "calling you" claims.
        """
        if self.visitor_answered:
            return "connected"
        if self.operator_answered or self.visitor_rung:
            return "visitor_ringing"
        return "operator_ringing"


def read_call_info(info: Mapping[str, Any], visitor_number: str) -> CallInfo:
    """Read ``session_log``: ``0:ct:201;2:cc:201;3:ct:7916…;5:cc:7916…;10:cd:7916…;``, or the
    seed's ``0:el:7916…;0:ru:admin;7:ct:admin;9:cc:admin;14:cd:admin;`` (the operator by login,
    the visitor only as the external line)."""
    entries = []
    for item in str(info.get("session_log") or "").split(";"):
        parts = item.strip().split(":")
        if len(parts) >= 3:
            entries.append((parts[1].strip().lower(), ":".join(parts[2:]).strip()))
    legs = [(code, party) for code, party in entries if code in LEG_CODES]
    visitor = {code for code, party in legs if same_number(party, visitor_number)}
    others = {code for code, party in legs if not same_number(party, visitor_number)}
    last = max((i for i, (code, _) in enumerate(legs) if code == "ct"), default=None)
    over = last is not None and any(
        code == "cd" and party == legs[last][1] for code, party in legs[last + 1 :]
    )
    return CallInfo(
        logged=bool(entries),
        operator_answered="cc" in others,
        visitor_named=bool(visitor),
        visitor_rung="ct" in visitor,
        visitor_answered="cc" in visitor,
        over=over,
        status_code=field(info, "status_code"),
    )


@dataclass(frozen=True)
class EventsSeen:
    """What a call's own ``call_events`` showed, in the order they came."""

    visitor_rang: bool  # a visitor-leg ``calling`` (not the session's first one)
    connected: bool
    answered_after_ring: bool  # a ``connected`` after the visitor-leg ``calling``
    reasons: tuple[str, ...]  # each ``disconnected``'s reason, "" when it gave none
    ended: bool  # the call's end was heard (``disconnected`` or ``end``)


def read_events(events: Iterable[Mapping[str, Any]], visitor_number: str) -> EventsSeen:
    """Read a call's events (payloads, in arrival order) as ``stage_for_event`` does."""
    callings = 0
    visitor_rang = connected = answered_after_ring = ended = False
    reasons: list[str] = []
    for event in events:
        state = field(event, "state").lower()
        ended = ended or state in ("disconnected", "end")
        if state == "calling":
            callings += 1
            seen = callings > 1
            if stage_for_event(event, visitor_number, operator_leg_seen=seen) == "visitor_ringing":
                visitor_rang = True
        elif state == "connected":
            connected = True
            answered_after_ring = answered_after_ring or visitor_rang
        elif state == "disconnected":
            reasons.append(field(event, "disconnect_reason"))
    return EventsSeen(visitor_rang, connected, answered_after_ring, tuple(reasons), ended)


class Why(StrEnum):
    """The evidence an outcome was settled on (``Decision.why``)."""

    # The visitor was reached.
    VISITOR_ANSWERED_IN_LOG = "visitor_answered_in_log"  # a cc with their digits
    ANSWERED_AFTER_RINGING = "answered_after_ringing"  # connected after their leg rang
    CONNECTED_AND_PBX_AGREES = "connected_and_pbx_agrees"  # connected, "5", state 1, duration
    # Positive evidence that the visitor was not: one more try.
    VISITOR_RANG_IN_LOG = "visitor_rang_in_log"  # a ct with their digits, no cc
    BUSY_REPORTED = "busy_reported"  # disconnect reason 3 or a busy status code
    NO_ANSWER_REPORTED = "no_answer_reported"  # a no-answer status code
    VISITOR_RANG_NO_CONNECTION = "visitor_rang_no_connection"  # their leg rang, no connected
    # Nobody answered: the next operator.
    OPERATOR_NEVER_ANSWERED = "operator_never_answered"
    # Unconfirmed: thin evidence, or evidence that contradicts itself.
    NOTHING_ABOUT_VISITOR = "nothing_about_visitor"
    CONNECTED_MAYBE_OPERATOR = "connected_maybe_operator"
    PBX_SAYS_UNANSWERED = "pbx_says_unanswered"
    NO_AUDIO_AFTER_ANSWER = "no_audio_after_answer"
    BUSY_AFTER_ANSWER = "busy_after_answer"
    SUCCESS_WITHOUT_ANSWER = "success_without_answer"
    PBX_REPORTS_ANSWER = "pbx_reports_answer"  # their leg rang, state 1 with a duration
    NOTHING_HEARD = "nothing_heard"  # no end heard, call_info unread: nothing is known


@dataclass(frozen=True)
class Decision:
    outcome: Outcome
    why: Why


def decide_outcome(
    events: Iterable[Mapping[str, Any]],
    info: Mapping[str, Any] | None,
    visitor_number: str,
    reached_stage: str = "created",
) -> Decision:
    """Settle an ended call from all its evidence: the outcome and the reason.

    ``events`` are the call's ``call_events`` payloads in arrival order, ``info`` its
    ``call_info`` (None when that failed), ``reached_stage`` the furthest stage it
    showed (polls of ``call_info`` move it too). The order of the checks:

    1. the log names the visitor: a ``cc`` is a talk, a ``ct`` without one is a ring
       unanswered (busy with a busy code; a successful-call code contradicts it);
    2. nothing shows the operator answered → the operator did not pick up, when the
       call's end or call_info says so (else nothing is known: ``unconfirmed``);
    3. otherwise the events, ``state``, ``duration`` and the codes (``_unnamed``).
    """
    seen = read_call_info(info or {}, visitor_number)
    heard = read_events(events, visitor_number)
    status = seen.status_code
    busy = DISCONNECT_BUSY in heard.reasons or status in BUSY_STATUS_CODES
    success = DISCONNECT_SUCCESS in heard.reasons
    if seen.visitor_answered or (reached_stage == "connected" and not heard.connected):
        # A poll of call_info showed their cc earlier when no event did.
        return Decision(Outcome.COMPLETED, Why.VISITOR_ANSWERED_IN_LOG)
    if seen.visitor_rung:
        if success:
            return Decision(Outcome.UNCONFIRMED, Why.SUCCESS_WITHOUT_ANSWER)
        if busy:
            return Decision(Outcome.VISITOR_BUSY, Why.BUSY_REPORTED)
        return Decision(Outcome.VISITOR_NO_ANSWER, Why.VISITOR_RANG_IN_LOG)
    state = field(info or {}, "state")
    operator_answered = (
        seen.operator_answered
        or heard.visitor_rang
        or heard.connected
        or state == "1"
        or reached_stage == "visitor_ringing"  # a poll showed the operator's answer
    )
    if not operator_answered:
        if seen.logged or state == "2" or heard.ended:
            return Decision(Outcome.OPERATOR_NO_ANSWER, Why.OPERATOR_NEVER_ANSWERED)
        # Neither the call's end nor call_info was heard (events lost in a restart, the
        # API failing): that is no evidence the operator did not answer, and ringing the
        # next one could ring a visitor who talked a second time.
        return Decision(Outcome.UNCONFIRMED, Why.NOTHING_HEARD)
    return _unnamed(heard, state, _duration(info), status, busy=busy, success=success)


def _unnamed(
    heard: EventsSeen, state: str, duration: int, status: str, *, busy: bool, success: bool
) -> Decision:
    """The operator answered and the log does not name the visitor: the events decide.

    ``state`` 1 with a ``duration`` is the PBX's word that the call was answered; in a
    callback the first to answer is the operator, so it confirms a talk only beside an
    event of the visitor's own leg, never alone.
    """
    answered = state == "1" and duration > 0
    if heard.answered_after_ring:  # how (a) tells the visitor's answer
        if busy:
            return Decision(Outcome.UNCONFIRMED, Why.BUSY_AFTER_ANSWER)
        if state == "2":
            return Decision(Outcome.UNCONFIRMED, Why.PBX_SAYS_UNANSWERED)
        if heard.reasons and not any(heard.reasons):
            return Decision(Outcome.UNCONFIRMED, Why.NO_AUDIO_AFTER_ANSWER)
        return Decision(Outcome.COMPLETED, Why.ANSWERED_AFTER_RINGING)
    if heard.visitor_rang and not heard.connected:
        if busy:
            return Decision(Outcome.VISITOR_BUSY, Why.BUSY_REPORTED)
        if answered:
            # Their phone rang and the call is "answered": a lost `connected`, or only the
            # operator's answer (the first to answer in a callback). Not rung again, either way.
            return Decision(Outcome.UNCONFIRMED, Why.PBX_REPORTS_ANSWER)
        if success:
            return Decision(Outcome.UNCONFIRMED, Why.SUCCESS_WITHOUT_ANSWER)
        return Decision(Outcome.VISITOR_NO_ANSWER, Why.VISITOR_RANG_NO_CONNECTION)
    # A `connected` here may be the operator's answer (c); or no event of the visitor at all.
    if busy:
        return Decision(Outcome.VISITOR_BUSY, Why.BUSY_REPORTED)
    if status in NO_ANSWER_STATUS_CODES:
        return Decision(Outcome.VISITOR_NO_ANSWER, Why.NO_ANSWER_REPORTED)
    if heard.connected:
        if success and answered:
            return Decision(Outcome.COMPLETED, Why.CONNECTED_AND_PBX_AGREES)
        return Decision(Outcome.UNCONFIRMED, Why.CONNECTED_MAYBE_OPERATOR)
    return Decision(Outcome.UNCONFIRMED, Why.NOTHING_ABOUT_VISITOR)


def _duration(info: Mapping[str, Any] | None) -> int:
    try:
        return int((info or {}).get("duration") or 0)
    except (TypeError, ValueError):
        return 0
