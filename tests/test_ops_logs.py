"""JSON log lines of a real submit: access fields, request id correlation, nothing secret.

The app's own log handler is pointed at a buffer while a visitor's request goes
through the live stack (service, PBX simulator, queue) over loopback HTTP.
"""

from __future__ import annotations

import io
import json
import logging

import pytest
import requests

from widget_server.ops.logs import JsonFormatter

from .conftest import SIM_SIGN_KEY, TEST_SECRET, build_stack

ROUTE = "/api/v1/widgets/<key>/requests"
PHONE = "+7 916 555-12-34"
DIGITS = "79165551234"


@pytest.fixture
def json_stack(tmp_path):
    """A live stack logging JSON lines into ``stack.log_buffer``."""
    stack, stop = build_stack(tmp_path, app_overrides={"LOG_FORMAT": "json"})
    handler = next(h for h in logging.getLogger().handlers if getattr(h, "_widget_server", False))
    assert isinstance(handler.formatter, JsonFormatter)
    stack.log_buffer = io.StringIO()
    previous = handler.setStream(stack.log_buffer)
    try:
        yield stack
    finally:
        handler.setStream(previous)
        stop()


def _lines(stack) -> list[dict]:
    # Every line is one JSON object: json.loads fails the test on anything else.
    return [json.loads(line) for line in stack.log_buffer.getvalue().splitlines() if line]


def test_a_submit_writes_json_lines_that_share_its_request_id_and_hide_the_number(json_stack):
    stack = json_stack
    answer = requests.post(
        f"{stack.service_url}/api/v1/widgets/{stack.widget_key}/requests",
        json={"phone": PHONE, "group": "101", "consent": True},
        headers={"Origin": stack.shop_url, "X-Request-ID": "shop-req-0001-abcdef"},
        timeout=10,
    )
    assert answer.status_code == 202
    assert answer.headers["X-Request-ID"] == "shop-req-0001-abcdef"
    assert stack.wait_final(answer.json()["handle"])["status"] == "finished"

    lines = _lines(stack)
    mine = [entry for entry in lines if entry.get("request_id") == "shop-req-0001-abcdef"]
    access = [entry for entry in mine if entry["logger"] == "widget_server.access"]
    assert len(access) == 1
    line = access[0]
    assert (line["method"], line["route"], line["status"]) == ("POST", ROUTE, 202)
    assert line["client_ip"] == "127.0.0.1"
    assert isinstance(line["duration_ms"], float) and line["duration_ms"] >= 0
    assert line["level"] == "INFO" and line["ts"].endswith("+00:00")
    # What the handler logged while answering carries the same id, number masked.
    accepted = [e for e in mine if e["logger"] == "widget_server.visitor.intake"]
    assert accepted and "accepted" in accepted[0]["msg"]
    assert "+7********34" in accepted[0]["msg"]
    # The PBX's webhooks are requests of their own, each with its own id.
    webhooks = [e for e in lines if e.get("route") == "/pbx/<public_id>/call_events"]
    assert webhooks and all(e["request_id"] != "shop-req-0001-abcdef" for e in webhooks)
    assert len({e["request_id"] for e in webhooks}) == len(webhooks)

    text = stack.log_buffer.getvalue()
    assert DIGITS not in text and "916555" not in text
    assert SIM_SIGN_KEY not in text
    assert TEST_SECRET not in text


def test_an_insane_or_phone_like_request_id_is_replaced_and_secrets_in_headers_stay_out(
    json_stack,
):
    stack = json_stack
    given = ["bad id; DROP", "x" * 300, "79165551234", ""]
    echoed = []
    for request_id in given:
        answer = requests.get(
            f"{stack.service_url}/healthz",
            headers={
                "X-Request-ID": request_id,
                "Authorization": "Bearer top-secret-bearer-value",
                "Cookie": "widget_session=top-secret-session-cookie",
            },
            timeout=10,
        )
        assert answer.status_code == 200
        echoed.append(answer.headers["X-Request-ID"])
    assert all(len(e) == 32 and e not in given for e in echoed)
    assert len(set(echoed)) == len(echoed)
    logged = [e["request_id"] for e in _lines(stack) if e.get("route") == "/healthz"]
    assert logged == echoed
    text = stack.log_buffer.getvalue()
    assert "top-secret" not in text and DIGITS not in text
