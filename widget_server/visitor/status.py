"""What the visitor's page is told about a request: the one status view.

The same fields answer the submit (202), every poll and cancel, and the config
page's test call: a coarse status and its message, never numbers or PBX data.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from ..dispatch import hours
from ..dispatch.state import cancellable, is_final
from ..models import CallbackRequest
from ..notify.reach import someone_will_hear
from ..statuses import FINAL, WAITING, Status
from . import disguise
from .texts import scheduled_message, status_message, unheard_message


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
    if public and disguise.disguised(req):
        return _disguised(req, language, now or hours.utc_now())
    status = Status(req.status)
    if just_accepted:
        if status == Status.HELD:
            status = Status.QUEUED
        final, can_cancel = False, status in WAITING
    else:
        final, can_cancel = is_final(req), cancellable(req)
    view = {
        "status": status,
        "final": final,
        "cancellable": can_cancel,
        "message": _message(req, language, status),
        "updated_at": req.updated_at.isoformat(timespec="seconds") + "Z",
        "scheduled_for": None,
    }
    if status == Status.SCHEDULED:
        # "Позвоним завтра в 10:00." in the visitor's zone, and the moment itself.
        view.update(_scheduled(req, language, now or hours.utc_now()))
    return view


def _message(req: CallbackRequest, language: str, status: Status) -> str:
    """The status message; "we will call you back" only if someone will hear of it."""
    honest = unheard_message(language, status)
    if honest is not None and not someone_will_hear(req.widget.owner):
        return honest
    return status_message(language, status)


def _disguised(req: CallbackRequest, language: str, now: datetime) -> dict[str, Any]:
    """The view of a real request of this widget that nobody answered, at ``now``."""
    naive = now if now.tzinfo is None else now.astimezone(UTC).replace(tzinfo=None)
    status, since = disguise.phase(req, naive)
    view = {
        "status": status,
        "final": status in FINAL,
        "cancellable": status in WAITING,
        "message": _message(req, language, status),
        "updated_at": since.isoformat(timespec="seconds") + "Z",
        "scheduled_for": None,
    }
    if status == Status.SCHEDULED:
        view.update(_scheduled(req, language, now))
    return view


def _scheduled(req: CallbackRequest, language: str, now: datetime) -> dict[str, Any]:
    """The message with the time of the next dispatch (or the slot picked), and the time."""
    when = req.next_dispatch_at or req.scheduled_for
    if when is None:
        return {"message": status_message(language, Status.SCHEDULED), "scheduled_for": None}
    zone = req.widget.timezone or hours.DEFAULT_TIMEZONE
    label = hours.format_slot(when, req.visitor_tz, language, now, zone)
    return {"message": scheduled_message(language, label), "scheduled_for": hours.iso_utc(when)}
