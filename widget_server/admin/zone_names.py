"""Time zones as an owner knows them: by city, with the offset from Moscow ("Екатеринбург
(МСК+2)"), never by the IANA name ("Asia/Yekaterinburg") the settings store.

City names come from Babel (CLDR) in the page language, so an English owner reads
"Yekaterinburg (MSK+2)".
"""

from __future__ import annotations

from datetime import UTC, datetime

from babel.dates import get_timezone_location

from ..dispatch import schedule
from .i18n import _, format_number, page_locale
from .widget_forms import RUSSIAN_ZONES

MOSCOW = "Europe/Moscow"


def _offset_hours(zone: str, now: datetime) -> float:
    """How many hours ``zone`` is ahead of Moscow at ``now``."""
    here = schedule.zone(zone).utcoffset(now.replace(tzinfo=None))
    moscow = schedule.zone(MOSCOW).utcoffset(now.replace(tzinfo=None))
    return (here - moscow).total_seconds() / 3600


def zone_name(zone: str | None, now: datetime | None = None) -> str:
    """ "Екатеринбург (МСК+2)"; a zone outside Russia by its place and name; "" for none."""
    if not zone or schedule.zone(zone) is None:
        return zone or ""
    now = now or datetime.now(UTC)
    city = get_timezone_location(zone, locale=page_locale(), return_city=True)
    if zone not in RUSSIAN_ZONES:
        return _("%(city)s (%(zone)s)", city=city, zone=zone)
    hours = _offset_hours(zone, now)
    if hours == 0:
        return _("%(city)s (МСК)", city=city)
    sign = "+" if hours > 0 else "−"  # a real minus sign, as print has it
    return _("%(city)s (МСК%(offset)s)", city=city, offset=sign + format_number(abs(hours)))


def zone_choices(current: str | None = None) -> list[tuple[str, str]]:
    """(zone, name) for a select: Russia's zones west to east, and ``current`` when it is
    a real zone set elsewhere (the command line takes any), so saving keeps it."""
    zones = list(RUSSIAN_ZONES)
    if current and current not in zones and schedule.valid_timezone(current):
        zones.append(current)
    return [(zone, zone_name(zone)) for zone in zones]
