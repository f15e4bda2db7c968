"""The call machine rings a visitor again only on positive evidence they were not reached.

Through the fake PBX (``dispatch_support``), with call_info shaped as in the seed article:
its ``session_log`` names the visitor only as ``el`` and the operator, by login, for every
ring, answer and hang-up. A visitor who talked ends "finished" and is never rung again;
one whose phone is not shown ringing unanswered ends "unconfirmed", also never rung again.
"""

from __future__ import annotations

from typing import Any

import pytest

from widget_server.dispatch import events, settle
from widget_server.extensions import db
from widget_server.models import CallAttempt, PbxAccount
from widget_server.statuses import Outcome, Status

from .dispatch_support import VISITOR, World
from .seed_examples import call_info_for

DIGITS = VISITOR.lstrip("+")
LOGIN = "op201"  # FakePbx's users are op<pin>; the seed's log names operators by login
SEED = call_info_for(DIGITS, LOGIN, is_record=False)  # FakePbx keeps no recordings


def seed(**changes: Any) -> dict[str, Any]:
    return {**SEED, **changes}


def ev(state: str, to: str = DIGITS, reason: str | None = None) -> dict[str, Any]:
    event: dict[str, Any] = {"state": state, "request_number": to}
    if reason is not None:
        event["disconnect_reason"] = reason
    return event


OPERATOR_RINGS = [ev("new"), ev("calling", to=f"{LOGIN}@example.ru")]
VISITOR_RINGS = [*OPERATOR_RINGS, ev("calling")]


@pytest.fixture
def world(tmp_path):
    return World(tmp_path)


def _end(world: World, *events: dict[str, Any], info: dict[str, Any] | None) -> None:
    if info is not None:
        world.pbx.call_infos["s1"] = info
    for event in events:
        extra = {k: v for k, v in event.items() if k in ("disconnect_reason",)}
        world.event("s1", event["state"], request_number=event["request_number"], **extra)
    world.jobs.run()


def test_a_visitor_who_talked_is_finished_though_the_call_log_names_only_the_operator(world):
    request_id = world.submit()
    world.jobs.run()
    talk = [ev("connected"), ev("disconnected", reason="5"), ev("end")]
    _end(world, *VISITOR_RINGS, *talk, info=seed())

    req = world.request(request_id)
    assert (req.status, req.outcomes) == (Status.FINISHED, [Outcome.COMPLETED])
    assert world.pbx.pins_rung() == ["201"]
    assert "place_next_call" not in [name for name, _, _ in world.jobs.delayed()]
    assert world.notifications() == []


def test_a_call_whose_events_stop_at_the_operator_and_whose_log_names_only_them_is_unconfirmed(
    world,
):
    request_id = world.submit()
    world.jobs.run()
    _end(world, *OPERATOR_RINGS, ev("end"), info=seed())

    req = world.request(request_id)
    assert (req.status, req.outcomes) == (Status.FINISHED, [Outcome.UNCONFIRMED])
    assert req.visitor_retries == 0
    assert world.pbx.pins_rung() == ["201"]
    assert "place_next_call" not in [name for name, _, _ in world.jobs.delayed()]
    assert world.notifications() == []  # not "missed": nobody knows the visitor missed it


def test_a_visitor_whose_phone_rang_unanswered_is_tried_again_when_the_log_names_only_the_operator(
    world,
):
    request_id = world.submit()
    world.jobs.run()
    _end(world, *VISITOR_RINGS, ev("disconnected", reason=""), ev("end"), info=seed(state=2))

    req = world.request(request_id)
    assert (req.status, req.outcomes) == (Status.VISITOR_RETRY, [Outcome.VISITOR_NO_ANSWER])


def test_a_busy_visitor_is_tried_again_when_the_log_names_only_the_operator(world):
    request_id = world.submit()
    world.jobs.run()
    busy = seed(state=2, duration=0, status_code="486")
    _end(world, *VISITOR_RINGS, ev("disconnected", reason="3"), ev("end"), info=busy)

    req = world.request(request_id)
    assert (req.status, req.outcomes) == (Status.VISITOR_RETRY, [Outcome.VISITOR_BUSY])


