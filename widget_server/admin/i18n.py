"""Config page language: Russian is the source text, English comes from the gettext catalog.

Translations live in ``widget_server/translations/en/LC_MESSAGES/messages.po`` (Flask-Babel);
``make messages`` extracts the strings and ``make translations`` compiles the catalog.
Placeholders are ``%(name)s``, filled by ``_(text, name=value)``. A string kept in a table and
translated later (a label, a choice) is marked with ``N_`` so that extraction finds it.
"""

from __future__ import annotations

from flask import g, request, session
from flask_babel import gettext, refresh

LANGUAGES = ("ru", "en")
DEFAULT_LANGUAGE = "ru"

_ = gettext


def N_(text: str) -> str:
    """Mark ``text`` for extraction; it is translated where it is shown."""
    return text


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
