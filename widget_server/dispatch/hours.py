"""Working hours: when a widget takes calls, and when a visitor may be rung.

Pure logic, no database and no clock of its own: every function is given the
moment it is about. **Times:** a moment passed in may be an aware datetime (any
zone) or a naive one, which means UTC (the database's convention); every moment
returned is an *aware* UTC datetime. ``utc_now()`` is the one clock the web layer
reads, so tests can replace it.

A widget's week and its parsing are in ``schedule``; this module answers the
questions about it: is it open, is it night for the visitor, when may we call.

**Night:** nobody is rung between 21:00 and 09:00 in the visitor's time zone (the
widget's zone when the visitor's is unknown). The guard belongs to the service,
not to the owner: ``WIDGET_NIGHT_GUARD`` (default on) may turn it off for demos and
tests only, and turning it off also drops the *default* hours, so a widget with no
hours of its own is then always open. Functions take ``night_guard=None`` to read
that setting from the current app (True outside an app), or an explicit bool.
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from flask import current_app, has_app_context

from .schedule import (
    ALWAYS_OPEN,
    DAYS,
    DEFAULT_HOURS,
    DEFAULT_TIMEZONE,
    minutes_of,
    moved_working_day,
    parse_hours,
    public_holiday,
    valid_timezone,  # noqa: F401  (the widget API reads a visitor's zone here)
    zone_or,
)

log = logging.getLogger(__name__)

NIGHT_START = 21  # hour, visitor's local time
NIGHT_END = 9
LOOKAHEAD_DAYS = 14
MIN_LEAD = timedelta(minutes=15)  # the first slot starts at least this far ahead

_MONTHS = {
    "ru": [
        "января",
        "февраля",
        "марта",
        "апреля",
        "мая",
        "июня",
        "июля",
        "августа",
        "сентября",
        "октября",
        "ноября",
        "декабря",
    ],
    "en": [
        "January",
        "February",
        "March",
        "April",
        "May",
        "June",
        "July",
        "August",
        "September",
        "October",
        "November",
        "December",
    ],
}
_WEEKDAYS = {
    "ru": ["пн", "вт", "ср", "чт", "пт", "сб", "вс"],
    "en": ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"],
}
_RELATIVE = {
    "ru": ("сегодня в {t}", "завтра в {t}", "{d} в {t}"),
    "en": ("today at {t}", "tomorrow at {t}", "{d} at {t}"),
}


def utc_now() -> datetime:
    """The current moment, aware UTC (tests replace this)."""
    return datetime.now(UTC)


def as_utc(at: datetime) -> datetime:
    """An aware UTC datetime; a naive one is taken to be UTC already."""
    return at.replace(tzinfo=UTC) if at.tzinfo is None else at.astimezone(UTC)


# -- one widget's plan ----------------------------------------------------------
def _night_guard(night_guard: bool | None) -> bool:
    if night_guard is not None:
        return night_guard
    return bool(current_app.config.get("NIGHT_GUARD", True)) if has_app_context() else True


@dataclass
class _Plan:
    """A widget's hours, parsed once for many questions."""

    tz: ZoneInfo
    week: dict[int, list[tuple[int, int]]]
    days_off: frozenset[date]
    public_holidays: bool
    visitor_tz: ZoneInfo
    night_guard: bool

    @classmethod
    def of(cls, widget: Any, visitor_tz: str | None, night_guard: bool | None) -> _Plan:
        guard = _night_guard(night_guard)
        tz = zone_or(getattr(widget, "timezone", None), DEFAULT_TIMEZONE)
        hours = getattr(widget, "hours", None)
        if hours is None:
            hours = DEFAULT_HOURS if guard else ALWAYS_OPEN
        try:
            week = parse_hours(hours)
        except ValueError as exc:
            log.warning(
                "widget %s: stored hours are invalid (%s); using the default",
                getattr(widget, "id", "?"),
                exc,
            )
            week = DEFAULT_HOURS
        days_off = set()
        for raw in getattr(widget, "days_off", None) or []:
            try:
                days_off.add(date.fromisoformat(str(raw)))
            except ValueError:
                log.warning("widget %s: day off %r ignored", getattr(widget, "id", "?"), raw)
        return cls(
            tz=tz,
            week={
                i: [(minutes_of(s, end=False), minutes_of(e, end=True)) for s, e in week[day]]
                for i, day in enumerate(DAYS)
            },
            days_off=frozenset(days_off),
            public_holidays=bool(getattr(widget, "public_holidays", True)),
            visitor_tz=zone_or(visitor_tz, tz.key),
            night_guard=guard,
        )

    def intervals_on(self, day: date) -> list[tuple[int, int]]:
        """The open intervals (minutes from local midnight) of one local date."""
        if day in self.days_off:
            return []
        if self.public_holidays:
            if public_holiday(day):
                return []
            if moved_working_day(day):
                weekdays = [self.week[i] for i in range(5) if self.week[i]]
                return weekdays[0] if weekdays else self.week[day.weekday()]
        return self.week[day.weekday()]

    def is_open(self, at: datetime) -> bool:
        local = at.astimezone(self.tz)
        second = local.hour * 3600 + local.minute * 60 + local.second
        return any(s * 60 <= second < e * 60 for s, e in self.intervals_on(local.date()))

    def is_night(self, at: datetime) -> bool:
        return _night_in(self.visitor_tz, at)

    def can_call(self, at: datetime) -> bool:
        return self.is_open(at) and not (self.night_guard and self.is_night(at))


