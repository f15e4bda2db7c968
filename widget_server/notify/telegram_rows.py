"""The Telegram bot's tables: one-time link codes and the ``getUpdates`` offset.

Apart from ``models.py`` (kept short); the app imports them with the notify tasks,
so the metadata and the migrations know them.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from ..extensions import db
from ..models import utcnow


class TelegramLinkCode(db.Model):
    """A one-time code of the bot's ``/start`` deep link: binds the chat that sends it to
    the owner who asked for it. Only its hash is kept; it works once and expires."""

    __tablename__ = "telegram_link_codes"

    id: Mapped[int] = mapped_column(primary_key=True)
    owner_id: Mapped[int] = mapped_column(ForeignKey("owners.id", ondelete="CASCADE"), index=True)
    code_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime]
    used_at: Mapped[datetime | None]


class TelegramOffset(db.Model):
    """The next ``getUpdates`` offset of a bot (by its numeric id), so a restart does not
    read confirmed updates again."""

    __tablename__ = "telegram_offsets"

    bot_id: Mapped[str] = mapped_column(String(32), primary_key=True)
    next_offset: Mapped[int] = mapped_column(default=0)
