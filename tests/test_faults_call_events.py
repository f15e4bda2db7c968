"""Faults found in drills, on the way from a PBX event to the visitor's status.

A queue that cannot be reached when an event is kept, and a restart between a
``call_back`` and its reply: the event is answered 200 once stored, and the request
reaches the status the call is in, through moves ``statuses.ALLOWED`` lists.
"""

from __future__ import annotations

import itertools
import logging
from datetime import timedelta

import pytest
from redis.exceptions import ConnectionError as RedisConnectionError
from sqlalchemy import select, update

from widget_server.dispatch.sweep import sweep
from widget_server.extensions import db
from widget_server.models import CallAttempt, CallbackRequest, CallEvent, PbxAccount, utcnow
from widget_server.pbx.signing import encode_body, signed_headers
from widget_server.statuses import Status

from .dispatch_support import VISITOR, World, sent_without_answer

SHOP = "https://shop.example"
_clock = itertools.count(1000)


@pytest.fixture
def world(tmp_path):
    return World(tmp_path)


def post_event(world: World, session_id: str, state: str, *, pin: str = "201"):
    """Deliver a signed ``call_events`` payload over the app's webhook, as the PBX does."""
    payload = {
        "session_id": session_id,
        "state": state,
        "type": "outbound",
        "from_pin": pin,
        "request_number": VISITOR.lstrip("+"),
        "timestamp": str(next(_clock)),
    }
    with world.app.app_context():
        public_id = db.session.get(PbxAccount, world.account_id).public_id
    body = encode_body(payload)
    return world.app.test_client().post(
        f"/pbx/{public_id}/call_events", data=body, headers=signed_headers("CLIENT", body, "KEY")
    )


def visitor_status(world: World, request_id: int) -> str:
    with world.app.app_context():
        handle = db.session.get(CallbackRequest, request_id).handle
    response = world.app.test_client().get(f"/api/v1/requests/{handle}", headers={"Origin": SHOP})
    assert response.status_code == 200, response.json
    return response.json["status"]


# -- the queue cannot be reached when an event is kept ---------------------------------------
def test_an_end_kept_while_the_queue_is_down_is_answered_200_and_settled_by_the_sweep(
    world, monkeypatch, caplog
):
    request_id = world.submit()
    world.jobs.run()
    world.call_goes("s1", "operator", "visitor", "talk")
    assert world.request(request_id).status == Status.CONNECTED

    storage = world.app.extensions["queue"].huey.storage

    def queue_down(*_args, **_kwargs):
        raise RedisConnectionError("Connection refused")

    with monkeypatch.context() as down:
        down.setattr(storage, "enqueue", queue_down)
        with caplog.at_level(logging.ERROR, logger="widget_server.dispatch.events"):
            response = post_event(world, "s1", "end")

    assert response.status_code == 200  # kept: the PBX must not send it again
    assert "settling could not be queued" in caplog.text
    with world.app.app_context():
        assert db.session.scalar(select(CallEvent.id).where(CallEvent.state == "end"))
    assert world.request(request_id).attempts[0]["stage"] == "ended"

    # The queue is back; the sweep's next minute finds the end nobody acted on.
    with world.app.app_context():
        db.session.execute(update(CallAttempt).values(ended_at=utcnow() - timedelta(seconds=30)))
        db.session.commit()
        sweep()
    world.jobs.run()

    req = world.request(request_id)
    assert req.status == Status.FINISHED
    assert req.outcomes == ["completed"]
    assert visitor_status(world, request_id) == Status.FINISHED


def test_an_end_just_kept_is_left_to_its_own_finish_job_by_the_sweep(world):
    request_id = world.submit()
    world.jobs.run()
    world.call_goes("s1", "operator", "visitor", "talk", "end")
    with world.app.app_context():
        sweep()
    assert world.jobs.run().count("finish_attempt") == 1  # the end's own, no second
    assert world.request(request_id).status == Status.FINISHED


# -- a restart between call_back and its reply --------------------------------------------------
def placed_before_the_crash(world: World) -> int:
    """A request still queued whose call_back was sent (its attempt committed) and whose
    reply was never recorded: the process died in between. Its queue jobs died with it."""
    request_id = world.submit()
    world.lose_jobs()
    with world.app.app_context():
        sent_without_answer(db.session.get(CallbackRequest, request_id))
        db.session.commit()
    assert world.request(request_id).status == Status.QUEUED
    return request_id


@pytest.mark.parametrize(
    ("state", "shown"), [("connected", Status.CONNECTED), ("calling", Status.CALLING_OPERATOR)]
)
def test_after_a_restart_the_first_event_heard_of_a_placed_call_shows_its_status(
    world, caplog, state, shown
):
    request_id = placed_before_the_crash(world)

    with caplog.at_level(logging.INFO, logger="widget_server.dispatch.state"):
        response = post_event(world, "SD-after-restart", state)

    assert response.status_code == 200
    assert "illegal status move" not in caplog.text
    req = world.request(request_id)
    assert req.status == shown
    assert req.attempts[0]["alias"] == "SD-after-restart"
    assert visitor_status(world, request_id) == shown
    assert world.pbx.pins_rung() == []  # adopted, never dialled again


def test_a_call_adopted_after_a_restart_ends_finished_without_a_second_ring(world):
    request_id = placed_before_the_crash(world)
    post_event(world, "SD-after-restart", "connected")
    post_event(world, "SD-after-restart", "end")
    world.jobs.run()

    assert world.request(request_id).status == Status.FINISHED
    assert world.pbx.pins_rung() == []
