"""The PBX connection form: credentials, the CA bundle, and what the call machine must
know of the domain (events or polling, the PBX's own ring time, inbound routing)."""

from __future__ import annotations

import re

from flask_wtf import FlaskForm
from flask_wtf.file import FileField
from wtforms import BooleanField, IntegerField, PasswordField, RadioField, StringField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import Length, NumberRange, Optional, ValidationError
from wtforms.widgets import PasswordInput

from .. import outbound
from ..models import PbxAccount
from ..pbx import directory
from ..pbx.client import PRODUCTION_API, TEST_API
from ..setup import SetupError
from .account import ADDRESS_ERRORS
from .i18n import N_, _

MAX_CA_BYTES = 256 * 1024
_DOMAIN = re.compile(r"^[a-z0-9]([a-z0-9-]*[a-z0-9])?(\.[a-z0-9]([a-z0-9-]*[a-z0-9])?)+$", re.I)


class PbxForm(FlaskForm):
    api_choice = RadioField(
        N_("Адрес API"),
        choices=[
            SelectChoice("production", N_("Рабочий (api.cloudpbx.rt.ru)")),
            SelectChoice("test", N_("Тестовый (api-test.cloudpbx.rt.ru)")),
            SelectChoice("custom", N_("Другой адрес")),
        ],
        default="production",
    )
    custom_url = StringField(N_("Другой адрес API"), validators=[Length(max=255)])
    client_id = StringField(N_("Уникальный код идентификации"), validators=[Length(max=128)])
    # Shown again only on the page that refused it, so the owner need not retype it.
    sign_key = PasswordField(
        N_("Уникальный ключ для подписи"),
        validators=[Length(max=255)],
        widget=PasswordInput(hide_value=False),
    )
    domain = StringField(N_("Домен ВАТС"), validators=[Length(max=255)])
    ca_bundle = FileField(N_("Сертификат API (PEM)"))
    remove_ca = BooleanField(N_("Убрать загруженный сертификат"))
    route_inbound = BooleanField(N_("Направлять повторный звонок клиента его оператору"))
    # Unticked (and absent from a post) is the default: events expected.
    no_events = BooleanField(N_("АТС не присылает события: следить за звонками опросом АТС"))
    ring_seconds = IntegerField(
        N_("Сколько АТС звонит оператору, секунд"),
        default=45,
        # Left empty (or absent from a post): the account keeps its ring time.
        validators=[Optional(), NumberRange(10, 180)],
    )
    save_unchecked = BooleanField(N_("Сохранить без проверки подключения"))

    def __init__(self, *args, account: PbxAccount | None = None, **kwargs):
        super().__init__(*args, **kwargs)
        self.account = account
        self.ca_pem: str | None = None

    def validate_api_choice(self, field):
        if field.data not in ("production", "test", "custom"):
            raise ValidationError(_("Укажите адрес API."))

    def validate_custom_url(self, field):
        if self.api_choice.data != "custom":
            return
        value = (field.data or "").strip()
        if not value:
            raise ValidationError(_("Укажите адрес API."))
        try:
            outbound.check_url(value)
        except outbound.OutboundError as exc:
            raise ValidationError(_(ADDRESS_ERRORS[exc.reason])) from None

    def validate_client_id(self, field):
        if not (field.data or "").strip():
            raise ValidationError(_("Заполните это поле."))

    def validate_sign_key(self, field):
        # On edit an empty key keeps the stored one.
        if not (field.data or "").strip() and self.account is None:
            raise ValidationError(_("Заполните это поле."))

    def validate_domain(self, field):
        value = (field.data or "").strip()
        if value and not _DOMAIN.match(value):
            raise ValidationError(_("Не похоже на домен, например example.20.rt.ru."))

    def validate_ca_bundle(self, field):
        upload = field.data
        if not upload or not getattr(upload, "filename", ""):
            return
        raw = upload.read(MAX_CA_BYTES + 1)
        if len(raw) > MAX_CA_BYTES:
            raise ValidationError(_("Файл больше 256 КБ: это не похоже на сертификат."))
        try:
            text = raw.decode("ascii")
        except UnicodeDecodeError:
            text = ""
        if "-----BEGIN CERTIFICATE-----" not in text:
            raise ValidationError(
                _("Нужен текстовый файл PEM с сертификатом (-----BEGIN CERTIFICATE-----).")
            )
        try:
            self.ca_pem = directory.check_ca_bundle(text)
        except SetupError:
            raise ValidationError(_("В файле есть сертификат, который не читается.")) from None

    def apply_call_settings(self, account: PbxAccount) -> None:
        """What the call machine needs to know of this domain (``dispatch/follow.py``)."""
        account.route_inbound = bool(self.route_inbound.data)
        account.events_expected = not self.no_events.data
        if self.ring_seconds.data is not None:
            account.ring_seconds = int(self.ring_seconds.data)

    def show_call_settings(self, account: PbxAccount) -> None:
        self.route_inbound.data = account.route_inbound
        self.no_events.data = not account.events_expected
        self.ring_seconds.data = account.ring_seconds

    def api_url(self) -> str:
        choice = self.api_choice.data
        if choice == "production":
            return PRODUCTION_API
        if choice == "test":
            return TEST_API
        return (self.custom_url.data or "").strip().rstrip("/")
