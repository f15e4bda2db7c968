"""Periodic jobs (the sweep, retention, digests) are enqueued once per minute, not once per consumer."""

from __future__ import annotations

from datetime import datetime

import pytest
from huey import SqliteHuey

from tests.conftest import make_app
from tests.test_abuse_limits import start_redis, stop_redis

MINUTE = datetime(2026, 11, 27, 10, 17, 0)
NEXT_MINUTE = datetime(2026, 11, 27, 10, 18, 0)


def _names(tasks) -> list[str]:
    return sorted(task.name for task in tasks)


def _two_schedulers(tmp_path, **config):
    # Two apps on one queue store stand for two machines' consumers.
    first = make_app(tmp_path / "a", QUEUE_PATH=str(tmp_path / "queue.sqlite3"), **config)
    second = make_app(tmp_path / "b", QUEUE_PATH=str(tmp_path / "queue.sqlite3"), **config)
    return first.extensions["queue"].huey, second.extensions["queue"].huey


def _check_once_per_minute(one, two) -> None:
    due = _names(one.read_periodic(MINUTE))
    assert "sweep" in due and "purge_expired" in due
    assert two.read_periodic(MINUTE) == []
    assert one.read_periodic(MINUTE) == []
    again = _names(two.read_periodic(NEXT_MINUTE))
    assert "sweep" in again and "purge_expired" not in again  # purge runs at :17 only
    assert one.read_periodic(NEXT_MINUTE) == []


def test_two_consumers_on_one_sqlite_queue_enqueue_each_periodic_job_once_a_minute(tmp_path):
    _check_once_per_minute(*_two_schedulers(tmp_path))


@pytest.mark.redis
def test_two_consumers_on_one_redis_queue_enqueue_each_periodic_job_once_a_minute(tmp_path):
    server, url = start_redis()
    try:
        one, two = _two_schedulers(tmp_path, REDIS_URL=url, RATELIMIT_STORAGE_URI=url)
        _check_once_per_minute(one, two)
    finally:
        stop_redis(server)


def test_old_claims_are_removed_so_the_store_does_not_grow(tmp_path):
    one, _ = _two_schedulers(tmp_path)
    for minute in range(10):
        one.read_periodic(datetime(2026, 11, 27, 11, minute, 0))
    sweep_claims = [k for k in _claim_keys(one) if k.startswith("periodic:sweep:")]
    assert 1 <= len(sweep_claims) <= 3


def _claim_keys(huey) -> list[str]:
    keys = huey.storage.result_items().keys()
    return [k.decode() if isinstance(k, bytes) else k for k in keys]


def test_a_single_consumer_still_gets_every_due_periodic_job(tmp_path):
    one, _ = _two_schedulers(tmp_path)
    expected = _names(SqliteHuey.read_periodic(one, MINUTE))  # plain huey: no claims
    assert len(expected) >= 3
    assert _names(one.read_periodic(MINUTE)) == expected
