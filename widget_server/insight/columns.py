"""The database side of issue 15: a request's source and lead fields, the funnel's daily table.

Kept out of ``models.py`` (which stays short): ``CallbackRequest`` takes ``LeadColumns`` as
a mixin, and ``models`` re-exports ``FunnelDay``. The columns are plain ones, named
``source_<field>``, so that the log filters by them on SQLite and PostgreSQL alike and
other integrations (CRMs, messengers) read them directly.
"""

from __future__ import annotations

from datetime import date

from sqlalchemy import ForeignKey, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from ..extensions import db

LEAD_STATUSES = ("new", "in_work", "done", "spam")


class LeadColumns:
    """Where the visitor came from (first touch of their session), the A/B variant, the lead."""

    source_utm_source: Mapped[str | None] = mapped_column(String(200))
    source_utm_medium: Mapped[str | None] = mapped_column(String(200))
    source_utm_campaign: Mapped[str | None] = mapped_column(String(200))
    source_utm_term: Mapped[str | None] = mapped_column(String(200))
    source_utm_content: Mapped[str | None] = mapped_column(String(200))
    source_yclid: Mapped[str | None] = mapped_column(String(200))
    source_gclid: Mapped[str | None] = mapped_column(String(200))
    source_referrer: Mapped[str | None] = mapped_column(String(1000))
    source_landing_page: Mapped[str | None] = mapped_column(String(1000))
    variant: Mapped[str | None] = mapped_column(String(1))  # "a" | "b" while an A/B test ran
    lead_status: Mapped[str] = mapped_column(String(16), default="new", server_default="new")
    lead_comment: Mapped[str | None] = mapped_column(Text)


class FunnelDay(db.Model):
    """Impressions and opens of one widget on one day, per A/B variant and page path.

    Written by the counter's flush (``insight/counter.py``), never per beacon.
    ``variant`` and ``path`` are "" when none.
    """

    __tablename__ = "funnel_days"
    __table_args__ = (UniqueConstraint("widget_id", "day", "variant", "path"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    widget_id: Mapped[int] = mapped_column(ForeignKey("widgets.id", ondelete="CASCADE"), index=True)
    day: Mapped[date]
    variant: Mapped[str] = mapped_column(String(1), default="")
    path: Mapped[str] = mapped_column(String(200), default="")
    impressions: Mapped[int] = mapped_column(default=0)
    opens: Mapped[int] = mapped_column(default=0)
