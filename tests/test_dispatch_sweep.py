"""The sweep: work the queue lost is found in the database and done again."""

from __future__ import annotations

import pytest

from widget_server.dispatch.sweep import sweep
from widget_server.statuses import Status

from .dispatch_support import World


@pytest.fixture
def world(tmp_path):
    return World(tmp_path, END_TIMEOUT=60, PBX_TIMEOUT=5, PBX_DEADLINE=5, UNKNOWN_CALL_GRACE=10)


def run_sweep(world):
    with world.app.app_context():
        sweep()
    return world.jobs.run()


def test_a_request_whose_dial_job_was_lost_is_dialled_by_the_sweep(world):
    request_id = world.submit()
    world.lose_jobs()
    assert run_sweep(world) == []  # due just now: left to the queue

    world.backdate(30)
    assert "place_next_call" in run_sweep(world)
    assert world.pbx.pins_rung() == ["201"]
    assert world.request(request_id).status == Status.CALLING_OPERATOR


def test_a_call_whose_end_never_came_is_settled_through_call_info(world):
    request_id = world.submit()
    world.jobs.run()
    world.call_goes("s1", "operator", "visitor")
    world.backdate(61)
    run_sweep(world)

    req = world.request(request_id)
    assert req.attempts[0]["stage"] == "ended"
    assert ("call_info", ("s1",)) in world.pbx.calls
    assert req.status == Status.VISITOR_RETRY


def test_a_call_back_whose_worker_died_unanswered_is_resolved_by_the_sweep(world):
    world.pbx.answers = ["timeout"]
    request_id = world.submit()
    world.jobs.run()
    world.lose_jobs()
    world.backdate(16)
    run_sweep(world)

    assert world.request(request_id).status == Status.PBX_ERROR
    assert world.pbx.pins_rung() == ["201"]


def test_a_final_request_is_left_alone_by_the_sweep(world):
    request_id = world.submit()
    world.jobs.run()
    world.call_goes("s1", "operator", "visitor", "talk", "end")
    world.jobs.run()
    world.backdate(3600)

    assert run_sweep(world) == []
    assert world.request(request_id).status == Status.FINISHED
