"""Background work on a real task queue (huey).

The database row is the truth; the queue only carries work. Storage is a
SQLite file in the instance folder on one machine, or Redis when
``WIDGET_REDIS_URL`` is set so several machines share one queue. Both take the
higher priority first (below), so a burst of new requests never holds up the
calls already under way.
"""

from __future__ import annotations

import logging
import random
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from flask import Flask, current_app
from huey import Huey, PriorityRedisHuey, SqliteHuey

from .. import bulkhead
from ..extensions import db

log = logging.getLogger(__name__)

# Higher goes first. A call under way (its events, its settling, its next operator) before
# one is begun, so a queue of new requests never makes a visitor on the line wait for their
# status or the next operator; an owner's notification between the two.
IN_FLIGHT, NOTICE, NEW = 20, 10, 0
SHARE_WAIT = 1.0  # seconds before a job whose account's share is taken is looked at again


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
            # Each idle worker polls on its own: with more workers each may wait longer and
            # one of them still looks about every 0.1 s (Redis blocks, polls nothing).
            max_delay=min(1.0, 0.1 * workers),
            scheduler_interval=1,
            check_worker_health=True,
        )


class OncePerSlot:
    """Periodic tasks enqueued once per minute however many consumers run.

    Every huey consumer has its own scheduler, so with several workers (one per
    ``run`` plus any ``worker``) each periodic task would be enqueued once per
    consumer. The first scheduler to claim ``periodic:<task>:<minute>`` in the
    shared store enqueues it; the others skip. Claims older than two minutes are
    deleted, so the store holds a few keys per task at most.
    """

    def read_periodic(self, timestamp: datetime | None):
        if timestamp is None:
            timestamp = self._get_timestamp()  # type: ignore[attr-defined]
        due = super().read_periodic(timestamp)  # type: ignore[misc]
        minute = timestamp.strftime("%Y%m%d%H%M")
        stale = (timestamp - timedelta(minutes=2)).strftime("%Y%m%d%H%M")
        claimed = []
        for task in due:
            if self.put_if_empty(f"periodic:{task.name}:{minute}", "1"):  # type: ignore[attr-defined]
                self.delete(f"periodic:{task.name}:{stale}")  # type: ignore[attr-defined]
                claimed.append(task)
        return claimed


class SharedRedisHuey(OncePerSlot, PriorityRedisHuey):
    pass


class SharedSqliteHuey(OncePerSlot, SqliteHuey):
    pass


def _make_huey(app: Flask) -> Huey:
    if app.config.get("REDIS_URL"):
        # Blocking reads (BZPOPMIN, Redis 5 or later): no polling.
        huey = SharedRedisHuey(
            "widget-server", url=app.config["REDIS_URL"], blocking=True, read_timeout=1
        )
        _adopt_a_list_queue(huey)
        return huey
    # fsync: a job queued before a 202 (the request's first dial) survives a power cut.
    return SharedSqliteHuey(
        "widget-server",
        filename=app.config["QUEUE_PATH"],
        journal_mode="wal",
        fsync=True,
        timeout=30,
    )


def _adopt_a_list_queue(huey: Huey) -> None:
    """Versions before the priorities kept the Redis queue as a list under the same key:
    what they left waiting is moved into the sorted set, oldest first, once."""
    from redis import RedisError  # only where Redis is configured

    conn, key = huey.storage.conn, huey.storage.queue_key
    moving = f"{key}:moving:{uuid.uuid4().hex}"
    try:
        if conn.type(key) != b"list":
            return
        conn.rename(key, moving)  # atomic: of several processes starting, one moves it
        moved = 0
        while (data := conn.rpop(moving)) is not None:  # the list's oldest end
            huey.storage.enqueue(data, NEW)
            moved += 1
        log.warning("task queue: %s jobs moved from the old list to the priority queue", moved)
    except RedisError as exc:  # moved by another process, or Redis not up yet
        log.info("task queue: old list not moved (%s)", exc.__class__.__name__)


def init_queue(app: Flask, task_modules: Iterable[Any]) -> None:
    """Create the queue and let each task module register its tasks.

    The queue imports no feature: ``create_app`` hands it the modules. A module's
    ``register_tasks(huey, in_app)`` returns ``{name: task}``; ``in_app`` wraps a
    function so it runs inside an app context. ``in_app(func, share=key_of)`` also puts
    it behind the bulkhead (``bulkhead.py``): ``key_of(*args)`` names whose share the job
    takes (``pbx:<account id>``), and such a task is registered with ``context=True``.
    """
    huey = _make_huey(app)
    shares = bulkhead.for_workers(app.config["QUEUE_WORKERS"])
    app.extensions["queue_bulkhead"] = shares
    tasks: dict[str, Any] = {}

    def in_app(func, share: Callable[..., str | None] | None = None):
        def run(*args, task=None, **kwargs):
            with app.app_context():
                if share is None:
                    return func(*args, **kwargs)
                key = share(*args, **kwargs)
                db.session.rollback()  # the job's own transaction starts clean
                with shares.hold(key or "") as held:
                    if held or key is None:
                        return func(*args, **kwargs)
                _book_again(tasks[func.__name__], task, args, kwargs, key)
                return None

        run.__name__ = func.__name__
        return run

    for module in task_modules:
        tasks.update(module.register_tasks(huey, in_app))
    app.extensions["queue"] = Queue(huey, tasks)


def _book_again(wrapper, task, args, kwargs, key: str) -> None:
    """The job's account has its share of the workers taken: run it a moment later, at its
    own priority, instead of waiting in a worker (``bulkhead.py``)."""
    delay = SHARE_WAIT + random.random() * SHARE_WAIT  # spread a burst's jobs out
    priority = getattr(task, "priority", None)
    wrapper.schedule(args=args, kwargs=kwargs, delay=delay, priority=priority)
    log.debug("%s for %s: its share of the workers is taken, again in %.1f s", wrapper, key, delay)


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
