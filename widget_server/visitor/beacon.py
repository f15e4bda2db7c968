"""The funnel beacon: ``POST /api/v1/widgets/<key>/beacon`` (contract 4), counted, never stored.

``navigator.sendBeacon`` sends ``{"event": "impression"|"open", "variant": "a"|"b"|null,
"path": "/page"}`` as ``text/plain`` (a simple request: no preflight). Answers 204;
400 for a bad body, 403 for a page not among the widget's origins, 404 for an unknown
widget. Nothing here answers 5xx: when the database or Redis is down the beacon is
dropped (logged) and still answered 204 — a lost impression is not worth an error.

What is counted is only what the widget could have sent: a variant only while the widget's
A/B test runs (else the beacon counts under no variant, as the widget's total), a path only
when the page is on the widget's origins as far as ``Referer`` tells (else under all pages),
and only so many distinct paths per client address (``funnel.AddressPaths``). The answer is
204 all the same: a browser learns nothing from it.

The widget's origins and test are cached per process for ``ORIGINS_TTL`` seconds, so a
beacon costs no query either, most of the time.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from urllib.parse import urlsplit

from flask import current_app, g, request
from sqlalchemy import select
from sqlalchemy.exc import SQLAlchemyError
from werkzeug.exceptions import RequestEntityTooLarge

from ..abuse.client_ip import client_network
from ..dev.installation import may_show
from ..errors import ApiError
from ..extensions import db
from ..insight import counter as funnel
from ..insight.lead_settings import ab_of
from ..models import Widget
from .origins import request_origin
from .texts import api_error, pick_language

log = logging.getLogger(__name__)

MAX_BEACON_BYTES = 2048
ORIGINS_TTL = 30.0
Facts = tuple[int, tuple[str, ...], bool, str, tuple[str, ...]]
_cache: dict[str, tuple[float, Facts]] = {}
_cache_lock = threading.Lock()


def _widget_facts(key: str) -> Facts | None:
    """(id, origins, active, language, variants of its running A/B test) of the widget
    ``key``, None when unknown."""
    now = time.monotonic()
    with _cache_lock:
        hit = _cache.get(key)
    if hit and now - hit[0] < ORIGINS_TTL:
        return hit[1]
    row = db.session.execute(
        select(
            Widget.id, Widget.origins, Widget.active, Widget.language, Widget.lead_settings
        ).where(Widget.public_key == key)
    ).first()
    db.session.rollback()  # a read only: give the connection back at once
    if row is None:
        return None
    settings = row.lead_settings if isinstance(row.lead_settings, dict) else {}
    variants = ("a", "b") if ab_of(settings) is not None else ()
    facts = (row.id, tuple(row.origins or ()), bool(row.active), row.language, variants)
    with _cache_lock:
        if len(_cache) > 10_000:
            _cache.clear()
        _cache[key] = (now, facts)
    return facts


def _error(status: int, code: str, lang: str) -> ApiError:
    return ApiError(status, code, api_error(lang, code))


def parse_beacon(raw: bytes) -> tuple[str, str, str] | None:
    """(event, variant "" for none, path) from the body, None when it is not a beacon."""
    try:
        data = json.loads(raw)
    except (ValueError, UnicodeDecodeError, RecursionError):
        return None
    if not isinstance(data, dict) or data.get("event") not in funnel.EVENTS:
        return None
    variant = data.get("variant")
    if variant not in ("a", "b", None):
        return None
    path = data.get("path")
    if path is None:
        path = ""
    elif not isinstance(path, str) or not path.startswith("/"):
        return None
    else:
        path = _path_only(path)
    return data["event"], variant or "", path


def _path_only(path: str) -> str:
    # No query, no fragment. Not urlsplit: "//catalog/tv" is a path, not a host and "/tv".
    return path.partition("#")[0].partition("?")[0][: funnel.MAX_PATH]


def page_path(path: str, referer: str | None, origins: tuple[str, ...]) -> str:
    """``path`` when nothing says its page is elsewhere, else "" (counted under all pages).

    ``Referer`` is the page that sent the beacon: a page on another origin than the
    widget's is not one of the widget's pages, and where the browser sent the page's path
    too (same-origin, or a lax referrer policy) the beacon's path has to be that one.
    Cross-origin browsers mostly send the origin alone, which says nothing of the path.
    """
    if not referer or not path:
        return path
    try:
        parts = urlsplit(referer)
    except ValueError:
        return ""
    if request_origin(None, referer) not in origins:
        return ""
    if parts.path not in ("", "/") and _path_only(parts.path) != path:
        return ""
    return path


def receive(key: str):
    """Check, count, answer 204."""
    lang = pick_language(request.args.get("lang"))
    try:
        facts = _widget_facts(key) if key and len(key) <= 64 else None
    except SQLAlchemyError:
        log.warning("funnel beacon dropped: the database is unreachable")
        return "", 204
    if facts is None:
        raise _error(404, "widget_unknown", lang)
    widget_id, origins, active, language, variants = facts
    lang = pick_language(request.args.get("lang") or language)
    origin = request_origin(request.headers.get("Origin"), request.headers.get("Referer"))
    if not may_show(origin, origins):  # its sites, or the demo's sample shop
        raise _error(403, "origin_not_allowed", lang)
    g.cors_origin = origin
    if not active:
        raise _error(403, "widget_paused", lang)
    if (request.content_length or 0) > MAX_BEACON_BYTES:
        raise _error(413, "too_large", lang)
    request.max_content_length = MAX_BEACON_BYTES  # a chunked body is cut off as well
    try:
        raw = request.get_data(cache=False)
    except RequestEntityTooLarge:
        raise _error(413, "too_large", lang) from None
    beacon = parse_beacon(raw)
    if beacon is None:
        raise _error(400, "bad_json", lang)
    event, variant, path = beacon
    if variant not in variants:
        # A variant of no running test (a page cached from before the test ended, or made
        # up): the impression is real or not, the A/B figures must not have it either way.
        variant = ""
    path = page_path(path, request.headers.get("Referer"), origins)
    app = current_app._get_current_object()
    try:
        day = funnel.today()
        address = client_network(request.remote_addr)
        path = funnel.address_paths_for(app).path(address, widget_id, day, path)
        counter = funnel.counter_for(app)
        counter.count(widget_id, event, variant, path, day)
        if counter.due():
            funnel.flush(counter)
    except Exception:  # Redis down, or the flush's database: the beacon is not worth a 5xx
        log.warning("funnel beacon of widget %s not counted", widget_id, exc_info=True)
    return "", 204
