"""The owner's notification channels on the profile page: Telegram, Bitrix24, amoCRM.

Secrets (the Bitrix24 webhook URL with its code, the amoCRM token) are never shown
back: the page says "saved, •••• 1a2b". Each channel has a test button that sends
at once (not through the outbox) and says in words what failed. The banner on every
page (``templates/admin/_reach.html``) says when no channel can tell the owner anything.
"""

from __future__ import annotations

import logging
import re
from typing import Any
from urllib.parse import urlsplit

from flask import flash, g, redirect, session, url_for
from flask_wtf import FlaskForm
from sqlalchemy import select
from wtforms import BooleanField, PasswordField, StringField
from wtforms.validators import Length, Optional

from .. import outbound
from ..clock import utcnow
from ..extensions import db
from ..models import Notification, Owner
from ..notify import amocrm, channels, telegram, telegram_link
from ..notify.channel_error import ChannelError
from ..notify.email import smtp_configured
from ..notify.reach import someone_will_hear
from .access import login_required
from .blueprint import bp
from .i18n import N_, _

log = logging.getLogger(__name__)

SERVICES = {"telegram": "Telegram", "bitrix24": "Битрикс24", "amocrm": "amoCRM"}
# ChannelError.code -> what the owner reads.
ERRORS = {
    "not_linked": N_("Чат Telegram не привязан: нажмите «Привязать Telegram»."),
    "bad_token": N_("%(service)s не принял ключ доступа (HTTP %(status)s): «%(detail)s»."),
    "refused": N_("%(service)s отказал (HTTP %(status)s): «%(detail)s»."),
    "http": N_("%(service)s ответил ошибкой HTTP %(status)s: «%(detail)s»."),
    "timeout": N_("%(service)s не ответил вовремя. Попробуйте ещё раз позже."),
    "unreachable": N_("Нет связи с сервисом %(service)s."),
    "not_allowed": N_("Адрес не в интернете: сервис обращается только к публичным адресам."),
    "waiting": N_("%(service)s ещё не ответил на предыдущую заявку."),
}
NOT_CONFIGURED = {
    "telegram": N_(
        "Telegram не подключён на этом сервере: администратору нужно задать WIDGET_TELEGRAM_BOT_TOKEN."
    ),
    "bitrix24": N_("Адрес вебхука Битрикс24 не сохранён."),
    "amocrm": N_("Поддомен и токен amoCRM не сохранены."),
}
BITRIX_PATH = re.compile(r"^/rest/\d+/[A-Za-z0-9]+/?$")
BITRIX_ERROR = N_("Нужен адрес входящего вебхука вида https://портал.bitrix24.ru/rest/1/код/.")
AMO_SUBDOMAIN_ERROR = N_("Введите поддомен amoCRM: для shop.amocrm.ru это shop.")
AMO_TOKEN_ERROR = N_("Вставьте долгосрочный токен amoCRM.")


class TelegramForm(FlaskForm):
    telegram_digest = BooleanField(N_("Ежедневная сводка в Telegram"))


class Bitrix24Form(FlaskForm):
    bitrix24_url = PasswordField(
        N_("Адрес входящего вебхука Битрикс24"),
        validators=[Optional(), Length(max=500, message=N_("Не длиннее 500 символов."))],
    )


class AmocrmForm(FlaskForm):
    amocrm_subdomain = StringField(
        N_("Поддомен amoCRM"),
        validators=[Optional(), Length(max=100, message=N_("Не длиннее 100 символов."))],
    )
    amocrm_token = PasswordField(N_("Долгосрочный токен amoCRM"), validators=[Optional()])


class ChannelActionForm(FlaskForm):
    """Only the CSRF token: link, unlink, test."""


CHANNEL_LABELS = {
    "email": N_("Эл. почта"),
    "webhook": N_("Вебхук"),
    "telegram": "Telegram",
    "bitrix24": N_("Битрикс24"),
    "amocrm": "amoCRM",
}
KIND_LABELS = {
    "new": N_("о новой заявке"),
    "missed": N_("о пропущенной заявке"),
    "failed": N_("о сбое АТС"),
    "held": N_("о задержанной заявке"),
    "ended": N_("об итоге звонка"),
    "digest": N_("сводка"),
}
DELIVERY_LABELS = {
    "sent": N_("доставлено"),
    "pending": N_("повторим попытку"),
    "failed": N_("не доставлено, попытки прекращены"),
}


