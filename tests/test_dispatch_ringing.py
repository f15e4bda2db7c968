"""How a group is rung: order, ring timeout, rounds, refused call_backs (fake PBX, no waits)."""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from widget_server.dispatch.schedule import DAYS
from widget_server.statuses import HeldReason, Status

from .dispatch_support import GROUP, World


@pytest.fixture
def world(tmp_path):
    return World(tmp_path)


def test_an_operator_who_does_not_answer_is_followed_by_the_next_in_order(world):
    request_id = world.submit()
    world.jobs.run()
    world.call_goes("s1", "operator", "end")
    world.jobs.run()
    world.call_goes("s2", "operator", "visitor", "talk", "end", pin="202")
    world.jobs.run()

    assert world.pbx.pins_rung() == ["201", "202"]
    req = world.request(request_id)
    assert req.status == Status.FINISHED
    assert req.outcomes == ["operator_no_answer", "completed"]


def test_an_operator_ringing_past_the_ring_timeout_is_left_for_the_next(world):
    world.widget(ring_timeout=60)
    request_id = world.submit()
    world.jobs.run()
    world.call_goes("s1", "operator")

    assert ("follow_call", (1,), pytest.approx(60, abs=1)) in world.jobs.delayed()
    world.later("follow_call")

    assert world.pbx.pins_rung() == ["201", "202"]
    req = world.request(request_id)
    assert req.outcomes == ["operator_timeout", None]
    assert req.status == Status.CALLING_OPERATOR


def test_the_ring_timeout_never_comes_before_the_pbxs_own_ring_time(world):
    world.widget(ring_timeout=17)
    world.submit()
    world.jobs.run()

    # The account's ring time (45 s by default) is above the PBX's usual 30-40 s.
    assert ("follow_call", (1,), pytest.approx(45, abs=1)) in world.jobs.delayed()


def test_the_ring_timeout_leaves_a_call_alone_once_the_visitor_is_rung(world):
    request_id = world.submit()
    world.jobs.run()
    world.call_goes("s1", "operator", "visitor")
    world.later("follow_call")

    assert world.pbx.pins_rung() == ["201"]
    assert world.request(request_id).status == Status.CALLING_VISITOR


def test_a_group_nobody_answered_is_rung_again_after_the_round_pause(world):
    world.widget(group_rounds=2, round_pause=30)
    request_id = world.submit()
    world.jobs.run()
    for session, pin in (("s1", "201"), ("s2", "202"), ("s3", "203")):
        world.call_goes(session, "operator", pin=pin)
        world.later("follow_call")

    req = world.request(request_id)
    assert req.status == Status.OPERATORS_BUSY
    assert [name for name, _, _ in world.jobs.delayed()] == ["place_next_call"]
    assert world.jobs.delayed()[0][2] == pytest.approx(30, abs=1)

    world.later("place_next_call")
    assert world.pbx.pins_rung() == ["201", "202", "203", "201"]
    assert world.request(request_id).round == 2


def test_nobody_answering_in_the_last_round_is_a_missed_request_for_the_owner(world):
    request_id = world.submit()
    world.jobs.run()
    for session, pin in (("s1", "201"), ("s2", "202"), ("s3", "203")):
        world.call_goes(session, "operator", pin=pin)
        world.later("follow_call")

    assert world.request(request_id).status == Status.NO_OPERATOR
    assert world.notifications() == ["missed"]
    assert world.jobs.delayed() == []


def test_a_refused_call_back_moves_on_to_the_next_operator_at_once(world):
    world.pbx.answers = ["refused"]
    request_id = world.submit()
    world.jobs.run()

    assert world.pbx.pins_rung() == ["201", "202"]
    req = world.request(request_id)
    assert req.outcomes == ["failed", None]
    assert req.status == Status.CALLING_OPERATOR


