"""Working hours: when a widget takes calls, and when a visitor may be rung.

Pure logic, no database and no clock of its own: every function is given the
moment it is about. **Times:** a moment passed in may be an aware datetime (any
zone) or a naive one, which means UTC (the database's convention); every moment
returned is an *aware* UTC datetime. ``utc_now()`` is the one clock the web layer
reads, so tests can replace it.

A widget's week is ``Widget.hours``: ``{"mon": [["09:00", "13:00"], ["14:00", "20:00"]],
...}`` in the widget's own time zone (``Widget.timezone``), several intervals a day,
start inclusive, end exclusive, ``"24:00"`` allowed as an end; a day that is missing
or empty is closed. ``None`` means the default, Mon–Fri 09:00–20:00. On top of the
week: the owner's days off (``Widget.days_off``) and, when ``Widget.public_holidays``
is set, Russia's public holidays and moved days off.

**Russian calendar** (the ``holidays`` package, ``holidays.RU``): it lists the public
holidays *and* the days off moved by government decree (e.g. 2026-01-09 and
2026-12-31, "Day off (substituted from ...)"), and it knows the moved *working* days,
the Saturdays worked instead (``weekend_workdays``, e.g. 2024-04-27, 2024-11-02,
2024-12-28, 2025-11-01). A moved working day is a working day: the widget uses its
Monday's hours that day (or its first weekday with hours when Monday is closed),
whatever it does on an ordinary Saturday. The package's data only goes as far as
the decrees published for the coming year; a decree it does not know yet is missed.

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
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from functools import lru_cache
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

log = logging.getLogger(__name__)

DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
DEFAULT_TIMEZONE = "Europe/Moscow"
DEFAULT_HOURS: dict[str, list[list[str]]] = {
    day: ([["09:00", "20:00"]] if day in DAYS[:5] else []) for day in DAYS
}
ALWAYS_OPEN: dict[str, list[list[str]]] = {day: [["00:00", "24:00"]] for day in DAYS}
NIGHT_START = 21  # hour, visitor's local time
NIGHT_END = 9
LOOKAHEAD_DAYS = 14
MIN_LEAD = timedelta(minutes=15)  # the first slot starts at least this far ahead

_HHMM = re.compile(r"^(\d{1,2}):(\d{2})$")
_ISO_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
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


# -- time zones --------------------------------------------------------------
def zone(name: Any) -> ZoneInfo | None:
    """The zone named ``Area/City``, or None for anything that is not one."""
    if not isinstance(name, str) or not 0 < len(name) <= 64 or name.startswith(("/", ".")):
        return None
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError, OSError):
        return None


def valid_timezone(name: Any) -> str | None:
    """``name`` when it is a known IANA zone, else None."""
    return name if zone(name) is not None else None


def _zone_or(name: Any, fallback: Any) -> ZoneInfo:
    return zone(name) or zone(fallback) or ZoneInfo(DEFAULT_TIMEZONE)


# -- the weekly schedule -------------------------------------------------------
def _minutes(value: Any, *, end: bool) -> int:
    match = _HHMM.match(value.strip()) if isinstance(value, str) else None
    if not match:
        raise ValueError(f"{value!r} is not a time like 09:00")
    hours, minutes = int(match[1]), int(match[2])
    if end and (hours, minutes) == (24, 0):
        return 24 * 60
    if hours > 23 or minutes > 59:
        raise ValueError(f"{value!r} is not a time of day (00:00–23:59, or 24:00 as an end)")
    return hours * 60 + minutes


def _hhmm(minutes: int) -> str:
    return f"{minutes // 60:02d}:{minutes % 60:02d}"


def _parse_intervals(day: str, value: Any) -> list[tuple[int, int]]:
    if value is None or value == "" or (isinstance(value, str) and value.lower() == "closed"):
        return []
    if isinstance(value, str):
        value = [part for part in value.split(",") if part.strip()]
    if not isinstance(value, list | tuple):
        raise ValueError(f"{day}: expected a list of [start, end] intervals")
    intervals = []
    for item in value:
        if isinstance(item, str):
            start, sep, finish = item.partition("-")
            if not sep:
                raise ValueError(f"{day}: {item!r} is not an interval like 09:00-13:00")
            item = [start, finish]
        if not isinstance(item, list | tuple) or len(item) != 2:
            raise ValueError(f'{day}: {item!r} is not an interval like ["09:00", "13:00"]')
        try:
            start, finish = _minutes(item[0], end=False), _minutes(item[1], end=True)
        except ValueError as exc:
            raise ValueError(f"{day}: {exc}") from None
        if start >= finish:
            raise ValueError(
                f"{day}: {_hhmm(start)}-{_hhmm(finish)} ends before it starts "
                "(an interval may not cross midnight; use 24:00 and 00:00)"
            )
        intervals.append((start, finish))
    intervals.sort()
    for (s1, e1), (s2, e2) in zip(intervals, intervals[1:], strict=False):
        if s2 < e1:
            raise ValueError(f"{day}: {_hhmm(s1)}-{_hhmm(e1)} and {_hhmm(s2)}-{_hhmm(e2)} overlap")
    return intervals


def parse_hours(value: Any) -> dict[str, list[list[str]]]:
    """Validate a weekly schedule and return it normalised (all seven days, sorted).

    Each day is a list of ``["HH:MM", "HH:MM"]`` pairs, or ``"HH:MM-HH:MM"`` strings, or
    one comma-separated string; ``[]``/``""``/``"closed"`` close the day, a missing day
    is closed.

    :raise ValueError: the message names the day and what is wrong with it.
    """
    if not isinstance(value, Mapping):
        raise ValueError('working hours must be an object like {"mon": [["09:00", "20:00"]]}')
    unknown = [str(k) for k in value if k not in DAYS]
    if unknown:
        raise ValueError(f"unknown day {unknown[0]!r}; days are {', '.join(DAYS)}")
    return {
        day: [[_hhmm(s), _hhmm(e)] for s, e in _parse_intervals(day, value.get(day))]
        for day in DAYS
    }


def parse_day_arg(value: str) -> tuple[str, list[list[str]]]:
    """``mon=09:00-13:00,14:00-20:00`` (or ``sat=closed``) → ``("mon", [[...], ...])``."""
    day, sep, spec = (value or "").partition("=")
    day = day.strip().lower()
    if not sep or day not in DAYS:
        raise ValueError(
            f"{value!r}: expected DAY=HH:MM-HH:MM[,HH:MM-HH:MM...] with DAY one of {', '.join(DAYS)}"
        )
    return day, parse_hours({day: spec.strip()})[day]


def parse_days_off(values: Iterable[Any]) -> list[str]:
    """Validate ``YYYY-MM-DD`` dates; return them sorted without duplicates."""
    clean = set()
    for value in values:
        if not isinstance(value, str) or not _ISO_DATE.match(value.strip()):
            raise ValueError(f"{value!r} is not a date like 2026-12-31")
        try:
            clean.add(date.fromisoformat(value.strip()).isoformat())
        except ValueError:
            raise ValueError(f"{value!r} is not a real date") from None
    return sorted(clean)


# -- the Russian calendar ------------------------------------------------------
@lru_cache(maxsize=32)
def _russian_calendar(year: int):
    import holidays

    return holidays.RU(years=year)


def public_holiday(day: date) -> str | None:
    """The name of the Russian public holiday or moved day off on ``day``, else None."""
    return _russian_calendar(day.year).get(day)


def moved_working_day(day: date) -> bool:
    """True for a weekend day that is worked by decree (a moved working day)."""
    return day in _russian_calendar(day.year).weekend_workdays


# -- one widget's plan ----------------------------------------------------------
def _night_guard(night_guard: bool | None) -> bool:
    if night_guard is not None:
        return night_guard
    from flask import current_app, has_app_context

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
        tz = _zone_or(getattr(widget, "timezone", None), DEFAULT_TIMEZONE)
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
                i: [(_minutes(s, end=False), _minutes(e, end=True)) for s, e in week[day]]
                for i, day in enumerate(DAYS)
            },
            days_off=frozenset(days_off),
            public_holidays=bool(getattr(widget, "public_holidays", True)),
            visitor_tz=_zone_or(visitor_tz, tz.key),
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
    return _night_in(_zone_or(visitor_tz, fallback_tz), as_utc(at))


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
    tz = _zone_or(visitor_tz, fallback_tz)
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


def describe(widget: Any) -> str:
    """The widget's hours as a few lines of text, for the command line."""
    hours = widget.hours if widget.hours is not None else DEFAULT_HOURS
    try:
        week = parse_hours(hours)
    except ValueError as exc:
        return f"invalid stored hours: {exc}"
    lines = [f"time zone {widget.timezone}"]
    for day in DAYS:
        spans = ", ".join(f"{s}-{e}" for s, e in week[day]) or "closed"
        lines.append(f"  {day}: {spans}")
    lines.append(
        "Russian public holidays: "
        + ("days off (moved working days are worked)" if widget.public_holidays else "ignored")
    )
    if widget.days_off:
        lines.append("days off: " + ", ".join(widget.days_off))
    return "\n".join(lines)


def scheduled_view(req: Any, language: str, now: datetime | None = None) -> dict[str, Any]:
    """Status fields of a scheduled request: its message with the time, and the time.

    The time is the request's next dispatch (or the slot the visitor picked), shown in
    the visitor's zone (the widget's when unknown).
    """
    from ..visitor.texts import scheduled_message, status_message

    when = req.next_dispatch_at or req.scheduled_for
    if when is None:
        return {"message": status_message(language, "scheduled"), "scheduled_for": None}
    label = format_slot(
        when, req.visitor_tz, language, now or utc_now(), req.widget.timezone or DEFAULT_TIMEZONE
    )
    return {"message": scheduled_message(language, label), "scheduled_for": iso_utc(when)}
