"""The daily digest: yesterday's requests of each owner, counted per widget.

No numbers in it: only counts. "Yesterday" is a Moscow day; the digest is
recorded at 05:00 UTC = 08:00 Moscow and delivered through the outbox.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import or_, select

from ..extensions import db
from ..insight.figures import UNCONFIRMED_TALK
from ..models import CallbackRequest, Owner, Widget, utcnow
from ..statuses import MISSED, Status
from .outbox import kick, record_payload

DIGEST_TZ = ZoneInfo("Europe/Moscow")
# The digest's columns, in the order the e-mail shows them.
CATEGORIES = (
    "total",
    "connected",
    "unconfirmed",  # ended, the talk not confirmed (statuses.talk_unconfirmed)
    "missed",
    "failed",
    "held",
    "cancelled",
    "open",
)
# A PBX failure has its own column ("failed"), not "missed".
_MISSED = MISSED - {Status.PBX_ERROR}


def digest_window(now: datetime) -> tuple[date, datetime, datetime]:
    """Yesterday (a Moscow day) before naive-UTC ``now``, and its naive-UTC bounds."""
    day = now.replace(tzinfo=UTC).astimezone(DIGEST_TZ).date() - timedelta(days=1)
    start = datetime.combine(day, time(0), DIGEST_TZ).astimezone(UTC).replace(tzinfo=None)
    end = (
        datetime.combine(day + timedelta(days=1), time(0), DIGEST_TZ)
        .astimezone(UTC)
        .replace(tzinfo=None)
    )
    return day, start, end


def _category(status: str, held_reason: str | None, unconfirmed: bool) -> str:
    if held_reason or status == Status.HELD:
        return "held"
    if status == Status.FINISHED:
        return "unconfirmed" if unconfirmed else "connected"
    if status in _MISSED:
        return "missed"
    if status == Status.PBX_ERROR:
        return "failed"
    if status == Status.CANCELLED:
        return "cancelled"
    return "open"


def digest_summary(owner_id: int, start: datetime, end: datetime) -> dict[str, Any]:
    """Counts of an owner's requests created in [start, end), in all and per widget."""
    totals = dict.fromkeys(CATEGORIES, 0)
    widgets: dict[int, dict[str, Any]] = {}
    rows = db.session.execute(
        select(
            Widget.id,
            Widget.public_key,
            Widget.name,
            CallbackRequest.status,
            CallbackRequest.held_reason,
            UNCONFIRMED_TALK,
        )
        .join(CallbackRequest, CallbackRequest.widget_id == Widget.id)
        .where(
            Widget.owner_id == owner_id,
            CallbackRequest.created_at >= start,
            CallbackRequest.created_at < end,
        )
        .order_by(Widget.id)
    ).all()
    for widget_id, key, name, status, held_reason, unconfirmed in rows:
        entry = widgets.setdefault(
            widget_id, {"key": key, "name": name or "", **dict.fromkeys(CATEGORIES, 0)}
        )
        category = _category(status, held_reason, bool(unconfirmed))
        for counts in (entry, totals):
            counts["total"] += 1
            counts[category] += 1
    return {"totals": totals, "widgets": list(widgets.values())}


def send_daily_digests(*, now: datetime | None = None) -> int:
    """Record yesterday's digest for every owner who wants one; return how many were added.

    Runs at 05:00 UTC and hourly after that until 23:00: the later runs catch up
    after downtime and otherwise do nothing (the date is the dedupe key). A day
    without requests sends nothing.
    """
    now = now or utcnow()
    day, start, end = digest_window(now)
    owners = db.session.scalars(
        select(Owner)
        .where(
            Owner.daily_digest.is_(True),
            or_(
                Owner.notify_email.is_not(None),
                Owner.webhook_url.is_not(None),
                Owner.telegram_digest.is_(True),
            ),
        )
        .order_by(Owner.id)
    ).all()
    added = 0
    for owner in owners:
        summary = digest_summary(owner.id, start, end)
        if not summary["totals"]["total"]:
            continue
        summary = {"date": day.isoformat(), "timezone": DIGEST_TZ.key, **summary}
        added += len(record_payload(owner, "digest", day.isoformat(), {"digest": summary}, None))
        db.session.commit()
    db.session.commit()
    if added:
        kick()
    return added
