"""Background work on a real task queue (huey).

The database row is the truth; the queue only carries work. Storage is a
SQLite file in the instance folder on one machine, or Redis when
``WIDGET_REDIS_URL`` is set so several machines share one queue.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

from flask import Flask, current_app
from huey import Huey, RedisHuey, SqliteHuey, crontab

log = logging.getLogger(__name__)


@dataclass
class Queue:
    """The app's queue and its tasks; ``app.extensions["queue"]``."""

    huey: Huey
    place_next_call: Any
    finish_attempt: Any
    check_ring_timeout: Any

    def consumer(self, workers: int):
        # Short polling for the SQLite store keeps "send → PBX call" well under a
        # second; Redis blocks on the list and needs no polling at all.
        return self.huey.create_consumer(
            workers=workers,
            worker_type="thread",
            initial_delay=0.05,
            backoff=1.2,
            max_delay=0.2,
            scheduler_interval=1,
            check_worker_health=True,
        )


def _make_huey(app: Flask) -> Huey:
    if app.config.get("REDIS_URL"):
        return RedisHuey(
            "widget-server", url=app.config["REDIS_URL"], blocking=True, read_timeout=1
        )
    return SqliteHuey(
        "widget-server", filename=app.config["QUEUE_PATH"], journal_mode="wal", timeout=30
    )


def init_queue(app: Flask) -> None:
    """Create the queue and register its tasks, each run inside an app context."""
    from . import ringing

    huey = _make_huey(app)

    def in_app(func):
        def run(*args):
            with app.app_context():
                return func(*args)

        run.__name__ = func.__name__
        return run

    place_next_call = huey.task(name="place_next_call")(in_app(ringing.place_next_call))
    finish_attempt = huey.task(name="finish_attempt")(in_app(ringing.finish_attempt))
    check_ring_timeout = huey.task(name="check_ring_timeout")(in_app(ringing.check_ring_timeout))
    huey.periodic_task(crontab(minute="*/5"), name="prune_orphan_events")(
        in_app(ringing.prune_orphan_events)
    )
    app.extensions["queue"] = Queue(huey, place_next_call, finish_attempt, check_ring_timeout)


def queue() -> Queue:
    return current_app.extensions["queue"]


def start_consumer_threads(consumer) -> None:
    """Start a consumer's scheduler and workers without taking over signal handling.

    For running the queue inside another program (tests, benchmarks); the
    ``worker`` command uses ``consumer.run()`` instead.
    """
    consumer.scheduler.start()
    for _, worker in consumer.worker_threads:
        worker.start()
