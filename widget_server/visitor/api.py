"""The public widget API: config, callback requests, live status.

Anonymous and cross-origin by design: no cookies, exact CORS answers for the
widget's allowed origins, and a server-side origin check that refuses (and
stores nothing) when the page is not one of them. Routes only: what happens to
a request is ``intake.py``, and why one is refused or held ``abuse/decide.py``.
"""

from __future__ import annotations

import contextlib
import json
import logging
import math
import time
from typing import Any

from flask import Blueprint, current_app, g, jsonify, request
from flask_limiter.errors import RateLimitExceeded
from limits import parse_many
from sqlalchemy import inspect as sa_inspect
from sqlalchemy.exc import SQLAlchemyError
from werkzeug.exceptions import RequestEntityTooLarge

from ..abuse import bots
from ..abuse.client_ip import client_ip_key, client_network
from ..dev.installation import may_show
from ..dispatch import hours, state
from ..errors import ApiError
from ..extensions import db, limiter
from ..models import CallbackRequest, Widget, utcnow
from ..ops import metrics
from . import beacon, disguise, intake, look_cache, refused, seen, stream
from .guards import allowed_origin, load_request, load_widget, request_from_handle, widget_from_key
from .guards import error as _error
from .guards import visitor_language as _lang
from .openapi import spec as openapi_spec
from .origins import request_origin
from .status import status_view
from .texts import AUTO, LANGUAGES, api_error, pick_language

log = logging.getLogger(__name__)
bp = Blueprint("widget", __name__, url_prefix="/api/v1")


# -- CORS ------------------------------------------------------------------
@bp.after_request
def _cors(response):
    """Name the exact allowed origin; never ``*``, never credentials."""
    response.vary.add("Origin")
    origin = g.get("cors_origin")
    if origin:
        response.headers["Access-Control-Allow-Origin"] = origin
        response.headers["Access-Control-Expose-Headers"] = "Retry-After"
        if request.method == "OPTIONS":
            response.headers["Access-Control-Allow-Methods"] = "GET, POST, OPTIONS"
            response.headers["Access-Control-Allow-Headers"] = "Content-Type"
            response.headers["Access-Control-Max-Age"] = "600"
    # Only the look document says otherwise (public, short max-age).
    response.headers.setdefault("Cache-Control", "no-store")
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers.pop("Set-Cookie", None)
    return response


@bp.route("/widgets/<key>/config", methods=["OPTIONS"])
@bp.route("/widgets/<key>/session", methods=["OPTIONS"])
@bp.route("/widgets/<key>/requests", methods=["OPTIONS"])
@bp.route("/widgets/<key>/beacon", methods=["OPTIONS"])
@limiter.exempt
@widget_from_key
def preflight(widget: Widget):
    """CORS preflight for clients that send ``application/json``."""
    return "", 204


@bp.route("/requests/<handle>", methods=["OPTIONS"])
@bp.route("/requests/<handle>/cancel", methods=["OPTIONS"])
@bp.route("/requests/<handle>/events", methods=["OPTIONS"])
@limiter.exempt
@request_from_handle
def preflight_status(req: CallbackRequest):
    """CORS preflight for the status endpoints."""
    return "", 204


# -- look, session, config ----------------------------------------------------
def _session_fields(widget: Widget, lang: str) -> dict[str, Any]:
    """What must be fresh: the form token, open or closed now, and the slots."""
    tz, now = hours.valid_timezone(request.args.get("tz")), hours.utc_now()
    guard = current_app.config["NIGHT_GUARD"]
    open_now = hours.can_call_now(widget, tz, now, night_guard=guard)
    slots = [] if open_now else hours.next_slots(widget, tz, now, night_guard=guard)
    return {
        # Signed, single-use, 10 minutes: sent back as "token" with the callback request.
        "form_token": bots.issue_token(widget.public_key, g.cors_origin),
        # Closed (out of hours, or night for the visitor): the visitor picks a slot.
        "open": open_now,
        "slots": [
            {
                "at": hours.iso_utc(slot),
                "label": hours.format_slot(slot, tz, lang, now, widget.timezone),
            }
            for slot in slots
        ],
    }


