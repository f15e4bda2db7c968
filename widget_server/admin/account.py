"""The owner's own account: password, phone for test calls, language, notifications, data.

Everything ``set-notifications`` and ``forget-number`` do from the command line,
through the same service functions (setup.configure_owner,
retention.forget_number).
"""

from __future__ import annotations

import logging

from flask import flash, g, redirect, render_template, session, url_for
from flask_wtf import FlaskForm
from wtforms import BooleanField, IntegerField, PasswordField, SelectField, StringField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import (
    DataRequired,
    Email,
    InputRequired,
    Length,
    NumberRange,
    Optional,
    ValidationError,
)

from .. import retention
from ..extensions import db
from ..notify.email import smtp_configured
from ..phones import PhoneError, mask_phone, normalize_phone
from ..setup import (
    SettingsError,
    configure_owner,
    set_password,
    validate_webhook_url,
    verify_password,
)
from . import i18n, zone_names
from .access import login_required
from .auth import EMAIL_ERROR, confirm_field, new_password_field
from .blueprint import bp
from .channels import channels_context
from .i18n import N_, _
from .sessions import start_session
from .widget_forms import RUSSIAN_ZONES

log = logging.getLogger(__name__)


PHONE_ERRORS = {
    "required": N_("Введите номер, например +7 916 123-45-67."),
    "invalid": N_("Введите номер, например +7 916 123-45-67."),
    "not_allowed": N_("Это не российский мобильный или городской номер."),
}
WEBHOOK_ERROR = N_("Адрес должен начинаться с https://.")
WEBHOOK_PRIVATE = N_("Это адрес внутренней сети: сервис обращается только к адресам в интернете.")
# Why an owner-supplied address was refused (outbound.OutboundError.reason), in words.
ADDRESS_ERRORS = {"scheme": WEBHOOK_ERROR, "private": WEBHOOK_PRIVATE}
INTEGER_ERROR = N_("Введите целое число дней.")


class WholeNumberField(IntegerField):
    """An integer field whose "not a number" message is ours (and so translated)."""

    def process_formdata(self, valuelist):
        if valuelist and valuelist[0].strip():
            try:
                self.data = int(valuelist[0].strip())
            except ValueError:
                self.data = None
                raise ValueError(INTEGER_ERROR) from None
        elif valuelist:
            self.data = None


class PasswordForm(FlaskForm):
    current_password = PasswordField(
        N_("Текущий пароль"), validators=[DataRequired(N_("Заполните это поле."))]
    )
    new_password = new_password_field()
    confirm_password = confirm_field()