def request_deliveries(owner_id: int, request_id: int) -> list[dict[str, Any]]:
    """What the owner's channels were told about a request, for its timeline."""
    rows = db.session.scalars(
        select(Notification)
        .where(Notification.owner_id == owner_id, Notification.request_id == request_id)
        .order_by(Notification.id)
    ).all()
    return [
        {
            "channel": _(CHANNEL_LABELS.get(row.channel, row.channel)),
            "kind": _(KIND_LABELS.get(row.kind, row.kind)),
            "status": row.status,
            "status_label": _(DELIVERY_LABELS.get(row.status, row.status)),
            "tries": row.tries,
            "error": row.last_error if row.status != "sent" else None,
            "sent_at": row.sent_at,
        }
        for row in rows
    ]


def masked(secret: str | None) -> str:
    """``сохранён, •••• 1a2b``: enough to recognise, nothing to reuse."""
    return "•••• " + secret.rstrip("/")[-4:] if secret else ""


def channels_context(owner: Owner) -> dict[str, Any]:
    """What the profile page's channel cards show."""
    return {
        "telegram_ready": telegram.telegram_configured(),
        "telegram_link": session.pop("telegram_link", None),
        "telegram_form": TelegramForm(formdata=None, telegram_digest=owner.telegram_digest),
        "bitrix24_form": Bitrix24Form(formdata=None),
        "bitrix24_saved": masked(owner.bitrix24_url),
        "bitrix24_portal": urlsplit(owner.bitrix24_url or "").hostname or "",
        "amocrm_form": AmocrmForm(formdata=None, amocrm_subdomain=owner.amocrm_subdomain),
        "amocrm_saved": masked(owner.amocrm_token),
        "action_form": ChannelActionForm(formdata=None),
    }


@bp.context_processor
def reach_banner() -> dict[str, Any]:
    """Every config page: does any channel reach this owner?"""
    owner = getattr(g, "owner", None)
    if owner is None:
        return {}
    if someone_will_hear(owner):
        return {"nobody_hears": False}
    # Nobody hears: so every channel still linked is failing (none linked: none to name).
    failing = [_(CHANNEL_LABELS.get(name, name)) for name in channels.linked(owner)]
    return {"nobody_hears": True, "failing": failing, "smtp_ready": smtp_configured()}


def _back():
    return redirect(url_for("admin.account") + "#channels-title")


def error_words(channel: str, exc: ChannelError) -> str:
    if exc.code == "not_configured":
        return _(NOT_CONFIGURED[channel])
    return _(
        ERRORS.get(exc.code, ERRORS["http"]),
        service=SERVICES[channel],
        status=exc.status or "—",
        detail=exc.detail or "—",
    )


@bp.post("/account/telegram/link")
@login_required
def telegram_link_start():
    if ChannelActionForm().validate_on_submit():
        try:
            session["telegram_link"] = telegram_link.new_link(g.owner)
        except ChannelError as exc:
            db.session.rollback()
            flash(error_words("telegram", exc), "error")
    return _back()


@bp.post("/account/telegram/check")
@login_required
def telegram_check():
    if ChannelActionForm().validate_on_submit():
        try:
            telegram_link.poll_updates()
        except ChannelError as exc:
            db.session.rollback()
            flash(error_words("telegram", exc), "error")
            return _back()
        db.session.refresh(g.owner)
        if g.owner.telegram_chat_id:
            flash(_("Telegram привязан: %(chat)s.", chat=g.owner.telegram_chat_name), "success")
        else:
            flash(
                _("Бот пока не получил /start по вашей ссылке. Откройте ссылку и нажмите «Start»."),
                "error",
            )
    return _back()


@bp.post("/account/telegram")
@login_required
def telegram_settings():
    form = TelegramForm()
    if form.validate_on_submit():
        g.owner.telegram_digest = bool(form.telegram_digest.data)
        db.session.commit()
        flash(_("Изменения сохранены."), "success")
    return _back()


