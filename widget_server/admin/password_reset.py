"""Forgotten passwords: an e-mailed, signed, expiring, single-use link.

The token names the owner and carries their password stamp (access.password_stamp),
so it stops working the moment the password changes: after it is used once, after
the owner changes the password some other way, or after a newer link is used. It
expires after ``PASSWORD_RESET_SECONDS`` (1 hour).

The mail goes out from a thread, so the "forgot password" answer takes the same
time whether or not the address has an account. Without SMTP the link is written
to the server log (a warning), for the installation's admin to pass on.
"""

from __future__ import annotations

import logging
import smtplib
import threading
from datetime import UTC, datetime
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid, parseaddr

from flask import (
    current_app,
    flash,
    g,
    redirect,
    render_template,
    session,
    url_for,
)
from flask_babel import force_locale
from flask_wtf import FlaskForm
from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer
from sqlalchemy import select

from ..extensions import db, limiter
from ..models import Owner
from ..notify.email import _sender, smtp_configured, smtp_send
from ..setup import set_password
from . import i18n
from .access import password_stamp
from .auth import (
    confirm_field,
    email_field,
    email_key,
    email_limit,
    ip_limit,
    new_password_field,
)
from .blueprint import bp
from .i18n import N_, _

log = logging.getLogger(__name__)

SALT = "admin-password-reset"


# The owner's password mails, in the owner's language (translated in send_reset_link).
MAIL_TEXTS = {
    "reset": (
        N_("Сброс пароля"),
        N_(
            "Кто-то (надеемся, вы) попросил сменить пароль к аккаунту %(email)s.\n\n"
            "Новый пароль можно задать по ссылке (она действует %(minutes)s мин. и только один раз):\n"
            "%(link)s\n\nЕсли вы не просили сменить пароль, просто удалите это письмо.\n"
        ),
    ),
    "welcome": (
        N_("Доступ к настройкам обратного звонка"),
        N_(
            "Для вас создан аккаунт %(email)s.\n\n"
            "Задайте пароль по ссылке (она действует %(minutes)s мин. и только один раз):\n"
            "%(link)s\n\nЕсли ссылка устареет, нажмите «Забыли пароль?» на странице входа.\n"
        ),
    ),
}


def _serializer() -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(current_app.config["SECRET_KEY"], salt=SALT)


def make_token(owner: Owner) -> str:
    return _serializer().dumps({"o": owner.id, "s": password_stamp(owner)})


def owner_for_token(token: str) -> Owner | None:
    """The owner a valid, unexpired, unused token names, else None."""
    try:
        data = _serializer().loads(token, max_age=current_app.config["PASSWORD_RESET_SECONDS"])
    except (SignatureExpired, BadSignature):
        return None
    if not isinstance(data, dict) or not isinstance(data.get("o"), int):
        return None
    owner = db.session.get(Owner, data["o"])
    if owner is None or data.get("s") != password_stamp(owner):
        return None  # the password changed since: the link was used or replaced
    return owner


def reset_link(owner: Owner) -> str:
    # PUBLIC_URL, never the request's Host header, so a forged Host cannot
    # send the owner a link to someone else's site.
    path = url_for("admin.reset_password", token=make_token(owner))
    return current_app.config["PUBLIC_URL"] + path


def send_reset_link(owner: Owner, kind: str = "reset") -> bool:
    """Mail the owner a reset (or welcome) link; return True when SMTP is set up.

    Without SMTP the link goes to the server log. With it, the mail is sent from a
    thread: the time SMTP takes must not tell who has an account.
    """
    link = reset_link(owner)
    minutes = current_app.config["PASSWORD_RESET_SECONDS"] // 60
    if not smtp_configured():
        log.warning(
            "no SMTP server (WIDGET_SMTP_HOST): password link for owner %s, valid %s min: %s",
            owner.email,
            minutes,
            link,
        )
        return False
    subject, body = MAIL_TEXTS[kind]
    with force_locale(owner.language if owner.language in i18n.LANGUAGES else "ru"):
        subject = _(subject)
        body = _(body, email=owner.email, minutes=minutes, link=link)
    message = _message(owner.email, subject, body)
    app = current_app._get_current_object()  # type: ignore[attr-defined]
    threading.Thread(target=_send, args=(app, message, owner.id), daemon=True).start()
    return True


def _message(to: str, subject: str, body: str) -> EmailMessage:
    sender = _sender(current_app.config)
    msg = EmailMessage()
    msg["Subject"] = subject
    msg["From"] = sender
    msg["To"] = to
    msg["Date"] = format_datetime(datetime.now(UTC))
    msg["Message-ID"] = make_msgid(domain=parseaddr(sender)[1].rpartition("@")[2] or None)
    msg.set_content(body)
    return msg


def _send(app, message: EmailMessage, owner_id: int) -> None:
    """Send by SMTP with the same settings as owner notifications; never raises."""
    try:
        smtp_send(app.config, message)
    except (OSError, smtplib.SMTPException) as exc:
        # The class only: SMTP errors may echo the login, and the link must not leak.
        log.error("password link for owner %s not sent: %s", owner_id, exc.__class__.__name__)
    else:
        log.info("password link sent to owner %s", owner_id)


class ForgotForm(FlaskForm):
    email = email_field()


class ResetForm(FlaskForm):
    new_password = new_password_field()
    confirm_password = confirm_field()


@bp.route("/forgot-password", methods=["GET", "POST"])
@limiter.limit(ip_limit, methods=["POST"], scope="admin-forgot-ip")
@limiter.limit(email_limit, methods=["POST"], key_func=email_key, scope="admin-forgot-email")
def forgot_password():
    form = ForgotForm()
    sent = False
    if form.validate_on_submit():
        email = form.email.data.strip().lower()
        owner = db.session.scalar(select(Owner).where(Owner.email == email))
        if owner is not None:
            send_reset_link(owner)
        # The same answer either way: the page does not tell who has an account.
        sent = True
    minutes = current_app.config["PASSWORD_RESET_SECONDS"] // 60
    status = 400 if form.errors else 200
    return render_template("admin/auth/forgot.html", form=form, sent=sent, minutes=minutes), status


@bp.route("/reset/<token>", methods=["GET", "POST"])
@limiter.limit(ip_limit, methods=["POST"], scope="admin-reset-ip")
def reset_password(token: str):
    owner = owner_for_token(token)
    if owner is None:
        return render_template("admin/auth/reset.html", form=None), 400
    form = ResetForm()
    if form.validate_on_submit():
        set_password(owner, form.new_password.data)
        log.info("owner %s set a new password by reset link", owner.id)
        if g.owner is not None:
            session.clear()  # whoever was signed in here, the new password signs in afresh
        flash(_("Пароль изменён. Войдите с новым паролем."), "success")
        return redirect(url_for("admin.sign_in"))
    status = 400 if form.errors else 200
    return render_template("admin/auth/reset.html", form=form), status
