"""A blocked or trapped request looks, through the public API, like a real one nobody answered.

An opted-out or blocked number, or a bot caught by the trap field, is stored as held and
never dialled. If the status API said so (held, final at once), anyone could learn which
numbers opted out, or that the trap caught them. So, for these requests only, the public
status follows the life of a real request of the same widget that no operator answered:
scheduled until its slot if it had one, queued, each round of ringing the group (the
operators' ring time), the pause between rounds, then ``no_operator``. Cancelling works
when it would for a real request. The owner's config page always shows the truth.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from ..models import CallbackRequest
from ..statuses import WAITING, HeldReason, Status

DISGUISED = frozenset({HeldReason.BLOCKED, HeldReason.BOT_TRAP})
QUEUED_FOR = timedelta(seconds=2)  # a real request waits up to about this long in the queue
MAX_ROUND = timedelta(minutes=5)  # a group's round never rings longer than this


def disguised(req: CallbackRequest) -> bool:
    """Whether the public API shows ``req`` as a request that is being tried."""
    return req.status == Status.HELD and req.held_reason in DISGUISED


def _round_length(req: CallbackRequest) -> timedelta:
    """How long a real round of ringing this group takes when nobody answers."""
    widget = req.widget
    per_operator = max(widget.ring_timeout, widget.pbx_account.ring_seconds)
    group = req.widget_group.group
    operators = 1 if widget.ring_strategy == "pbx_group" else len(group.member_pins or []) or 1
    return min(timedelta(seconds=per_operator * operators), MAX_ROUND)


def phase(req: CallbackRequest, now: datetime) -> tuple[Status, datetime]:
    """The status a real request would show at ``now`` (naive UTC), and since when."""
    start = req.created_at
    if req.scheduled_for is not None:
        if now < req.scheduled_for:
            return Status.SCHEDULED, start
        start = req.scheduled_for
    moment = start + QUEUED_FOR
    if now < moment:
        return Status.QUEUED, start
    ring = _round_length(req)
    pause = timedelta(seconds=req.widget.round_pause)
    for number in range(max(1, req.widget.group_rounds)):
        if number:
            if now < moment + pause:
                return Status.OPERATORS_BUSY, moment
            moment += pause
        if now < moment + ring:
            return Status.CALLING_OPERATOR, moment
        moment += ring
    return Status.NO_OPERATOR, moment


def waiting_now(req: CallbackRequest, now: datetime) -> bool:
    """Whether a real request would be cancellable at ``now``."""
    return phase(req, now)[0] in WAITING