@bp.post("/account/telegram/unlink")
@login_required
def telegram_unlink():
    if ChannelActionForm().validate_on_submit():
        telegram_link.unlink(g.owner)
        flash(_("Telegram отвязан."), "success")
    return _back()


def check_bitrix24_url(raw: str) -> str:
    """A Bitrix24 inbound webhook address, checked by the outbound policy; ValueError with
    the owner's words otherwise."""
    url = raw.strip()
    if not BITRIX_PATH.match(urlsplit(url).path or ""):
        raise ValueError(BITRIX_ERROR)
    try:
        url = outbound.check_url(url)
    except outbound.OutboundError as exc:
        raise ValueError(
            ERRORS["not_allowed"] if exc.reason == "private" else BITRIX_ERROR
        ) from None
    return url.rstrip("/") + "/"


@bp.post("/account/bitrix24")
@login_required
def bitrix24_settings():
    form = Bitrix24Form()
    if form.validate_on_submit():
        if not form.bitrix24_url.data:
            g.owner.bitrix24_url = None
            db.session.commit()
            flash(_("Битрикс24 отключён."), "success")
            return _back()
        try:
            g.owner.bitrix24_url = check_bitrix24_url(form.bitrix24_url.data)
        except ValueError as exc:
            flash(_(str(exc)), "error")
            return _back()
        db.session.commit()
        log.info("owner %s set a Bitrix24 webhook", g.owner.id)
        flash(_("Битрикс24 подключён."), "success")
    return _back()


@bp.post("/account/amocrm")
@login_required
def amocrm_settings():
    form = AmocrmForm()
    if not form.validate_on_submit():
        return _back()
    owner = g.owner
    if not form.amocrm_subdomain.data:
        owner.amocrm_subdomain = owner.amocrm_token = None
        db.session.commit()
        flash(_("amoCRM отключён."), "success")
        return _back()
    try:
        subdomain = amocrm.normalize_subdomain(form.amocrm_subdomain.data)
        outbound.check_url(amocrm.base_url(subdomain))
    except (ValueError, outbound.OutboundError):
        flash(_(AMO_SUBDOMAIN_ERROR), "error")
        return _back()
    token = (form.amocrm_token.data or "").strip() or owner.amocrm_token  # blank keeps it
    if not token or any(c.isspace() for c in token):
        flash(_(AMO_TOKEN_ERROR), "error")
        return _back()
    owner.amocrm_subdomain, owner.amocrm_token = subdomain, token
    db.session.commit()
    log.info("owner %s set amoCRM account %s", owner.id, subdomain)
    flash(_("amoCRM подключён."), "success")
    return _back()


def sample_message(owner: Owner, channel: str) -> dict[str, Any]:
    """A message for the test button: a note in Telegram, a lead marked as a test in a CRM."""
    request = {"test": True, "id": None, "phone": None}
    return {
        "id": 0,
        "kind": "test",
        "channel": channel,
        "payload": {"request": request},
        **channels.owner_fields(owner),
    }


@bp.post("/account/channels/<channel>/test")
@login_required
def channel_test(channel: str):
    if channel not in SERVICES or not ChannelActionForm().validate_on_submit():
        return _back()
    try:
        if channel == "telegram" and not telegram.telegram_configured():
            raise ChannelError("not_configured")
        channels.send(sample_message(g.owner, channel))
    except ChannelError as exc:
        log.info("owner %s: %s test failed: %s", g.owner.id, channel, exc)
        flash(error_words(channel, exc), "error")
    else:
        _remember_delivered(g.owner, channel)
        flash(
            _("Тестовое сообщение отправлено в %(service)s.", service=SERVICES[channel]), "success"
        )
    return _back()


def _remember_delivered(owner: Owner, channel: str) -> None:
    """A test that got through is a delivery: a channel the owner just repaired counts as
    hearing again at once (notify/reach.py), not after its next retry."""
    now = utcnow()
    db.session.add(
        Notification(
            owner_id=owner.id,
            kind="test",
            channel=channel,
            dedupe_key=f"test-{now.isoformat()}",
            payload={},
            status="sent",
            tries=1,
            created_at=now,
            sent_at=now,
        )
    )
    db.session.commit()
