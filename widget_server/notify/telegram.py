"""Telegram: the installation's bot writes to the chat an owner linked (``telegram_link``).

Bot API (https://core.telegram.org/bots/api): ``POST <api>/bot<token>/<method>`` with
a JSON body; the answer is ``{"ok": true, "result": …}`` or ``{"ok": false,
"error_code": 403, "description": "Forbidden: bot was blocked by the user"}``.
``sendMessage`` takes ``chat_id``, ``text`` and ``link_preview_options``.

The owner's own chat carries the visitor's full number (the owner calls back); the
log never does, nor the token (it is part of every Bot API URL).
"""

from __future__ import annotations

import logging
from typing import Any

from flask import current_app
from flask_babel import force_locale, gettext
from sqlalchemy import update

from ..extensions import db
from ..models import Owner
from .channel_error import ChannelError
from .email import display_phone
from .http_call import call_json

log = logging.getLogger(__name__)

# The bot's username per token, for the deep link (getMe answers it; it never changes).
_usernames: dict[str, str] = {}


def bot_token() -> str | None:
    return current_app.config.get("TELEGRAM_BOT_TOKEN") or None


def telegram_configured() -> bool:
    """True when this installation has a bot (``WIDGET_TELEGRAM_BOT_TOKEN``)."""
    return bool(bot_token())


def bot_id() -> str:
    """The bot's numeric id: the token's part before the colon (not secret)."""
    return (bot_token() or "").partition(":")[0]


def api(method: str, params: dict[str, Any]) -> Any:
    """Call one Bot API method; return its ``result``.

    :raise ChannelError: no token, a refused token (401/404), another refusal (its
        ``description``), a timeout or no connection.
    """
    token = bot_token()
    if not token:
        raise ChannelError("not_configured", detail="WIDGET_TELEGRAM_BOT_TOKEN is not set")
    base = current_app.config.get("TELEGRAM_API_URL") or "https://api.telegram.org"
    status, body = call_json("POST", f"{base}/bot{token}/{method}", owner_url=False, json=params)
    if isinstance(body, dict) and body.get("ok") is True:
        return body.get("result")
    description = str(body.get("description") or "") if isinstance(body, dict) else ""
    code = body.get("error_code") if isinstance(body, dict) else None
    if status in (401, 404) or code in (401, 404):
        raise ChannelError("bad_token", status=code or status, detail=description)
    raise ChannelError("refused", status=code or status, detail=description)


def bot_username() -> str:
    """The bot's @username (``getMe``), asked once per token."""
    token = bot_token() or ""
    if token not in _usernames:
        me = api("getMe", {})
        _usernames[token] = str((me or {}).get("username") or "")
    return _usernames[token]


def send_text(chat_id: str, text: str) -> dict[str, Any]:
    result = api(
        "sendMessage",
        {"chat_id": chat_id, "text": text[:4096], "link_preview_options": {"is_disabled": True}},
    )
    return {"message_id": (result or {}).get("message_id")}


def send_telegram(message: dict[str, Any]) -> dict[str, Any]:
    """Deliver one outbox message to the owner's chat.

    A chat that blocked the bot, was deleted or removed it is unlinked: nobody reads
    it any more, so the config page warns and the visitor is not promised a call back.
    """
    chat = message.get("telegram_chat_id")
    if not chat:
        raise ChannelError("not_linked")
    text = telegram_text(message["kind"], message["payload"], message.get("language") or "ru")
    try:
        return send_text(chat, text)
    except ChannelError as exc:
        if exc.status == 403 or (exc.status == 400 and "chat not found" in exc.detail):
            _forget_chat(message.get("owner_id"), chat)
        raise


def _forget_chat(owner_id: int | None, chat: str) -> None:
    db.session.execute(
        update(Owner)
        .where(Owner.id == owner_id, Owner.telegram_chat_id == chat)
        .values(telegram_chat_id=None, telegram_chat_name=None)
    )
    db.session.commit()
    log.warning("owner %s: the Telegram chat is gone or blocked the bot; unlinked", owner_id)


def request_link(request_id: int | None) -> str:
    if request_id is None:
        return ""
    return f"{current_app.config['PUBLIC_URL']}/admin/requests/{request_id}"


def telegram_text(kind: str, payload: dict[str, Any], language: str = "ru") -> str:
    """The message text, in the owner's language."""
    with force_locale(language):
        if kind == "digest":
            return _digest_text(payload.get("digest") or {})
        if kind == "test":
            return gettext("Проверка связи: уведомления о заявках будут приходить в этот чат.")
        return _request_text(kind, payload)


def _request_text(kind: str, payload: dict[str, Any]) -> str:
    headings = {
        "new": gettext("Новая заявка на обратный звонок"),
        "missed": gettext("Пропущенная заявка: перезвоните посетителю"),
        "failed": gettext("Сбой АТС: заявка не передана операторам"),
        "held": gettext("Заявки задерживаются и не передаются операторам"),
    }
    req = payload.get("request") or {}
    extra = payload.get("extra") or {}
    lines = [headings.get(kind, kind)]
    if req.get("phone"):
        lines.append(gettext("Номер: %(phone)s", phone=display_phone(req["phone"])))
    if req.get("name"):
        lines.append(gettext("Имя: %(name)s", name=req["name"]))
    if req.get("department"):
        lines.append(gettext("Отдел: %(department)s", department=req["department"]))
    source = source_line(req.get("source"))
    if source:
        lines.append(gettext("Источник: %(source)s", source=source))
    elif req.get("page_url") or req.get("origin"):
        lines.append(gettext("Страница: %(page)s", page=req.get("page_url") or req["origin"]))
    widget = (req.get("widget") or {}).get("name") or extra.get("widget_name")
    if widget:
        lines.append(gettext("Виджет: %(widget)s", widget=widget))
    if extra.get("reason"):
        lines.append(gettext("Причина: %(reason)s", reason=extra["reason"]))
    if req.get("id"):
        lines.append(gettext("Заявка: %(link)s", link=request_link(req["id"])))
    return "\n".join(lines)


def source_line(source: Any) -> str:
    """``yandex / cpc / spring_sale`` from the first touch's UTM fields, or the referrer."""
    if not isinstance(source, dict):
        return ""
    utm = [source.get(k) for k in ("utm_source", "utm_medium", "utm_campaign")]
    utm = [str(v) for v in utm if v]
    if utm:
        return " / ".join(utm)
    for key in ("referrer", "landing_page"):
        if source.get(key):
            return str(source[key])
    return ""


def _digest_text(digest: dict[str, Any]) -> str:
    totals = digest.get("totals") or {}
    return "\n".join(
        [
            gettext("Сводка за %(day)s", day=digest.get("date", "")),
            gettext("Всего заявок: %(count)s", count=totals.get("total", 0)),
            gettext("Дозвонились: %(count)s", count=totals.get("connected", 0)),
            gettext("Разговор не подтверждён: %(count)s", count=totals.get("unconfirmed", 0)),
            gettext("Пропущено: %(count)s", count=totals.get("missed", 0)),
            gettext("Сбои АТС: %(count)s", count=totals.get("failed", 0)),
            gettext("Задержано: %(count)s", count=totals.get("held", 0)),
        ]
    )
