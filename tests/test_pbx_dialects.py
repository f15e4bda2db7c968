"""The call machine under every PBX dialect, fast: the simulator's own scripts through the fake PBX.

Each case takes the events and the ``session_log`` the simulator would play for a
dialect (``pbx.sim.scenarios.build_script``), delivers them by hand and checks the
rules of ``docs/pbx-dialects.md``: one call_back for a visitor who answers and
"finished" for them; never "finished" for a visitor who did not answer; never a
second operator while call_info shows the first call alive.
"""

from __future__ import annotations

import pytest

from widget_server.extensions import db
from widget_server.models import PbxAccount
from widget_server.pbx.client import PbxClient, PbxCredentials, PbxError
from widget_server.pbx.sim import scenarios, start_sim_thread
from widget_server.pbx.sim.settings import DEFAULTS, merge_config
from widget_server.pbx.sim.state import Call, SimState
from widget_server.statuses import Outcome, Status

from .dispatch_support import VISITOR, World

DIALECTS = list("abcdefghs")


@pytest.fixture
def world(tmp_path):
    return World(tmp_path)


def script(dialect: str, kind: str, pin: str = "201") -> list[scenarios.Step]:
    return scenarios.build_script(
        kind,
        pin=pin,
        login=f"op{pin}",
        visitor=VISITOR.lstrip("+"),
        recording=False,
        config=DEFAULTS,
        dialect=dialect,
    )


def sim_call_info(dialect: str, steps) -> dict:
    """call_info as the simulator tells the steps played so far (step n at second n).

    (g) is told in (a)'s shape: when its call_info answers at all is ``finish``'s part.
    """
    sim = SimState(merge_config({"DIALECT": dialect}))
    call = Call(
        session_id="x",
        scenario="",
        script="",
        operator_pin="201",
        operator_login="op201",
        group_pin=None,
        visitor=VISITOR.lstrip("+"),
        request_number=VISITOR,
        recording=False,
        time_scale=1.0,
        dialect="a" if dialect == "g" else dialect,
        created=0.0,
    )
    call.started_at = 0.0
    for n, step in enumerate(steps):
        call.log += [(float(n), code, party) for code, party in step.log]
        call.status = step.status or call.status
        call.ended = call.ended or step.state == "end"
    sim.add_call(call)
    return sim.call_info("x")


def play(world: World, dialect: str, reply_id: str, steps, *, start: int = 0) -> None:
    """Deliver the steps' events (from ``start``) as the dialect sends them.

    call_info shows what every step so far logged, in the dialect's shape.
    """
    events_id = f"SD{reply_id}xYz" if dialect == "e" else reply_id
    for n, step in enumerate(steps):
        world.pbx.call_infos[reply_id] = sim_call_info(dialect, steps[: n + 1])
        if n < start or step.state is None or dialect == "g":
            continue
        extra = {"disconnect_reason": step.disconnect_reason} if step.disconnect_reason else {}
        world.event(events_id, step.state, request_number=step.request_number, **extra)


def finish(world: World, dialect: str, reply_id: str) -> None:
    """Let the call machine notice the end: at once, or (no events) at its next look."""
    world.jobs.run()
    if dialect == "g":
        world.pbx.unknown_sessions.discard(reply_id)
        world.later("follow_call")


@pytest.mark.parametrize("dialect", DIALECTS)
def test_a_visitor_who_answers_is_connected_by_one_call_back_and_told_finished(world, dialect):
    request_id = world.submit()
    world.jobs.run()
    play(world, dialect, "s1", script(dialect, scenarios.NORMAL))
    finish(world, dialect, "s1")

    req = world.request(request_id)
    assert world.pbx.pins_rung() == ["201"]
    if dialect == "d":  # the visitor never answers in (d)
        assert (req.status, req.outcomes) == (Status.VISITOR_RETRY, ["visitor_no_answer"])
    else:
        assert (req.status, req.outcomes) == (Status.FINISHED, ["completed"])


@pytest.mark.parametrize("dialect", DIALECTS)
@pytest.mark.parametrize("kind", [scenarios.VISITOR_NO_ANSWER, scenarios.VISITOR_BUSY])
def test_a_visitor_who_never_answers_is_never_told_the_call_went_fine(world, dialect, kind):
    request_id = world.submit()
    world.jobs.run()
    play(world, dialect, "s1", script(dialect, kind))
    finish(world, dialect, "s1")

    req = world.request(request_id)
    assert req.status == Status.VISITOR_RETRY
    assert req.outcomes == [kind]
    assert world.pbx.pins_rung() == ["201"]


@pytest.mark.parametrize("dialect", DIALECTS)
def test_no_second_operator_is_rung_while_call_info_shows_the_first_ringing(world, dialect):
    request_id = world.submit()
    world.jobs.run()
    steps = script(dialect, scenarios.OPERATOR_NO_ANSWER)
    play(world, dialect, "s1", steps[:2])  # new, and the operator's phone rings
    world.later("follow_call")
    world.later("follow_call")

    assert world.pbx.pins_rung() == ["201"]
    assert world.request(request_id).outcomes == [None]
    play(world, dialect, "s1", steps, start=2)
    finish(world, dialect, "s1")

    assert world.pbx.pins_rung() == ["201", "202"]
    assert world.request(request_id).outcomes == ["operator_no_answer", None]


