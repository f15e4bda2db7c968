"""The widget editor's settings in words: limits as "не больше [2] звонков на номер за
[30] [мин]", countries as a list with a daily cap, working hours with messages in the
page language. Each serialises to the stored format the command line also writes
(``1/30minute;2/day``, ``{"KZ": 20}``), so nothing else changes.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from types import SimpleNamespace

from flask import current_app, request
from limits import parse_many

from .. import setup
from ..dispatch import hours, schedule
from ..models import Widget
from ..phones import ABKHAZIA
from .i18n import N_, _, format_number, ngettext
from .zone_names import zone_name

# The unit after "не больше [2] звонков за [30] [мин]" in the editor: abbreviations that
# read right after any number ("за 1 сут.", "за 5 сут."), since the number is an input.
UNITS = {"minute": N_("мин"), "hour": N_("ч"), "day": N_("сут.")}
PER_UNIT = {
    "minute": N_("%(count)s в минуту"),
    "hour": N_("%(count)s в час"),
    "day": N_("%(count)s в день"),
}
LIMIT_ROWS = 2
# Countries an owner is likely to call; a code stored before and not listed here is kept.
COUNTRY_NAMES = {
    "KZ": N_("Казахстан"),
    "BY": N_("Беларусь"),
    ABKHAZIA: N_("Абхазия"),
    "AM": N_("Армения"),
    "AZ": N_("Азербайджан"),
    "GE": N_("Грузия"),
    "KG": N_("Киргизия"),
    "UZ": N_("Узбекистан"),
    "TJ": N_("Таджикистан"),
    "TM": N_("Туркменистан"),
    "MD": N_("Молдова"),
    "MN": N_("Монголия"),
    "TR": N_("Турция"),
    "AE": N_("ОАЭ"),
    "CN": N_("Китай"),
    "DE": N_("Германия"),
}
COUNTRY_ROWS = 3
INTERVAL = re.compile(r"^(\d{1,2}):(\d{2})\s*[-–—]\s*(\d{1,2}):(\d{2})$")


@dataclass
class LimitRow:
    count: str = ""
    span: str = ""
    unit: str = "minute"
    error: str | None = None


@dataclass
class CountryRow:
    code: str = ""
    cap: str = ""
    error: str | None = None


def within(unit: str, span: int) -> str:
    """ "за 1 минуту", "за 2 часа", "за 5 дней": a span whose words agree with its number."""
    if unit == "second":
        return ngettext("за %(num)s секунду", "за %(num)s секунд", span, few="за %(num)s секунды")
    if unit == "minute":
        return ngettext("за %(num)s минуту", "за %(num)s минут", span, few="за %(num)s минуты")
    if unit == "hour":
        return ngettext("за %(num)s час", "за %(num)s часов", span, few="за %(num)s часа")
    if unit == "day":
        return ngettext("за %(num)s день", "за %(num)s дней", span, few="за %(num)s дня")
    if unit == "month":
        return ngettext("за %(num)s месяц", "за %(num)s месяцев", span, few="за %(num)s месяца")
    return ngettext("за %(num)s год", "за %(num)s лет", span, few="за %(num)s года")


def limit_words(text: str) -> str:
    """``1/5minute;3/hour`` → "1 за 5 минут, 3 в час"."""
    parts = []
    for item in parse_many(text) if text else []:
        name = item.GRANULARITY.name
        if item.multiples == 1 and name in PER_UNIT:
            parts.append(_(PER_UNIT[name], count=format_number(item.amount)))
            continue
        parts.append(
            _(
                "%(count)s %(within)s",
                count=format_number(item.amount),
                within=within(name, item.multiples),
            )
        )
    # Without a closing dot: the sentence around it has its own.
    return ", ".join(parts).rstrip(".")


def limit_rows(text: str | None) -> list[LimitRow]:
    """The stored limit as rows for the form, padded with empty ones."""
    rows = [
        LimitRow(str(item.amount), str(item.multiples), item.GRANULARITY.name)
        for item in (parse_many(text) if text else [])
        if item.GRANULARITY.name in UNITS
    ]
    return rows + [LimitRow() for _ in range(max(0, LIMIT_ROWS - len(rows)))]


def read_limit_rows(kind: str, base: str) -> tuple[list[LimitRow], str | None, bool]:
    """The posted rows of ``kind`` (``per_number`` | ``cap``): (rows, stored form, ok)."""
    rows, parts = [], []
    for n in range(1, LIMIT_ROWS + 1):
        row = LimitRow(
            (request.form.get(f"{kind}-count-{n}") or "").strip(),
            (request.form.get(f"{kind}-span-{n}") or "").strip(),
            (request.form.get(f"{kind}-unit-{n}") or "minute").strip(),
        )
        rows.append(row)
        if not row.count and not row.span:
            continue
        if not (row.count.isdigit() and 1 <= int(row.count) <= 1000):
            row.error = _("Сколько звонков: число от 1 до 1000.")
        elif not (row.span.isdigit() and 1 <= int(row.span) <= 999):
            row.error = _("За сколько: число от 1 до 999.")
        elif row.unit not in UNITS:
            row.error = _("Выберите значение из списка.")
        else:
            span = "" if int(row.span) == 1 else str(int(row.span))
            parts.append(f"{int(row.count)}/{span}{row.unit}")
    if any(r.error for r in rows):
        return rows, None, False
    stored = ";".join(parts) or None
    if stored:
        try:
            setup.check_own_limit(kind, stored)
        except setup.SetupError:
            rows[0].error = _(
                "Это не строже ограничений сервера (%(base)s) и ничего не изменит: свои "
                "ограничения могут только ужесточать.",
                base=limit_words(base),
            )
            return rows, None, False
    return rows, stored, True


def country_rows(countries: dict | None) -> list[CountryRow]:
    rows = [CountryRow(code, str(cap)) for code, cap in (countries or {}).items()]
    return rows + [CountryRow() for _ in range(max(1, COUNTRY_ROWS - len(rows)))]


def country_choices(rows: list[CountryRow]) -> list[tuple[str, str]]:
    """(code, name) for the select: the list above, plus any code already chosen."""
    names = {code: _(name) for code, name in COUNTRY_NAMES.items()}
    for row in rows:
        if row.code:
            names.setdefault(row.code, row.code)
    return sorted(names.items(), key=lambda item: item[1])


def read_country_rows() -> tuple[list[CountryRow], dict[str, int] | None]:
    """The posted countries: (rows, {code: daily cap}) or (rows, None) with row errors."""
    codes = request.form.getlist("country-code")
    caps = request.form.getlist("country-cap")
    rows = [
        CountryRow(c.strip().upper(), (p or "").strip()) for c, p in zip(codes, caps, strict=False)
    ]
    chosen: dict[str, int] = {}
    for row in rows:
        if not row.code and not row.cap:
            continue
        if not row.code:
            row.error = _("Выберите страну.")
        elif row.code in chosen:
            row.error = _("Эта страна уже есть в списке.")
        elif not (row.cap.isdigit() and 1 <= int(row.cap) <= 1000):
            row.error = _("Звонков в день: число от 1 до 1000.")
        else:
            try:
                chosen.update(setup.parse_countries([f"{row.code}={row.cap}"]))
            except setup.SetupError:
                row.error = _("Выберите страну из списка.")
    if all(r.code for r in rows):
        rows.append(CountryRow())  # room for one more
    return rows, None if any(r.error for r in rows) else chosen


def day_error(text: str) -> str | None:
    """Why a day's hours cannot be read, in words; None when they can (empty: a day off)."""
    spans = []
    for part in (p.strip() for p in (text or "").split(",")):
        if not part:
            continue
        match = INTERVAL.match(part)
        if not match:
            return _("«%(value)s» — не интервал вида 09:00-20:00.", value=part)
        h1, m1, h2, m2 = (int(x) for x in match.groups())
        if h1 > 23 or m1 > 59 or h2 > 24 or m2 > 59 or (h2 == 24 and m2):
            return _("«%(value)s»: время бывает от 00:00 до 24:00.", value=part)
        start, end = h1 * 60 + m1, h2 * 60 + m2
        if start >= end:
            return _("«%(value)s»: начало должно быть раньше конца.", value=part)
        spans.append((start, end, part))
    spans.sort()
    for (_s1, e1, one), (s2, _e2, two) in zip(spans, spans[1:], strict=False):
        if s2 < e1:
            return _("«%(one)s» и «%(two)s» пересекаются.", one=one, two=two)
    return None


