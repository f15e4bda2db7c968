"""A process started by ``widget-server run`` loads no driver for a store it does not use.

huey imports the Redis and PostgreSQL drivers whenever they are installed (and both are, for
deployments at scale): on one machine with SQLite they are about 10 MB of each process's
memory for nothing. Marking a module ``None`` in ``sys.modules`` makes its import fail, which
huey takes as "not installed". Only the processes' entry points call this, never
``create_app``: a test process builds apps on SQLite and on PostgreSQL side by side.
"""

from __future__ import annotations

import sys
from collections.abc import Mapping
from typing import Any


def unused_drivers(settings: Mapping[str, Any]) -> list[str]:
    """The drivers these settings never reach: redis without WIDGET_REDIS_URL, psycopg on SQLite."""
    unused = []
    if not settings.get("REDIS_URL"):
        unused.append("redis")
    if not str(settings.get("DATABASE_URL") or "").startswith("postgresql"):
        unused.append("psycopg")
    return unused


def skip_unused_drivers(settings: Mapping[str, Any]) -> None:
    for name in unused_drivers(settings):
        sys.modules.setdefault(name, None)  # type: ignore[arg-type]
