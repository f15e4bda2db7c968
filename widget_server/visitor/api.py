"""The public widget API: config, callback requests, live status.

Anonymous and cross-origin by design: no cookies, exact CORS answers for the
widget's allowed origins, and a server-side origin check that refuses (and
stores nothing) when the page is not one of them. Routes only: what happens to
a request is ``intake.py``, and why one is refused or held ``abuse/decide.py``.
"""

from __future__ import annotations

import contextlib
import functools
import json
import logging
import math
import time
from typing import Any

from flask import Blueprint, current_app, g, jsonify, request
from flask_limiter.errors import RateLimitExceeded
from sqlalchemy import select
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import selectinload
from werkzeug.exceptions import RequestEntityTooLarge

from ..abuse import bots
from ..abuse.client_ip import client_network
from ..dispatch import hours, state
from ..errors import ApiError
from ..extensions import db, limiter
from ..models import CallbackRequest, Widget, WidgetGroup, utcnow
from ..ops import metrics
from . import disguise, intake, stream
from .openapi import spec as openapi_spec
from .origins import request_origin
from .status import status_view
from .texts import LANGUAGES, api_error, pick_language, texts_for

log = logging.getLogger(__name__)
bp = Blueprint("widget", __name__, url_prefix="/api/v1")


# -- widget, origin and CORS -------------------------------------------------
def _lang() -> str:
    """The visitor's language: the script tag's ``data-lang`` (sent as ``?lang=``), else the widget's."""
    asked = request.args.get("lang")
    if asked in LANGUAGES:
        return asked
    widget = g.get("widget")
    return pick_language(widget.language if widget else None)


def _error(status: int, code: str, **extra: Any) -> ApiError:
    """The API error ``code`` with its message in the visitor's language."""
    return ApiError(
        status, code, api_error(_lang(), code, seconds=extra.get("retry_after")), **extra
    )


def _load_widget(key: str) -> Widget | None:
    if not key or len(key) > 64:
        g.widget = None
        return None
    widget = db.session.scalar(
        select(Widget)
        .where(Widget.public_key == key)
        .options(selectinload(Widget.offered_groups).joinedload(WidgetGroup.group))
    )
    g.widget = widget
    return widget


def _load_request(handle: str) -> CallbackRequest | None:
    if not handle or len(handle) > 64:
        return None
    req = db.session.scalar(select(CallbackRequest).where(CallbackRequest.handle == handle))
    g.widget = req.widget if req else None
    return req


def _allowed_origin(widget: Widget) -> str | None:
    origin = request_origin(request.headers.get("Origin"), request.headers.get("Referer"))
    if origin and origin in (widget.origins or []):
        return origin
    return None


def widget_from_key(view):
    """Call ``view(widget)`` for the active widget ``<key>`` asked from one of its origins.

    :raise ApiError: 404 for an unknown widget, 403 for another origin or a paused widget.
    """

    @functools.wraps(view)
    def guarded(key: str):
        widget = _load_widget(key)
        if widget is None:
            raise _error(404, "widget_unknown")
        g.cors_origin = _allowed_origin(widget)
        if g.cors_origin is None:
            log.info("widget %s: request from a disallowed origin refused", widget.id)
            raise _error(403, "origin_not_allowed")
        if not widget.active:
            raise _error(403, "widget_paused")
        return view(widget)

    return guarded


def request_from_handle(view):
    """Call ``view(req)`` for the request ``<handle>`` asked from one of its widget's origins.

    :raise ApiError: 404 for an unknown handle, 403 for another origin.
    """

    @functools.wraps(view)
    def guarded(handle: str):
        req = _load_request(handle)
        if req is None:
            raise _error(404, "not_found")
        g.cors_origin = _allowed_origin(req.widget)
        if g.cors_origin is None:
            raise _error(403, "origin_not_allowed")
        return view(req)

    return guarded


@bp.after_request
def _cors(response):
    """Name the exact allowed origin; never ``*``, never credentials."""
    response.headers.add("Vary", "Origin")
    origin = g.get("cors_origin")
    if origin:
        response.headers["Access-Control-Allow-Origin"] = origin
        response.headers["Access-Control-Expose-Headers"] = "Retry-After"
        if request.method == "OPTIONS":
            response.headers["Access-Control-Allow-Methods"] = "GET, POST, OPTIONS"
            response.headers["Access-Control-Allow-Headers"] = "Content-Type"
            response.headers["Access-Control-Max-Age"] = "600"
    response.headers["Cache-Control"] = "no-store"
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers.pop("Set-Cookie", None)
    return response


@bp.route("/widgets/<key>/config", methods=["OPTIONS"])
@bp.route("/widgets/<key>/requests", methods=["OPTIONS"])
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


# -- config ------------------------------------------------------------------
@bp.get("/widgets/<key>/config")
@limiter.limit("60/minute")
@widget_from_key
def widget_config(widget: Widget):
    """Everything the embed script needs to draw the widget."""
    lang, tz, now = _lang(), hours.valid_timezone(request.args.get("tz")), hours.utc_now()
    guard = current_app.config["NIGHT_GUARD"]
    open_now = hours.can_call_now(widget, tz, now, night_guard=guard)
    slots = [] if open_now else hours.next_slots(widget, tz, now, night_guard=guard)
    return jsonify(
        {
            "key": widget.public_key,
            # Signed, single-use, 10 minutes: sent back as "token" with the callback request.
            "form_token": bots.issue_token(widget.public_key, g.cors_origin),
            "language": lang,
            "color": widget.color,
            "position": widget.position,
            "privacy_policy_url": widget.privacy_policy_url,
            "ask_name": widget.ask_name,
            "countdown_seconds": widget.countdown_seconds,
            "poll_interval_ms": current_app.config["STATUS_POLL_MS"],
            "groups": [{"id": wg.group.pin, "label": wg.label} for wg in widget.offered_groups],
            "texts": texts_for(widget, lang),
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
    """The database is unreachable: say so, never a false "accepted"."""
    with contextlib.suppress(SQLAlchemyError):
        db.session.rollback()
    log.error("widget API: database error: %s", exc.__class__.__name__)
    return _error(503, "unavailable").get_response()


@bp.errorhandler(RateLimitExceeded)
def _rate_limited(exc: RateLimitExceeded):
    """A per-IP or per-handle limit: 429 with Retry-After, CORS headers included."""
    metrics.count_refusal("http_limit")
    # The limit is checked before the view's guard runs, so the origin is looked up here.
    key = (request.view_args or {}).get("key")
    if key and g.get("widget") is None:
        widget = _load_widget(key)
        if widget is not None:
            g.cors_origin = _allowed_origin(widget)
    handle = (request.view_args or {}).get("handle")
    if handle and g.get("widget") is None:
        req = _load_request(handle)
        if req is not None:
            g.cors_origin = _allowed_origin(req.widget)
    current = limiter.current_limit
    wait = max(1, math.ceil(current.reset_at - time.time())) if current else 60
    return _error(429, "rate_limited", retry_after=wait).get_response()


@bp.get("/openapi.json")
@limiter.exempt
def openapi():
    """The widget API described for clients and tools."""
    return jsonify(openapi_spec(current_app.config["PUBLIC_URL"]))
