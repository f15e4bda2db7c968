"""The queue takes a call under way before a call not yet begun, on SQLite and on Redis;
a Redis queue left as a list by an older version is adopted, nothing lost."""

from __future__ import annotations

import pytest
import redis

from widget_server.dispatch.queue import IN_FLIGHT, NEW, NOTICE

from .conftest import make_app
from .test_abuse_limits import start_redis, stop_redis


@pytest.fixture(scope="module")
def redis_url():
    server, url = start_redis()
    yield url
    stop_redis(server)


@pytest.fixture(params=["sqlite", pytest.param("redis", marks=pytest.mark.redis)])
def queue(request, tmp_path):
    settings = {}
    if request.param == "redis":
        url = request.getfixturevalue("redis_url")
        redis.Redis.from_url(url).flushdb()
        settings["REDIS_URL"] = url
    app = make_app(tmp_path, **settings)
    return app.extensions["queue"]


def _taken(queue) -> list[tuple[str, tuple]]:
    order = []
    while (task := queue.huey.dequeue()) is not None:
        order.append((task.name, tuple(task.args)))
    return order


def test_a_burst_of_new_requests_does_not_hold_up_the_calls_under_way(queue):
    for request_id in range(1, 6):
        queue.place_next_call(request_id)  # five requests not yet begun
    queue.deliver_notification(70)
    queue.finish_attempt(11)  # a call that just ended
    queue.place_next_call(3, priority=IN_FLIGHT)  # request 3's next operator
    queue.resolve_attempt(12)

    order = _taken(queue)

    assert order[:3] == [
        ("finish_attempt", (11,)),
        ("place_next_call", (3,)),
        ("resolve_attempt", (12,)),
    ]
    assert order[3] == ("deliver_notification", (70,))
    assert order[4:] == [("place_next_call", (i,)) for i in range(1, 6)]  # in the order they came


def test_the_priorities_rank_a_call_under_way_then_a_notice_then_a_new_call():
    assert IN_FLIGHT > NOTICE > NEW == 0


@pytest.mark.redis
def test_a_list_queue_left_by_an_older_version_is_moved_in_order(tmp_path, redis_url):
    conn = redis.Redis.from_url(redis_url)
    conn.flushdb()
    older = make_app(tmp_path / "a", REDIS_URL=redis_url).extensions["queue"]
    # What the older version's RedisHuey did: LPUSH onto a list, BRPOP from its other end.
    key = older.huey.storage.queue_key
    for request_id in (1, 2, 3):
        conn.lpush(key, older.huey.serialize_task(older.place_next_call.s(request_id)))
    assert conn.type(key) == b"list"

    newer = make_app(tmp_path / "b", REDIS_URL=redis_url).extensions["queue"]

    assert conn.type(key) == b"zset"
    assert _taken(newer) == [
        ("place_next_call", (1,)),
        ("place_next_call", (2,)),
        ("place_next_call", (3,)),
    ]
    assert not [k for k in conn.keys("*moving*")]
