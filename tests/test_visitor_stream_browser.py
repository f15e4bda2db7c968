"""The widget follows a request over the status stream, and polls when there is none.

The stream endpoint (``GET /api/v1/requests/<handle>/events``, contract 5) is served by
another part of the project; here a test-only route on the live app stands in for it,
speaking text/event-stream as the contract says: the status object at once, one message
per change, comment keep-alives, the end after a final status.
"""

from __future__ import annotations

import json
import time
from urllib.parse import urlsplit

import pytest
from flask import Response, jsonify
from sqlalchemy import select

from widget_server.extensions import db
from widget_server.models import CallbackRequest
from widget_server.visitor.status import status_view

from .conftest import build_stack
from .test_visitor_widget_browser import RECORD_STATUSES

pytestmark = pytest.mark.browser

EVENTS_RULE = "/api/v1/requests/<handle>/events"


def stand_in_stream(app, shop_origin: str):
    """The contract's stream, read from the database every 50 ms."""

    def messages(handle: str):
        last, quiet = None, 0.0
        while True:
            with app.app_context():
                req = db.session.scalar(
                    select(CallbackRequest).where(CallbackRequest.handle == handle)
                )
                view = status_view(req, "ru")
            if view != last:
                yield f"data: {json.dumps(view, ensure_ascii=False)}\n\n"
                last, quiet = view, 0.0
                if view.get("final"):
                    return
            elif quiet > 1.0:
                yield ": keep-alive\n\n"
                quiet = 0.0
            time.sleep(0.05)
            quiet += 0.05

    def events(handle: str):
        response = Response(messages(handle), mimetype="text/event-stream")
        response.headers["Access-Control-Allow-Origin"] = shop_origin
        response.headers["Cache-Control"] = "no-store"
        return response

    app.add_url_rule(EVENTS_RULE, "stand_in_events", events)


def missing_stream(app, shop_origin: str):
    """A server that says it streams but answers 404 (a proxy that drops the path, say)."""

    def events(handle: str):
        response = jsonify({"error": "not_found"})
        response.headers["Access-Control-Allow-Origin"] = shop_origin
        return response, 404

    app.add_url_rule(EVENTS_RULE, "missing_events", events)


@pytest.fixture(params=[stand_in_stream, missing_stream], ids=["stream", "stream-404"])
def streaming_stack(request, tmp_path):
    stack, stop = build_stack(tmp_path, time_scale=0.25)
    shop = urlsplit(stack.shop_url)
    request.param(stack.app, f"{shop.scheme}://{shop.netloc}")
    yield stack, request.param
    stop()


def order_a_call(page, stack):
    page.goto(f"{stack.shop_url}/")
    page.wait_for_selector("callback-widget .cbw-fab")
    page.evaluate(RECORD_STATUSES)
    page.click("callback-widget .cbw-fab")
    page.fill("#cbw-phone", "9161234567")
    page.select_option("#cbw-group", "102")
    page.check("#cbw-consent")
    page.click("callback-widget button[type=submit]")
    page.wait_for_function("() => window.__statuses.includes('finished')", timeout=20000)
    return page.evaluate("() => window.__statuses")


def test_every_stage_reaches_the_page_over_the_stream_or_by_polling(page, streaming_stack):
    stack, kind = streaming_stack
    asked = []
    page.on("request", lambda r: "/api/v1/requests/" in r.url and asked.append(r.url))
    statuses = order_a_call(page, stack)
    assert statuses.index("calling_visitor") < statuses.index("connected")
    assert statuses.index("connected") < statuses.index("finished")
    streams = [url for url in asked if "/events" in url]
    polls = [url for url in asked if "/events" not in url and "/cancel" not in url]
    assert len(streams) == 1  # opened once; EventSource's own retries would add more
    if kind is stand_in_stream:
        assert polls == []  # every stage came pushed
    else:
        assert len(polls) >= 3  # the fallback polled through the stages
