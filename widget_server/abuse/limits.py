"""The dial decision: may this parsed number be called for this widget now?

Step 5 of ``decide.py``: checked once the number is normalised, after the per-IP
HTTP limits of the route. Counters live in flask-limiter's own storage (``memory://``
for one process, Redis when ``WIDGET_REDIS_URL`` is set, for several processes or
machines) and use the moving-window strategy of the ``limits`` library, whose
``hit()`` is atomic per limit (a Lua script on Redis): every limit is hit, never
tested first, so no two workers can both take the last slot.

- Per number (all widgets), per widget and number, per number prefix (all but the
  last 4 digits, all widgets): over → refuse (429, nothing stored).
- Only one active call per number: a non-final request for it in the last
  30 minutes → refuse (a disguised one while its public status is not final).
- Per widget cap per hour and day (lower for widgets younger than a week, except in
  ``widget-server demo``, whose test numbers alone would use it up): over → hold (stored,
  not dialled, the owner told once an hour).
- The limit store fails → hold (fail closed), never dial without a limit.

Keys hold keyed hashes of numbers and prefixes, never the numbers themselves.
"""

from __future__ import annotations

import logging
import math
import time
from dataclasses import dataclass
from datetime import timedelta

from flask import current_app
from limits import RateLimitItem, parse_many
from limits.storage import RedisStorage
from limits.strategies import MovingWindowRateLimiter
from sqlalchemy import and_, or_, select

from ..dev.installation import is_demo
from ..extensions import db, limiter
from ..models import CallbackRequest, Widget, utcnow
from ..ops import metrics
from ..phones import mask_phone, number_key, region_of
from ..statuses import FINAL, HeldReason, Status
from ..visitor.disguise import DISGUISED, progress
from .client_ip import client_network

log = logging.getLogger(__name__)

NEW_WIDGET_AGE = timedelta(days=7)
ACTIVE_CALL_WINDOW = timedelta(minutes=30)
ACTIVE_CALL_RETRY_AFTER = 60  # seconds the visitor is told to wait while a call is active

Limits = list[tuple[RateLimitItem, tuple[str, ...]]]  # a limit and the ids of its counter


@dataclass(frozen=True)
class Decision:
    """The dial decision: ``allow``; ``refuse`` (429 after ``retry_after`` seconds);
    ``hold`` (store, do not dial)."""

    action: str
    retry_after: int | None = None
    reason: str | None = None

    @property
    def allowed(self) -> bool:
        return self.action == "allow"

    @property
    def refused(self) -> bool:
        return self.action == "refuse"

    @property
    def held(self) -> bool:
        return self.action == "hold"


ALLOW = Decision("allow")


def _strategy() -> MovingWindowRateLimiter:
    # The moving window whatever strategy the per-IP HTTP limits use: exact counts.
    return MovingWindowRateLimiter(limiter.storage)


def _wait(strategy: MovingWindowRateLimiter, item: RateLimitItem, *ids: str) -> int:
    stats = strategy.get_window_stats(item, *ids)
    return max(1, math.ceil(stats.reset_time - time.time()))


# The moving window's acquire of the ``limits`` library (its acquire_moving_window.lua,
# the script behind ``strategy.hit`` on Redis), run for each key in turn in one call:
# the same counters and the same order, one round trip instead of one per limit.
# ARGV: timestamp, then (limit, expiry) per key. Returns the 1-based index of the first
# limit over (the ones before it keep their slot, as with hits one by one), or 0.
HIT_ALL_LUA = """
local timestamp = tonumber(ARGV[1])
for i, key in ipairs(KEYS) do
    local limit = tonumber(ARGV[2 * i])
    local expiry = tonumber(ARGV[2 * i + 1])
    local entry = redis.call('lindex', key, limit - 1)
    if entry and tonumber(entry) >= timestamp - expiry then
        return i
    end
    redis.call('lpush', key, timestamp)
    redis.call('ltrim', key, 0, limit - 1)
    redis.call('expire', key, expiry)
end
return 0
"""


def _first_over(strategy: MovingWindowRateLimiter, limits: Limits) -> int | None:
    """Hit each limit in turn; the index of the first one over (the rest untouched), or None.

    Slots already taken by the limits before it stay taken: conservative. On Redis,
    all the hits are one script call.
    """
    if isinstance(strategy.storage, RedisStorage):
        return _hit_all_on_redis(strategy.storage, limits)
    for index, (item, ids) in enumerate(limits):
        if not strategy.hit(item, *ids):
            return index
    return None


