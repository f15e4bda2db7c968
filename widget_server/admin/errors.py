"""Error pages of the config page: in the page language, with its security headers.

Only for /admin: the APIs keep their JSON errors (widget_server/errors.py). An
unknown /admin address is routed to ``not_found`` so that it, too, gets the
admin blueprint's error page and headers.
"""

from __future__ import annotations

import math
import time

from flask import abort, g, render_template
from flask_limiter.errors import RateLimitExceeded
from flask_wtf.csrf import CSRFError
from werkzeug.exceptions import HTTPException

from ..extensions import limiter
from .blueprint import bp, load_owner
from .i18n import N_, _
from .sign_in_limits import SignInThrottled


def _page(status: int, title: str, message: str, **values):
    """The error page; ``title`` and ``message`` are Russian source strings."""
    if "owner" not in g:
        # The error came before the blueprint's own hooks (CSRF, rate limits):
        # find the owner and language here, before anything is translated.
        load_owner()
    html = render_template("admin/error.html", title=_(title), message=_(message, **values))
    return html, status


@bp.errorhandler(CSRFError)
def csrf_expired(exc: CSRFError):
    return _page(
        400, N_("Форма устарела"), N_("Форма устарела. Обновите страницу и отправьте её ещё раз.")
    )


@bp.errorhandler(RateLimitExceeded)
def rate_limited(exc: RateLimitExceeded):
    current = limiter.current_limit
    return _too_many(max(1, math.ceil(current.reset_at - time.time())) if current else 60)


@bp.errorhandler(SignInThrottled)
def sign_ins_throttled(exc: SignInThrottled):
    return _too_many(exc.retry_after)


def _too_many(wait: int):
    response, status = _page(
        429,
        N_("Слишком много попыток"),
        N_("Слишком много попыток. Попробуйте снова через %(minutes)s мин."),
        minutes=max(1, math.ceil(wait / 60)),
    )
    return response, status, {"Retry-After": str(wait)}


@bp.errorhandler(HTTPException)
def http_error(exc: HTTPException):
    if exc.response is not None:
        return exc  # a view aborted with its own response: keep it
    code = exc.code or 500
    if code == 404:
        return _page(
            404,
            N_("Страница не найдена"),
            N_("Возможно, адрес набран с ошибкой или страница удалена."),
        )
    if code == 405:
        return _page(405, N_("Ошибка"), N_("Такого действия здесь нет."))
    if code >= 500:
        return _page(
            code, N_("Ошибка"), N_("Что-то пошло не так. Мы уже знаем об этом; попробуйте позже.")
        )
    return _page(code, N_("Ошибка"), N_("Запрос не удался. Вернитесь назад и попробуйте ещё раз."))


@bp.route("/<path:unknown>", methods=["GET", "POST"])
def not_found(unknown: str):
    """Any /admin address no view claims: the admin 404 page."""
    abort(404)
