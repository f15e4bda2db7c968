"""What a request's status means to its owner: readable labels, outcome groups, period figures.

The figures are computed in Python from plain column reads, so the same code
runs on SQLite and PostgreSQL (no date functions in SQL). Dates are Moscow
dates, the zone the owner's digest uses too.
"""

from __future__ import annotations

import statistics
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from sqlalchemy import select

from ..extensions import db
from ..insight.figures import UNCONFIRMED_TALK
from ..models import CallbackRequest, Widget
from ..notify.digest import DIGEST_TZ
from ..statuses import HeldReason, Status
from ..statuses import talk_unconfirmed as _talk_unconfirmed
from .i18n import N_, _, format_share
from .owner_time import owner_zone

DISPLAY_TZ = DIGEST_TZ

# Every status a request can have, in the order the filter offers them.
STATUS_LABELS: dict[Status, str] = {
    Status.QUEUED: N_("В очереди"),
    Status.SCHEDULED: N_("Запланирована"),
    Status.RETRYING: N_("Повтор: АТС недоступна"),
    Status.CALLING_OPERATOR: N_("Звоним оператору"),
    Status.OPERATORS_BUSY: N_("Операторы заняты, повтор"),
    Status.CALLING_VISITOR: N_("Звоним посетителю"),
    Status.VISITOR_RETRY: N_("Посетитель не ответил, повтор"),
    Status.CONNECTED: N_("Идёт разговор"),
    # Each label completes "Заявка: …"; this one names the talk, so it agrees with itself.
    Status.FINISHED: N_("Разговор состоялся"),
    Status.NO_OPERATOR: N_("Не ответил ни один оператор"),
    Status.VISITOR_BUSY: N_("Посетитель занят"),
    Status.VISITOR_NO_ANSWER: N_("Посетитель не ответил"),
    Status.PBX_ERROR: N_("Ошибка АТС"),
    Status.CANCELLED: N_("Отменена посетителем"),
    Status.HELD: N_("Задержана"),
}
# A finished request whose talk nothing confirmed (its call was settled "unconfirmed"):
# «Разговор состоялся» would claim a talk nobody saw.
UNCONFIRMED_LABEL = N_("Завершена, разговор не подтверждён")

# Every held reason the service writes (statuses.HeldReason).
HELD_REASON_LABELS: dict[HeldReason, str] = {
    HeldReason.WIDGET_CAP: N_("превышен лимит звонков виджета"),
    HeldReason.LIMIT_STORE: N_("хранилище лимитов недоступно"),
    HeldReason.BLOCKED: N_("номер заблокирован"),
    HeldReason.BOT_TRAP: N_("похоже на бота"),
    HeldReason.NO_HOURS: N_("нет рабочих часов в ближайшие 14 дней"),
    HeldReason.NUMBER_LIMIT: N_("по номеру уже был звонок или превышен его лимит"),
}

# Why a request did not end in a talk, in the order the chart lists them.
REASON_LABELS = {
    "no_operator": N_("Не ответил ни один оператор"),
    "visitor": N_("Посетитель не ответил или занят"),
    "pbx_error": N_("Ошибка АТС"),
    "limits": N_("Задержана лимитами"),
    "blocked": N_("Номер заблокирован или бот"),
    "out_of_hours": N_("Нерабочее время"),
    "cancelled": N_("Отменена посетителем"),
}


OK_STATUSES = {"finished", "connected"}
BAD_STATUSES = {"no_operator", "visitor_busy", "visitor_no_answer", "pbx_error", "held"}


def status_label(status: str) -> str:
    return _(STATUS_LABELS.get(status, status))


def talk_unconfirmed(req: CallbackRequest) -> bool:
    """Finished, but nothing confirmed the talk (``statuses.talk_unconfirmed``)."""
    return _talk_unconfirmed(req.status, (a.outcome for a in req.attempts))


def request_status_label(req: CallbackRequest) -> str:
    """The status of one request in words, true of its talk too."""
    return _(UNCONFIRMED_LABEL) if talk_unconfirmed(req) else status_label(req.status)


def request_badge(req: CallbackRequest) -> str:
    return "badge-warn" if talk_unconfirmed(req) else status_badge(req.status)


def status_badge(status: str) -> str:
    """The badge class of a status: ok, bad, or warn for anything still open or cancelled."""
    if status in OK_STATUSES:
        return "badge-ok"
    if status in BAD_STATUSES:
        return "badge-bad"
    return "badge-warn"


def held_reason_label(reason: str | None) -> str:
    if not reason:
        return ""
    label = HELD_REASON_LABELS.get(reason)
    return _(label) if label else reason


def miss_reason(status: str, held_reason: str | None) -> str | None:
    """Why a final request did not end in a talk (a REASON_LABELS key), or None.

    None for a talk and for a request still open.
    """
    if held_reason == HeldReason.NO_HOURS:
        return "out_of_hours"  # ringing gives up as no_operator with this reason
    if status == Status.HELD:
        if held_reason in (HeldReason.BLOCKED, HeldReason.BOT_TRAP):
            return "blocked"
        return "limits"
    return {
        Status.NO_OPERATOR: "no_operator",
        Status.VISITOR_BUSY: "visitor",
        Status.VISITOR_NO_ANSWER: "visitor",
        Status.PBX_ERROR: "pbx_error",
        Status.CANCELLED: "cancelled",
    }.get(status)


