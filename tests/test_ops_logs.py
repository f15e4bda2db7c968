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

from widget_server.ops.logs import JsonFormatter, mask_text

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


# -- the masking safety net: forms of numbers, and what is not a number ---------------------
@pytest.mark.parametrize(
    ("text", "masked"),
    [
        ("call 7.916.123.45.67 now", "call 7.***.***.**.67 now"),
        ("call 8.916.123.4567.", "call 8.***.***.**67."),
        ("call +7\u00a0916\u00a0123-45-67", "call +7\u00a0***\u00a0***-**-67"),
        ("call +7\u202f916\u202f123\u202f45\u202f67", "call +7\u202f***\u202f***\u202f**\u202f67"),
        ("call 8\u2013916\u2013123\u201345\u201367", "call 8\u2013***\u2013***\u2013**\u201367"),
        ("call 8 (916) 123 \u2013 45 \u2013 67", "call 8 (***) *** \u2013 ** \u2013 67"),
        ("visitor id_79161234567 asked", "visitor id_7********67 asked"),
        ("key phone_89161234567_old", "key phone_8********67_old"),
        ("tel 8.916.1234567", "tel 8.***.*****67"),
    ],
)
def test_the_log_mask_covers_numbers_with_dots_narrow_spaces_en_dashes_or_glued_by_underscore(
    text, masked
):
    assert mask_text(text) == masked


@pytest.mark.parametrize(
    "text",
    [
        "client 10.0.0.1 and 192.168.100.200 and 10.0.0.1:8000",
        "from 10.0.0.1 10.0.0.2 via 172.16.254.1",
        "forwarded for 203.0.113.195, 198.51.100.178",
        "day 2026-12-07, 07.12.2026 and 2026.12.07 at 12:00:00.123 took 1500.25 ms",
        "between 2026\u201312\u201307 and 2026\u201312\u201331",
        "gunicorn 27.0.1, python 3.11.4, widget_server 1.26.3.2024",
        "request 6f1c2d3e4a5b4c6d8e9f0a1b2c3d4e5f done",
        "request 79161234567abcdef0123456789abcde done",
        "request 123e4567-e89b-12d3-a456-426614174000 done",
        "took 12.345678 s, pid 12345, port 8000, retry_after_60",
    ],
)
def test_the_log_mask_leaves_addresses_dates_times_versions_and_request_ids_readable(text):
    assert mask_text(text) == text
