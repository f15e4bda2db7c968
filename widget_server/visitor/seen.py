"""Where a widget was last loaded: the setup checklist's "установлен на сайте" step.

A page view must cost nothing, so the time is kept in memory and written to the
widget's row at most once a minute per widget (per process), plus at once for an
allowed origin not seen before (bounded by the widget's origins list).
"""

from __future__ import annotations

import logging
import threading
import time
from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.exc import SQLAlchemyError

from ..extensions import db
from ..models import Widget, utcnow

log = logging.getLogger(__name__)

WRITE_EVERY_SECONDS = 60.0

_lock = threading.Lock()
_written: dict[int, float] = {}  # widget id -> monotonic time of its last write
_viewed: dict[tuple[str, str], float] = {}  # (widget key, origin) -> the same, for page views


def _due(widget: Widget, origin: str, now: float) -> bool:
    with _lock:
        last = _written.get(widget.id)
        if (
            last is not None
            and now - last < WRITE_EVERY_SECONDS
            and origin in (widget.seen_on or {})
        ):
            return False
        _written[widget.id] = now
        return True


def record(widget: Widget, origin: str) -> bool:
    """Note that ``widget`` was loaded on ``origin`` now; True when the row was written.

    Never fails the caller: the widget's config matters more than this note.
    """
    if not _due(widget, origin, time.monotonic()):
        return False
    seen = dict(widget.seen_on or {})
    seen[origin] = utcnow().isoformat(timespec="seconds")
    try:
        db.session.execute(update(Widget).where(Widget.id == widget.id).values(seen_on=seen))
        db.session.commit()
    except SQLAlchemyError as exc:
        db.session.rollback()
        log.warning("widget %s: last load not recorded (%s)", widget.id, exc.__class__.__name__)
        return False
    return True


def view_due(key: str, origin: str) -> bool:
    """Whether a page view of widget ``key`` on ``origin`` should be written now: the
    first one and then once a minute per widget and origin (this process's memory)."""
    now = time.monotonic()
    with _lock:
        last = _viewed.get((key, origin))
        if last is not None and now - last < WRITE_EVERY_SECONDS:
            return False
        _viewed[(key, origin)] = now
        return True


def write_view(key: str, origin: str) -> bool:
    """Write that widget ``key`` was shown on ``origin`` (an allowed one) now.

    Called only when ``view_due``: the look is answered from memory, so this is a page
    view's only database work, at most once a minute per widget and origin. Never fails
    the caller.
    """
    try:
        row = db.session.execute(
            select(Widget.id, Widget.seen_on).where(Widget.public_key == key)
        ).first()
        if row is None:
            db.session.rollback()
            return False
        seen = dict(row.seen_on or {})
        seen[origin] = utcnow().isoformat(timespec="seconds")
        db.session.execute(update(Widget).where(Widget.id == row.id).values(seen_on=seen))
        db.session.commit()
    except SQLAlchemyError as exc:
        db.session.rollback()
        log.warning("widget %s: last load not recorded (%s)", key, exc.__class__.__name__)
        return False
    return True


def last_seen(widget: Widget) -> tuple[str, datetime] | None:
    """(origin, naive UTC time) of the widget's latest recorded load, or None."""
    best = None
    for origin, stamp in (widget.seen_on or {}).items():
        try:
            when = datetime.fromisoformat(stamp)
        except (TypeError, ValueError):
            continue
        if best is None or when > best[1]:
            best = (origin, when)
    return best


def forget() -> None:
    """Drop the in-memory throttle (tests start from a clean slate)."""
    with _lock:
        _written.clear()
        _viewed.clear()
