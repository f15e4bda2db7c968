"""The public widget API: config, callback requests, live status.

Anonymous and cross-origin by design: no cookies, exact CORS answers for the
widget's allowed origins, and a server-side origin check that refuses (and
stores nothing) when the page is not one of them.
"""

from __future__ import annotations

import contextlib
import json
import logging
import math
import secrets
import time
from datetime import datetime, timedelta
from typing import Any

from flask import Blueprint, current_app, g, jsonify, request
from flask_limiter.errors import RateLimitExceeded
from sqlalchemy import select
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import selectinload
from werkzeug.exceptions import RequestEntityTooLarge

from ..abuse import bots as bot_defence
from ..abuse import limits as abuse_limits
from ..abuse.client_ip import client_network
from ..dispatch import hours as working_hours
from ..dispatch import state
from ..errors import error_response
from ..extensions import db, limiter
from ..models import CallbackRequest, Widget, WidgetGroup, utcnow
from ..notify import outbox as notifications
from ..ops import metrics
from ..phones import PhoneError, mask_phone, normalize_phone
from . import opt_out
from .origins import request_origin
from .status import status_view
from .texts import LANGUAGES, api_error, pick_language, ui_texts

log = logging.getLogger(__name__)
bp = Blueprint("widget", __name__, url_prefix="/api/v1")

MAX_NAME = 100
MAX_PAGE_URL = 1000
SLOT_COUNT = 6


# -- widget, origin and CORS -------------------------------------------------
def _lang() -> str:
    """The visitor's language: the script tag's ``data-lang`` (sent as ``?lang=``), else the widget's."""
    asked = request.args.get("lang")
    if asked in LANGUAGES:
        return asked
    widget = g.get("widget")
    return pick_language(widget.language if widget else None)


def _visitor_tz(data: dict[str, Any] | None = None) -> str | None:
    """The visitor's IANA time zone (body ``tz`` or ``?tz=``); None when missing or unknown."""
    return working_hours.valid_timezone((data or {}).get("tz")) or working_hours.valid_timezone(
        request.args.get("tz")
    )


def _texts(widget: Widget) -> dict[str, str]:
    """UI texts in the visitor's language; the owner's texts are written in the widget's."""
    lang = _lang()
    return ui_texts(lang, widget.texts if lang == widget.language else None)


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


def _allowed_origin(widget: Widget) -> str | None:
    origin = request_origin(request.headers.get("Origin"), request.headers.get("Referer"))
    if origin and origin in (widget.origins or []):
        return origin
    return None


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


def _guard(key: str):
    """Resolve the widget and check the origin; return an error response or None."""
    widget = _load_widget(key)
    if widget is None:
        return error_response(404, "widget_unknown", api_error(_lang(), "widget_unknown"))
    origin = _allowed_origin(widget)
    if origin is None:
        log.info("widget %s: request from a disallowed origin refused", widget.id)
        return error_response(403, "origin_not_allowed", api_error(_lang(), "origin_not_allowed"))
    g.cors_origin = origin
    if not widget.active:
        return error_response(403, "widget_paused", api_error(_lang(), "widget_paused"))
    return None


@bp.route("/widgets/<key>/config", methods=["OPTIONS"])
@bp.route("/widgets/<key>/requests", methods=["OPTIONS"])
@limiter.exempt
def preflight(key: str):
    """CORS preflight for clients that send ``application/json``."""
    error = _guard(key)
    return error or ("", 204)


@bp.route("/requests/<handle>", methods=["OPTIONS"])
@bp.route("/requests/<handle>/cancel", methods=["OPTIONS"])
@limiter.exempt
def preflight_status(handle: str):
    """CORS preflight for the status endpoints."""
    req = _load_request(handle)
    if req is None:
        return error_response(404, "not_found", api_error(_lang(), "not_found"))
    origin = _allowed_origin(req.widget)
    if origin is None:
        return error_response(403, "origin_not_allowed", api_error(_lang(), "origin_not_allowed"))
    g.cors_origin = origin
    return "", 204


