"""The PBX's webhooks to us, signed and delivered over real loopback HTTP.

The simulator places the calls but its own webhook delivery is switched off,
so each test delivers the simulator's real ``call_events`` payloads itself:
in order, twice, concurrently, out of order, or forged.
"""

from __future__ import annotations

import json
import threading
import time
from typing import Any

import pytest
import requests
from sqlalchemy import func, select

from widget_server.extensions import db
from widget_server.models import CallAttempt, CallbackRequest, CallEvent, PbxAccount, PbxExchange
from widget_server.pbx.signing import encode_body, sign

from .conftest import SIM_CLIENT_ID, SIM_SIGN_KEY

OK = {"result": "0", "resultMessage": "ok"}
VISITOR = "+7 916 123-45-67"


# -- helpers -------------------------------------------------------------------------
@pytest.fixture
def quiet_stack(stack):
    """The live stack with the simulator placing calls but sending no webhooks."""
    response = stack.session.post(f"{stack.sim_url}/_sim/config", json={"webhook_base": ""})
    assert response.json()["config"]["WEBHOOK_BASE"] is None
    return stack


def hook_url(stack, method: str = "call_events", public_id: str | None = None) -> str:
    return f"{stack.service_url}/pbx/{public_id or stack.account_public_id}/{method}"


def post_signed(
    stack,
    payload: dict[str, Any] | bytes,
    method: str = "call_events",
    *,
    client_id: str = SIM_CLIENT_ID,
    sign_key: str = SIM_SIGN_KEY,
    public_id: str | None = None,
    session: requests.Session | None = None,
) -> requests.Response:
    body = payload if isinstance(payload, bytes) else encode_body(payload)
    headers = {
        "Content-Type": "application/json; charset=utf-8",
        "X-Client-ID": client_id,
        "X-Client-Sign": sign(client_id, body, sign_key),
    }
    return (session or stack.session).post(
        hook_url(stack, method, public_id), data=body, headers=headers, timeout=10
    )


def place_call(stack, phone: str = VISITOR) -> tuple[str, str, list[dict[str, Any]]]:
    """Submit a request and let the simulator play its call silently.

    Returns (request handle, session id, the call's event payloads in PBX order).
    """
    response = stack.submit(phone)
    assert response.status_code == 202, response.text
    handle = response.json()["handle"]

    def ended_call():
        calls = stack.session.get(f"{stack.sim_url}/_sim/calls", timeout=5).json()
        return next((c for c in calls if c["ended"]), None)

    call = stack.wait_until(ended_call, message="the simulated call to end")
    stack.wait_until(
        lambda: attempt_row(stack, handle).session_id == call["session_id"],
        message="our service to learn the session id",
    )
    return handle, call["session_id"], [event["payload"] for event in call["events"]]


def request_row(stack, handle: str) -> CallbackRequest:
    with stack.app.app_context():
        req = db.session.scalar(select(CallbackRequest).where(CallbackRequest.handle == handle))
        db.session.expunge(req)
        return req


def attempt_row(stack, handle: str) -> CallAttempt:
    with stack.app.app_context():
        req = db.session.scalar(select(CallbackRequest).where(CallbackRequest.handle == handle))
        attempt = req.attempts[-1]
        db.session.expunge(attempt)
        return attempt


def attempt_count(stack, handle: str) -> int:
    with stack.app.app_context():
        req = db.session.scalar(select(CallbackRequest).where(CallbackRequest.handle == handle))
        return len(req.attempts)


def event_count(stack, session_id: str | None = None, state: str | None = None) -> int:
    query = select(func.count(CallEvent.id))
    if session_id is not None:
        query = query.where(CallEvent.session_id == session_id)
    if state is not None:
        query = query.where(CallEvent.state == state)
    with stack.app.app_context():
        return db.session.scalar(query)


def by_state(events: list[dict[str, Any]], state: str, nth: int = 0) -> dict[str, Any]:
    return [e for e in events if e["state"] == state][nth]


