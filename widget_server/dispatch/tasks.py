"""The call machine's queue jobs and their schedules, for ``queue.init_queue``."""

from __future__ import annotations

from typing import Any

from huey import crontab

from .events import prune_orphan_events, resolve_attempt
from .follow import follow_call
from .queue import IN_FLIGHT
from .reconcile import fetch_journal, fetch_pending_journals, nightly_reconcile
from .recordings import fetch_recording
from .ringing import place_next_call
from .settle import finish_attempt
from .sweep import sweep


def register_tasks(huey, in_app) -> dict[str, Any]:
    """``{name: task}`` for every dispatch job; ``in_app`` runs one in an app context."""

    def task(func, **options):
        return huey.task(name=func.__name__, **options)(in_app(func))

    def every(schedule, func):
        return huey.periodic_task(schedule, name=func.__name__)(in_app(func))

    return {
        # A request's first call at the default priority; a call under way goes first
        # (queue.py), and so does a request's next operator or round (ringing.py).
        "place_next_call": task(place_next_call),
        "finish_attempt": task(finish_attempt, priority=IN_FLIGHT),
        "follow_call": task(follow_call, priority=IN_FLIGHT),
        "resolve_attempt": task(resolve_attempt, priority=IN_FLIGHT),
        # The PBX may need minutes to make a recording available.
        "fetch_recording": task(fetch_recording, retries=5, retry_delay=30),
        "sweep": every(crontab(minute="*"), sweep),
        "prune_orphan_events": every(crontab(minute="*/5"), prune_orphan_events),
        # The call journal (reconcile.py): 00:30 UTC is 03:30 in Moscow, after its day ends.
        "fetch_journal": task(fetch_journal),
        "fetch_pending_journals": every(crontab(minute="*/10"), fetch_pending_journals),
        "nightly_reconcile": every(crontab(hour="0", minute="30"), nightly_reconcile),
    }