@dataclass
class Words:
    """The editor's settings in words, as rows for the template."""

    per_number: list[LimitRow]
    cap: list[LimitRow]
    countries: list[CountryRow]
    ok: bool = True


def limit_bases() -> dict[str, str]:
    """The installation's limits an owner's own can only tighten."""
    config = current_app.config
    return {
        "per_number": f"{config['RATELIMIT_WIDGET_NUMBER']};{config['RATELIMIT_NUMBER']}",
        "cap": config["WIDGET_CAP"],
    }


def words_of(widget: Widget | None) -> Words:
    limits = (widget.limits or {}) if widget else {}
    return Words(
        limit_rows(limits.get("per_number")),
        limit_rows(limits.get("cap")),
        country_rows(widget.countries if widget else None),
    )


def read_words(form) -> Words:
    """Read the rows from the posted form and hand the stored forms to the form's own
    fields (their validators then see only values already checked here)."""
    bases, posted, ok = limit_bases(), request.form, True
    words = Words(limit_rows(None), limit_rows(None), country_rows(None))
    # A post without the rows (a script written for the older text fields) keeps those.
    if "per_number-count-1" in posted:
        words.per_number, text, fine = read_limit_rows("per_number", bases["per_number"])
        form.limit_per_number.data, ok = text or "", ok and fine
    if "cap-count-1" in posted:
        words.cap, text, fine = read_limit_rows("cap", bases["cap"])
        form.limit_cap.data, ok = text or "", ok and fine
    if "country-code" in posted:
        words.countries, chosen = read_country_rows()
        form.countries.data = "\n".join(f"{code}={n}" for code, n in (chosen or {}).items())
        ok = ok and chosen is not None
    words.ok = ok
    return words