def wait_call_info(stack) -> None:
    """Until the PBX has been asked call_info: it follows a call's end, so it may trail it."""
    stack.wait_until(lambda: stack.sim_requests("call_info"), message="call_info after the end")


def wait_outcome(stack, handle: str) -> CallAttempt:
    return stack.wait_until(
        lambda: (a := attempt_row(stack, handle)).outcome is not None and a,
        message="the attempt's outcome",
    )


# -- authenticity ------------------------------------------------------------------------
def test_a_validly_signed_event_is_acknowledged_and_moves_the_call_on(quiet_stack):
    stack = quiet_stack
    handle, session_id, events = place_call(stack)
    assert stack.status(handle)["status"] == "calling_operator"
    for payload in events[:2]:  # new, calling(operator)
        response = post_signed(stack, payload)
        assert response.status_code == 200
        assert response.json() == OK
    assert attempt_row(stack, handle).reached_stage == "operator_ringing"
    visitor_leg = by_state(events, "calling", 1)
    assert post_signed(stack, visitor_leg).json() == OK
    assert stack.status(handle)["status"] == "calling_visitor"
    assert attempt_row(stack, handle).reached_stage == "visitor_ringing"
    assert event_count(stack, session_id) == 3


def _tampered_body(body: bytes) -> bytes:
    position = body.index(b'"connected"') + 2
    return body[:position] + bytes([body[position] ^ 0x20]) + body[position + 1 :]


@pytest.mark.parametrize(
    "forgery",
    ["tampered body byte", "wrong client id", "empty signature", "no headers", "wrong key"],
)
def test_a_forged_event_is_refused_and_changes_nothing(quiet_stack, forgery):
    stack = quiet_stack
    handle, session_id, events = place_call(stack)
    connected = encode_body(by_state(events, "connected"))
    headers = {
        "Content-Type": "application/json",
        "X-Client-ID": SIM_CLIENT_ID,
        "X-Client-Sign": sign(SIM_CLIENT_ID, connected, SIM_SIGN_KEY),
    }
    body = connected
    if forgery == "tampered body byte":
        body = _tampered_body(connected)
    elif forgery == "wrong client id":
        headers["X-Client-ID"] = "SOMEONEELSE000000000000000000001"
        headers["X-Client-Sign"] = sign(headers["X-Client-ID"], connected, SIM_SIGN_KEY)
    elif forgery == "empty signature":
        headers["X-Client-Sign"] = ""
    elif forgery == "no headers":
        del headers["X-Client-ID"], headers["X-Client-Sign"]
    elif forgery == "wrong key":
        headers["X-Client-Sign"] = sign(SIM_CLIENT_ID, connected, "GUESSED-KEY")
    before = request_row(stack, handle)
    response = stack.session.post(hook_url(stack), data=body, headers=headers, timeout=10)
    assert response.status_code == 403
    assert response.json()["result"] != "0"
    assert event_count(stack) == 0
    after = request_row(stack, handle)
    assert (after.status, after.connected_at) == (before.status, None)
    assert attempt_row(stack, handle).reached_stage == "sent"


def test_an_event_for_an_unknown_account_is_refused(quiet_stack):
    stack = quiet_stack
    handle, _session_id, events = place_call(stack)
    response = post_signed(stack, events[0], public_id="pbx_000000000000000000000000")
    assert response.status_code == 403
    assert event_count(stack) == 0
    assert attempt_row(stack, handle).reached_stage == "sent"


def test_an_account_without_a_signing_key_refuses_every_webhook(quiet_stack):
    stack = quiet_stack
    handle, _session_id, events = place_call(stack)
    with stack.app.app_context():
        account = db.session.scalar(select(PbxAccount))
        account.sign_key = ""
        db.session.commit()
    response = post_signed(stack, events[0], sign_key="")
    assert response.status_code == 403
    assert event_count(stack) == 0
    assert attempt_row(stack, handle).reached_stage == "sent"


