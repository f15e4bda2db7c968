"""Signing in and out, and choosing the page language."""

from __future__ import annotations

from urllib.parse import urlsplit

from flask import flash, g, redirect, render_template, request, session, url_for
from flask_wtf import FlaskForm
from wtforms import EmailField, PasswordField
from wtforms.validators import DataRequired, Length

from ..extensions import db
from ..models import Owner
from ..provisioning import verify_password
from . import bp, i18n
from .i18n import _

i18n.add_english(
    {
        "Вход": "Sign in",
        "Эл. почта": "Email",
        "Пароль": "Password",
        "Неверная эл. почта или пароль.": "Wrong email or password.",
        "Вы вышли.": "You have signed out.",
        "Заполните это поле.": "Please fill in this field.",
    }
)


class SignInForm(FlaskForm):
    email = EmailField(
        "Эл. почта", validators=[DataRequired("Заполните это поле."), Length(max=254)]
    )
    password = PasswordField("Пароль", validators=[DataRequired("Заполните это поле.")])


def safe_next(target: str | None) -> str:
    """Only a local path is followed after sign-in, never another site."""
    if target and target.startswith("/") and not target.startswith("//"):
        parts = urlsplit(target)
        if not parts.scheme and not parts.netloc:
            return target
    return url_for("admin.dashboard")


def start_session(owner: Owner) -> None:
    import time

    session.clear()
    session["owner_id"] = owner.id
    session["auth_at"] = time.time()
    session.permanent = True


@bp.route("/sign-in", methods=["GET", "POST"])
def sign_in():
    if g.owner is not None:
        return redirect(url_for("admin.dashboard"))
    form = SignInForm()
    error = None
    if form.validate_on_submit():
        email = form.email.data.strip().lower()
        owner = db.session.execute(db.select(Owner).filter_by(email=email)).scalar_one_or_none()
        if owner is not None and verify_password(owner, form.password.data):
            start_session(owner)
            return redirect(safe_next(request.args.get("next")))
        error = _("Неверная эл. почта или пароль.")
    status = 401 if error else (400 if form.errors else 200)
    return render_template("admin/sign_in.html", form=form, error=error), status


@bp.post("/sign-out")
def sign_out():
    session.clear()
    flash(_("Вы вышли."), "info")
    return redirect(url_for("admin.sign_in"))


@bp.post("/language")
def set_language():
    lang = request.form.get("lang")
    if lang in i18n.LANGUAGES:
        session["lang"] = lang
        if g.owner is not None:
            g.owner.language = lang
            db.session.commit()
    return redirect(safe_next(request.form.get("next")))
