"""The PBX's call-journal exports and the raw exchanges kept for the first-call check.

Apart from ``models.py`` (kept short), which re-exports both.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from ..clock import utcnow
from ..extensions import db


class PbxJournal(db.Model):
    """One call-journal export ordered from the PBX, and what reconciling it found."""

    __tablename__ = "pbx_journals"

    id: Mapped[int] = mapped_column(primary_key=True)
    pbx_account_id: Mapped[int] = mapped_column(
        ForeignKey("pbx_accounts.id", ondelete="CASCADE"), index=True
    )
    order_id: Mapped[str | None] = mapped_column(String(128), index=True)
    period_start: Mapped[datetime]  # naive UTC, like every timestamp here
    period_end: Mapped[datetime]
    status: Mapped[str] = mapped_column(String(16), default="ordered")  # ordered | done | failed
    error: Mapped[str | None] = mapped_column(String(500))
    rows: Mapped[int] = mapped_column(default=0)
    matched: Mapped[int] = mapped_column(default=0)
    settled: Mapped[int] = mapped_column(default=0)
    # Calls the PBX made to our visitors that we have no attempt for (numbers masked).
    unknown_calls: Mapped[list | None] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    finished_at: Mapped[datetime | None]


class PbxExchange(db.Model):
    """One raw exchange with the PBX (reply, event, call_info), kept for the first-call check.

    Secrets are never stored (no signature header, no key); numbers are masked on download.
    """

    __tablename__ = "pbx_exchanges"

    id: Mapped[int] = mapped_column(primary_key=True)
    pbx_account_id: Mapped[int] = mapped_column(
        ForeignKey("pbx_accounts.id", ondelete="CASCADE"), index=True
    )
    kind: Mapped[str] = mapped_column(
        String(32)
    )  # call_back | call_info | get_record | event | tls
    session_id: Mapped[str | None] = mapped_column(String(128), index=True)
    request: Mapped[dict | None] = mapped_column(JSON)
    reply: Mapped[dict | None] = mapped_column(JSON)
    headers: Mapped[dict | None] = mapped_column(JSON)
    error: Mapped[str | None] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
