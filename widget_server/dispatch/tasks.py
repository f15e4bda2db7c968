"""The call machine's queue jobs and their schedules, for ``queue.init_queue``."""

from __future__ import annotations

from typing import Any

from huey import crontab
from sqlalchemy import select

from ..extensions import db
from ..models import CallAttempt, CallbackRequest, PbxJournal, Widget
from .connection_check import check_connection
from .events import prune_orphan_events
from .follow import follow_call
from .held import decide_held_again
from .queue import IN_FLIGHT, NOTICE
from .reconcile import fetch_journal, fetch_pending_journals, nightly_reconcile
from .recordings import fetch_recording
from .ringing import place_next_call
from .settle import finish_attempt
from .sweep import sweep
from .unplaced import resolve_attempt


def _request_account(request_id: int, *_args, **_kwargs) -> str | None:
    found = db.session.scalar(
        select(Widget.pbx_account_id)
        .join(CallbackRequest, CallbackRequest.widget_id == Widget.id)
        .where(CallbackRequest.id == request_id)
    )
    return None if found is None else f"pbx:{found}"


def _attempt_account(attempt_id: int, *_args, **_kwargs) -> str | None:
    found = db.session.scalar(
        select(Widget.pbx_account_id)
        .join(CallbackRequest, CallbackRequest.widget_id == Widget.id)
        .join(CallAttempt, CallAttempt.request_id == CallbackRequest.id)
        .where(CallAttempt.id == attempt_id)
    )
    return None if found is None else f"pbx:{found}"


def _journal_account(run_id: int, *_args, **_kwargs) -> str | None:
    found = db.session.scalar(select(PbxJournal.pbx_account_id).where(PbxJournal.id == run_id))
    return None if found is None else f"pbx:{found}"


def _account(account_id: int, *_args, **_kwargs) -> str:
    return f"pbx:{account_id}"


def register_tasks(huey, in_app) -> dict[str, Any]:
    """``{name: task}`` for every dispatch job; ``in_app`` runs one in an app context.

    Every job that asks an account's PBX takes a place for that account (``bulkhead.py``):
    one owner's slow PBX never holds every worker.
    """

    def task(func, share=None, **options):
        if share is None:
            return huey.task(name=func.__name__, **options)(in_app(func))
        return huey.task(name=func.__name__, context=True, **options)(in_app(func, share))

    def every(schedule, func):
        return huey.periodic_task(schedule, name=func.__name__)(in_app(func))

    return {
        # A request's first call at the default priority; a call under way goes first
        # (queue.py), and so does a request's next operator or round (ringing.py).
        "place_next_call": task(place_next_call, _request_account),
        "finish_attempt": task(finish_attempt, _attempt_account, priority=IN_FLIGHT),
        "follow_call": task(follow_call, _attempt_account, priority=IN_FLIGHT),
        "resolve_attempt": task(resolve_attempt, _attempt_account, priority=IN_FLIGHT),
        # The PBX may need minutes to make a recording available.
        "fetch_recording": task(fetch_recording, _attempt_account, retries=5, retry_delay=30),
        # An owner waits on the PBX page for it: after calls under way, before new ones.
        "check_connection": task(check_connection, _account, priority=NOTICE),
        "sweep": every(crontab(minute="*"), sweep),
        "prune_orphan_events": every(crontab(minute="*/5"), prune_orphan_events),
        # Requests held while the limit store was down, decided again once it is back.
        "decide_held_again": every(crontab(minute="*"), decide_held_again),
        # The call journal (reconcile.py): 00:30 UTC is 03:30 in Moscow, after its day ends.
        "fetch_journal": task(fetch_journal, _journal_account),
        "fetch_pending_journals": every(crontab(minute="*/10"), fetch_pending_journals),
        "nightly_reconcile": every(crontab(hour="0", minute="30"), nightly_reconcile),
    }
