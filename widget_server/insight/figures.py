"""The dashboard's lead figures, read with plain queries and computed in Python.

The same on SQLite and PostgreSQL: no date functions in SQL (weekday and hour are
taken in Python, in the display zone), only sums and filters. Test calls never count.
Times are naive UTC like every timestamp in the database; ``start``/``end`` bound
``created_at``, ``first_day``/``last_day`` the funnel's display-zone days.
"""

from __future__ import annotations

import statistics
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from urllib.parse import urlsplit

from sqlalchemy import and_, exists, func, select

from ..extensions import db
from ..models import CallAttempt, CallbackRequest, FunnelDay
from ..statuses import Outcome, Status
from .ab import Comparison, compare
from .counter import FUNNEL_TZ
from .lead_settings import ab_of
from .source import source_label

# A call the operator picked up (then the visitor was rung) or did not. An unconfirmed
# call is one the operator answered: it is settled so only once something showed that.
ANSWERED = {
    Outcome.COMPLETED,
    Outcome.UNCONFIRMED,
    Outcome.VISITOR_BUSY,
    Outcome.VISITOR_NO_ANSWER,
}
MISSED = {Outcome.OPERATOR_NO_ANSWER, Outcome.OPERATOR_TIMEOUT}
TOP = 10


def _has_call(outcome: Outcome):
    return exists().where(
        CallAttempt.request_id == CallbackRequest.id, CallAttempt.outcome == outcome
    )


# A request that ended without a confirmed talk: finished, its call unconfirmed, none
# completed. Counted neither as connected nor as missed (admin/request_stats.py).
UNCONFIRMED_TALK = and_(
    CallbackRequest.status == Status.FINISHED,
    _has_call(Outcome.UNCONFIRMED),
    ~_has_call(Outcome.COMPLETED),
)
# Connected, and the talk not in doubt: what every "connected" figure counts.
TALKED = and_(CallbackRequest.connected_at.is_not(None), ~UNCONFIRMED_TALK)


@dataclass
class Funnel:
    impressions: int = 0
    opens: int = 0
    submits: int = 0
    connected: int = 0


@dataclass
class Row:
    """One line of a breakdown: by source, page or variant."""

    label: str
    impressions: int = 0
    opens: int = 0
    submits: int = 0
    connected: int = 0


@dataclass
class OperatorRow:
    pin: str
    answered: int = 0
    missed: int = 0
    waits: list[float] = field(default_factory=list)  # request to talk, seconds

    @property
    def median_wait(self) -> float | None:
        return statistics.median(self.waits) if self.waits else None


def _requests(widget_ids, start: datetime, end: datetime, *columns):
    return db.session.execute(
        select(*columns).where(
            CallbackRequest.widget_id.in_(widget_ids),
            CallbackRequest.is_test.is_(False),
            CallbackRequest.created_at >= start,
            CallbackRequest.created_at < end,
        )
    )


def _funnel_rows(widget_ids, first_day: date, last_day: date, *group):
    return db.session.execute(
        select(*group, func.sum(FunnelDay.impressions), func.sum(FunnelDay.opens))
        .where(
            FunnelDay.widget_id.in_(widget_ids),
            FunnelDay.day >= first_day,
            FunnelDay.day <= last_day,
        )
        .group_by(*group)
    )


def funnel(widget_ids, first_day, last_day, start, end) -> Funnel:
    result = Funnel()
    for impressions, opens in _funnel_rows(widget_ids, first_day, last_day):
        result.impressions, result.opens = int(impressions or 0), int(opens or 0)
    for (talked,) in _requests(widget_ids, start, end, TALKED):
        result.submits += 1
        result.connected += bool(talked)
    return result


def by_source(widget_ids, start, end, direct: str) -> list[Row]:
    """Requests and connected ones per source (utm_source, else the referrer's host)."""
    rows: dict[str, Row] = {}
    # Only the columns source_label reads, not whole requests.
    query = _requests(
        widget_ids,
        start,
        end,
        CallbackRequest.source_utm_source,
        CallbackRequest.source_yclid,
        CallbackRequest.source_gclid,
        CallbackRequest.source_referrer,
        TALKED.label("talked"),
    )
    for req in query:
        label = source_label(req) or direct
        row = rows.setdefault(label, Row(label))
        row.submits += 1
        row.connected += bool(req.talked)
    return sorted(rows.values(), key=lambda r: (-r.submits, r.label))[:TOP]