def test_a_polled_call_whose_log_names_only_the_operator_ends_unconfirmed_and_never_shows_a_talk(
    world,
):
    with world.app.app_context():
        db.session.get(PbxAccount, world.account_id).events_expected = False
        db.session.commit()
    request_id = world.submit()
    world.jobs.run()
    world.pbx.call_infos["s1"] = seed(
        session_log=f"0:el:{DIGITS};0:ru:{LOGIN};0:ct:{LOGIN};2:cc:{LOGIN};", duration=0
    )
    world.later("follow_call")
    assert world.request(request_id).status == Status.CALLING_VISITOR

    world.pbx.call_infos["s1"] = seed()
    world.later("follow_call")

    req = world.request(request_id)
    assert (req.status, req.outcomes) == (Status.FINISHED, [Outcome.UNCONFIRMED])
    assert world.pbx.pins_rung() == ["201"]


def test_when_call_info_fails_a_connected_with_no_visitor_leg_ends_unconfirmed(world):
    request_id = world.submit()
    world.jobs.run()
    world.pbx.unknown_sessions.add("s1")
    _end(world, *OPERATOR_RINGS, ev("connected"), ev("end"), info=None)
    world.later("finish_attempt")
    world.later("finish_attempt")

    req = world.request(request_id)
    assert (req.status, req.outcomes) == (Status.FINISHED, [Outcome.UNCONFIRMED])
    assert world.pbx.pins_rung() == ["201"]


def test_a_second_finish_job_leaves_the_settling_to_the_one_asking_call_info(world):
    """The restart test's double ring: a call's `end` and the follow-up each enqueue a
    finish job; the one that lost the claim used to settle at once, without the call_info
    the other was fetching, as "the operator did not answer", and rang the next operator."""
    request_id = world.submit()
    world.jobs.run()
    world.pbx.call_infos["s1"] = {
        "state": "1",
        "duration": "30",
        "session_log": f"0:ct:201;2:cc:201;3:ct:{DIGITS};5:cc:{DIGITS};30:cd:{DIGITS};",
    }
    with world.app.app_context():
        attempt = db.session.scalar(db.select(CallAttempt))
        attempt.stage, attempt.call_info_fetched = "ended", True  # the first job's claim
        db.session.commit()
        settle.finish_attempt(attempt.id)  # the second job, while the first asks call_info
        assert db.session.get(CallAttempt, attempt.id).outcome is None
        attempt = db.session.get(CallAttempt, attempt.id)
        attempt.call_info_fetched = False  # the first job, as it was: its turn to claim
        db.session.commit()
        settle.finish_attempt(attempt.id)
    world.jobs.run()

    req = world.request(request_id)
    assert (req.status, req.outcomes) == (Status.FINISHED, [Outcome.COMPLETED])
    assert world.pbx.pins_rung() == ["201"]


def test_a_call_heard_of_only_as_ringing_the_operator_rings_nobody_else_when_call_info_fails(
    world,
):
    """Its other events were lost (the service was down) and call_info does not answer:
    nothing shows the operator did not pick up, so the next one is not rung (the visitor
    may have talked); the owner sees the call unconfirmed."""
    request_id = world.submit()
    world.jobs.run()
    world.call_goes("s1", "operator")
    world.pbx.unknown_sessions.add("s1")  # call_info fails each time it is asked
    with world.app.app_context():
        events.reconcile_attempt(db.session.scalar(db.select(CallAttempt.id)))
    world.jobs.run()
    for _ in range(settle.CALL_INFO_TRIES):
        world.jobs.run_later("finish_attempt")

    req = world.request(request_id)
    assert (req.status, req.outcomes) == (Status.FINISHED, [Outcome.UNCONFIRMED])
    assert world.pbx.pins_rung() == ["201"]
