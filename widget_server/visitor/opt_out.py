"""The public opt-out page: anyone stops calls to their number (``abuse/blocklist.py``).

An opt-out takes effect at once, without a confirmation call: a confirmation
call would itself ring the number (and could be abused to ring it), while a
wrongly silenced number only loses callbacks from this installation, which its
owner gets back through the site owner (``widget-server opt-in``). Submitting
the form never tells whether the number was known.
"""

from __future__ import annotations

import logging

from flask import Blueprint, current_app, g, render_template, request
from flask_babel import gettext as _
from flask_babel import refresh
from flask_wtf.csrf import validate_csrf
from wtforms.validators import ValidationError

from ..abuse.blocklist import block
from ..extensions import limiter
from ..phones import PhoneError, mask_phone, normalize_phone

log = logging.getLogger(__name__)
bp = Blueprint("opt_out", __name__)

LANGUAGES = ("ru", "en")


def _texts() -> dict[str, str]:
    """The page's words in the current language (gettext; Russian is the source)."""
    return {
        "title": _("Больше не звонить на мой номер"),
        "intro": _(
            "Введите номер, и этот сервис обратных звонков больше не будет на него звонить "
            "ни с одного сайта."
        ),
        "label": _("Номер телефона"),
        "submit": _("Больше не звонить"),
        "done": _(
            "Готово. Если на этот номер собирались звонить через этот сервис, больше звонков "
            "не будет."
        ),
        "bad": _("Проверьте номер: нужен российский номер, 10 цифр после +7."),
        "expired": _("Форма устарела. Обновите страницу и отправьте её ещё раз."),
        "lang": "English" if g.lang == "ru" else "Русский",
    }


def _lang() -> str:
    asked = request.values.get("lang")
    if asked in LANGUAGES:
        return asked
    best = request.accept_languages.best_match(LANGUAGES)
    return best or "ru"


def _token_ok() -> bool:
    """The form's CSRF token (flask-wtf, kept in the session cookie, SameSite=Lax)."""
    if not current_app.config.get("WTF_CSRF_ENABLED", True):
        return True
    try:
        validate_csrf(request.form.get("csrf_token"))
    except ValidationError:
        return False
    return True


@bp.route("/opt-out", methods=["GET", "POST"])
@limiter.limit("5/hour", methods=["POST"])
def page():
    """The public page where anyone stops calls to their number."""
    g.lang = lang = _lang()
    refresh()  # the locale was looked up before the language was known
    texts = _texts()
    status, error, value = 200, None, ""
    done = False
    if request.method == "POST" and not _token_ok():
        # A hostile page must not opt its visitors' numbers out from their browsers.
        error, status = texts["expired"], 400
    elif request.method == "POST":
        value = (request.form.get("phone") or "")[:40]
        try:
            phone = normalize_phone(value)
        except PhoneError:
            error, status = texts["bad"], 422
        else:
            block(phone, owner_id=None, source="opt_out")
            log.info("opt-out for %s", mask_phone(phone))
            done, value = True, ""
    html = render_template(
        "opt_out/page.html",
        t=texts,
        lang=lang,
        error=error,
        done=done,
        value=value,
        other="en" if lang == "ru" else "ru",
    )
    response = current_app.response_class(html, status=status, mimetype="text/html")
    response.headers["Content-Security-Policy"] = (
        "default-src 'none'; style-src 'self'; form-action 'self'; base-uri 'none'; "
        "frame-ancestors 'none'"
    )
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Referrer-Policy"] = "no-referrer"
    return response