def page_path(url: str | None) -> str:
    if not url:
        return ""
    try:
        return urlsplit(url).path[:200] or "/"
    except ValueError:
        return ""


def by_page(widget_ids, first_day, last_day, start, end) -> list[Row]:
    """Impressions, opens (beacons) and requests (their page_url) per page path."""
    rows: dict[str, Row] = {}
    for path, impressions, opens in _funnel_rows(widget_ids, first_day, last_day, FunnelDay.path):
        if path:
            row = rows.setdefault(path, Row(path))
            row.impressions += int(impressions or 0)
            row.opens += int(opens or 0)
    query = _requests(widget_ids, start, end, CallbackRequest.page_url, TALKED)
    for url, talked in query:
        if path := page_path(url):
            row = rows.setdefault(path, Row(path))
            row.submits += 1
            row.connected += bool(talked)
    ranked = sorted(rows.values(), key=lambda r: (-r.submits, -r.impressions, r.label))
    return ranked[:TOP]


def operators(widget_ids, start, end) -> list[OperatorRow]:
    """Per operator: calls answered and missed, and the median from request to talk."""
    query = (
        select(
            CallAttempt.operator_pin,
            CallAttempt.outcome,
            CallbackRequest.created_at,
            CallbackRequest.connected_at,
        )
        .join(CallbackRequest, CallbackRequest.id == CallAttempt.request_id)
        .where(
            CallbackRequest.widget_id.in_(widget_ids),
            CallbackRequest.is_test.is_(False),
            CallbackRequest.created_at >= start,
            CallbackRequest.created_at < end,
        )
    )
    rows: dict[str, OperatorRow] = {}
    for pin, outcome, created_at, connected_at in db.session.execute(query):
        row = rows.setdefault(pin, OperatorRow(pin))
        if outcome in ANSWERED:
            row.answered += 1
        elif outcome in MISSED:
            row.missed += 1
        if outcome == Outcome.COMPLETED and connected_at is not None:
            row.waits.append(max(0.0, (connected_at - created_at).total_seconds()))
    return sorted(rows.values(), key=lambda r: (-(r.answered + r.missed), r.pin))


def heat_map(widget_ids, start, end) -> list[list[int]]:
    """Requests per weekday (Monday first) and hour, in the display zone: 7 rows of 24."""
    counts: Counter = Counter()
    for (created_at,) in _requests(widget_ids, start, end, CallbackRequest.created_at):
        local = created_at.replace(tzinfo=UTC).astimezone(FUNNEL_TZ)
        counts[(local.weekday(), local.hour)] += 1
    return [[counts[(day, hour)] for hour in range(24)] for day in range(7)]


@dataclass
class AbFigures:
    started: date
    variants: dict[str, Row]
    opens: Comparison  # opens per impression
    submits: Comparison  # requests per impression


def ab_figures(widget, last_day: date) -> AbFigures | None:
    """The running test of ``widget`` since it started, None when none runs."""
    ab = ab_of(widget.lead_settings or {})
    if ab is None:
        return None
    try:
        started = date.fromisoformat(ab.get("started") or "")
    except ValueError:
        started = last_day
    variants = {vid: Row(vid.upper()) for vid in ("a", "b")}
    for vid, impressions, opens in _funnel_rows([widget.id], started, last_day, FunnelDay.variant):
        if vid in variants:
            variants[vid].impressions, variants[vid].opens = int(impressions or 0), int(opens or 0)
    since = datetime.combine(started, datetime.min.time(), FUNNEL_TZ).astimezone(UTC)
    counts: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    query = select(CallbackRequest.variant, TALKED).where(
        CallbackRequest.widget_id == widget.id,
        CallbackRequest.is_test.is_(False),
        CallbackRequest.created_at >= since.replace(tzinfo=None),
        CallbackRequest.variant.is_not(None),
    )
    for vid, talked in db.session.execute(query):
        counts[vid][0] += 1
        counts[vid][1] += bool(talked)
    for vid, (submits, connected) in counts.items():
        if vid in variants:
            variants[vid].submits, variants[vid].connected = submits, connected
    a, b = variants["a"], variants["b"]
    return AbFigures(
        started,
        variants,
        compare(a.opens, a.impressions, b.opens, b.impressions),
        compare(a.submits, a.impressions, b.submits, b.impressions),
    )
