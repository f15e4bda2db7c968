"""Every status a callback request can have, which are final, and the moves between them;
how one call attempt can end (``Outcome``).

The one vocabulary: the call machine (``dispatch``), the visitor's messages
(``visitor.texts``), the config page's labels, the OpenAPI document and the owner's
notifications all name statuses from here, and a test checks each has its text.
The values are what the database stores and the public API returns: never rename one.
"""

from __future__ import annotations

from collections.abc import Iterable
from enum import StrEnum


class Status(StrEnum):
    QUEUED = "queued"
    SCHEDULED = "scheduled"
    RETRYING = "retrying"
    CALLING_OPERATOR = "calling_operator"
    OPERATORS_BUSY = "operators_busy"
    CALLING_VISITOR = "calling_visitor"
    VISITOR_RETRY = "visitor_retry"
    CONNECTED = "connected"
    FINISHED = "finished"
    NO_OPERATOR = "no_operator"
    VISITOR_BUSY = "visitor_busy"
    VISITOR_NO_ANSWER = "visitor_no_answer"
    PBX_ERROR = "pbx_error"
    CANCELLED = "cancelled"
    # Stored but never dialled (a widget cap, a blocked number, a bot trap, no hours);
    # the visitor is told the same as for an accepted request.
    HELD = "held"


FINAL = frozenset(
    {
        Status.FINISHED,
        Status.NO_OPERATOR,
        Status.VISITOR_BUSY,
        Status.VISITOR_NO_ANSWER,
        Status.PBX_ERROR,
        Status.CANCELLED,
        Status.HELD,
    }
)
# Waiting for the next dial: nothing is ringing, the visitor may still cancel.
WAITING = frozenset(
    {
        Status.QUEUED,
        Status.SCHEDULED,
        Status.RETRYING,
        Status.OPERATORS_BUSY,
        Status.VISITOR_RETRY,
    }
)
# A call is ringing or talking.
LIVE = frozenset({Status.CALLING_OPERATOR, Status.CALLING_VISITOR, Status.CONNECTED})
# Final, and nobody talked: what the owner is told about as missed.
MISSED = frozenset(
    {Status.NO_OPERATOR, Status.VISITOR_BUSY, Status.VISITOR_NO_ANSWER, Status.PBX_ERROR}
)


class HeldReason(StrEnum):
    """Why a request was stored but never dialled (``CallbackRequest.held_reason``).

    The values are stored in the database as they were before this enum existed.
    """

    WIDGET_CAP = "widget cap reached"
    LIMIT_STORE = "limit store unavailable"
    BLOCKED = "number blocked"
    BOT_TRAP = "bot trap"
    NO_HOURS = "no working hours in the next 14 days"
    # Decided again after the limit store came back (dispatch/held.py): the number had a
    # call under way or was over its limits by then.
    NUMBER_LIMIT = "number limit"


class Outcome(StrEnum):
    """How one ``call_back`` attempt ended (``CallAttempt.outcome``).

    The values are stored as they were before this enum existed: never rename one.
    """

    COMPLETED = "completed"  # the visitor answered: evidence says so
    # The call is over and nothing shows the visitor's phone rang unanswered, yet
    # nothing confirms they talked either: not rung again, shown to the owner.
    UNCONFIRMED = "unconfirmed"
    VISITOR_BUSY = "visitor_busy"
    VISITOR_NO_ANSWER = "visitor_no_answer"
    OPERATOR_NO_ANSWER = "operator_no_answer"
    OPERATOR_TIMEOUT = "operator_timeout"  # our ring timeout, before the PBX gave up
    FAILED = "failed"  # call_back refused for this operator
    PBX_UNAVAILABLE = "pbx_unavailable"
    UNKNOWN = "unknown"  # no trace of a call_back whose answer was lost
    # Settled from the PBX's call journal (dispatch/reconcile.py).
    JOURNAL_ANSWERED = "journal_answered"
    JOURNAL_NOT_ANSWERED = "journal_not_answered"