def _hit_all_on_redis(storage: RedisStorage, limits: Limits) -> int | None:
    """The index of the first limit over (``HIT_ALL_LUA``), or None when all took a slot."""
    if not limits:
        return None
    script = getattr(storage, "_widget_hit_all", None)
    if script is None:
        script = storage.get_connection().register_script(HIT_ALL_LUA)
        storage._widget_hit_all = script  # type: ignore[attr-defined]
    keys = [storage.prefixed_key(item.key_for(*ids)) for item, ids in limits]
    args: list[float | int] = [time.time()]
    for item, _ids in limits:
        args += [item.amount, item.get_expiry()]
    over = int(script(keys, args))
    return over - 1 if over else None


def is_new(widget: Widget) -> bool:
    """Younger than a week, and the first week's cap not lifted by an installation admin.

    Never in ``widget-server demo``: the README's eight test numbers and two more calls
    would fill the first week's 10 calls an hour, and the next visitor would be held.
    """
    if getattr(widget, "cap_lifted_at", None) is not None or is_demo():
        return False
    created = widget.created_at
    return created is None or created > utcnow() - NEW_WIDGET_AGE


def _active_call(phone: str, public: bool) -> bool:
    """A request for this number that is not final yet, made in the last 30 minutes.

    ``public``: a disguised one (``visitor/disguise.py``) counts while its public status is
    not final, as the real request it passes for would. The owner, who sees the truth, is
    not held up by it (dialling a trapped request again that was a person after all).
    """
    if not public:
        return _really_active(phone)
    now = utcnow()
    rows = db.session.execute(
        select(CallbackRequest.id, CallbackRequest.status).where(
            CallbackRequest.phone == phone,
            CallbackRequest.created_at >= now - ACTIVE_CALL_WINDOW,
            or_(
                CallbackRequest.status.not_in(FINAL),
                and_(
                    CallbackRequest.status == Status.HELD,
                    CallbackRequest.held_reason.in_(DISGUISED),
                ),
            ),
        )
    ).all()  # few: the per-number limits below bound them, disguised ones included
    if any(status not in FINAL for _id, status in rows):
        return True
    # Disguised, then: read further only for these (rare) rows.
    held = (db.session.get(CallbackRequest, request_id) for request_id, _status in rows)
    return any(progress(req, now).status not in FINAL for req in held if req is not None)


def _really_active(phone: str) -> bool:
    found = db.session.scalar(
        select(CallbackRequest.id)
        .where(
            CallbackRequest.phone == phone,
            CallbackRequest.created_at >= utcnow() - ACTIVE_CALL_WINDOW,
            CallbackRequest.status.not_in(FINAL),
        )
        .limit(1)
    )
    return found is not None


def check_dial(
    widget: Widget,
    phone_e164: str,
    client_ip: str | None,
    *,
    dialled: bool = True,
    public: bool = True,
) -> Decision:
    """Decide whether a request for ``phone_e164`` through ``widget`` may be dialled.

    ``dialled`` False: a request held anyway (blocked, trapped) meets the same refusals,
    and takes no slot of the widget's cap. ``public`` False: asked by the owner, for whom
    a disguised request is no active call (``_active_call``).
    """
    masked = mask_phone(phone_e164)
    if _active_call(phone_e164, public):
        log.info("widget %s: number %s already has an active request", widget.id, masked)
        metrics.count_refusal("active_call")
        return Decision("refuse", retry_after=ACTIVE_CALL_RETRY_AFTER, reason="active call")
    per_number, cap = _counters(widget, phone_e164)
    if not dialled:
        cap = []
    try:
        strategy = _strategy()
        # One pass, per-number counters first: over one of them, no cap slot is taken.
        over = _first_over(strategy, per_number + cap)
        if over is not None and over < len(per_number):
            item, ids = per_number[over]
            wait = _wait(strategy, item, *ids)
            log.info(
                "widget %s: number %s over its limit (client %s)",
                widget.id,
                masked,
                client_network(client_ip),
            )
            metrics.count_refusal("number_limit")
            return Decision("refuse", retry_after=wait, reason="number limit")
        if over is not None:
            log.warning("widget %s: %s cap reached; request held", widget.id, _cap_setting(widget))
            metrics.count_refusal("widget_cap")
            return Decision("hold", reason=HeldReason.WIDGET_CAP)
    except Exception as exc:  # the store is down: fail closed, never dial unlimited
        log.error(
            "widget %s: rate-limit store unavailable (%s); request held, not dialled",
            widget.id,
            exc.__class__.__name__,
        )
        metrics.count_refusal("limit_store")
        return Decision("hold", reason=HeldReason.LIMIT_STORE)
    return ALLOW