@bp.get("/widgets/<key>/look")
@limiter.exempt
def widget_look(key: str):
    """How the widget looks (public, cacheable): answered from memory, 304 when unchanged."""
    browser = request.accept_languages.best_match(LANGUAGES)
    slot = look_cache.language_slot(request.args.get("lang"), browser)
    look = look_cache.cached_look(key, slot) if 0 < len(key) <= 64 else None
    if look is None:
        raise _error(404, "widget_unknown")
    origin = request_origin(request.headers.get("Origin"), request.headers.get("Referer"))
    if not may_show(origin, look.origins):  # its sites, or the demo's sample shop
        refused.note(key, origin)  # the widget page offers to add the site
        raise _error(403, "origin_not_allowed")
    g.cors_origin = origin
    if not look.active:
        raise _error(403, "widget_paused")
    if seen.view_due(key, origin):  # once a minute: the setup checklist's last view
        seen.write_view(key, origin)
    response = current_app.response_class(status=200, mimetype="application/json")
    response.set_etag(look.etag)
    response.vary.add("Origin")
    response.vary.add("Accept-Language")  # a widget set to "auto" answers in the browser's
    # Short: an owner's save reaches visitors (and a CDN in front) within a minute.
    response.headers["Cache-Control"] = "public, max-age=60"
    if request.if_none_match.contains(look.etag):
        response.status_code = 304
    else:
        response.set_data(look.body)
    return response


@bp.get("/widgets/<key>/session")
@limiter.limit("60/minute")
@widget_from_key
def widget_session(widget: Widget):
    """The fresh part, fetched when the visitor opens the widget: never cached."""
    seen.record(widget, g.cors_origin)  # the setup checklist's "установлен на сайте"
    return jsonify(_session_fields(widget, _lang()))


@bp.get("/widgets/<key>/config")
@limiter.limit("60/minute")
@widget_from_key
def widget_config(widget: Widget):
    """Look and session in one (deprecated: the embeds before the loader still ask for it)."""
    lang = _lang()
    seen.record(widget, g.cors_origin)
    return jsonify(
        look_cache.look_document(widget, lang)
        | {"key": widget.public_key}
        | _session_fields(widget, lang)
    )


# -- callback requests ---------------------------------------------------------
def _ip_limit() -> str:
    return current_app.config["RATELIMIT_IP"]


def _ip_global_limit() -> str:
    return current_app.config["RATELIMIT_IP_GLOBAL"]


def _ip_and_widget_key() -> str:
    return f"{client_network(request.remote_addr)}|{request.view_args.get('key', '')}"


def _accepted(response) -> bool:
    # Only requests we accepted count against the client: a visitor fixing a
    # typo in their number is not punished for the first try.
    return response.status_code == 202


def _read_json() -> dict[str, Any]:
    """The body as a JSON object (sent as ``text/plain`` or JSON), at most ``MAX_BODY_BYTES``.

    :raise ApiError: 413 for a body too large, 400 for anything but a JSON object.
    """
    limit = current_app.config["MAX_BODY_BYTES"]
    if request.content_length is not None and request.content_length > limit:
        raise _error(413, "too_large")
    request.max_content_length = limit
    try:
        raw = request.get_data(cache=False)
    except RequestEntityTooLarge:
        raise _error(413, "too_large") from None
    try:
        data = json.loads(raw)
    except (ValueError, UnicodeDecodeError, RecursionError):  # 4 KiB of "[" nests too deep
        raise _error(400, "bad_json") from None
    if not isinstance(data, dict):
        raise _error(400, "bad_json")
    return data


@bp.post("/widgets/<key>/requests")
@limiter.limit(_ip_limit, key_func=_ip_and_widget_key, deduct_when=_accepted)
@limiter.limit(_ip_global_limit, scope="ip-global", deduct_when=_accepted)
@widget_from_key
def create_request(widget: Widget):
    """A visitor asks to be called back."""
    lang = _lang()
    result = intake.submit(
        widget,
        _read_json(),
        origin=g.cors_origin,
        client_ip=request.remote_addr,
        user_agent=request.user_agent.string or "",
        lang=lang,
        tz=request.args.get("tz"),
        origin_header=request.headers.get("Origin"),
        referer=request.headers.get("Referer"),
    )
    if isinstance(result, intake.Refused):
        raise _refusal(result, lang)
    return jsonify({"handle": result.handle, "status": result.view}), 202


def _refusal(refused: intake.Refused, lang: str) -> ApiError:
    extra: dict[str, Any] = {}
    if refused.fields:
        extra["fields"] = refused.field_messages(lang)
    if refused.retry_after is not None:
        extra["retry_after"] = refused.retry_after
    if refused.challenge is not None:
        extra["challenge"] = refused.challenge
    return ApiError(refused.status, refused.code, refused.message(lang), **extra)


# -- status ----------------------------------------------------------------------
def _handle_key() -> str:
    return request.view_args.get("handle", "")


@bp.get("/requests/<handle>")
@limiter.limit("40/10second", key_func=_handle_key)
@request_from_handle
def request_status(req: CallbackRequest):
    """Live status of a request, by its unguessable handle."""
    return jsonify(status_view(req, _lang()))


