"""What the visitor's page is told about a request: the one status view.

The same fields answer the submit (202), every poll and cancel, and the config
page's test call: a coarse status and its message, never numbers or PBX data.
Fields added later (``stage``, ``retry_at``, ``final_action``, ``title``, ``wait_seconds``)
are ignored by old widgets.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from ..dispatch import hours
from ..dispatch.schedule import zone_or
from ..dispatch.state import cancellable, is_final
from ..models import CallbackRequest
from ..notify.reach import someone_will_hear
from ..statuses import FINAL, WAITING, HeldReason, Status
from . import disguise
from .promise import wait_seconds
from .texts import (
    final_title,
    off_hours_message,
    retry_message,
    scheduled_message,
    stage_message,
    status_message,
    today_at,
    unheard_message,
)

# The main button of a final screen: "close" where we said someone will call back
# (so "request another call" would contradict it), "again" where the visitor may retry.
# Where nobody will call back, "call" (the widget's number for visitors) or else "close":
# asking again at once would meet the same silence.
FINAL_ACTIONS = {
    Status.FINISHED: "close",
    Status.NO_OPERATOR: "close",
    Status.PBX_ERROR: "close",
    Status.HELD: "close",
    Status.VISITOR_BUSY: "again",
    Status.VISITOR_NO_ANSWER: "again",
    Status.CANCELLED: "again",
}
# Waiting for a next try whose time the visitor is told ("попробуем снова в 10:42").
RETRY_WAITS = frozenset({Status.RETRYING, Status.OPERATORS_BUSY, Status.VISITOR_RETRY})


def status_view(
    req: CallbackRequest,
    language: str | None = None,
    *,
    just_accepted: bool = False,
    now: datetime | None = None,
    public: bool = True,
) -> dict[str, Any]:
    """The status fields of a request, in ``language`` (the widget's by default).

    ``just_accepted`` is for the answer to the submit itself: nothing was dialled
    yet (no attempts to load), and a held request reads like any accepted one.
    ``public``: for the visitor's API, where a blocked or trapped request follows the
    life of one nobody answered (``disguise.py``); the owner's page passes False.
    """
    language = language or req.widget.language
    now = now or hours.utc_now()
    view = (
        _disguised(req, language, now)
        if public and disguise.disguised(req)
        else _real(req, language, now, just_accepted)
    )
    if just_accepted and view["status"] == Status.QUEUED:
        # What the countdown counts down from: the ring plan, not a fixed 30 s.
        view["wait_seconds"] = wait_seconds(req)
    return view


def _real(
    req: CallbackRequest, language: str, now: datetime, just_accepted: bool
) -> dict[str, Any]:
    status = Status(req.status)
    if just_accepted:
        if status == Status.HELD:
            status = Status.QUEUED
        final, can_cancel, stage = False, status in WAITING, None
    else:
        final, can_cancel, stage = is_final(req), cancellable(req), _stage(req, status)
    view = _base(req, status, language, final, can_cancel, req.updated_at)
    if stage is not None:
        view.update(stage=stage, message=_stage_words(req, language, status, stage))
    if status == Status.SCHEDULED:
        # "Позвоним завтра в 10:00." in the visitor's zone, and the moment itself.
        view.update(_scheduled(req, language, now))
    elif status in RETRY_WAITS and req.next_dispatch_at is not None and not just_accepted:
        view.update(_retry(req, status, req.next_dispatch_at, language, now))
    return view


def _base(
    req: CallbackRequest,
    status: Status,
    language: str,
    final: bool,
    can_cancel: bool,
    since: datetime,
) -> dict[str, Any]:
    honest = _unheard(req, language, status)
    call_us = bool(req.widget.visitor_phone)
    message = honest or status_message(language, status)
    off_hours = status == Status.NO_OPERATOR and req.held_reason == HeldReason.NO_HOURS
    if off_hours:  # nobody was rung: no hours for two weeks
        message = off_hours_message(language, heard=not honest, call_us=call_us)
    action = title = None
    if final:
        action = ("call" if call_us else "close") if honest else FINAL_ACTIONS.get(status)
        title = final_title(language, status, heard=not honest, off_hours=off_hours)
    return {
        "status": status,
        "final": final,
        "cancellable": can_cancel,
        "message": message,
        "updated_at": since.isoformat(timespec="seconds") + "Z",
        "scheduled_for": None,
        "stage": None,
        "retry_at": None,
        "final_action": action,
        "title": title,
        "wait_seconds": None,
    }


def _stage_words(req: CallbackRequest, language: str, status: Status, stage: str) -> str:
    # "Вам перезвонят" in a stage's words is as untrue as in the status's when nobody hears.
    return _unheard(req, language, status) or stage_message(language, stage)


def _unheard(req: CallbackRequest, language: str, status: Status) -> str | None:
    """The honest message when the usual one promises a call and no channel of the owner's
    can tell a person (``notify/reach.py``); None when the usual one is true."""
    honest = unheard_message(language, status, call_us=bool(req.widget.visitor_phone))
    if honest is not None and not someone_will_hear(req.widget.owner):
        return honest
    return None


def _stage(req: CallbackRequest, status: Status) -> str | None:
    """A finer, coarse-grained word on a status: never numbers or PBX data."""
    if status == Status.CALLING_OPERATOR:
        this_round = [a for a in req.attempts if a.round == req.round]
        if any(a.outcome not in (None, "pbx_unavailable") for a in this_round):
            return "next_operator"  # an operator of this round did not answer or refused
        return "next_round" if req.round > 1 else None
    if status == Status.PBX_ERROR and req.attempts and req.attempts[-1].outcome == "failed":
        return "refused"  # the PBX answered and refused the call: it did not fail to answer
    return None


def _disguised(req: CallbackRequest, language: str, now: datetime) -> dict[str, Any]:
    """The view of a real request of this widget that nobody answered, at ``now``."""
    naive = now if now.tzinfo is None else now.astimezone(UTC).replace(tzinfo=None)
    found = disguise.progress(req, naive)
    status = found.status
    view = _base(req, status, language, status in FINAL, status in WAITING, found.since)
    if found.stage is not None:
        view.update(stage=found.stage, message=_stage_words(req, language, status, found.stage))
    if status == Status.SCHEDULED:
        view.update(_scheduled(req, language, now))
    elif found.retry_at is not None:
        view.update(_retry(req, status, found.retry_at, language, now))
    return view


def _scheduled(req: CallbackRequest, language: str, now: datetime) -> dict[str, Any]:
    """The message with the time of the next dispatch (or the slot picked), and the time."""
    when = req.next_dispatch_at or req.scheduled_for
    if when is None:
        return {"message": status_message(language, Status.SCHEDULED), "scheduled_for": None}
    zone = req.widget.timezone or hours.DEFAULT_TIMEZONE
    label = hours.format_slot(when, req.visitor_tz, language, now, zone)
    return {"message": scheduled_message(language, label), "scheduled_for": hours.iso_utc(when)}


def _retry(
    req: CallbackRequest, status: Status, when: datetime, language: str, now: datetime
) -> dict[str, Any]:
    """ "Попробуем снова в 10:42." in the visitor's zone (the day named when not today)."""
    fallback = req.widget.timezone or hours.DEFAULT_TIMEZONE
    zone = zone_or(req.visitor_tz, fallback)
    local, today = hours.as_utc(when).astimezone(zone), hours.as_utc(now).astimezone(zone).date()
    if local.date() == today:
        label = today_at(language, local.strftime("%H:%M"))
    else:
        label = hours.format_slot(when, req.visitor_tz, language, now, fallback)
    message = retry_message(language, status, label)
    return {"retry_at": hours.iso_utc(when), **({"message": message} if message else {})}