def _past_half(item: RateLimitItem, remaining: int) -> bool:
    """Half or more used, and not full yet (a full counter refuses on its own)."""
    used = item.amount - remaining
    return 2 * used >= item.amount and remaining > 0


def pressure(widget: Widget, phone_e164: str, client_ip: str | None) -> bool:
    """Has any counter for this request reached half its limit? Reads only, takes no slot.

    The counters of ``check_dial``, and the per-IP limits of the current route. A
    store that fails counts as pressure.
    """
    per_number, cap = _counters(widget, phone_e164)
    try:
        strategy = _strategy()
        for item, ids in per_number + cap:
            if _past_half(item, strategy.get_window_stats(item, *ids).remaining):
                return True
        for current in limiter.current_limits:  # the route's per-IP limits
            if _past_half(current.limit, current.remaining):
                return True
    except Exception as exc:
        log.warning("pressure check failed (%s): asking for a challenge", exc.__class__.__name__)
        return True
    return False


def _cap_setting(widget: Widget) -> str:
    return "NEW_WIDGET_CAP" if is_new(widget) else "WIDGET_CAP"


def _counters(widget: Widget, phone_e164: str) -> tuple[Limits, Limits]:
    """Every counter a request for this number through this widget takes a slot of.

    ``(per_number, cap)``: over a per-number one refuses, over a cap holds.
    """
    config = current_app.config
    secret = config["SECRET_KEY"]
    number = number_key(phone_e164, secret)
    prefix = number_key(phone_e164[:-4], secret)
    wid = str(widget.id)
    per_number = [(item, ("widget-number", wid, number)) for item in _items("WIDGET_NUMBER")]
    per_number += [(item, ("number", number)) for item in _items("NUMBER")]
    per_number += [(item, ("prefix", prefix)) for item in _items("PREFIX")]
    region = region_of(phone_e164)
    if region != "RU":
        # Abroad only where the owner allowed it, and never past that country's daily cap.
        daily = int((widget.countries or {}).get(region) or 0)
        per_number += [(parse_many(f"{max(daily, 1)}/day")[0], ("country", wid, region))]
    # The owner's limits come on top of the installation's, so they can only tighten.
    own = widget.limits or {}
    if own.get("per_number"):
        per_number += [
            (item, ("own-widget-number", wid, number)) for item in parse_many(own["per_number"])
        ]
    return per_number, _cap_counters(widget)


def _cap_counters(widget: Widget) -> Limits:
    wid = str(widget.id)
    cap = [(i, ("widget-cap", wid)) for i in parse_many(current_app.config[_cap_setting(widget)])]
    own = widget.limits or {}
    if own.get("cap"):
        cap += [(item, ("own-widget-cap", wid)) for item in parse_many(own["cap"])]
    return cap


def cap_usage(widget: Widget) -> list[tuple[RateLimitItem, int, float]]:
    """(limit, calls it counts now, when its oldest call leaves it) per cap; reads only.

    :raise Exception: the limit store is unreachable.
    """
    strategy = _strategy()
    usage = []
    for item, ids in _cap_counters(widget):
        stats = strategy.get_window_stats(item, *ids)
        usage.append((item, item.amount - stats.remaining, stats.reset_time))
    return usage


def _items(name: str) -> list[RateLimitItem]:
    return parse_many(current_app.config[f"RATELIMIT_{name}"])


def held_dedupe_key(widget: Widget, reason: str) -> str:
    """One owner notification per widget, per reason and per hour."""
    kind = "cap" if reason == HeldReason.WIDGET_CAP else "store"
    return f"{kind}:{widget.id}:{utcnow():%Y%m%d%H}"
