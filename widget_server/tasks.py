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
from huey import Huey, RedisHuey, SqliteHuey

log = logging.getLogger(__name__)


@dataclass
class Queue:
    """The app's queue and its tasks; ``app.extensions["queue"]``.

    ``tasks`` maps a task name to its huey task; the common ones are attributes too.
    """

    huey: Huey
    tasks: dict[str, Any]

    def __getattr__(self, name: str) -> Any:
        try:
            return self.__dict__["tasks"][name]
        except KeyError:
            raise AttributeError(name) from None

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
    """Create the queue and let each feature module register its tasks.

    A module's ``register_tasks(huey, in_app)`` returns ``{name: task}``; ``in_app``
    wraps a function so it runs inside an app context.
    """
    from . import notifications, retention, ringing

    huey = _make_huey(app)

    def in_app(func):
        def run(*args, **kwargs):
            with app.app_context():
                return func(*args, **kwargs)

        run.__name__ = func.__name__
        return run

    tasks: dict[str, Any] = {}
    for module in (ringing, notifications, retention):
        tasks.update(module.register_tasks(huey, in_app))
    app.extensions["queue"] = Queue(huey, tasks)


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
