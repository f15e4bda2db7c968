"""What every widget API route checks first: the widget or request, its origin, the language.

``widget_from_key`` and ``request_from_handle`` load what the URL names and refuse a
foreign origin; their errors speak the visitor's language (``visitor_language``).
"""

from __future__ import annotations

import functools
import logging
from typing import Any

from flask import g, request
from sqlalchemy import select
from sqlalchemy.orm import joinedload

from ..dev.installation import may_show
from ..errors import ApiError
from ..extensions import db
from ..models import CallbackRequest, Widget, WidgetGroup
from . import refused
from .origins import request_origin
from .texts import AUTO, LANGUAGES, api_error, look_language, pick_language

log = logging.getLogger("widget_server.visitor.api")


def visitor_language() -> str:
    """The visitor's language: the script tag's ``data-lang`` (sent as ``?lang=``), else the widget's."""
    asked = request.args.get("lang")
    if asked in LANGUAGES:
        return asked
    widget = g.get("widget")
    if widget is not None and widget.language == AUTO:
        # As the widget's look: the browser's language where every label exists in it.
        return look_language(widget, None, request.accept_languages.best_match(LANGUAGES))
    return pick_language(widget.language if widget else None)


def error(status: int, code: str, **extra: Any) -> ApiError:
    """The API error ``code`` with its message in the visitor's language."""
    return ApiError(
        status, code, api_error(visitor_language(), code, seconds=extra.get("retry_after")), **extra
    )


def load_widget(key: str) -> Widget | None:
    if not key or len(key) > 64:
        g.widget = None
        return None
    # One statement: the widget, its departments and its owner (whose channels decide what
    # a visitor is promised), read by every route under a widget's key, a submit among them;
    # and its PBX account, whose ring time the submit's countdown promise counts.
    widget = (
        db.session.scalars(
            select(Widget)
            .where(Widget.public_key == key)
            .options(
                joinedload(Widget.offered_groups).joinedload(WidgetGroup.group),
                joinedload(Widget.owner),
                joinedload(Widget.pbx_account),
            )
        )
        .unique()
        .first()
    )
    g.widget = widget
    return widget


def load_request(handle: str) -> CallbackRequest | None:
    if not handle or len(handle) > 64:
        return None
    # One statement for what every handle route reads: the request, its widget (origins,
    # language) and its calls (the status view's stage). A waiting visitor's poll is this.
    req = (
        db.session.scalars(
            select(CallbackRequest)
            .where(CallbackRequest.handle == handle)
            .options(joinedload(CallbackRequest.widget), joinedload(CallbackRequest.attempts))
        )
        .unique()
        .first()
    )
    g.widget = req.widget if req else None
    return req


def allowed_origin(widget: Widget) -> str | None:
    origin = request_origin(request.headers.get("Origin"), request.headers.get("Referer"))
    # One of its sites, or, in `widget-server demo` only, the sample shop.
    return origin if may_show(origin, widget.origins) else None


def widget_from_key(view):
    """Call ``view(widget)`` for the active widget ``<key>`` asked from one of its origins.

    :raise ApiError: 404 for an unknown widget, 403 for another origin or a paused widget.
    """

    @functools.wraps(view)
    def guarded(key: str):
        widget = load_widget(key)
        if widget is None:
            raise error(404, "widget_unknown")
        g.cors_origin = allowed_origin(widget)
        if g.cors_origin is None:
            log.info("widget %s: request from a disallowed origin refused", widget.id)
            refused.note_request(widget.public_key)  # the widget page offers to add it
            raise error(403, "origin_not_allowed")
        if not widget.active:
            raise error(403, "widget_paused")
        return view(widget)

    return guarded


def request_from_handle(view):
    """Call ``view(req)`` for the request ``<handle>`` asked from one of its widget's origins.

    :raise ApiError: 404 for an unknown handle, 403 for another origin.
    """

    @functools.wraps(view)
    def guarded(handle: str):
        req = load_request(handle)
        if req is None:
            raise error(404, "not_found")
        g.cors_origin = allowed_origin(req.widget)
        if g.cors_origin is None:
            raise error(403, "origin_not_allowed")
        return view(req)

    return guarded
