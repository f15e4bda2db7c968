"""Signing in and out, open sign-up, and choosing the page language."""

from __future__ import annotations

from urllib.parse import urlsplit

from flask import abort, current_app, flash, g, redirect, render_template, request, session, url_for
from flask_wtf import FlaskForm
from wtforms import EmailField, PasswordField
from wtforms.validators import DataRequired, Email, EqualTo, Length

from ..abuse.client_ip import client_ip_key
from ..extensions import db, limiter
from ..models import Owner
from ..setup import SetupError, create_owner, verify_password
from . import i18n, sessions, sign_in_limits
from .blueprint import bp
from .i18n import N_, _

EMAIL_ERROR = N_("Введите адрес эл. почты, например name@shop.ru.")


def email_field(label: str = N_("Эл. почта")) -> EmailField:
    return EmailField(
        label,
        validators=[
            DataRequired(N_("Заполните это поле.")),
            Length(max=254, message=N_("Не длиннее 254 символов.")),
            Email(EMAIL_ERROR),
        ],
    )


def new_password_field(label: str = N_("Новый пароль")) -> PasswordField:
    return PasswordField(
        label,
        validators=[
            DataRequired(N_("Заполните это поле.")),
            Length(min=8, message=N_("Не короче 8 символов.")),
            Length(max=200, message=N_("Не длиннее 200 символов.")),
        ],
    )


def confirm_field(target: str = "new_password") -> PasswordField:
    return PasswordField(
        N_("Повторите новый пароль"),
        validators=[
            DataRequired(N_("Заполните это поле.")),
            EqualTo(target, N_("Пароли не совпадают.")),
        ],
    )


class SignInForm(FlaskForm):
    email = EmailField(
        N_("Эл. почта"),
        validators=[
            DataRequired(N_("Заполните это поле.")),
            Length(max=254, message=N_("Не длиннее 254 символов.")),
        ],
    )
    password = PasswordField(N_("Пароль"), validators=[DataRequired(N_("Заполните это поле."))])


class SignUpForm(FlaskForm):
    email = email_field()
    new_password = new_password_field(N_("Пароль"))
    confirm_password = confirm_field()


def safe_next(target: str | None) -> str:
    """Only a local path is followed after sign-in, never another site."""
    if target and target.startswith("/") and not target.startswith("//") and "\\" not in target:
        parts = urlsplit(target)
        if not parts.scheme and not parts.netloc:
            return target
    return url_for("admin.dashboard")


# -- rate limits: per client IP on every post; failed sign-ins in sign_in_limits --------
def ip_limit() -> str:
    return current_app.config["RATELIMIT_SIGNIN_IP"]


def email_limit() -> str:
    return current_app.config["RATELIMIT_SIGNIN_EMAIL"]


def email_key() -> str:
    return "email:" + (request.form.get("email") or "").strip().lower()[:254]


@bp.route("/sign-in", methods=["GET", "POST"])
@limiter.limit(ip_limit, methods=["POST"], scope="admin-signin-ip")
def sign_in():
    if g.owner is not None:
        return redirect(url_for("admin.dashboard"))
    form = SignInForm()
    error = None
    if form.validate_on_submit():
        email = form.email.data.strip().lower()
        sign_in_limits.check(email, client_ip_key())
        owner = db.session.execute(db.select(Owner).filter_by(email=email)).scalar_one_or_none()
        # The password is checked first, also for an unknown e-mail (against a dummy
        # hash), so both take the same time.
        if verify_password(owner, form.password.data) and owner is not None:
            sessions.start_session(owner)
            return redirect(safe_next(request.args.get("next")))
        sign_in_limits.record_failure(email, client_ip_key())
        error = _("Неверная эл. почта или пароль.")
    status = 401 if error else (400 if form.errors else 200)
    return render_template(
        "admin/sign_in.html",
        form=form,
        error=error,
        open_signup=current_app.config["OPEN_SIGNUP"],
    ), status


@bp.post("/sign-out")
def sign_out():
    sessions.end_session()
    flash(_("Вы вышли."), "info")
    return redirect(url_for("admin.sign_in"))


@bp.route("/sign-up", methods=["GET", "POST"])
@limiter.limit(ip_limit, methods=["POST"], scope="admin-signup-ip")
def sign_up():
    """Open sign-up, only where the installation allows it (WIDGET_OPEN_SIGNUP)."""
    if not current_app.config["OPEN_SIGNUP"]:
        abort(404)
    if g.owner is not None:
        return redirect(url_for("admin.dashboard"))
    form = SignUpForm()
    if form.validate_on_submit():
        try:
            owner = create_owner(form.email.data, form.new_password.data)
        except SetupError:
            # The e-mail is taken (the form checked everything else); saying so
            # is unavoidable for sign-up, and the IP limit slows enumeration.
            form.email.errors = [N_("Аккаунт с этой эл. почтой уже есть.")]
        else:
            owner.language = g.lang
            db.session.commit()
            sessions.start_session(owner)
            flash(_("Аккаунт создан. Добро пожаловать!"), "success")
            return redirect(url_for("admin.dashboard"))
    status = 400 if form.errors else 200
    return render_template("admin/auth/sign_up.html", form=form), status


@bp.post("/language")
def set_language():
    lang = request.form.get("lang")
    if lang in i18n.LANGUAGES:
        session["lang"] = lang
        if g.owner is not None:
            g.owner.language = lang
            db.session.commit()
    return redirect(safe_next(request.form.get("next")))