def hours_in_words(form, days) -> bool:
    """Put a message in words next to each day whose hours cannot be read; True if any."""
    bad = False
    for field in days:
        error = day_error(field.data or "")
        if error:
            field.errors = [*field.errors, error]
            bad = True
    return bad


def open_now_line(widget: Widget | None, language: str) -> str | None:
    """ "Сейчас открыто" / "Сейчас закрыто: откроется завтра в 09:00" for a saved widget."""
    if widget is None:
        return None
    now = hours.utc_now()
    if hours.is_open(widget, now):
        return _("Сейчас открыто: по заявкам звоним сразу.")
    # Without the night guard, a widget with no hours of its own would count as always
    # open and "open" right now ("откроется сегодня в 23:38"): ask about its default week.
    week = widget.hours if widget.hours is not None else schedule.DEFAULT_HOURS
    plan = SimpleNamespace(
        id=widget.id,
        timezone=widget.timezone,
        hours=week,
        days_off=widget.days_off,
        public_holidays=widget.public_holidays,
    )
    opens = hours.next_call_time(plan, widget.timezone, now, night_guard=False)
    if opens is None:
        return _("Сейчас закрыто, и в ближайшие две недели рабочих часов нет.")
    when = hours.format_slot(opens, widget.timezone, language, now, widget.timezone)
    # "Екатеринбург (МСК+2)" has its own brackets: the zone follows a comma, not in brackets.
    return _(
        "Сейчас закрыто: откроется %(when)s, часовой пояс: %(zone)s.",
        when=when,
        zone=zone_name(widget.timezone),
    )
