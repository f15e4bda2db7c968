"""How long a visitor waits for the call: the promise behind the widget's countdown.

"Позвоним в течение 30 с" was the same whatever the ring plan; three operators rung 25 s
each take 75 s before the visitor's phone can ring. The promise is the plan's first round,
as the call machine rings it (``dispatch/ringing.py``): the queue, then each operator of
the group in turn for the ring time (our ring timeout, never shorter than the PBX's own:
``dispatch/retry.ring_check_delay``), or the PBX's group once with ``pbx_group``. It is the
longest wait when someone answers in that round; when nobody does, the status says so.
A blocked or trapped request is shown the same life (``disguise.py``).
"""

from __future__ import annotations

from typing import Any

from ..dispatch.retry import ring_check_delay

QUEUED_SECONDS = 2  # a request waits up to about this long in the queue


def ring_plan(widget: Any, group: Any) -> tuple[int, int]:
    """Seconds an operator rings when nobody answers, and how many operators a round rings.

    Every member of the group counts: a member the directory marks as not an operator is
    skipped when rung, so the promise may be a little long, never short.
    """
    per_operator = ring_check_delay(widget.ring_timeout, widget.pbx_account.ring_seconds)
    operators = 1 if widget.ring_strategy == "pbx_group" else len(group.member_pins or []) or 1
    return per_operator, operators


def wait_seconds(req: Any) -> int:
    """The longest a visitor waits for the call when an operator answers in the first round."""
    per_operator, operators = ring_plan(req.widget, req.widget_group.group)
    return QUEUED_SECONDS + per_operator * operators
