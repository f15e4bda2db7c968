"""Config page language: Russian is the source text, English comes from the gettext catalog.

Translations live in ``widget_server/translations/en/LC_MESSAGES/messages.po`` (Flask-Babel);
``make messages`` extracts the strings and ``make translations`` compiles the catalog.
Placeholders are ``%(name)s``, filled by ``_(text, name=value)``. A string kept in a table and
translated later (a label, a choice) is marked with ``N_`` so that extraction finds it.

A count with a word that agrees with it goes through :func:`ngettext`, and a number or a
share through :func:`format_number` / :func:`format_share`: both follow the page language
with Babel's (CLDR's) rules, so Russian reads "1 заявка, 2 заявки, 5 заявок, 90,9 %" and
English "1 request, 2 requests, 90.9%".
"""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal

from babel import Locale, numbers
from flask import g, request, session
from flask_babel import get_locale, get_translations, gettext, refresh

LANGUAGES = ("ru", "en")
DEFAULT_LANGUAGE = "ru"
# The language the texts in the code are written in: it has no catalog of its own.
SOURCE_LANGUAGE = "ru"

_ = gettext


def N_(text: str) -> str:
    """Mark ``text`` for extraction; it is translated where it is shown."""
    return text


def page_locale() -> Locale:
    """The page language as a Babel locale (Russian outside a request)."""
    return get_locale() or Locale.parse(DEFAULT_LANGUAGE)


def format_number(number: int | float | Decimal) -> str:
    """A number as the page language writes it: "12 345" in Russian, "12,345" in English."""
    return numbers.format_decimal(number, locale=page_locale())


def format_share(share: float | Decimal | None, digits: int = 0) -> str:
    """A share (0.909) as a percentage: "90,9 %" / "90.9%" with ``digits=1``; "—" for None.

    Rounded half up to ``digits`` places, trailing zeros dropped ("50 %", not "50,0 %").
    """
    if share is None:
        return "—"
    step = Decimal(1).scaleb(-(digits + 2))  # 0.001 for one digit after the comma
    value = Decimal(str(share)).quantize(step, ROUND_HALF_UP)
    return numbers.format_percent(value, locale=page_locale(), decimal_quantization=False)


def ngettext(singular: str, plural: str, num: int | float, *, few: str, **variables) -> str:
    """``num`` with the words that agree with it, in the page language.

    gettext has two forms per message (msgid, msgid_plural) and assumes an English-like
    source language; Russian needs three. So the Russian texts are: ``singular`` for
    1, 21, 31… ("%(num)s заявка"), ``few`` for 2–4, 22–24… ("%(num)s заявки") and
    ``plural`` for 0, 5–20, 25… ("%(num)s заявок"); Babel's CLDR rule for Russian picks
    one (a fraction takes ``few``: "1,5 заявки"). Any other language takes its forms
    from its catalog, where msgid and msgid_plural are ``singular`` and ``plural``.
    ``%(num)s`` is the number, formatted for the page language.
    """
    variables.setdefault("num", format_number(num))
    locale = page_locale()
    if locale.language == SOURCE_LANGUAGE:
        form = locale.plural_form(num)
        text = singular if form == "one" else plural if form == "many" else few
    else:
        text = get_translations().ungettext(singular, plural, num)
    return text % variables


def use_language(lang: str) -> None:
    """Make ``lang`` the page language for the rest of this request."""
    g.lang = lang
    # Flask-Babel keeps the locale it picked first for the whole request.
    refresh()


def pick_language(owner) -> str:
    """The language chosen on this session, else the owner's, else the browser's, else Russian."""
    chosen = session.get("lang")
    if chosen in LANGUAGES:
        return chosen
    if owner is not None and owner.language in LANGUAGES:
        return owner.language
    best = request.accept_languages.best_match(LANGUAGES)
    return best or DEFAULT_LANGUAGE
