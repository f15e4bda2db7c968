"""Linking an owner's Telegram chat: a one-time code in the bot's ``/start`` deep link.

The profile page gives the owner ``https://t.me/<bot>?start=<code>``
(https://core.telegram.org/bots/features#deep-linking). Telegram opens the chat with
the bot and sends ``/start <code>`` from it; we read that message with ``getUpdates``
and link the chat that sent it to the owner who asked for the code. A code works
once and for ``CODE_LIFETIME``; only its hash is stored, so nobody can link a chat
to someone else's account without that owner's fresh link.

Why ``getUpdates`` polling (every minute in the queue worker, and at once when the
owner presses "check" on the profile page) rather than ``setWebhook``: it needs no
public HTTPS address (installations behind NAT, the demo), adds no public route to
defend, and the queue worker already runs. The offset is stored, so a restart does
not read confirmed updates again.
"""

from __future__ import annotations

import hashlib
import logging
import secrets
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select, update

from ..extensions import db
from ..models import Owner, utcnow
from .channel_error import ChannelError
from .telegram import api, bot_id, bot_username, send_text, telegram_configured
from .telegram_rows import TelegramLinkCode, TelegramOffset

log = logging.getLogger(__name__)

CODE_LIFETIME = timedelta(minutes=30)
REPLIES = {
    "linked": {
        "ru": "Готово: уведомления о заявках для {email} будут приходить в этот чат.",
        "en": "Done: request notifications for {email} will come to this chat.",
    },
    "refused": {
        "ru": "Ссылка устарела или уже использована. Получите новую на странице «Профиль».",
        "en": "This link has expired or was used already. Get a new one on the Profile page.",
    },
}


def _hash(code: str) -> str:
    return hashlib.sha256(code.encode("utf-8")).hexdigest()


def new_link(owner: Owner, *, now: datetime | None = None) -> str:
    """A fresh deep link for ``owner``; earlier unused codes stop working. Commits."""
    now = now or utcnow()
    db.session.execute(
        update(TelegramLinkCode)
        .where(TelegramLinkCode.owner_id == owner.id, TelegramLinkCode.used_at.is_(None))
        .values(expires_at=now)
    )
    code = secrets.token_urlsafe(24)  # 32 characters of A-Za-z0-9_-: what /start allows
    db.session.add(
        TelegramLinkCode(
            owner_id=owner.id, code_hash=_hash(code), created_at=now, expires_at=now + CODE_LIFETIME
        )
    )
    username = bot_username()
    db.session.commit()
    return f"https://t.me/{username}?start={code}"


def link_chat(code: str, chat: dict[str, Any], *, now: datetime | None = None) -> Owner | None:
    """Link ``chat`` to the owner whose live code this is; None when refused. Commits."""
    now = now or utcnow()
    row = db.session.scalar(
        select(TelegramLinkCode).where(TelegramLinkCode.code_hash == _hash(code))
    )
    if row is None or row.expires_at <= now:
        db.session.rollback()
        return None
    owner = db.session.get(Owner, row.owner_id)
    chat_id = str(chat.get("id"))
    if row.used_at is not None:
        db.session.rollback()
        # A second poller reading the same update: already done, not a refusal.
        return owner if owner is not None and owner.telegram_chat_id == chat_id else None
    taken = db.session.execute(
        update(TelegramLinkCode)
        .where(TelegramLinkCode.id == row.id, TelegramLinkCode.used_at.is_(None))
        .values(used_at=now)
        .execution_options(synchronize_session=False)
    ).rowcount
    if not taken or owner is None:
        db.session.rollback()
        return None
    owner.telegram_chat_id = chat_id
    owner.telegram_chat_name = chat_name(chat)[:100]
    db.session.commit()
    log.info("owner %s linked a Telegram chat", owner.id)
    return owner


def chat_name(chat: dict[str, Any]) -> str:
    if chat.get("title"):
        return str(chat["title"])
    name = " ".join(str(chat[k]) for k in ("first_name", "last_name") if chat.get(k))
    if chat.get("username"):
        name = f"{name} (@{chat['username']})" if name else f"@{chat['username']}"
    return name or str(chat.get("id"))


def unlink(owner: Owner) -> None:
    owner.telegram_chat_id = owner.telegram_chat_name = None
    db.session.commit()
    log.info("owner %s unlinked the Telegram chat", owner.id)


def poll_updates() -> int:
    """Read the bot's new messages once and act on ``/start <code>``; return how many
    chats were linked. Does nothing without a bot token.

    :raise ChannelError: the Bot API refused or did not answer (the periodic task logs it).
    """
    if not telegram_configured():
        return 0
    key = bot_id()
    stored = db.session.get(TelegramOffset, key)
    offset = stored.next_offset if stored else 0
    db.session.rollback()
    updates = api("getUpdates", {"offset": offset, "timeout": 0, "allowed_updates": ["message"]})
    linked = 0
    for item in updates or []:
        offset = max(offset, int(item.get("update_id", 0)) + 1)
        linked += _handle(item.get("message") or {})
    row = db.session.get(TelegramOffset, key)
    if row is None:
        db.session.add(TelegramOffset(bot_id=key, next_offset=offset))
    elif offset > row.next_offset:
        row.next_offset = offset
    db.session.commit()
    return linked


def _handle(message: dict[str, Any]) -> int:
    text = str(message.get("text") or "").strip()
    chat = message.get("chat") or {}
    command, _, code = text.partition(" ")
    if command.split("@")[0] != "/start" or not chat.get("id"):
        return 0
    language = (
        "en" if str((message.get("from") or {}).get("language_code", "")).startswith("en") else "ru"
    )
    owner = link_chat(code.strip(), chat) if code.strip() else None
    if owner is None:
        reply = REPLIES["refused"][language]
    else:
        reply = REPLIES["linked"][owner.language if owner.language in ("ru", "en") else "ru"]
        reply = reply.format(email=owner.email)
    try:
        send_text(str(chat["id"]), reply)
    except ChannelError as exc:
        log.warning("could not answer a Telegram /start: %s", exc)
    return 1 if owner is not None else 0


def poll_quietly() -> int:
    """The periodic task: poll once; a Bot API failure is logged, not raised."""
    try:
        return poll_updates()
    except ChannelError as exc:
        db.session.rollback()
        log.warning("Telegram getUpdates failed: %s", exc)
        return 0