def test_malformed_json_with_a_valid_signature_is_a_400(quiet_stack):
    response = post_signed(quiet_stack, b'{"session_id": "s-1", "state": ')
    assert response.status_code == 400
    assert event_count(quiet_stack) == 0


def test_deeply_nested_signed_json_is_a_400_not_an_error(quiet_stack):
    response = post_signed(quiet_stack, b"[" * 5000)
    assert response.status_code == 400
    assert event_count(quiet_stack) == 0


def test_a_signature_header_with_non_ascii_characters_is_refused(quiet_stack):
    body = encode_body({"session_id": "s-1", "state": "new", "type": "outbound"})
    response = quiet_stack.session.post(
        hook_url(quiet_stack),
        data=body,
        headers={"X-Client-ID": SIM_CLIENT_ID, "X-Client-Sign": "é" * 64},
        timeout=10,
    )
    assert response.status_code == 403
    assert event_count(quiet_stack) == 0


def test_a_signed_json_array_is_a_400(quiet_stack):
    response = post_signed(quiet_stack, b'[{"session_id": "s-1", "state": "end"}]')
    assert response.status_code == 400


def test_an_oversized_webhook_is_refused_before_it_is_read(quiet_stack):
    payload = {"session_id": "s-1", "state": "new", "type": "outbound", "pad": "x" * 70_000}
    response = post_signed(quiet_stack, payload)
    assert response.status_code == 413
    assert event_count(quiet_stack) == 0


# -- duplicates and races ------------------------------------------------------------------
def test_a_duplicate_event_is_stored_once_and_applied_once(quiet_stack):
    stack = quiet_stack
    handle, session_id, events = place_call(stack)
    for payload in events[:3]:
        post_signed(stack, payload)
    connected = by_state(events, "connected")
    assert post_signed(stack, connected).json() == OK
    first = request_row(stack, handle).connected_at
    assert first is not None
    time.sleep(0.05)
    assert post_signed(stack, connected).json() == OK  # acknowledged, so the PBX stops
    assert event_count(stack, session_id, "connected") == 1
    assert request_row(stack, handle).connected_at == first
    assert stack.status(handle)["status"] == "connected"


def test_the_same_end_event_ten_times_concurrently_finishes_the_call_once(quiet_stack):
    stack = quiet_stack
    handle, session_id, events = place_call(stack)
    end = by_state(events, "end")
    for payload in events:
        if payload is not end:
            assert post_signed(stack, payload).status_code == 200
    barrier = threading.Barrier(10)
    answers: list[int] = []

    def deliver():
        with requests.Session() as session:
            barrier.wait()
            answers.append(post_signed(stack, end, session=session).status_code)

    threads = [threading.Thread(target=deliver) for _ in range(10)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=20)
    assert answers == [200] * 10
    assert event_count(stack, session_id, "end") == 1
    assert wait_outcome(stack, handle).outcome == "completed"
    assert stack.wait_final(handle)["status"] == "finished"
    wait_call_info(stack)  # "finished" shows at the end; call_info comes after it
    time.sleep(0.5)  # room for a second finish, were one queued
    assert len(stack.sim_requests("call_info")) == 1
    assert len(stack.sim_requests("call_back")) == 1
    assert attempt_count(stack, handle) == 1


def test_the_same_event_delivered_twice_concurrently_is_stored_once(quiet_stack):
    stack = quiet_stack
    handle, session_id, events = place_call(stack)
    barrier = threading.Barrier(2)
    answers: list[int] = []

    def deliver():
        with requests.Session() as session:
            barrier.wait()
            answers.append(post_signed(stack, events[0], session=session).status_code)

    threads = [threading.Thread(target=deliver) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=20)
    assert answers == [200, 200]
    assert event_count(stack, session_id, "new") == 1
    assert attempt_row(stack, handle).reached_stage == "operator_ringing"