# The visitor's phone rang and was not answered: one more try, then missed.
VISITOR_NOT_REACHED = frozenset({Outcome.VISITOR_BUSY, Outcome.VISITOR_NO_ANSWER})
# The call ended with the visitor told it is over: a talk, or one nothing ruled out.
ENDED_CALL = frozenset({Outcome.COMPLETED, Outcome.UNCONFIRMED})


def talk_unconfirmed(status: str | None, outcomes: Iterable[str | None]) -> bool:
    """A finished request none of whose calls confirmed a talk, one being unconfirmed.

    Its owner reads «разговор не подтверждён» and the figures count it apart
    (``insight.figures.UNCONFIRMED_TALK`` is this rule in SQL).
    """
    seen = set(outcomes)
    return (
        status == Status.FINISHED and Outcome.UNCONFIRMED in seen and Outcome.COMPLETED not in seen
    )


# Where a new request starts: dialled now, at a later slot, or never.
INITIAL = frozenset({Status.QUEUED, Status.SCHEDULED, Status.HELD})

# How a request moves on before it ends, as the call machine (``dispatch``) does it:
# a dial is placed (calling_operator), put off to the opening (scheduled), retried
# after a PBX failure (retrying) or after a round nobody answered (operators_busy);
# a call goes operator → visitor → connected; a visitor not reached is tried again.
_ON = {
    Status.QUEUED: {Status.SCHEDULED, Status.RETRYING, Status.CALLING_OPERATOR},
    Status.SCHEDULED: {Status.RETRYING, Status.CALLING_OPERATOR, Status.OPERATORS_BUSY},
    Status.RETRYING: {Status.SCHEDULED, Status.CALLING_OPERATOR, Status.OPERATORS_BUSY},
    Status.OPERATORS_BUSY: {Status.SCHEDULED, Status.RETRYING, Status.CALLING_OPERATOR},
    Status.VISITOR_RETRY: {Status.SCHEDULED, Status.RETRYING, Status.CALLING_OPERATOR},
    # An operator who did not answer leaves the status as it is until the next dial.
    Status.CALLING_OPERATOR: {
        Status.CALLING_VISITOR,
        Status.CONNECTED,  # the visitor's "calling" was lost
        Status.SCHEDULED,
        Status.RETRYING,
        Status.OPERATORS_BUSY,
        Status.VISITOR_RETRY,  # no event showed the visitor leg; call_info did
    },
    Status.CALLING_VISITOR: {Status.CONNECTED, Status.VISITOR_RETRY},
    # A talk ends finished; a `connected` that was only the operator's answer
    # (docs/pbx-dialects.md) may end with the visitor not reached.
    Status.CONNECTED: {Status.VISITOR_RETRY},
}
# Any status that is not final may end (a cancel, a PBX failure, a deadline or the
# call's own end can come at any moment); held is only ever a new request's status.
ENDINGS = FINAL - {Status.HELD}
ALLOWED: dict[Status, frozenset[Status]] = {
    **{status: frozenset(moves) | ENDINGS for status, moves in _ON.items()},
    **{status: frozenset() for status in FINAL},
    # The moves out of a final status: a blocked or trapped request looks to the visitor
    # like one being tried (visitor/disguise.py), and may be cancelled like one; a request
    # held while the limit store was down is decided again once it is back (dispatch/held.py).
    Status.HELD: frozenset({Status.CANCELLED, Status.QUEUED}),
}


def is_final(status: str) -> bool:
    return status in FINAL


def may_move(old: str | None, new: str) -> bool:
    """True when a request in ``old`` may go to ``new`` (staying put is always fine).

    ``old`` is None for a request not stored yet: it may start in ``INITIAL``.
    """
    if old is None:
        return new in INITIAL
    return old == new or Status(new) in ALLOWED[Status(old)]
