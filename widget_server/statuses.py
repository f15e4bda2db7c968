"""Every status a callback request can have, which are final, and the moves between them.

The one vocabulary: the call machine (``dispatch``), the visitor's messages
(``visitor.texts``), the config page's labels, the OpenAPI document and the owner's
notifications all name statuses from here, and a test checks each has its text.
The values are what the database stores and the public API returns: never rename one.
"""

from __future__ import annotations

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


# Where a request may go from each status. A final status goes nowhere; any
# non-final status may end (every final status is reachable from it) because a
# cancel, a PBX failure or a deadline can come at any moment.
_ENDINGS = FINAL - {Status.HELD}
ALLOWED: dict[Status, frozenset[Status]] = {
    Status.QUEUED: frozenset(
        {Status.SCHEDULED, Status.RETRYING, Status.CALLING_OPERATOR, Status.OPERATORS_BUSY} | FINAL
    ),
    Status.SCHEDULED: frozenset(
        {Status.QUEUED, Status.RETRYING, Status.CALLING_OPERATOR, Status.OPERATORS_BUSY} | FINAL
    ),
    Status.RETRYING: frozenset(
        {Status.SCHEDULED, Status.CALLING_OPERATOR, Status.OPERATORS_BUSY} | _ENDINGS
    ),
    Status.OPERATORS_BUSY: frozenset(
        {Status.SCHEDULED, Status.RETRYING, Status.CALLING_OPERATOR} | _ENDINGS
    ),
    Status.CALLING_OPERATOR: frozenset(
        {
            Status.CALLING_VISITOR,
            Status.CONNECTED,
            Status.RETRYING,
            Status.OPERATORS_BUSY,
            Status.VISITOR_RETRY,
            Status.SCHEDULED,
        }
        | _ENDINGS
    ),
    Status.CALLING_VISITOR: frozenset(
        {
            Status.CONNECTED,
            Status.CALLING_OPERATOR,
            Status.RETRYING,
            Status.OPERATORS_BUSY,
            Status.VISITOR_RETRY,
            Status.SCHEDULED,
        }
        | _ENDINGS
    ),
    Status.VISITOR_RETRY: frozenset(
        {Status.SCHEDULED, Status.RETRYING, Status.CALLING_OPERATOR, Status.OPERATORS_BUSY}
        | _ENDINGS
    ),
    # connected may be the operator's answer alone on some domains (pbx-rostelecom.md §9),
    # so a visitor who then never picks up can still be retried or missed.
    Status.CONNECTED: frozenset({Status.VISITOR_RETRY, Status.SCHEDULED} | _ENDINGS),
    **{status: frozenset() for status in FINAL},
}


def is_final(status: str) -> bool:
    return status in FINAL


def may_move(old: str, new: str) -> bool:
    """True when a request in ``old`` may go to ``new`` (staying put is always fine)."""
    return old == new or Status(new) in ALLOWED[Status(old)]
