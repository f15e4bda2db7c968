"""Extension objects, created unbound and attached to the app in the factory."""

from __future__ import annotations

from flask import g
from flask_babel import Babel
from flask_limiter import Limiter
from flask_sqlalchemy import SQLAlchemy
from flask_wtf import CSRFProtect
from sqlalchemy.orm import DeclarativeBase

from .abuse.client_ip import client_ip_key


class Base(DeclarativeBase):
    pass


db = SQLAlchemy(model_class=Base)

# Per-IP HTTP limits are declared on routes; the per-number limit is checked in
# the service layer once the number is parsed (see widget_api.submit_request).
limiter = Limiter(key_func=client_ip_key, headers_enabled=False)

# Every config-page form; the public blueprints are exempted in the app factory.
csrf = CSRFProtect()


def current_language() -> str:
    """The language of what a person reads now: set per request (config page) or per
    message (``flask_babel.force_locale`` for an owner's e-mail); Russian otherwise,
    the source language of every catalog."""
    return g.get("lang") or "ru"


# gettext catalogs in widget_server/translations (Russian source, English .po/.mo).
babel = Babel()
