"""The funnel's queue job: every minute, the shared (Redis) counts go into ``funnel_days``."""

from __future__ import annotations

from typing import Any

from flask import current_app
from huey import crontab

from . import counter


def flush_funnel() -> int:
    """Flush the counter; with Redis this empties every process's beacons at once."""
    return counter.flush(counter.counter_for(current_app._get_current_object()))


def register_tasks(huey, in_app) -> dict[str, Any]:
    return {
        "flush_funnel": huey.periodic_task(crontab(minute="*"), name="flush_funnel")(
            in_app(flush_funnel)
        ),
    }
