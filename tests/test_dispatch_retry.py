"""How a retry is scheduled: the one backoff formula and the rules built on it."""

from __future__ import annotations

from types import SimpleNamespace

import pytest
from flask import Flask

from widget_server.dispatch import retry
from widget_server.extensions import db
from widget_server.models import CallbackRequest, utcnow
from widget_server.statuses import Status

from .dispatch_support import World


def bare_app(**config):
    """Only the settings the retry rules read: no database, no queue."""
    app = Flask(__name__)
    app.config.update(config)
    return app


def test_backoff_grows_by_its_factor_up_to_the_cap():
    waits = [retry.backoff(n, first=5, cap=300, factor=3, jitter=0) for n in range(1, 8)]

    assert waits == [5, 15, 45, 135, 300, 300, 300]


def test_backoff_adds_at_most_a_quarter_of_jitter():
    waits = [retry.backoff(2, first=10, cap=100) for _ in range(200)]

    assert all(20 <= w <= 25 for w in waits)
    assert len(set(waits)) > 1


def test_a_notification_waits_30_seconds_doubling_to_30_minutes():
    firsts = [retry.notification_delay(1) for _ in range(50)]
    late = [retry.notification_delay(20) for _ in range(50)]

    assert all(30 <= w <= 37.5 for w in firsts)
    assert all(1800 <= w <= 2250 for w in late)


def test_the_retry_backoff_setting_sets_the_first_wait_and_the_cap():
    app = bare_app(RETRY_BACKOFF=(2, 7))
    with app.app_context():
        waits = [retry.pbx_retry_delay(n) for n in (1, 2, 3)]

    assert 2 <= waits[0] <= 2.5
    assert 6 <= waits[1] <= 7.5  # 2 × 3
    assert 7 <= waits[2] <= 8.75  # capped


def test_a_visitor_gets_one_retry_after_the_configured_delay():
    app = bare_app(VISITOR_RETRY_DELAY=123)
    with app.app_context():
        assert retry.visitor_retry_delay(SimpleNamespace(visitor_retries=0)) == 123
        assert retry.visitor_retry_delay(SimpleNamespace(visitor_retries=1)) is None


def test_a_group_is_rung_again_only_while_rounds_are_left():
    widget = SimpleNamespace(group_rounds=2, round_pause=45)

    assert retry.round_pause(SimpleNamespace(round=1, widget=widget)) == 45
    assert retry.round_pause(SimpleNamespace(round=2, widget=widget)) is None


def test_an_unreachable_pbx_is_tried_again_with_growing_waits(tmp_path):
    world = World(tmp_path)
    world.pbx.answers = ["down", "down"]
    request_id = world.submit()
    world.jobs.run()

    assert world.request(request_id).status == Status.RETRYING
    first_wait = world.jobs.delayed()[0][2]
    world.later("place_next_call")
    second_wait = world.jobs.delayed()[0][2]
    world.later("place_next_call")

    assert 4 <= first_wait <= 6.25
    assert 14 <= second_wait <= 18.75
    req = world.request(request_id)
    assert req.dispatch_tries == 2
    assert req.outcomes == ["pbx_unavailable", "pbx_unavailable", None]
    assert req.status == Status.CALLING_OPERATOR
    assert world.pbx.pins_rung() == ["201", "201", "201"]  # an unreachable PBX rang nobody


def test_an_unreachable_pbx_past_the_deadline_is_a_pbx_error(tmp_path):
    world = World(tmp_path, DISPATCH_DEADLINE=12)
    world.pbx.answers = ["down", "down", "down"]
    request_id = world.submit()
    world.jobs.run()
    world.later("place_next_call")
    # The next wait (≥ 15 s) would end past the deadline: it is cut to end on it, so the
    # PBX gets its last try at the deadline rather than a whole wait before (issue 28).
    [(_name, _args, wait)] = world.jobs.delayed()
    assert wait <= 12
    assert world.request(request_id).status == Status.RETRYING
    with world.app.app_context():
        req = db.session.get(CallbackRequest, request_id)
        req.deadline_at = utcnow()  # the deadline has come
        db.session.commit()
    world.later("place_next_call")

    assert world.request(request_id).status == Status.PBX_ERROR
    assert world.request(request_id).dispatch_tries == 3
    assert world.notifications() == ["failed"]
    assert world.jobs.delayed() == []


@pytest.mark.parametrize("tries", [1, 5, 50])
def test_the_default_pbx_wait_stays_between_5_seconds_and_the_cap(tries):
    app = bare_app()
    with app.app_context():
        wait = retry.pbx_retry_delay(tries)

    assert retry.PBX_FIRST <= wait <= retry.PBX_CAP * 1.25