# -- config ------------------------------------------------------------------
@bp.get("/widgets/<key>/config")
@limiter.limit("60/minute")
def widget_config(key: str):
    """Everything the embed script needs to draw the widget."""
    error = _guard(key)
    if error:
        return error
    widget: Widget = g.widget
    lang, tz, now = _lang(), _visitor_tz(), working_hours.utc_now()
    guard = current_app.config["NIGHT_GUARD"]
    open_now = working_hours.can_call_now(widget, tz, now, night_guard=guard)
    slots = [] if open_now else working_hours.next_slots(widget, tz, now, night_guard=guard)
    return jsonify(
        {
            "key": widget.public_key,
            # Signed, single-use, 10 minutes: sent back as "token" with the callback request.
            "form_token": bot_defence.issue_token(widget.public_key, g.cors_origin),
            "language": _lang(),
            "color": widget.color,
            "position": widget.position,
            "privacy_policy_url": widget.privacy_policy_url,
            "ask_name": widget.ask_name,
            "countdown_seconds": widget.countdown_seconds,
            "poll_interval_ms": current_app.config["STATUS_POLL_MS"],
            "groups": [{"id": wg.group.pin, "label": wg.label} for wg in widget.offered_groups],
            # The owner's texts are written in the widget's language; another language gets defaults.
            "texts": ui_texts(_lang(), widget.texts if _lang() == widget.language else None),
            # Closed (out of hours, or night for the visitor): the visitor picks a slot.
            "open": open_now,
            "slots": [
                {
                    "at": working_hours.iso_utc(slot),
                    "label": working_hours.format_slot(slot, tz, lang, now, widget.timezone),
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


def _read_json() -> tuple[dict[str, Any] | None, Any]:
    limit = current_app.config["MAX_BODY_BYTES"]
    if request.content_length is not None and request.content_length > limit:
        return None, error_response(413, "too_large", api_error(_lang(), "too_large"))
    request.max_content_length = limit
    try:
        raw = request.get_data(cache=False)
    except RequestEntityTooLarge:
        return None, error_response(413, "too_large", api_error(_lang(), "too_large"))
    try:
        data = json.loads(raw)
    except (ValueError, UnicodeDecodeError, RecursionError):  # 4 KiB of "[" nests too deep
        return None, error_response(400, "bad_json", api_error(_lang(), "bad_json"))
    if not isinstance(data, dict):
        return None, error_response(400, "bad_json", api_error(_lang(), "bad_json"))
    return data, None


def _validate(widget: Widget, data: dict[str, Any]) -> tuple[dict[str, Any], dict[str, str]]:
    lang = _lang()
    fields: dict[str, str] = {}
    clean: dict[str, Any] = {}
    try:
        clean["phone"] = normalize_phone(data.get("phone"), widget.countries or {})
    except PhoneError as exc:
        fields["phone"] = api_error(
            lang,
            {"required": "phone_required", "not_allowed": "phone_not_allowed"}.get(
                exc.code, "phone_invalid"
            ),
        )
    if data.get("consent") is not True:
        fields["consent"] = api_error(lang, "consent_required")
    offered = widget.offered_groups
    group_id = data.get("group")
    if group_id in (None, "") and len(offered) == 1:
        clean["widget_group"] = offered[0]
    else:
        match = next((wg for wg in offered if wg.group.pin == str(group_id)), None)
        if match is None or not isinstance(group_id, str | int):
            fields["group"] = api_error(lang, "group_unknown")
        clean["widget_group"] = match
    name = data.get("name")
    if name not in (None, ""):
        if not isinstance(name, str) or len(name.strip()) > MAX_NAME:
            fields["name"] = api_error(lang, "name_too_long")
        else:
            clean["name"] = name.strip() or None
    page_url = data.get("page_url")
    if isinstance(page_url, str) and page_url.startswith(("http://", "https://")):
        clean["page_url"] = page_url[:MAX_PAGE_URL]
    return clean, fields


def _pick_slot(widget: Widget, raw: Any, visitor_tz: str | None, now) -> tuple[Any, str | None]:
    """When to call: (None, None) for now, (slot, None) for later, (None, error code).

    A slot the visitor sent must be one of those we offer (within a minute). A widget
    that cannot call now and got no slot calls at its first free slot.
    """
    guard = current_app.config["NIGHT_GUARD"]
    if raw in (None, ""):
        if working_hours.can_call_now(widget, visitor_tz, now, night_guard=guard):
            return None, None
        offered = working_hours.next_slots(widget, visitor_tz, now, 1, night_guard=guard)
        return (offered[0], None) if offered else (None, "no_slots")
    try:
        asked = working_hours.as_utc(datetime.fromisoformat(raw))
    except (TypeError, ValueError):
        return None, "slot_unavailable"
    offered = working_hours.next_slots(widget, visitor_tz, now, SLOT_COUNT, night_guard=guard)
    match = next((s for s in offered if abs(s - asked) <= timedelta(minutes=1)), None)
    return (match, None) if match else (None, "slot_unavailable")


def _tell_owner_held(widget: Widget, reason: str) -> None:
    """Tell the owner once per widget and hour that requests are held, not per request.

    A transaction of its own, after the request's: two workers holding requests at
    once may race for the same notification row, and the loser must not lose its request.
    """
    try:
        added = notifications.record(
            widget.owner_id,
            "held",
            request_id=None,
            dedupe_key=abuse_limits.held_dedupe_key(widget, reason),
            extra={"reason": reason, "widget": widget.public_key, "widget_name": widget.name},
        )
        db.session.commit()
    except SQLAlchemyError:
        db.session.rollback()
        log.info("widget %s: held notification already recorded by another worker", widget.id)
        return
    if added:
        notifications.kick()


@bp.post("/widgets/<key>/requests")
@limiter.limit(_ip_limit, key_func=_ip_and_widget_key, deduct_when=_accepted)
@limiter.limit(_ip_global_limit, scope="ip-global", deduct_when=_accepted)
def create_request(key: str):
    """A visitor asks to be called back."""
    error = _guard(key)
    if error:
        return error
    widget: Widget = g.widget
    data, error = _read_json()
    if error:
        return error
    token = None
    if bot_defence.enabled():
        token = bot_defence.check_token(data.get("token"), widget.public_key, g.cors_origin)
        if token is None:
            log.info("widget %s: request with a missing, bad or used form token refused", widget.id)
            metrics.count_refusal("bot_token")
            return error_response(403, "bad_token", api_error(_lang(), "bad_token"))
    clean, fields = _validate(widget, data)
    visitor_tz, now = _visitor_tz(data), working_hours.utc_now()
    slot, slot_error = _pick_slot(widget, data.get("slot"), visitor_tz, now)
    if slot_error:
        fields["slot"] = api_error(_lang(), slot_error)
    if fields:
        return error_response(422, "validation", api_error(_lang(), "validation"), fields=fields)
    trapped = bot_defence.trapped(data)
    if not trapped and (bot_defence.enabled() or "pow" in data):
        pressure = abuse_limits.pressure(widget, clean["phone"], request.remote_addr)
        found = bot_defence.signals(token, pressure)
        if "pow" in data and not bot_defence.check_pow(data["pow"], widget.public_key):
            log.info("widget %s: a wrong, expired or used proof of work refused", widget.id)
            metrics.count_refusal("bot_pow")
            return error_response(403, "bad_challenge", api_error(_lang(), "bad_challenge"))
        if found and "pow" not in data:
            log.info("widget %s: proof of work asked (%s)", widget.id, ", ".join(found))
            metrics.count_refusal("bot_challenge")
            challenge = bot_defence.new_challenge(widget.public_key)
            return error_response(
                428, "challenge", api_error(_lang(), "challenge"), challenge=challenge
            )
    return store_request(
        widget,
        clean,
        slot=slot,
        visitor_tz=visitor_tz,
        now=now,
        origin=g.cors_origin,
        client_ip=request.remote_addr,
        user_agent=request.user_agent.string or "",
        trapped=trapped,
        token=token,
    )


def submit_request(
    widget: Widget,
    data: dict[str, Any],
    *,
    origin: str,
    client_ip: str | None,
    user_agent: str = "",
    consent_text: str | None = None,
    is_test: bool = False,
):
    """A request made without the widget's bot defences (the config page's test call).

    The same validation, slot choice, block list, limits, storage and queue as a
    visitor's; returns ``(response, status)`` like the route.
    """
    g.widget = widget
    clean, fields = _validate(widget, data)
    visitor_tz, now = _visitor_tz(data), working_hours.utc_now()
    slot, slot_error = _pick_slot(widget, data.get("slot"), visitor_tz, now)
    if slot_error:
        fields["slot"] = api_error(_lang(), slot_error)
    if fields:
        return error_response(422, "validation", api_error(_lang(), "validation"), fields=fields)
    return store_request(
        widget,
        clean,
        slot=slot,
        visitor_tz=visitor_tz,
        now=now,
        origin=origin,
        client_ip=client_ip,
        user_agent=user_agent,
        consent_text=consent_text,
        is_test=is_test,
    )


def store_request(
    widget: Widget,
    clean: dict[str, Any],
    *,
    slot,
    visitor_tz: str | None,
    now,
    origin: str,
    client_ip: str | None,
    user_agent: str,
    trapped: bool = False,
    token=None,
    consent_text: str | None = None,
    is_test: bool = False,
):
    """Block list, dial decision, the stored row, then the queue: every request's last steps."""
    blocked = opt_out.is_blocked(widget.owner_id, clean["phone"])
    if trapped:
        # A bot filled the hidden field: stored as held, never dialled, answered like any other.
        decision = abuse_limits.Decision("hold", reason=bot_defence.HELD_TRAP)
        metrics.count_refusal("bot_trap")
    elif blocked:
        # Opted out or on the owner's list: kept, never dialled, answered like any other.
        decision = abuse_limits.Decision("hold", reason="number blocked")
        metrics.count_refusal("blocked")
    else:
        decision = abuse_limits.check_dial(widget, clean["phone"], client_ip)
    if decision.refused:
        wait = decision.retry_after or 60
        response, status = error_response(
            429, "rate_limited", api_error(_lang(), "rate_limited", seconds=wait), retry_after=wait
        )
        response.headers["Retry-After"] = str(wait)
        return response, status
    if token is not None and not bot_defence.consume_token(token):
        log.info("widget %s: form token used by another request first", widget.id)
        return error_response(403, "bad_token", api_error(_lang(), "bad_token"))
    texts = _texts(widget)  # the consent record keeps the exact text the visitor saw
    handle = secrets.token_urlsafe(24)
    req = CallbackRequest(
        handle=handle,
        widget=widget,
        widget_group=clean["widget_group"],
        phone=clean["phone"],
        name=clean.get("name"),
        page_url=clean.get("page_url"),
        origin=origin,
        client_ip=client_ip,
        user_agent=(user_agent or "")[:300],
        consent_text=consent_text or texts["consent"],
        is_test=is_test,
        visitor_tz=visitor_tz,
        # Due now: if the queue loses the job below, the sweep dispatches the request.
        next_dispatch_at=utcnow(),
    )
    if slot is not None:
        # Called at the slot, not now: the queue holds a job due then, and the row's
        # next_dispatch_at lets the sweep dispatch it should that job be lost.
        req.status = "scheduled"
        req.scheduled_for = req.next_dispatch_at = slot.replace(tzinfo=None)
    if decision.held:
        # Stored, never dialled; the visitor gets the same answer as an accepted request.
        req.status, req.held_reason = "held", (decision.reason or "")[:64]
        req.next_dispatch_at = None
        req.finished_at = utcnow()
    try:
        db.session.add(req)
        db.session.flush()
        answer_id = req.id
        held_reason = req.held_reason
        # Built before the commit expires the object, so answering costs no extra query.
        answer = {"handle": handle, "status": status_view(req, _lang(), just_accepted=True)}
        db.session.commit()
    except SQLAlchemyError:
        db.session.rollback()
        log.exception("widget %s: could not store a request", widget.id)
        return error_response(503, "unavailable", api_error(_lang(), "unavailable"))
    request_id = answer_id
    if decision.held:
        metrics.count_final("held")
        log.warning(
            "widget %s: request %s for %s held (%s), not dialled",
            widget.id,
            request_id,
            mask_phone(clean["phone"]),
            decision.reason,
        )
        # The owner knows about blocks (they or the number's holder made them); bots are noise.
        if not blocked and not trapped:
            _tell_owner_held(widget, held_reason)
        return jsonify(answer), 202
    log.info(
        "widget %s: request %s for %s accepted%s",
        widget.id,
        request_id,
        mask_phone(clean["phone"]),
        f", scheduled for {working_hours.iso_utc(slot)}" if slot else "",
    )
    try:
        if slot is not None:
            current_app.extensions["queue"].place_next_call.schedule(args=(request_id,), eta=slot)
        else:
            current_app.extensions["queue"].place_next_call(request_id)
    except Exception:
        # The row is the truth: the dispatch sweep picks the request up within a minute.
        log.exception(
            "request %s stored; the queue is unreachable, the sweep will dispatch it", request_id
        )
    return jsonify(answer), 202


# -- status ----------------------------------------------------------------------
def _load_request(handle: str) -> CallbackRequest | None:
    if not handle or len(handle) > 64:
        return None
    req = db.session.scalar(select(CallbackRequest).where(CallbackRequest.handle == handle))
    g.widget = req.widget if req else None
    return req


def _status_guard(handle: str):
    req = _load_request(handle)
    if req is None:
        return None, error_response(404, "not_found", api_error(_lang(), "not_found"))
    origin = _allowed_origin(req.widget)
    if origin is None:
        return None, error_response(
            403, "origin_not_allowed", api_error(_lang(), "origin_not_allowed")
        )
    g.cors_origin = origin
    return req, None


def _handle_key() -> str:
    return request.view_args.get("handle", "")


@bp.get("/requests/<handle>")
@limiter.limit("40/10second", key_func=_handle_key)
def request_status(handle: str):
    """Live status of a request, by its unguessable handle."""
    req, error = _status_guard(handle)
    if error:
        return error
    return jsonify(status_view(req, _lang()))


@bp.post("/requests/<handle>/cancel")
@limiter.limit("10/minute", key_func=_handle_key)
def cancel_request(handle: str):
    """Cancel a request while nothing is ringing yet."""
    req, error = _status_guard(handle)
    if error:
        return error
    if not state.cancel(req.id):
        return error_response(409, "too_late", api_error(_lang(), "too_late"))
    db.session.refresh(req)
    return jsonify(status_view(req, _lang()))


@bp.errorhandler(SQLAlchemyError)
def _database_down(exc: SQLAlchemyError):
    """The database is unreachable: say so, never a false "accepted"."""
    with contextlib.suppress(SQLAlchemyError):
        db.session.rollback()
    log.error("widget API: database error: %s", exc.__class__.__name__)
    return error_response(503, "unavailable", api_error(_lang(), "unavailable"))


@bp.errorhandler(RateLimitExceeded)
def _rate_limited(exc: RateLimitExceeded):
    metrics.count_refusal("http_limit")
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
    response, status = error_response(
        429, "rate_limited", api_error(_lang(), "rate_limited", seconds=wait), retry_after=wait
    )
    response.headers["Retry-After"] = str(wait)
    return response, status


@bp.get("/openapi.json")
@limiter.exempt
def openapi():
    """The widget API described for clients and tools."""
    from .openapi import spec

    return jsonify(spec(current_app.config["PUBLIC_URL"]))