def local_time(moment: datetime | None) -> datetime | None:
    """A naive-UTC database time in the display zone."""
    if moment is None:
        return None
    return moment.replace(tzinfo=UTC).astimezone(owner_zone())


def day_start_utc(day: date) -> datetime:
    """Naive UTC of midnight starting ``day`` in the display zone."""
    return datetime.combine(day, time(0), owner_zone()).astimezone(UTC).replace(tzinfo=None)


def format_duration(seconds: float | int | None) -> str:
    """``m:ss`` (or ``h:mm:ss``); empty for None."""
    if seconds is None:
        return ""
    seconds = int(round(seconds))
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}"


# -- period figures ------------------------------------------------------------------
@dataclass
class Figures:
    """Counts for one widget (or all) over the period."""

    total: int = 0
    connected: int = 0
    open: int = 0
    # Ended without a confirmed talk: neither connected nor missed, left out of the share.
    unconfirmed: int = 0
    waits: list[float] = field(default_factory=list)  # seconds from request to connection
    per_day: dict[date, int] = field(default_factory=dict)
    connected_per_day: dict[date, int] = field(default_factory=dict)
    reasons: dict[str, int] = field(default_factory=lambda: dict.fromkeys(REASON_LABELS, 0))

    @property
    def missed(self) -> int:
        return sum(self.reasons.values())

    @property
    def share_connected(self) -> float | None:
        """Connected among the requests that came to a known end (None when none did)."""
        settled = self.total - self.open - self.unconfirmed
        return self.connected / settled if settled else None

    @property
    def median_wait(self) -> float | None:
        return statistics.median(self.waits) if self.waits else None

    def add(self, status, held_reason, created_at, connected_at, unconfirmed=False) -> None:
        day = local_time(created_at).date()
        self.total += 1
        self.per_day[day] = self.per_day.get(day, 0) + 1
        if unconfirmed:
            self.unconfirmed += 1
            return
        if connected_at is not None:
            self.connected += 1
            self.connected_per_day[day] = self.connected_per_day.get(day, 0) + 1
            self.waits.append(max(0.0, (connected_at - created_at).total_seconds()))
            return
        reason = miss_reason(status, held_reason)
        if reason is None:
            self.open += 1
        else:
            self.reasons[reason] += 1


@dataclass
class Period:
    days: list[date]
    overall: Figures
    widgets: list[tuple[Widget, Figures]]


def period_days(days: int, today: date | None = None) -> list[date]:
    """The last ``days`` display-zone dates, today included, oldest first."""
    today = today or datetime.now(owner_zone()).date()
    return [today - timedelta(days=n) for n in range(days - 1, -1, -1)]


def period_figures(
    owner_id: int, days: int, *, widget_id: int | None = None, today: date | None = None
) -> Period:
    """Figures of an owner's requests (test calls left out) made in the last ``days`` days."""
    dates = period_days(days, today)
    start, end = day_start_utc(dates[0]), day_start_utc(dates[-1] + timedelta(days=1))
    widgets = db.session.scalars(
        select(Widget).where(Widget.owner_id == owner_id).order_by(Widget.id)
    ).all()
    query = (
        select(
            CallbackRequest.widget_id,
            CallbackRequest.status,
            CallbackRequest.held_reason,
            CallbackRequest.created_at,
            CallbackRequest.connected_at,
            UNCONFIRMED_TALK,
        )
        .join(Widget, Widget.id == CallbackRequest.widget_id)
        .where(
            Widget.owner_id == owner_id,
            CallbackRequest.is_test.is_(False),
            CallbackRequest.created_at >= start,
            CallbackRequest.created_at < end,
        )
    )
    if widget_id is not None:
        query = query.where(CallbackRequest.widget_id == widget_id)
    overall = Figures()
    per_widget: dict[int, Figures] = {}
    for wid, *row in db.session.execute(query):
        facts = (*row[:-1], bool(row[-1]))  # status, held reason, times, unconfirmed
        overall.add(*facts)
        per_widget.setdefault(wid, Figures()).add(*facts)
    shown = [w for w in widgets if widget_id is None or w.id == widget_id]
    return Period(dates, overall, [(w, per_widget.get(w.id, Figures())) for w in shown])


def widget_label(widget: Widget) -> str:
    return widget.name or widget.public_key


def share_text(share: float | None) -> str:
    """A share in whole percent as the page language writes it ("33 %", "33%"), or "—"."""
    return format_share(share)


def as_dict(figures: Figures) -> dict[str, Any]:
    """The headline numbers of a Figures, for templates and tests."""
    return {
        "total": figures.total,
        "connected": figures.connected,
        "missed": figures.missed,
        "open": figures.open,
        "unconfirmed": figures.unconfirmed,
        "share_connected": figures.share_connected,
        "median_wait": figures.median_wait,
    }


def talk_seconds(req: CallbackRequest) -> int | None:
    """The talk's length from ``call_info`` (the longest attempt), None when unknown."""
    # An unanswered call reports 0 s: that is no talk, not a talk of no length.
    known = [a.duration for a in req.attempts if a.duration]
    return max(known) if known else None