# -- ordering ------------------------------------------------------------------------------
def test_end_before_connected_and_calling_after_end_never_move_the_call_backwards(quiet_stack):
    stack = quiet_stack
    handle, session_id, events = place_call(stack)
    new, operator_leg, visitor_leg = (
        events[0],
        by_state(events, "calling"),
        by_state(events, "calling", 1),
    )
    connected, end = by_state(events, "connected"), by_state(events, "end")
    for payload in (new, operator_leg, visitor_leg, end):
        assert post_signed(stack, payload).status_code == 200
    settled = wait_outcome(stack, handle)
    assert settled.stage == "ended"
    # The talk the events missed still shows in call_info, so it counts as completed.
    assert settled.outcome == "completed"
    assert stack.wait_final(handle)["status"] == "finished"
    # The late events arrive after the end.
    for payload in (connected, operator_leg, visitor_leg, new):
        assert post_signed(stack, payload).status_code == 200
    late = attempt_row(stack, handle)
    assert late.stage == "ended"
    assert late.outcome == "completed"
    assert late.ended_at == settled.ended_at
    assert stack.status(handle)["status"] == "finished"
    time.sleep(0.5)
    assert len(stack.sim_requests("call_info")) == 1
    assert len(stack.sim_requests("call_back")) == 1
    assert attempt_count(stack, handle) == 1
    assert event_count(stack, session_id) == 5  # the repeats of stored events were dropped


def test_an_end_that_arrives_first_of_all_still_ends_the_call_once(quiet_stack):
    stack = quiet_stack
    handle, _session_id, events = place_call(stack)
    ordered = [by_state(events, "end")] + [e for e in events if e["state"] != "end"]
    for payload in ordered:
        assert post_signed(stack, payload).status_code == 200
    settled = wait_outcome(stack, handle)
    assert settled.stage == "ended"
    assert stack.wait_final(handle)["final"] is True
    wait_call_info(stack)
    time.sleep(0.5)  # room for a second call_info, were one queued
    assert len(stack.sim_requests("call_info")) == 1
    assert attempt_row(stack, handle).stage == "ended"


def test_an_event_for_a_session_we_never_started_is_acknowledged_and_not_stored(quiet_stack):
    stack = quiet_stack
    payload = {
        "session_id": "someone-elses-call",
        "timestamp": "2025-01-01 10:00:00.000",
        "type": "incoming",
        "state": "new",
        "from_number": "79161234567",
        "request_number": "74992222222",
    }
    response = post_signed(stack, payload)
    assert response.status_code == 200
    assert response.json() == OK
    assert event_count(stack) == 0


def test_our_operators_call_to_someone_else_is_acknowledged_and_kept_nowhere(quiet_stack):
    stack = quiet_stack
    response = stack.submit(VISITOR)
    handle = response.json()["handle"]
    stack.wait_until(
        lambda: attempt_count(stack, handle) and attempt_row(stack, handle).session_id,
        message="our call_back answered, its events not come yet",
    )
    # The KAM fixture's shape, every key present: operator 201 dials another number by hand.
    theirs = {
        "disconnect_reason": "",
        "from_number": "sip:anna@demo.cloudpbx.rt.ru",
        "from_pin": "201",
        "is_record": "",
        "request_number": "sip:89035550101@123.45.67",
        "request_pin": "",
        "session_id": "SDsnZugDFmTW7Sec",
        "state": "new",
        "timestamp": "2026-12-01 10:46:56.725",
        "type": "outbound",
    }
    for state in ("new", "calling", "connected", "disconnected", "end"):
        response = post_signed(stack, dict(theirs, state=state))
        assert response.status_code == 200
        assert response.json() == OK
    assert event_count(stack) == 0
    with stack.app.app_context():
        assert (
            db.session.scalar(select(func.count(PbxExchange.id)).where(PbxExchange.kind == "event"))
            == 0
        )
    assert attempt_row(stack, handle).reached_stage == "sent"


