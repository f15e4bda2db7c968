"""One time zone per owner for every time the config page shows (``owners.timezone``),
and how long ago something happened, in words."""

from __future__ import annotations

from datetime import UTC, datetime

from flask import g, has_app_context

from ..clock import utcnow
from ..dispatch import schedule
from .blueprint import bp
from .i18n import _, ngettext

DEFAULT_ZONE = "Europe/Moscow"


def owner_zone():
    """The signed-in owner's zone; Moscow outside a request (the digest, the tests' figures)."""
    owner = g.get("owner") if has_app_context() else None
    return schedule.zone(getattr(owner, "timezone", None)) or schedule.zone(DEFAULT_ZONE)


def ago(moment: datetime, now: datetime | None = None) -> str:
    """ "только что", "2 мин назад", "3 ч назад", "5 дней назад"."""
    seconds = max(0, int(((now or utcnow()) - moment).total_seconds()))
    if seconds < 60:
        return _("только что")
    if seconds < 3600:
        return _("%(n)s мин назад", n=seconds // 60)
    if seconds < 86400:
        return _("%(n)s ч назад", n=seconds // 3600)
    return ngettext(
        "%(num)s день назад",
        "%(num)s дней назад",
        seconds // 86400,
        few="%(num)s дня назад",
    )


def owner_time(moment: datetime | None) -> datetime | None:
    """A naive-UTC database time in the signed-in owner's zone (aware)."""
    if moment is None:
        return None
    return moment.replace(tzinfo=UTC).astimezone(owner_zone())


def owner_time_text(moment: datetime | None, fmt: str = "%d.%m.%Y %H:%M") -> str:
    """The time as the owner reads it, with the zone's abbreviation or offset."""
    local = owner_time(moment)
    if local is None:
        return ""
    return f"{local.strftime(fmt)} ({local.tzname()})"


def owner_zone_label() -> str:
    """The zone's short name now ("MSK", "+05"), for a column heading."""
    return datetime.now(owner_zone()).tzname() or ""


@bp.record_once
def _template_filter(state) -> None:
    state.app.jinja_env.filters["owner_time"] = owner_time_text
    state.app.jinja_env.globals["owner_zone_label"] = owner_zone_label