def test_a_call_back_refused_for_every_operator_is_a_pbx_error(world):
    world.pbx.answers = ["refused"] * 3
    request_id = world.submit()
    world.jobs.run()

    assert world.pbx.pins_rung() == ["201", "202", "203"]
    assert world.request(request_id).status == Status.PBX_ERROR
    assert world.notifications() == ["failed"]


def test_a_request_the_pbx_refuses_outright_ends_at_once(world):
    world.pbx.answers = ["denied"]
    request_id = world.submit()
    world.jobs.run()

    assert world.pbx.pins_rung() == ["201"]
    assert world.request(request_id).status == Status.PBX_ERROR


def test_a_pbx_group_widget_passes_the_groups_pin_and_never_gives_up_at_the_ring_timeout(world):
    world.widget(ring_strategy="pbx_group")
    request_id = world.submit()
    world.jobs.run()
    world.call_goes("s1", "operator", pin=GROUP)
    world.later("follow_call")

    # The PBX distributes the group's call itself: only its end settles it.
    assert world.pbx.pins_rung() == [GROUP]
    assert world.request(request_id).outcomes == [None]
    assert world.jobs.delayed() == []


def test_a_round_robin_widget_starts_each_request_with_the_next_operator(world):
    world.widget(ring_strategy="round_robin")
    for _ in range(3):
        world.submit(phone=f"+7916123456{len(world.pbx.calls)}")
        world.jobs.run()

    assert world.pbx.pins_rung() == ["201", "202", "203"]


def test_a_request_out_of_hours_is_scheduled_for_the_opening(world):
    moscow = datetime.now(ZoneInfo("Europe/Moscow"))
    open_day = (moscow + timedelta(days=2)).date()
    world.widget(hours={day: [] for day in DAYS} | {DAYS[open_day.weekday()]: [["10:00", "12:00"]]})
    request_id = world.submit()
    world.jobs.run()

    req = world.request(request_id)
    assert req.status == Status.SCHEDULED
    opening = datetime(open_day.year, open_day.month, open_day.day, 10, tzinfo=moscow.tzinfo)
    assert req.next_dispatch_at == opening.astimezone(ZoneInfo("UTC")).replace(tzinfo=None)
    assert [name for name, _, _ in world.jobs.delayed()] == ["place_next_call"]
    assert world.pbx.pins_rung() == []


def test_a_widget_with_no_hours_ahead_holds_the_request_and_tells_the_owner(world):
    world.widget(hours={day: [] for day in DAYS})
    request_id = world.submit()
    world.jobs.run()

    req = world.request(request_id)
    assert (req.status, req.held_reason) == (Status.NO_OPERATOR, HeldReason.NO_HOURS)
    assert world.notifications() == ["held"]
    assert world.pbx.pins_rung() == []


def test_a_second_dial_job_while_a_call_is_in_flight_does_nothing(world):
    request_id = world.submit()
    world.jobs.run()
    world.app.extensions["queue"].place_next_call(request_id)
    world.jobs.run()

    assert world.pbx.pins_rung() == ["201"]


def test_a_ring_timeout_over_a_minute_still_notices_missing_events_within_the_minute(world):
    world.widget(ring_timeout=90)
    request_id = world.submit()
    world.jobs.run()

    assert ("follow_call", (1, True), pytest.approx(60, abs=1)) in world.jobs.delayed()
    world.later("follow_call")
    assert world.notifications() == ["failed"]  # no event came: the owner is told
    assert world.pbx.pins_rung() == ["201"]
    assert world.request(request_id).outcomes == [None]


def test_the_early_look_leaves_the_ring_timeout_to_its_own_time(world):
    world.widget(ring_timeout=90)
    request_id = world.submit()
    world.jobs.run()
    world.call_goes("s1", "operator")
    world.later("follow_call")

    assert ("follow_call", (1,), pytest.approx(30, abs=1)) in world.jobs.delayed()
    assert world.pbx.pins_rung() == ["201"]
    world.later("follow_call")
    assert world.request(request_id).outcomes == ["operator_timeout", None]
