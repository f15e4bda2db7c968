"""A visitor's request through our service and the PBX simulator, over real loopback HTTP."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from widget_server.extensions import db
from widget_server.models import CallAttempt, CallbackRequest, CallEvent, PbxAccount, Widget

from .conftest import SIM_SIGN_KEY, build_stack


def _attempts(stack, handle):
    with stack.app.app_context():
        req = db.session.scalar(select(CallbackRequest).where(CallbackRequest.handle == handle))
        return [
            (a.operator_pin, a.outcome, a.session_id, a.duration, a.answered) for a in req.attempts
        ]


def test_a_normal_call_connects_and_finishes(stack):
    response = stack.submit("+7 916 123-45-67")
    assert response.status_code == 202
    handle = response.json()["handle"]
    final = stack.wait_final(handle)
    assert final["status"] == "finished"
    assert final["seen"][0] in ("queued", "calling_operator")
    callbacks = stack.sim_requests("call_back")
    assert len(callbacks) == 1
    assert callbacks[0]["body"]["request_number"] == "+79161234567"
    assert callbacks[0]["body"]["from_pin"] == "201"
    assert callbacks[0]["signature_ok"] is True
    attempts = _attempts(stack, handle)
    assert attempts[0][1] == "completed"
    # call_info is fetched once after `end` and fills duration/answered.
    stack.wait_until(lambda: len(stack.sim_requests("call_info")) == 1, message="call_info")
    stack.wait_until(lambda: _attempts(stack, handle)[0][4] is True, message="answered flag")


def test_when_no_operator_answers_every_operator_of_the_group_is_tried_in_order(stack):
    handle = stack.submit("+7 900 000-00-01").json()["handle"]
    final = stack.wait_final(handle)
    assert final["status"] == "no_operator"
    pins = [c["body"]["from_pin"] for c in stack.sim_requests("call_back")]
    assert pins == ["201", "202", "203"]
    assert [a[1] for a in _attempts(stack, handle)] == ["operator_no_answer"] * 3


def test_the_next_operator_is_tried_when_the_first_does_not_answer(stack):
    handle = stack.submit("+7 900 000-00-07", group="102").json()["handle"]
    final = stack.wait_final(handle)
    assert final["status"] == "finished"
    pins = [c["body"]["from_pin"] for c in stack.sim_requests("call_back")]
    assert pins == ["204", "203"]


@pytest.mark.parametrize(
    ("phone", "expected"),
    [
        ("+7 900 000-00-02", "visitor_busy"),
        ("+7 900 000-00-03", "visitor_no_answer"),
        ("+7 900 000-00-04", "pbx_error"),
        # The call_back's answer never comes; the PBX's journal shows the call, unanswered.
        ("+7 900 000-00-05", "no_operator"),
        ("+7 900 000-00-06", "pbx_error"),
    ],
)
def test_each_simulator_scenario_reaches_its_final_status(stack, phone, expected):
    handle = stack.submit(phone).json()["handle"]
    final = stack.wait_final(handle, timeout=30)
    assert final["status"] == expected
    assert final["message"]


def test_a_refused_call_back_moves_on_through_every_operator_then_reports_a_pbx_error(stack):
    handle = stack.submit("+7 900 000-00-04").json()["handle"]
    stack.wait_final(handle)
    assert [c["body"]["from_pin"] for c in stack.sim_requests("call_back")] == ["201", "202", "203"]
    assert {a[1] for a in _attempts(stack, handle)} == {"failed"}


def test_a_timed_out_call_back_is_not_dialled_again(stack):
    handle = stack.submit("+7 900 000-00-05").json()["handle"]
    stack.wait_final(handle, timeout=30)
    assert len(stack.sim_requests("call_back")) == 1
    # Settled from the PBX's journal (dispatch/unplaced.py), which has the call.
    assert _attempts(stack, handle)[0][1] == "journal_not_answered"


def test_an_operator_the_pbx_still_rings_past_the_ring_timeout_is_not_left_for_the_next(
    tmp_path,
):
    # There is no hang-up method: dialling the next operator while the PBX still
    # rings the first would ring two. call_info shows the ringing: we wait for it.
    stack, stop = build_stack(tmp_path, time_scale=1.0, sim_overrides={"OPERATOR_RING_SECONDS": 3})
    try:
        with stack.app.app_context():
            db.session.scalar(select(Widget)).ring_timeout = 1
            db.session.scalar(select(PbxAccount)).ring_seconds = 1
            db.session.commit()
        handle = stack.submit("+7 900 000-00-01", group="102").json()["handle"]
        stack.wait_until(
            lambda: len(stack.sim_requests("call_back")) == 2,
            timeout=15,
            message="second operator rung",
        )
        second_sent = stack.sim_requests("call_back")[1]["time"]
        first = stack.session.get(f"{stack.sim_url}/_sim/calls", timeout=5).json()[0]
        assert first["ended"] and first["events"][-1]["time"] <= second_sent
        assert second_sent - first["created"] >= 3
        assert _attempts(stack, handle)[0][1] == "operator_no_answer"
    finally:
        stop()


def test_round_robin_starts_each_request_with_the_next_operator(tmp_path):
    stack, stop = build_stack(tmp_path, ring_strategy="round_robin")
    try:
        first = stack.submit("+7 916 111-11-11").json()["handle"]
        second = stack.submit("+7 916 222-22-22").json()["handle"]
        stack.wait_final(first)
        stack.wait_final(second)
        # The queue may run the two jobs in either order; each starts with a different operator.
        assert {_attempts(stack, first)[0][0], _attempts(stack, second)[0][0]} == {"201", "202"}
    finally:
        stop()


def test_random_order_tries_every_operator_of_the_group_once(tmp_path):
    stack, stop = build_stack(tmp_path, ring_strategy="random")
    try:
        handle = stack.submit("+7 900 000-00-01").json()["handle"]
        assert stack.wait_final(handle)["status"] == "no_operator"
        pins = [c["body"]["from_pin"] for c in stack.sim_requests("call_back")]
        assert sorted(pins) == ["201", "202", "203"]
    finally:
        stop()


def test_the_pbx_group_strategy_passes_the_groups_own_pin(tmp_path):
    stack, stop = build_stack(tmp_path, ring_strategy="pbx_group")
    try:
        handle = stack.submit("+7 916 333-33-33").json()["handle"]
        assert stack.wait_final(handle)["status"] == "finished"
        assert [c["body"]["from_pin"] for c in stack.sim_requests("call_back")] == ["101"]
    finally:
        stop()


def test_events_are_stored_once_per_state_and_linked_to_the_attempt(stack):
    handle = stack.submit("+7 916 444-44-44").json()["handle"]
    stack.wait_final(handle)
    with stack.app.app_context():
        states = db.session.scalars(
            select(CallEvent.state).where(CallEvent.attempt_id.is_not(None))
        ).all()
        orphans = db.session.scalars(select(CallEvent).where(CallEvent.attempt_id.is_(None))).all()
        attempt = db.session.scalar(select(CallAttempt))
    assert sorted(states) == sorted(
        ["new", "calling", "calling", "connected", "disconnected", "end"]
    )
    assert orphans == []
    assert attempt.is_record is True


def test_logs_never_hold_a_full_phone_number_or_the_signing_key(stack, caplog):
    caplog.set_level("DEBUG")
    handle = stack.submit("+7 916 987-65-43").json()["handle"]
    stack.wait_final(handle)
    stack.submit("+7 900 000-00-06")  # a PBX error path logs too
    stack.wait_until(lambda: len(stack.sim_requests("call_back")) == 2, message="second call")
    text = "\n".join(r.getMessage() for r in caplog.records)
    assert "session" in text  # the flow did log
    for leaked in ("79169876543", "9169876543", "79000000006", SIM_SIGN_KEY):
        assert leaked not in text


def test_a_number_logged_by_mistake_is_masked_in_every_handler(app, caplog):
    import logging

    caplog.set_level("INFO")
    logging.getLogger("widget_server.test").info("PBX said: bad number %s", "+79161234567")
    assert caplog.records[-1].getMessage() == "PBX said: bad number +7********67"