class ProfileForm(FlaskForm):
    phone = StringField(
        N_("Ваш телефон для тестовых звонков"),
        validators=[Optional(), Length(max=32, message=PHONE_ERRORS["invalid"])],
    )
    language = SelectField(
        N_("Язык страницы настроек"),
        choices=[
            SelectChoice("ru", "Русский", render_kw={"lang": "ru"}),
            SelectChoice("en", "English", render_kw={"lang": "en"}),
        ],
        validate_choice=True,
    )
    # One zone for every time the config page shows (admin/owner_time.py).
    timezone = SelectField(
        N_("Часовой пояс для времени на этих страницах"),
        choices=[SelectChoice(zone, zone) for zone in RUSSIAN_ZONES],
        validate_choice=False,  # a post without it (an older form) keeps the owner's
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        # By city in the page language ("Екатеринбург (МСК+2)"), not "Asia/Yekaterinburg".
        self.timezone.choices = [
            SelectChoice(zone, name) for zone, name in zone_names.zone_choices()
        ]

    def validate_timezone(self, field):
        if field.data and field.data not in RUSSIAN_ZONES:
            raise ValidationError(N_("Выберите значение из списка."))

    def validate_phone(self, field):
        try:
            field.data = normalize_phone(field.data) if field.data else None
        except PhoneError as exc:
            raise ValidationError(PHONE_ERRORS[exc.code]) from None


class NotificationsForm(FlaskForm):
    notify_email = StringField(
        N_("Эл. почта для уведомлений"),
        validators=[
            Optional(),
            Length(max=254, message=N_("Не длиннее 254 символов.")),
            Email(EMAIL_ERROR),
        ],
    )
    webhook_url = StringField(
        N_("Адрес вебхука (CRM)"),
        validators=[Optional(), Length(max=500, message=N_("Не длиннее 500 символов."))],
    )
    daily_digest = BooleanField(N_("Ежедневная сводка в 08:00 по Москве"))
    retention_days = WholeNumberField(
        N_("Хранить заявки, дней"),
        validators=[
            InputRequired(INTEGER_ERROR),
            NumberRange(min=1, max=3650, message=N_("От 1 до 3650 дней.")),
        ],
    )

    def validate_webhook_url(self, field):
        if field.data:
            try:
                field.data = validate_webhook_url(field.data)
            except SettingsError as exc:
                reason = getattr(exc, "reason", "scheme")
                raise ValidationError(ADDRESS_ERRORS[reason]) from None


class ForgetNumberForm(FlaskForm):
    number = StringField(
        N_("Номер посетителя"),
        validators=[
            DataRequired(PHONE_ERRORS["required"]),
            Length(max=32, message=PHONE_ERRORS["invalid"]),
        ],
    )

    def validate_number(self, field):
        try:
            field.data = normalize_phone(field.data)
        except PhoneError as exc:
            raise ValidationError(PHONE_ERRORS[exc.code]) from None


class WebhookSecretForm(FlaskForm):
    """Only the CSRF token: issuing a new secret needs no input."""


def _page(status: int = 200, **forms):
    owner = g.owner
    forms.setdefault("password_form", PasswordForm(formdata=None))
    forms.setdefault(
        "profile_form",
        ProfileForm(
            formdata=None, phone=owner.phone, language=owner.language, timezone=owner.timezone
        ),
    )
    forms.setdefault(
        "notifications_form",
        NotificationsForm(
            formdata=None,
            notify_email=owner.notify_email,
            webhook_url=owner.webhook_url,
            daily_digest=owner.daily_digest,
            retention_days=owner.retention_days,
        ),
    )
    forms.setdefault("forget_form", ForgetNumberForm(formdata=None))
    return render_template(
        "admin/account/page.html",
        owner=owner,
        new_secret=session.pop("new_webhook_secret", None),
        smtp_ready=smtp_configured(),
        **channels_context(owner),
        **forms,
    ), status


@bp.get("/account")
@login_required
def account():
    return _page()


@bp.post("/account/password")
@login_required
def change_password():
    form = PasswordForm()
    if form.validate_on_submit():
        if verify_password(g.owner, form.current_password.data):
            set_password(g.owner, form.new_password.data)
            # A new session for this browser; every other one ends (its stamp is old).
            start_session(g.owner)
            log.info("owner %s changed the password", g.owner.id)
            flash(_("Пароль изменён. Другие сеансы завершены."), "success")
            return redirect(url_for("admin.account"))
        form.current_password.errors = [N_("Неверный текущий пароль.")]
    return _page(400, password_form=form)


@bp.post("/account/profile")
@login_required
def profile():
    form = ProfileForm()
    if form.validate_on_submit():
        g.owner.phone = form.phone.data or None
        g.owner.language = form.language.data
        g.owner.timezone = form.timezone.data or g.owner.timezone
        session["lang"] = form.language.data
        i18n.use_language(form.language.data)
        db.session.commit()
        flash(_("Изменения сохранены."), "success")
        return redirect(url_for("admin.account"))
    return _page(400, profile_form=form)


@bp.post("/account/notifications")
@login_required
def notification_settings():
    form = NotificationsForm()
    if form.validate_on_submit():
        owner = g.owner
        new_url = form.webhook_url.data or None
        try:
            secret = configure_owner(
                owner,
                email=form.notify_email.data.strip() if form.notify_email.data else None,
                no_email=not form.notify_email.data,
                # The same URL again keeps its secret; a new URL always gets a new one.
                webhook_url=new_url if new_url and new_url != owner.webhook_url else None,
                no_webhook=new_url is None,
                digest=form.daily_digest.data,
                retention_days=form.retention_days.data,
            )
        except SettingsError:
            # The form's checks are the stricter ones; this is a backstop.
            form.notify_email.errors = [EMAIL_ERROR]
            return _page(400, notifications_form=form)
        if secret:
            session["new_webhook_secret"] = secret
            flash(_("Вебхук включён: секрет ниже."), "success")
        else:
            flash(_("Изменения сохранены."), "success")
        return redirect(url_for("admin.account"))
    return _page(400, notifications_form=form)


@bp.post("/account/webhook-secret")
@login_required
def new_webhook_secret():
    form = WebhookSecretForm()
    if form.validate_on_submit() and g.owner.webhook_url:
        secret = configure_owner(g.owner, webhook_url=g.owner.webhook_url)
        session["new_webhook_secret"] = secret
        flash(_("Новый секрет выдан."), "success")
    return redirect(url_for("admin.account"))


@bp.post("/account/forget-number")
@login_required
def forget_number():
    form = ForgetNumberForm()
    if form.validate_on_submit():
        count = retention.forget_number(g.owner.id, form.number.data)
        flash(
            _(
                "Удалено заявок с номера %(number)s: %(count)s.",
                number=mask_phone(form.number.data),
                count=count,
            ),
            "success",
        )
        return redirect(url_for("admin.account"))
    return _page(400, forget_form=form)
