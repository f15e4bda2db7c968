"""The config page's one blueprint: the signed-in owner, the page language, security headers."""

from __future__ import annotations

import re

from flask import Blueprint, abort, g, session
from markupsafe import Markup

from ..extensions import db
from ..models import Owner
from ..visitor.origins import display_origin
from . import i18n, sessions
from .access import MAX_ID

bp = Blueprint("admin", __name__, url_prefix="/admin")

# No inline scripts or styles anywhere on the config page: every script and
# stylesheet is a file under /static, so this policy can stay strict.
CONTENT_SECURITY_POLICY = "; ".join(
    [
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self' data:",
        "media-src 'self'",
        "connect-src 'self'",
        "font-src 'self'",
        "object-src 'none'",
        "base-uri 'none'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    ]
)


@bp.before_request
def load_owner() -> None:
    """Put the signed-in owner (or None) on ``g`` and pick the page language."""
    g.owner = None
    owner_id = session.get("owner_id")
    if owner_id is not None:
        owner = db.session.get(Owner, owner_id)
        # A session issued before the last password change, or signed out, is no
        # longer valid (see sessions.is_live).
        if sessions.is_live(owner):
            g.owner = owner
        else:
            session.clear()
    i18n.use_language(i18n.pick_language(g.owner))


@bp.url_value_preprocessor
def ids_in_range(_endpoint, values) -> None:
    """An id in the address past the database's range answers 404 (not a failed query)."""
    if values and any(isinstance(v, int) and v > MAX_ID for v in values.values()):
        abort(404)


@bp.after_request
def security_headers(response):
    # A view may set its own (the widget preview, framed by the widget page only).
    response.headers["Content-Security-Policy"] = g.get("csp", CONTENT_SECURITY_POLICY)
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["X-Frame-Options"] = g.get("frame_options", "DENY")
    response.headers["Referrer-Policy"] = "same-origin"
    response.headers.setdefault("Cache-Control", "no-store")
    return response


@bp.record_once
def _template_globals(state) -> None:
    # Globals, not a context processor, so that imported macros see them too.
    # Literal strings in templates go through Flask-Babel's own ``_`` (babel.init_app).
    state.app.jinja_env.globals.update(field_attrs=field_attrs, format_share=i18n.format_share)
    # Replaces Flask-Babel's ``ngettext``, whose two forms cannot say Russian counts.
    state.app.jinja_env.globals["ngettext"] = i18n.ngettext
    state.app.jinja_env.filters["number"] = i18n.format_number
    state.app.jinja_env.filters["breakable"] = breakable
    state.app.jinja_env.filters["translate"] = translate
    state.app.jinja_env.filters["display_origin"] = display_origin  # IDN hosts in Unicode


def breakable(text: str) -> Markup:
    """An address (a page path, a host) that a narrow column may wrap after each "/", "?",
    "&" and "." rather than inside a word: a ``<wbr>`` there, everything else escaped."""
    return Markup("<wbr>").join(re.split(r"(?<=[/?&.])(?=.)", str(text)))


def translate(text: str) -> str:
    """A text marked with ``N_`` in Python (a label, a form error), in the page language.

    Jinja's ``_`` always %-formats its argument, and a form error that quotes what the
    owner typed (a "%" in it) must not go through that.
    """
    return i18n.gettext(text)


@bp.app_context_processor
def template_helpers():
    return {"lang": g.get("lang", i18n.DEFAULT_LANGUAGE)}


def field_attrs(field, hint=None, **extra) -> dict:
    """HTML attributes tying a form field to its hint and error messages."""
    described = [f"{field.id}-hint"] if hint else []
    if field.errors:
        described.append(f"{field.id}-error")
    attrs = dict(extra)
    if described:
        attrs["aria-describedby"] = " ".join(described)
    if field.errors:
        attrs["aria-invalid"] = "true"
    return attrs
