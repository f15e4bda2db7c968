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
from . import i18n
from .access import login_required
from .auth import EMAIL_ERROR, confirm_field, new_password_field, start_session
from .blueprint import bp
from .i18n import _

log = logging.getLogger(__name__)

i18n.add_english(
    {
        "Пароль": "Password",
        "Текущий пароль": "Current password",
        "Неверный текущий пароль.": "The current password is wrong.",
        "Сменить пароль": "Change password",
        "Пароль изменён. Другие сеансы завершены.": (
            "Password changed. All other sessions have been signed out."
        ),
        "Контакты и язык": "Contact and language",
        "Ваш телефон для тестовых звонков": "Your phone for test calls",
        "На этот номер позвонит «тестовый звонок» со страницы виджета.": (
            "The widget page's test call rings this number."
        ),
        "Язык страницы настроек": "Language of the settings pages",
        "Выберите язык из списка.": "Pick a language from the list.",
        "Введите номер, например +7 916 123-45-67.": "Enter a number, like +7 916 123-45-67.",
        "Это не российский мобильный или городской номер.": (
            "This is not a Russian mobile or landline number."
        ),
        "Уведомления": "Notifications",
        "Эл. почта для уведомлений": "Email for notifications",
        "Пропущенные, неудавшиеся и задержанные заявки. Пусто — не присылать.": (
            "Missed, failed and held requests. Leave empty for no email."
        ),
        "Адрес вебхука (CRM)": "Webhook URL (CRM)",
        "Подписанный JSON на этот адрес при каждом событии. Пусто — выключено.": (
            "Signed JSON is posted here on every event. Leave empty to turn it off."
        ),
        "Адрес должен начинаться с https:// (http:// — только для 127.0.0.1 или localhost).": (
            "The URL must start with https:// (http:// only for 127.0.0.1 or localhost)."
        ),
        "Не длиннее 500 символов.": "At most 500 characters.",
        "Ежедневная сводка в 08:00 по Москве": "Daily summary at 08:00 Moscow time",
        "Хранить заявки, дней": "Keep requests for (days)",
        "Номера, звонки и согласия старше этого удаляются.": (
            "Numbers, calls and consents older than this are deleted."
        ),
        "Введите целое число дней.": "Enter a whole number of days.",
        "От 1 до 3650 дней.": "From 1 to 3650 days.",
        "Секрет вебхука": "Webhook secret",
        "Показан один раз — сохраните его в CRM. Им подписан каждый запрос "
        "(X-Widget-Signature: sha256=HMAC тела).": (
            "Shown once: store it in your CRM. Every request is signed with it "
            "(X-Widget-Signature: sha256=HMAC of the body)."
        ),
        "Копировать": "Copy",
        "Скопировано": "Copied",
        "Выдать новый секрет": "Issue a new secret",
        "Старый секрет перестанет работать. Продолжить?": (
            "The old secret will stop working. Continue?"
        ),
        "Новый секрет выдан.": "A new secret has been issued.",
        "Вебхук включён: секрет ниже.": "Webhook turned on: the secret is below.",
        "Письма не уйдут, пока не настроен SMTP (WIDGET_SMTP_HOST).": (
            "No email is sent until SMTP is set up (WIDGET_SMTP_HOST)."
        ),
        "Данные посетителей": "Visitors' data",
        "Забыть номер": "Forget a number",
        "Номер посетителя": "Visitor's number",
        "Удалит все ваши заявки с этого номера, их звонки и уведомления. Отменить нельзя.": (
            "Deletes all your requests from this number with their calls and "
            "notifications. This cannot be undone."
        ),
        "Удалить всё об этом номере? Отменить нельзя.": (
            "Delete everything about this number? This cannot be undone."
        ),
        "Удалено заявок с номера {number}: {count}.": "Requests deleted for {number}: {count}.",
    }
)

PHONE_ERRORS = {
    "required": "Введите номер, например +7 916 123-45-67.",
    "invalid": "Введите номер, например +7 916 123-45-67.",
    "not_allowed": "Это не российский мобильный или городской номер.",
}
WEBHOOK_ERROR = "Адрес должен начинаться с https:// (http:// — только для 127.0.0.1 или localhost)."
INTEGER_ERROR = "Введите целое число дней."


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
        "Текущий пароль", validators=[DataRequired("Заполните это поле.")]
    )
    new_password = new_password_field()
    confirm_password = confirm_field()


class ProfileForm(FlaskForm):
    phone = StringField(
        "Ваш телефон для тестовых звонков",
        validators=[Optional(), Length(max=32, message=PHONE_ERRORS["invalid"])],
    )
    language = SelectField(
        "Язык страницы настроек",
        choices=[
            SelectChoice("ru", "Русский", render_kw={"lang": "ru"}),
            SelectChoice("en", "English", render_kw={"lang": "en"}),
        ],
        validate_choice=True,
    )

    def validate_phone(self, field):
        try:
            field.data = normalize_phone(field.data) if field.data else None
        except PhoneError as exc:
            raise ValidationError(PHONE_ERRORS[exc.code]) from None


class NotificationsForm(FlaskForm):
    notify_email = StringField(
        "Эл. почта для уведомлений",
        validators=[
            Optional(),
            Length(max=254, message="Не длиннее 254 символов."),
            Email(EMAIL_ERROR),
        ],
    )
    webhook_url = StringField(
        "Адрес вебхука (CRM)",
        validators=[Optional(), Length(max=500, message="Не длиннее 500 символов.")],
    )
    daily_digest = BooleanField("Ежедневная сводка в 08:00 по Москве")
    retention_days = WholeNumberField(
        "Хранить заявки, дней",
        validators=[
            InputRequired(INTEGER_ERROR),
            NumberRange(min=1, max=3650, message="От 1 до 3650 дней."),
        ],
    )

    def validate_webhook_url(self, field):
        if field.data:
            try:
                field.data = validate_webhook_url(field.data)
            except SettingsError:
                raise ValidationError(WEBHOOK_ERROR) from None


class ForgetNumberForm(FlaskForm):
    number = StringField(
        "Номер посетителя",
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
        "profile_form", ProfileForm(formdata=None, phone=owner.phone, language=owner.language)
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
        form.current_password.errors = ["Неверный текущий пароль."]
    return _page(400, password_form=form)


@bp.post("/account/profile")
@login_required
def profile():
    form = ProfileForm()
    if form.validate_on_submit():
        g.owner.phone = form.phone.data or None
        g.owner.language = form.language.data
        session["lang"] = g.lang = form.language.data
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
                "Удалено заявок с номера {number}: {count}.",
                number=mask_phone(form.number.data),
                count=count,
            ),
            "success",
        )
        return redirect(url_for("admin.account"))
    return _page(400, forget_form=form)
