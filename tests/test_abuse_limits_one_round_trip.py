"""On Redis, the dial limits are hit in one script call, counting exactly as hits one by one."""

from __future__ import annotations

import random

import pytest
import redis
from limits import parse
from limits.storage import MemoryStorage, RedisStorage
from limits.strategies import MovingWindowRateLimiter

from widget_server.abuse import limits

from .test_abuse_limits import start_redis, stop_redis

pytestmark = pytest.mark.redis


@pytest.fixture(scope="module")
def redis_url():
    server, url = start_redis()
    yield url
    stop_redis(server)


def test_one_script_call_counts_like_hits_one_by_one_in_the_memory_store(redis_url):
    redis.Redis.from_url(redis_url).flushdb()
    on_redis = MovingWindowRateLimiter(RedisStorage(redis_url))
    in_memory = MovingWindowRateLimiter(MemoryStorage())
    chosen = [
        (parse("3/minute"), ("number", "n1")),
        (parse("5/hour"), ("prefix", "p1")),
        (parse("2/minute"), ("widget-number", "1", "n1")),
        (parse("4/day"), ("widget-cap", "1")),
    ]
    rng = random.Random(14)
    outcomes = []
    for _ in range(12):
        limits_now = rng.sample(chosen, rng.randint(1, len(chosen)))
        fast = limits._hit_all_on_redis(on_redis.storage, limits_now)
        slow = next(
            (i for i, (item, ids) in enumerate(limits_now) if not in_memory.hit(item, *ids)),
            None,
        )
        outcomes.append(fast)
        assert fast == slow
        for item, ids in chosen:
            assert (
                on_redis.get_window_stats(item, *ids).remaining
                == in_memory.get_window_stats(item, *ids).remaining
            )
    assert None in outcomes and any(o is not None for o in outcomes), "both paths were taken"


def test_hitting_every_limit_of_a_request_is_one_redis_call(redis_url):
    client = redis.Redis.from_url(redis_url)
    strategy = MovingWindowRateLimiter(RedisStorage(redis_url))
    request_limits = [(parse("100/minute"), ("k", str(i))) for i in range(6)]
    limits._first_over(strategy, request_limits)  # the script is loaded once per store
    client.config_resetstat()

    assert limits._first_over(strategy, request_limits) is None

    calls = {k: v["calls"] for k, v in client.info("commandstats").items()}
    assert calls.get("cmdstat_evalsha") == 1
    assert calls.get("cmdstat_lpush") == 6  # the six slots, all taken inside that one call
