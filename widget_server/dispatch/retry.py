"""How a retry is scheduled: every backoff and retry rule of the service in one place.

One formula for every wait that grows: ``backoff(tries, first=, cap=, factor=)``,
the ``first`` wait multiplied by ``factor`` for each further try, never above
``cap``, plus up to 25 % jitter so that many requests failing together do not
come back together. The rest are the policies built on it:

* the PBX is unreachable: 5 s, 15 s, 45 s, 135 s, then 300 s, the last wait cut short
  so that the last try comes at the request's deadline (``WIDGET_DISPATCH_DEADLINE``,
  15 min: about eight tries), not a whole wait before it (``pbx_retry_wait``;
  ``RETRY_BACKOFF`` in the config overrides the first wait and the cap, as
  ``(first, ..., cap)``);
* an owner notification failed to go out: 30 s doubling to 30 min
  (``notification_delay``, for ``notify``);
* the visitor did not answer or was busy: one more try after
  ``VISITOR_RETRY_DELAY`` seconds, through the group again (``visitor_retry_delay``);
* nobody in the group answered: the group again after the widget's
  ``round_pause``, ``group_rounds`` times in all (``round_pause``);
* a live call is looked at again (``follow``): first after the ring timeout, which
  never comes before the PBX's own ring time (``ring_check_delay``), then every
  ``poll_delay`` while call_info shows it alive or is all we have.
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from flask import current_app

JITTER = 0.25
PBX_FIRST, PBX_CAP, PBX_FACTOR = 5, 300, 3
NOTIFY_FIRST, NOTIFY_CAP = 30, 1800
VISITOR_RETRIES = 1  # more tries after the visitor did not answer


def backoff(
    tries: int, *, first: float, cap: float, factor: float = 2, jitter: float = JITTER
) -> float:
    """Seconds to wait before the ``tries``-th retry (1-based): capped growth, + jitter."""
    base = min(cap, first * factor ** max(0, tries - 1))
    return base * (1 + random.SystemRandom().uniform(0, jitter))


def pbx_retry_delay(tries: int) -> float:
    """Seconds before calling the PBX again after ``tries`` failures in a row."""
    steps: Sequence[float] | None = current_app.config.get("RETRY_BACKOFF")
    first, cap = (steps[0], steps[-1]) if steps else (PBX_FIRST, PBX_CAP)
    return backoff(tries, first=first, cap=cap, factor=PBX_FACTOR)


def pbx_retry_wait(tries: int, now: datetime, deadline: datetime | None) -> float | None:
    """Seconds before trying a PBX again after ``tries`` failures in a row, or None when the
    request's ``deadline`` has come: the backoff, cut short to end at the deadline, so the
    PBX is tried until the deadline (15 min) and not given up a whole wait (5 min) before."""
    delay = pbx_retry_delay(tries)
    if deadline is None:
        return delay
    left = (deadline - now).total_seconds()
    if left < 1:  # the deadline's own try has been made
        return None
    return min(delay, left)


def notification_delay(tries: int) -> float:
    """Seconds before the next delivery try of a notification after ``tries`` tries."""
    return backoff(tries, first=NOTIFY_FIRST, cap=NOTIFY_CAP)


def visitor_retry_delay(req: Any) -> int | None:
    """Seconds before ringing an unreached visitor again, or None when no try is left."""
    if req.visitor_retries >= VISITOR_RETRIES:
        return None
    return current_app.config["VISITOR_RETRY_DELAY"]


def round_pause(req: Any) -> int | None:
    """Seconds before ringing the whole group again, or None after the widget's last round."""
    if req.round >= req.widget.group_rounds:
        return None
    return req.widget.round_pause


POLL_CAP = 5  # seconds between call_info polls of a live call, at most
EVENTS_GRACE = 60  # seconds after which a placed call with no event flags its account


def ring_check_delay(ring_timeout: int, pbx_ring_seconds: int) -> int:
    """Seconds before a ringing operator is given up on: never before the PBX gives up."""
    return max(ring_timeout, pbx_ring_seconds)


def poll_delay(account: Any) -> int:
    """Seconds between call_info polls of a live call (short accounts' ring times poll faster)."""
    return max(1, min(POLL_CAP, account.ring_seconds))
