"""Installation admins manage owners: list, create, make admin, send a reset link, remove."""

from __future__ import annotations

import logging
import secrets

from flask import abort, flash, g, redirect, render_template, url_for
from flask_wtf import FlaskForm
from sqlalchemy import func, select
from wtforms import BooleanField, PasswordField, StringField
from wtforms.validators import DataRequired, Length, Optional

from ..extensions import db
from ..models import CallbackRequest, Owner, PbxAccount, Widget
from ..retention import delete_owner
from ..setup import SetupError, create_owner
from .access import admin_required
from .auth import email_field
from .blueprint import bp
from .i18n import N_, _
from .password_reset import send_reset_link

log = logging.getLogger(__name__)


class CreateOwnerForm(FlaskForm):
    email = email_field()
    password = PasswordField(
        N_("Пароль (необязательно)"),
        validators=[Optional(), Length(min=8, max=200, message=N_("Не короче 8 символов."))],
    )
    is_admin = BooleanField(N_("Администратор установки"))


class ConfirmDeleteForm(FlaskForm):
    confirm_email = StringField(
        N_("Введите эл. почту владельца, чтобы подтвердить"),
        validators=[DataRequired(N_("Заполните это поле."))],
    )


class ActionForm(FlaskForm):
    """A button: only the CSRF token."""


def _owner_or_404(owner_id: int) -> Owner:
    # Admins see every owner; the admin_required check already ran.
    owner = db.session.get(Owner, owner_id)
    if owner is None:
        abort(404)
    return owner


def _list_page(status: int = 200, form: CreateOwnerForm | None = None, error: str | None = None):
    widget_counts = {
        owner_id: count
        for owner_id, count in db.session.execute(
            select(Widget.owner_id, func.count(Widget.id)).group_by(Widget.owner_id)
        )
    }
    owners = db.session.scalars(select(Owner).order_by(Owner.email)).all()
    return render_template(
        "admin/users/list.html",
        owners=owners,
        widget_counts=widget_counts,
        form=form or CreateOwnerForm(formdata=None),
        error=error,
    ), status


@bp.get("/users")
@admin_required
def users_list():
    return _list_page()


@bp.post("/users")
@admin_required
def users_create():
    form = CreateOwnerForm()
    if form.validate_on_submit():
        invite = not form.password.data
        password = form.password.data or secrets.token_urlsafe(24)
        try:
            owner = create_owner(form.email.data, password, is_admin=form.is_admin.data)
        except SetupError:
            form.email.errors = [N_("Аккаунт с этой эл. почтой уже есть.")]
        else:
            log.info("admin %s created owner %s", g.owner.id, owner.id)
            if not invite:
                flash(_("Владелец %(email)s создан.", email=owner.email), "success")
            elif send_reset_link(owner, "welcome"):
                flash(
                    _(
                        "Владелец %(email)s создан; ссылка для пароля отправлена.",
                        email=owner.email,
                    ),
                    "success",
                )
            else:
                flash(
                    _(
                        "Владелец %(email)s создан; SMTP не настроен — ссылка для пароля записана в "
                        "журнал сервера.",
                        email=owner.email,
                    ),
                    "success",
                )
            return redirect(url_for("admin.users_list"))
    return _list_page(400, form=form)


@bp.post("/users/<int:owner_id>/admin")
@admin_required
def users_toggle_admin(owner_id: int):
    owner = _owner_or_404(owner_id)
    if not ActionForm().validate_on_submit():
        return redirect(url_for("admin.users_list"))
    if owner.id == g.owner.id:
        return _list_page(400, error=_("Нельзя снять права администратора с самого себя."))
    owner.is_admin = not owner.is_admin
    db.session.commit()
    log.info("admin %s set is_admin=%s for owner %s", g.owner.id, owner.is_admin, owner.id)
    message = (
        N_("%(email)s теперь администратор.")
        if owner.is_admin
        else N_("%(email)s больше не администратор.")
    )
    flash(_(message, email=owner.email), "success")
    return redirect(url_for("admin.users_list"))


@bp.post("/users/<int:owner_id>/reset")
@admin_required
def users_send_reset(owner_id: int):
    owner = _owner_or_404(owner_id)
    if ActionForm().validate_on_submit():
        if send_reset_link(owner):
            flash(_("Ссылка для пароля отправлена на %(email)s.", email=owner.email), "success")
        else:
            flash(
                _(
                    "SMTP не настроен — ссылка для пароля для %(email)s записана в журнал сервера.",
                    email=owner.email,
                ),
                "info",
            )
    return redirect(url_for("admin.users_list"))


@bp.route("/users/<int:owner_id>/delete", methods=["GET", "POST"])
@admin_required
def users_delete(owner_id: int):
    owner = _owner_or_404(owner_id)
    if owner.id == g.owner.id:
        return _list_page(400, error=_("Нельзя удалить самого себя."))
    form = ConfirmDeleteForm()
    status = 200
    if form.validate_on_submit():
        if form.confirm_email.data.strip().lower() == owner.email:
            email = owner.email
            delete_owner(owner)
            log.info("admin %s deleted owner %s", g.owner.id, owner_id)
            flash(_("Владелец %(email)s удалён.", email=email), "success")
            return redirect(url_for("admin.users_list"))
        form.confirm_email.errors = [N_("Эл. почта не совпадает.")]
    if form.errors:
        status = 400
    counts = {
        "accounts": db.session.scalar(
            select(func.count(PbxAccount.id)).where(PbxAccount.owner_id == owner.id)
        ),
        "widgets": db.session.scalar(
            select(func.count(Widget.id)).where(Widget.owner_id == owner.id)
        ),
        "requests": db.session.scalar(
            select(func.count(CallbackRequest.id))
            .join(Widget, CallbackRequest.widget_id == Widget.id)
            .where(Widget.owner_id == owner.id)
        ),
    }
    return render_template("admin/users/delete.html", owner=owner, form=form, counts=counts), status
