"""The widget's look document, served from memory: a page view costs no database work.

Everything the widget needs to draw itself is the same for every visitor of a widget
(in one language), so it is built once, kept in Redis when ``WIDGET_REDIS_URL`` is set (one GET per page view, so several
processes agree at once), else in this process, and answered with an ETag. It changes
only when the owner saves the widget or its departments: a flush that touches what
the look shows bumps ``widgets.look_version`` and, once committed, drops the cached
copies. Without Redis another process notices within ``RECHECK_SECONDS`` (one indexed
one-column read per widget and language, not per page view).
"""

from __future__ import annotations

import hashlib
import json
import logging
import time
from dataclasses import asdict, dataclass
from typing import Any

from flask import current_app, has_app_context
from sqlalchemy import event, select
from sqlalchemy.orm import Session, selectinload

from ..abuse import bots
from ..extensions import db
from ..models import Widget, WidgetGroup
from ..version import __version__
from .accent import text_on
from .call_us import call_us
from .look_extras import look_extras
from .texts import LANGUAGES, group_label, look_language, texts_for

log = logging.getLogger(__name__)

RECHECK_SECONDS = 5.0
REDIS_TTL_SECONDS = 3600
STREAM_RULE = "/api/v1/requests/<handle>/events"
# The columns the look document shows (or that decide whether it is served).
LOOK_COLUMNS = frozenset(
    {"public_key", "origins", "language", "texts", "privacy_policy_url", "color", "position"}
    | {"ask_name", "countdown_seconds", "active", "offered_groups", "lead_settings"}
    | {"visitor_phone"}
)
# A look is cached per language slot: the one asked for (the script tag's data-lang), or
# "~" and the browser's best language, which decides for a widget set to the visitor's
# browser ("auto") and is the owner's language for every other widget.
SLOTS = (*LANGUAGES, *(f"~{lang}" for lang in LANGUAGES), "~")


def language_slot(asked: str | None, browser: str | None) -> str:
    """The cache slot of a look request: ``?lang=`` if valid, else ``~`` + the browser's."""
    if asked in LANGUAGES:
        return asked
    return "~" + (browser if browser in LANGUAGES else "")


@dataclass(frozen=True)
class Look:
    """One widget's look in one language: the JSON body and what decides who gets it."""

    body: str
    etag: str
    origins: tuple[str, ...]
    active: bool
    version: int


def look_fields(look: Look) -> dict[str, Any]:
    return asdict(look)


def _local() -> dict[tuple[str, str], tuple[Look, float]]:
    """This process's copies (per app: tests run several apps in one process)."""
    return current_app.extensions.setdefault("look_cache", {})


def look_document(widget: Widget, lang: str) -> dict[str, Any]:
    """The cacheable part of the old ``/config``: no token, no open/closed, no slots."""
    return {
        "key": widget.public_key,
        "language": lang,
        "color": widget.color,
        "on_color": text_on(widget.color),
        "position": widget.position,
        "privacy_policy_url": widget.privacy_policy_url,
        "ask_name": widget.ask_name,
        "countdown_seconds": widget.countdown_seconds,
        "poll_interval_ms": current_app.config["STATUS_POLL_MS"],
        # Slower once talking: nothing changes quickly during the talk.
        "poll_interval_talking_ms": current_app.config["STATUS_POLL_TALKING_MS"],
        "groups": [
            {"id": wg.group.pin, "label": group_label(wg, lang) or wg.label}
            for wg in widget.offered_groups
        ],
        "texts": texts_for(widget, lang),
        # True once this server streams statuses (Server-Sent Events); else the widget polls.
        "status_stream": any(rule.rule == STREAM_RULE for rule in current_app.url_map.iter_rules()),
        # The widget's number for visitors, {"href": "tel:…", "text": "Позвонить нам: …"} or
        # null: the main button where no call will come (visitor/call_us.py).
        "call_us": call_us(widget, lang),
        # A submit sooner than this after the form token arrived is asked for a proof of work
        # (abuse/bots.py): the widget holds a quick visitor's submit until then instead.
        "token_wait_ms": int(bots.MIN_FILL_SECONDS * 1000) if bots.enabled() else 0,
    } | look_extras(widget)


def _build(key: str, slot: str) -> Look | None:
    widget = db.session.scalar(
        select(Widget)
        .where(Widget.public_key == key)
        .options(selectinload(Widget.offered_groups).selectinload(WidgetGroup.group))
    )
    if widget is None:
        db.session.rollback()
        return None
    browser = slot[1:] if slot.startswith("~") else None
    # The script tag's data-lang is the owner's own choice, kept as it always was.
    lang = slot if slot in LANGUAGES else look_language(widget, None, browser or None)
    body = json.dumps(look_document(widget, lang), ensure_ascii=False, separators=(",", ":"))
    etag = hashlib.sha256(body.encode()).hexdigest()[:32]
    look = Look(body, etag, tuple(widget.origins or ()), widget.active, widget.look_version)
    db.session.rollback()  # a read only: the connection goes back to the pool
    return look