@bp.get("/requests/<handle>/events")
@limiter.limit("40/10second", key_func=_handle_key)
@request_from_handle
def request_events(req: CallbackRequest):
    """Live status of a request as Server-Sent Events, until it is final."""
    return stream.status_events(req, _lang())


@bp.post("/requests/<handle>/cancel")
@limiter.limit("10/minute", key_func=_handle_key)
@request_from_handle
def cancel_request(req: CallbackRequest):
    """Cancel a request while nothing is ringing yet."""
    if disguise.disguised(req):
        # As a real request would be: only while its public status says it waits.
        cancelled = state.cancel_held(req.id, lambda held: disguise.waiting_now(held, utcnow()))
    else:
        cancelled = state.cancel(req.id)
    if not cancelled:
        raise _error(409, "too_late")
    db.session.refresh(req)
    return jsonify(status_view(req, _lang()))


@bp.errorhandler(SQLAlchemyError)
def _database_down(exc: SQLAlchemyError):
    """The database is unreachable: say so, never a false "accepted".

    Nothing here may read the database: the language comes from what the request
    already holds, or the visitor gets a 500 in English from this very handler.
    """
    lang = _language_in_memory()  # before the rollback expires what was loaded
    with contextlib.suppress(SQLAlchemyError):
        db.session.rollback()
    log.error("widget API: database error: %s", exc.__class__.__name__)
    return ApiError(503, "unavailable", api_error(lang, "unavailable")).get_response()


def _language_in_memory() -> str:
    """``visitor_language`` from what is loaded, never a query: the ``lang`` parameter, the
    widget's language if it was read (the browser's for a widget set to it), else the
    browser's; Russian otherwise."""
    asked = request.args.get("lang")
    if asked in LANGUAGES:
        return asked
    browser = request.accept_languages.best_match(LANGUAGES)
    widget = g.get("widget")
    loaded = sa_inspect(widget).dict if widget is not None else {}
    language = loaded.get("language")
    if language is None:  # never read, or expired by a commit: the request alone says
        return pick_language(browser)
    if language != AUTO:
        return pick_language(language)
    # Set to the browser's: as ``texts.look_language``, the owner's own (Russian) when a
    # department read with the widget has no English label; unread ones cannot be asked.
    offered = loaded.get("offered_groups") or []
    if browser == "en" and all(sa_inspect(wg).dict.get("label_en") for wg in offered):
        return "en"
    return "ru"


@bp.errorhandler(RateLimitExceeded)
def _rate_limited(exc: RateLimitExceeded):
    """A per-IP or per-handle limit: 429 with Retry-After, CORS headers included."""
    metrics.count_refusal("http_limit")
    # The limit is checked before the view's guard runs, so the origin is looked up here.
    key = (request.view_args or {}).get("key")
    if key and g.get("widget") is None:
        widget = load_widget(key)
        if widget is not None:
            g.cors_origin = allowed_origin(widget)
    handle = (request.view_args or {}).get("handle")
    if handle and g.get("widget") is None:
        req = load_request(handle)
        if req is not None:
            g.cors_origin = allowed_origin(req.widget)
    return _error(429, "rate_limited", retry_after=_true_wait()).get_response()


def _true_wait() -> int:
    """Seconds until the refused request would pass: for the submit route, the latest
    reset among its per-IP limits that are full now (flask-limiter names only the first
    one it found full, so "3/10minute;10/hour" could promise 10 minutes while the hour's
    limit still refuses); for other routes, the limit flask-limiter names."""
    now, current = time.time(), limiter.current_limit
    waits = [current.reset_at - now] if current else []
    if request.endpoint == "widget.create_request":
        scope = request.endpoint
        counters = [(_ip_limit(), (_ip_and_widget_key(), scope))]
        counters.append((_ip_global_limit(), (client_ip_key(), f"{scope}:ip-global")))
        for text, ids in counters:
            for item in parse_many(text):
                stats = limiter.limiter.get_window_stats(item, *ids)
                if stats.remaining <= 0:
                    waits.append(stats.reset_time - now)
    return max(1, math.ceil(max(waits))) if waits else 60


# -- funnel ----------------------------------------------------------------------------
def _beacon_limit() -> str:
    # A page view sends one impression, an open one more: plenty for a person, little for a flood.
    return current_app.config["RATELIMIT_BEACON"]


@bp.post("/widgets/<key>/beacon")
@limiter.limit(_beacon_limit, key_func=_ip_and_widget_key)
def funnel_beacon(key: str):
    """An impression or an open of the widget, counted for the funnel (visitor/beacon.py)."""
    return beacon.receive(key)


@bp.get("/openapi.json")
@limiter.exempt
def openapi():
    """The widget API described for clients and tools."""
    return jsonify(openapi_spec(current_app.config["PUBLIC_URL"]))
