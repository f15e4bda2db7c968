"""The public opt-out page: anyone stops calls to their number (``abuse/blocklist.py``).

An opt-out takes effect at once, without a confirmation call: a confirmation
call would itself ring the number (and could be abused to ring it), while a
wrongly silenced number only loses callbacks from this installation, which its
owner gets back through the site owner (``widget-server opt-in``). Submitting
the form never tells whether the number was known.
"""

from __future__ import annotations

import logging

from flask import Blueprint, current_app, render_template, request

from ..abuse.blocklist import block
from ..extensions import limiter
from ..phones import PhoneError, mask_phone, normalize_phone

log = logging.getLogger(__name__)
bp = Blueprint("opt_out", __name__)

TEXTS = {
    "ru": {
        "title": "Больше не звонить на мой номер",
        "intro": "Введите номер, и этот сервис обратных звонков больше не будет на него звонить "
        "ни с одного сайта.",
        "label": "Номер телефона",
        "submit": "Больше не звонить",
        "done": "Готово. Если на этот номер собирались звонить через этот сервис, больше звонков "
        "не будет.",
        "bad": "Проверьте номер: нужен российский номер, 10 цифр после +7.",
        "lang": "English",
    },
    "en": {
        "title": "Stop calls to my number",
        "intro": "Enter a number and this callback service will not call it again from any site.",
        "label": "Phone number",
        "submit": "Stop calls",
        "done": "Done. If this number was going to be called through this service, it will not be.",
        "bad": "Check the number: a Russian number with 10 digits after +7 is needed.",
        "lang": "Русский",
    },
}


def _lang() -> str:
    asked = request.values.get("lang")
    if asked in TEXTS:
        return asked
    best = request.accept_languages.best_match(["ru", "en"])
    return best or "ru"


@bp.route("/opt-out", methods=["GET", "POST"])
@limiter.limit("5/hour", methods=["POST"])
def page():
    """The public page where anyone stops calls to their number."""
    lang = _lang()
    texts = TEXTS[lang]
    status, error, value = 200, None, ""
    done = False
    if request.method == "POST":
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