def _redis():
    """The shared cache's client when ``WIDGET_REDIS_URL`` is set, made on first use."""
    url = current_app.config.get("REDIS_URL")
    if not url:
        return None
    client = current_app.extensions.get("look_redis")
    if client is None:
        import redis  # only where Redis is configured: a lean process without it

        # Short timeouts: a dead Redis must not hold a page view for long.
        client = redis.Redis.from_url(url, socket_timeout=1.0, socket_connect_timeout=1.0)
        current_app.extensions["look_redis"] = client
    return client


def look_in_memory(app, key: str, lang: str) -> Look | None:
    """The look in slot ``lang`` if this process holds it and it is due no recheck."""
    if app.config.get("REDIS_URL"):
        client = app.extensions.get("look_redis")
        return _from_redis(client, key, lang) if client is not None else None
    hit = app.extensions.get("look_cache", {}).get((key, lang))
    if hit and time.monotonic() - hit[1] < RECHECK_SECONDS:
        return hit[0]
    return None


def cached_look(key: str, lang: str) -> Look | None:
    """The look of widget ``key`` in slot ``lang`` (None if there is no such widget),
    from memory whenever it can be."""
    shared = _redis()
    if shared is not None:
        look = _from_redis(shared, key, lang)
        if look is None:
            look = _build(key, lang)
            if look is not None:
                _to_redis(shared, key, lang, look)
        return look
    local, now = _local(), time.monotonic()
    hit = local.get((key, lang))
    if hit and now - hit[1] < RECHECK_SECONDS:
        return hit[0]
    look = None
    if hit:
        version = db.session.scalar(select(Widget.look_version).where(Widget.public_key == key))
        db.session.rollback()  # a read only: the connection goes back to the pool
        look = hit[0] if version == hit[0].version else None
    look = look or _build(key, lang)
    if look is not None:
        local[(key, lang)] = (look, now)
    return look


def _redis_key(key: str, lang: str) -> str:
    # The release in the key: a new one may word the default texts differently.
    return f"widget-server:look:{__version__}:{key}:{lang or '-'}"


def _from_redis(client, key: str, lang: str) -> Look | None:
    try:
        raw = client.get(_redis_key(key, lang))
    except Exception as exc:  # noqa: BLE001 - a dead Redis means building from the database
        log.warning("look cache: Redis unavailable (%s)", exc.__class__.__name__)
        return None
    if not raw:
        return None
    fields = json.loads(raw)
    fields["origins"] = tuple(fields["origins"])
    return Look(**fields)


def _to_redis(client, key: str, lang: str, look: Look) -> None:
    try:
        client.set(_redis_key(key, lang), json.dumps(look_fields(look)), ex=REDIS_TTL_SECONDS)
    except Exception as exc:  # noqa: BLE001 - the next page view tries again
        log.warning("look cache: Redis unavailable (%s)", exc.__class__.__name__)


def forget_all() -> None:
    """Drop this process's copies (Redis keeps its own until a save or the TTL)."""
    _local().clear()


def forget(keys: set[str]) -> None:
    """Drop the cached looks of these widgets, here and in Redis."""
    local = _local()
    for cache_key in [k for k in local if k[0] in keys]:
        local.pop(cache_key, None)
    shared = _redis()
    if shared is None or not keys:
        return
    names = [_redis_key(key, lang) for key in keys for lang in SLOTS]
    try:
        shared.delete(*names)
    except Exception as exc:  # noqa: BLE001 - the TTL ends them; the version check cannot run
        log.warning("look cache: Redis unavailable (%s)", exc.__class__.__name__)


# -- noticing the owner's saves -----------------------------------------------------------------
def _changed_widgets(session: Session) -> set[Widget]:
    widgets: set[Widget] = set()
    for obj in (*session.new, *session.dirty, *session.deleted):
        if isinstance(obj, Widget):
            state = db.inspect(obj)
            changed = {a.key for a in state.attrs if a.history.has_changes()}
            if obj in session.new or obj in session.deleted or changed & LOOK_COLUMNS:
                widgets.add(obj)
        elif isinstance(obj, WidgetGroup) and obj.widget is not None:
            widgets.add(obj.widget)
    return widgets


@event.listens_for(Session, "before_flush")
def _bump_versions(session: Session, _context, _instances) -> None:
    for widget in _changed_widgets(session):
        if widget not in session.deleted:
            widget.look_version = (widget.look_version or 0) + 1
        session.info.setdefault("looks_changed", set()).add(widget.public_key)


@event.listens_for(Session, "after_commit")
def _forget_committed(session: Session) -> None:
    keys = session.info.pop("looks_changed", None)
    if keys and has_app_context():
        forget(keys)


@event.listens_for(Session, "after_rollback")
def _keep_on_rollback(session: Session) -> None:
    session.info.pop("looks_changed", None)