def _night_in(tz: ZoneInfo, at: datetime) -> bool:
    hour = at.astimezone(tz).hour
    return hour >= NIGHT_START or hour < NIGHT_END


# -- the questions -------------------------------------------------------------
def is_open(widget: Any, at: datetime) -> bool:
    """Inside one of the widget's intervals for that local day, not a day off or holiday.

    Always uses the widget's own hours, or the default Mon–Fri 09:00–20:00.
    """
    return _Plan.of(widget, None, night_guard=True).is_open(as_utc(at))


def is_night(visitor_tz: str | None, at: datetime, fallback_tz: str = DEFAULT_TIMEZONE) -> bool:
    """21:00–09:00 in the visitor's zone (``fallback_tz`` when it is missing or unknown)."""
    return _night_in(zone_or(visitor_tz, fallback_tz), as_utc(at))


def can_call_now(
    widget: Any, visitor_tz: str | None, at: datetime, *, night_guard: bool | None = None
) -> bool:
    """The widget is open and it is not night for the visitor."""
    return _Plan.of(widget, visitor_tz, night_guard).can_call(as_utc(at))


def next_slots(
    widget: Any,
    visitor_tz: str | None,
    now: datetime,
    count: int = 6,
    step_minutes: int = 30,
    *,
    night_guard: bool | None = None,
) -> list[datetime]:
    """Up to ``count`` slot starts (aware UTC) at which the visitor may be called.

    Slots lie on ``step_minutes`` boundaries of the widget's local clock, the first
    at least 15 minutes from ``now``, and within the next 14 days.
    """
    plan = _Plan.of(widget, visitor_tz, night_guard)
    now = as_utc(now)
    step = timedelta(minutes=step_minutes)
    earliest = now + MIN_LEAD
    offset = earliest.astimezone(plan.tz).utcoffset() or timedelta(0)
    epoch = datetime(1970, 1, 1, tzinfo=UTC)
    steps = math.ceil((earliest + offset - epoch) / step)
    slot = epoch + steps * step - offset
    until = now + timedelta(days=LOOKAHEAD_DAYS)
    slots: list[datetime] = []
    while slot <= until and len(slots) < count:
        if plan.can_call(slot):
            slots.append(slot)
        slot += step
    return slots


def next_call_time(
    widget: Any, visitor_tz: str | None, at: datetime, *, night_guard: bool | None = None
) -> datetime | None:
    """The earliest moment ≥ ``at`` (aware UTC) when the visitor may be called.

    None when there is none within 14 days (a widget with no hours at all).
    """
    plan = _Plan.of(widget, visitor_tz, night_guard)
    at = as_utc(at)
    if plan.can_call(at):
        return at
    until = at + timedelta(days=LOOKAHEAD_DAYS)
    # Calling becomes possible only when an interval opens or the visitor's night ends.
    candidates = []
    first = at.astimezone(plan.tz).date() - timedelta(days=1)
    for n in range(LOOKAHEAD_DAYS + 3):
        day = first + timedelta(days=n)
        for start, _end in plan.intervals_on(day):
            local = datetime.combine(day, time(start // 60, start % 60), tzinfo=plan.tz)
            candidates.append(local.astimezone(UTC))
    if plan.night_guard:
        first = at.astimezone(plan.visitor_tz).date() - timedelta(days=1)
        for n in range(LOOKAHEAD_DAYS + 3):
            morning = datetime.combine(
                first + timedelta(days=n), time(NIGHT_END), tzinfo=plan.visitor_tz
            )
            candidates.append(morning.astimezone(UTC))
    for moment in sorted(c for c in candidates if at <= c <= until):
        if plan.can_call(moment):
            return moment
    return None


def format_slot(
    at: datetime,
    visitor_tz: str | None,
    language: str,
    now: datetime,
    fallback_tz: str = DEFAULT_TIMEZONE,
) -> str:
    """A moment as the visitor reads it, in their zone and language.

    "сегодня в 10:00", "завтра в 09:30", "пн, 5 января в 09:00";
    "today at 10:00", "tomorrow at 09:30", "Mon, 5 January at 09:00".
    """
    lang = language if language in _RELATIVE else "ru"
    tz = zone_or(visitor_tz, fallback_tz)
    local, today = as_utc(at).astimezone(tz), as_utc(now).astimezone(tz).date()
    clock = local.strftime("%H:%M")
    today_t, tomorrow_t, other_t = _RELATIVE[lang]
    if local.date() == today:
        return today_t.format(t=clock)
    if local.date() == today + timedelta(days=1):
        return tomorrow_t.format(t=clock)
    day = f"{_WEEKDAYS[lang][local.weekday()]}, {local.day} {_MONTHS[lang][local.month - 1]}"
    return other_t.format(d=day, t=clock)


def iso_utc(at: datetime) -> str:
    """``2026-11-27T07:00:00Z``."""
    return as_utc(at).replace(tzinfo=None).isoformat(timespec="seconds") + "Z"