def test_events_under_another_session_id_are_matched_and_the_mismatch_recorded(world):
    request_id = world.submit()
    world.jobs.run()
    play(world, "e", "s1", script("e", scenarios.NORMAL))
    world.jobs.run()

    req = world.request(request_id)
    assert (req.attempts[0]["session"], req.attempts[0]["alias"]) == ("s1", "SDs1xYz")
    with world.app.app_context():
        assert db.session.get(PbxAccount, world.account_id).session_mismatch_at is not None


def test_an_account_whose_call_backs_get_no_events_is_flagged_polled_and_told(world):
    request_id = world.submit()
    world.jobs.run()
    world.pbx.unknown_sessions.add("s1")  # (g): call_info knows the call once it is over
    world.later("follow_call")

    req = world.request(request_id)
    assert req.status == Status.CALLING_OPERATOR
    assert world.pbx.pins_rung() == ["201"]
    assert world.notifications() == ["failed"]
    assert [name for name, _, _ in world.jobs.delayed()] == ["follow_call"]
    with world.app.app_context():
        assert db.session.get(PbxAccount, world.account_id).events_missing_at is not None
    # An event of a later call clears the flag: the PBX speaks again.
    world.event("s1", "new")
    with world.app.app_context():
        assert db.session.get(PbxAccount, world.account_id).events_missing_at is None


def test_an_account_set_to_no_events_polls_call_info_and_shows_honest_stages(world):
    with world.app.app_context():
        db.session.get(PbxAccount, world.account_id).events_expected = False
        db.session.commit()
    request_id = world.submit()
    world.jobs.run()
    assert [name for name, _, _ in world.jobs.delayed()] == ["follow_call"]
    world.pbx.call_infos["s1"] = {"session_log": "0:ct:201;2:cc:201;3:ct:79161234567;"}
    world.later("follow_call")
    assert world.request(request_id).status == Status.CALLING_VISITOR

    world.pbx.call_infos["s1"]["session_log"] += "5:cc:79161234567;9:cd:79161234567;"
    world.later("follow_call")

    req = world.request(request_id)
    assert (req.status, req.outcomes) == (Status.FINISHED, ["completed"])
    assert world.notifications() == []  # no events was the owner's own setting


def test_a_connected_event_without_the_visitor_in_the_session_log_is_neither_a_talk_nor_a_miss(
    world,
):
    # `connected` may be the operator's answer (c) and the log says nothing of the visitor:
    # nothing shows their phone rang unanswered, so they are not rung again.
    request_id = world.submit()
    world.jobs.run()
    world.call_goes("s1", "operator", "talk", "end")
    world.pbx.call_infos["s1"] = {
        "state": "1",
        "duration": "30",
        "session_log": "0:ct:201;2:cc:201;",
    }
    world.jobs.run()

    req = world.request(request_id)
    assert (req.status, req.outcomes) == (Status.FINISHED, [Outcome.UNCONFIRMED])
    assert world.pbx.pins_rung() == ["201"]


def test_a_connected_event_and_a_log_showing_the_visitor_ring_unanswered_is_a_miss(world):
    request_id = world.submit()
    world.jobs.run()
    world.call_goes("s1", "operator", "talk", "end")
    world.pbx.call_infos["s1"] = {
        "state": "1",
        "duration": "30",
        "session_log": "0:ct:201;2:cc:201;3:ct:79161234567;28:cd:79161234567;",
    }
    world.jobs.run()

    req = world.request(request_id)
    assert (req.status, req.outcomes) == (Status.VISITOR_RETRY, [Outcome.VISITOR_NO_ANSWER])


def test_call_info_that_fails_after_the_end_is_asked_again_then_the_events_decide(world):
    request_id = world.submit()
    world.jobs.run()
    world.pbx.unknown_sessions.add("s1")
    world.call_goes("s1", "operator", "visitor", "talk", "end")
    world.jobs.run()
    assert world.request(request_id).status == Status.CONNECTED
    world.later("finish_attempt")
    world.later("finish_attempt")

    req = world.request(request_id)
    assert (req.status, req.outcomes) == (Status.FINISHED, ["completed"])
    assert world.pbx.calls.count(("call_info", ("s1",))) == 3


def test_a_call_back_reply_naming_a_session_is_a_placed_call_whatever_its_result(caplog):
    sim = start_sim_thread(
        {"CLIENT_ID": "C1", "SIGN_KEY": "K1", "DIALECT": "f"}, poll_interval=0.01
    )
    try:
        client = PbxClient(PbxCredentials(api_url=sim.url, client_id="C1", sign_key="K1"))
        caplog.set_level("WARNING")
        session_id = client.call_back("+79161234567", from_pin="201")
        with pytest.raises(PbxError) as refused:
            client.call_back("+79000000004", from_pin="201")
    finally:
        sim.stop()

    assert session_id == sim.state.calls_snapshot()[0]["session_id"]
    assert "answered result '1' (Операция выполнена успешно)" in caplog.text
    assert refused.value.result == "-20"
