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

from dataclasses import dataclass
from datetime import datetime, timedelta

from ..models import CallbackRequest
from ..statuses import WAITING, HeldReason, Status
from .promise import QUEUED_SECONDS, ring_plan

DISGUISED = frozenset({HeldReason.BLOCKED, HeldReason.BOT_TRAP})
QUEUED_FOR = timedelta(seconds=QUEUED_SECONDS)  # a real request waits about this long in the queue
MAX_ROUND = timedelta(minutes=5)  # a group's round never rings longer than this


def disguised(req: CallbackRequest) -> bool:
    """Whether the public API shows ``req`` as a request that is being tried."""
    return req.status == Status.HELD and req.held_reason in DISGUISED


def _ring_lengths(req: CallbackRequest) -> tuple[timedelta, int]:
    """How long a real operator rings this group when nobody answers, and how many are rung."""
    per_operator, operators = ring_plan(req.widget, req.widget_group.group)
    return timedelta(seconds=per_operator), operators


@dataclass(frozen=True)
class Phase:
    """Where a real request would be: its status, since when, and what the visitor is told."""

    status: Status
    since: datetime
    stage: str | None = None  # "next_operator" | "next_round" (visitor.status)
    retry_at: datetime | None = None  # the next round's start while operators_busy
    until: datetime | None = None  # when the view changes next (None: final, it never does)


def progress(req: CallbackRequest, now: datetime) -> Phase:
    """The phase a real request would be in at ``now`` (naive UTC)."""
    start = req.created_at
    if req.scheduled_for is not None:
        if now < req.scheduled_for:
            return Phase(Status.SCHEDULED, start, until=req.scheduled_for)
        start = req.scheduled_for
    moment = start + QUEUED_FOR
    if now < moment:
        return Phase(Status.QUEUED, start, until=moment)
    per_operator, operators = _ring_lengths(req)
    ring = min(per_operator * operators, MAX_ROUND)
    pause = timedelta(seconds=req.widget.round_pause)
    for number in range(max(1, req.widget.group_rounds)):
        if number:
            if now < moment + pause:
                return Phase(
                    Status.OPERATORS_BUSY, moment, retry_at=moment + pause, until=moment + pause
                )
            moment += pause
        if now < moment + ring:
            stage = _ringing_stage(now - moment, per_operator, number)
            # The stage turns to "next_operator" when the first operator rings out.
            turns = moment + per_operator
            until = turns if now < turns < moment + ring else moment + ring
            return Phase(Status.CALLING_OPERATOR, moment, stage, until=until)
        moment += ring
    return Phase(Status.NO_OPERATOR, moment)


def _ringing_stage(into: timedelta, per_operator: timedelta, round_number: int) -> str | None:
    """A real round says "the next operator" once its first operator rang out."""
    if into >= per_operator:
        return "next_operator"
    return "next_round" if round_number else None


def phase(req: CallbackRequest, now: datetime) -> tuple[Status, datetime]:
    """The status a real request would show at ``now`` (naive UTC), and since when."""
    found = progress(req, now)
    return found.status, found.since


def waiting_now(req: CallbackRequest, now: datetime) -> bool:
    """Whether a real request would be cancellable at ``now``."""
    return phase(req, now)[0] in WAITING
