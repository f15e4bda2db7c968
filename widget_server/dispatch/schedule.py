"""A widget's week as stored: time zones, hours and days off, the Russian calendar.

Parsing and validation only, shared by the config page, the command line and
``hours`` (which answers when a widget is open).

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
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from datetime import date
from functools import lru_cache
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
DEFAULT_TIMEZONE = "Europe/Moscow"
DEFAULT_HOURS: dict[str, list[list[str]]] = {
    day: ([["09:00", "20:00"]] if day in DAYS[:5] else []) for day in DAYS
}
ALWAYS_OPEN: dict[str, list[list[str]]] = {day: [["00:00", "24:00"]] for day in DAYS}

_HHMM = re.compile(r"^(\d{1,2}):(\d{2})$")
_ISO_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")


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


def zone_or(name: Any, fallback: Any) -> ZoneInfo:
    return zone(name) or zone(fallback) or ZoneInfo(DEFAULT_TIMEZONE)


# -- the weekly schedule -------------------------------------------------------
def minutes_of(value: Any, *, end: bool) -> int:
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
            start, finish = minutes_of(item[0], end=False), minutes_of(item[1], end=True)
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
    import holidays  # on first use: importing it takes about 0.1 s of start-up

    return holidays.RU(years=year)


def public_holiday(day: date) -> str | None:
    """The name of the Russian public holiday or moved day off on ``day``, else None."""
    return _russian_calendar(day.year).get(day)


def moved_working_day(day: date) -> bool:
    """True for a weekend day that is worked by decree (a moved working day)."""
    return day in _russian_calendar(day.year).weekend_workdays


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