def test_no_webhook_forged_or_valid_causes_a_call_back(quiet_stack):
    stack = quiet_stack
    handle, session_id, events = place_call(stack)
    assert len(stack.sim_requests("call_back")) == 1
    for payload in events:
        forged = dict(payload, state="end", disconnect_reason="")
        body = encode_body(forged)
        stack.session.post(
            hook_url(stack),
            data=body,
            headers={"X-Client-ID": SIM_CLIENT_ID, "X-Client-Sign": "0" * 64},
            timeout=10,
        )
    foreign = dict(events[0], session_id="not-ours", type="incoming")
    post_signed(stack, foreign)
    post_signed(stack, dict(foreign, state="end"))
    for payload in events:
        post_signed(stack, payload)
    assert stack.wait_final(handle)["status"] == "finished"
    time.sleep(0.5)
    assert len(stack.sim_requests("call_back")) == 1
    assert event_count(stack, session_id) == len(events)


# -- get_number_info and history_file_completed ---------------------------------------------
def route_inbound(stack) -> None:
    """Switch on routing returning callers to their operator (off by default)."""
    with stack.app.app_context():
        account = db.session.scalar(
            select(PbxAccount).where(PbxAccount.public_id == stack.account_public_id)
        )
        account.route_inbound = True
        db.session.commit()


def test_get_number_info_is_answered_empty_while_routing_is_off(quiet_stack):
    stack = quiet_stack
    handle, _session_id, events = place_call(stack)
    for payload in events:
        post_signed(stack, payload)
    assert stack.wait_final(handle)["status"] == "finished"
    response = post_signed(stack, {"from_number": "79161234567"}, "get_number_info")
    assert response.status_code == 200
    assert response.json() == OK


def test_get_number_info_names_a_recent_requester_and_routes_to_their_operator(quiet_stack):
    stack = quiet_stack
    route_inbound(stack)
    handle, _session_id, events = place_call(stack)
    for payload in events:
        post_signed(stack, payload)
    assert stack.wait_final(handle)["status"] == "finished"
    operator = attempt_row(stack, handle).operator_pin
    response = post_signed(
        stack,
        {
            "domain": "demo.cloudpbx.rt.ru",
            "from_number": "79161234567",
            "request_number": "74992222222",
        },
        "get_number_info",
    )
    assert response.status_code == 200
    shown = "+79161234567 · Обратный звонок: 127.0.0.1"
    assert response.json() == dict(OK, displayName=shown, PIN=operator)
    assert operator == "201"


def test_get_number_info_gives_no_pin_when_nobody_talked_to_the_caller(quiet_stack):
    stack = quiet_stack
    route_inbound(stack)
    place_call(stack)  # rang, but no events: nobody got connected
    response = post_signed(stack, {"from_number": "89161234567"}, "get_number_info")
    assert response.json() == dict(OK, displayName="+79161234567 · Обратный звонок: 127.0.0.1")


def test_get_number_info_for_an_unknown_number_is_just_ok(quiet_stack):
    response = post_signed(
        quiet_stack,
        {"from_number": "74959561111", "request_number": "74992222222"},
        "get_number_info",
    )
    assert response.status_code == 200
    assert response.json() == OK


def test_get_number_info_with_a_bad_signature_is_refused(quiet_stack):
    body = encode_body({"from_number": "79161234567"})
    response = quiet_stack.session.post(
        hook_url(quiet_stack, "get_number_info"),
        data=body,
        headers={"X-Client-ID": SIM_CLIENT_ID, "X-Client-Sign": sign(SIM_CLIENT_ID, body, "x")},
        timeout=10,
    )
    assert response.status_code == 403
    assert "displayName" not in response.json()


def test_a_signed_history_file_completed_is_acknowledged(quiet_stack):
    payload = {"order_id": "e3b0c442", "result": "0", "url": "https://example.invalid/h.csv"}
    response = post_signed(quiet_stack, payload, "history_file_completed")
    assert response.status_code == 200
    assert response.json() == OK
    unsigned = quiet_stack.session.post(
        hook_url(quiet_stack, "history_file_completed"), data=json.dumps(payload), timeout=10
    )
    assert unsigned.status_code == 403
