"""A call_back whose answer never came: was the call placed? Its events, else the journal.

The attempt is committed before the PBX is asked (``ringing.place_next_call``), so a worker
killed around the ``call_back`` leaves an attempt nobody knows the fate of. Its events, when
they came, name the call (``resolve_attempt``). Without them only the PBX's call journal
can tell, and only once a call placed then would be in it: ``WIDGET_UNPLACED_CHECK_AFTER``
after the attempt, the journal of that stretch is ordered (``reconcile``). A row for the
visitor's number settles the attempt from it; a journal without one is the positive evidence
that nobody was rung, and the request is dialled again. The journal lists a call once it is
over, so a call still going on at the check looks the same: hence a check long after. No journal within
``JOURNAL_WAIT``, or a PBX that refuses to make one: the owner takes over, as before.
The visitor's status stays as it was meanwhile (waiting), never "no call".
"""

from __future__ import annotations

import logging
from datetime import timedelta

from flask import current_app
from sqlalchemy import select

from ..extensions import db
from ..models import CallAttempt, CallbackRequest, CallEvent, PbxAccount, PbxJournal, utcnow
from ..pbx.client import PbxError, client_for
from ..pbx.journal import JournalError, JournalRow, parse_journal
from ..phones import digits_of
from ..statuses import Outcome, Status
from . import matching, reconcile
from .events import session_known
from .queue import IN_FLIGHT, queue
from .state import give_up, is_final, lock_request

log = logging.getLogger(__name__)

BEFORE = timedelta(minutes=1)  # the journal's stretch starts this long before the call_back
JOURNAL_WAIT = timedelta(minutes=30)  # a live domain's file takes about 5 minutes


def resolve_attempt(attempt_id: int) -> None:
    """Settle a call_back whose answer never came: adopt its events, ask the journal, or hand
    over to the owner. The sweep runs it again every minute while the journal is awaited."""
    attempt = db.session.get(CallAttempt, attempt_id)
    if attempt is None or attempt.session_id or attempt.outcome is not None:
        db.session.rollback()
        return
    if attempt.event_session_id:
        # Its events named it: the call was placed under that id.
        session_known(attempt.request_id, attempt.id, attempt.event_session_id)
        return
    account = attempt.request.widget.pbx_account
    events = db.session.scalars(
        select(CallEvent)
        .where(
            CallEvent.pbx_account_id == account.id,
            CallEvent.attempt_id.is_(None),
            CallEvent.received_at >= attempt.sent_at - timedelta(seconds=5),
        )
        .order_by(CallEvent.id)
    ).all()
    pin, phone = attempt.operator_pin, attempt.request.phone
    match = next((e for e in events if matching.from_our_call_back(e.payload, pin, phone)), None)
    if match is not None:
        session_known(attempt.request_id, attempt.id, match.session_id)
        return
    if not _journal_decides(attempt_id):
        _owner_takes_over(attempt_id)


def _check_after() -> timedelta:
    return timedelta(seconds=current_app.config["UNPLACED_CHECK_AFTER"])


def _journal_decides(attempt_id: int) -> bool:
    """True while the journal is awaited or once it has decided; False when it cannot."""
    attempt = db.session.get(CallAttempt, attempt_id)
    checked_until = attempt.sent_at + _check_after()
    if utcnow() < checked_until:
        db.session.rollback()
        return True  # not in the journal yet either way: the sweep comes back
    account_id = attempt.request.widget.pbx_account_id
    # One journal serves every lost call_back it covers: the PBX refuses a second order
    # of the same period ("уже существует"), and several die with one worker.
    run = db.session.scalar(
        select(PbxJournal)
        .where(
            PbxJournal.pbx_account_id == account_id,
            PbxJournal.status != "failed",
            PbxJournal.period_start <= attempt.sent_at - BEFORE / 2,
            PbxJournal.period_end >= checked_until,
        )
        .order_by(PbxJournal.id.desc())
        .limit(1)
    )
    if run is None:
        # Whole seconds, as the PBX takes them, up to now: every call placed since is in it.
        start = (attempt.sent_at - BEFORE).replace(microsecond=0)
        end = utcnow().replace(microsecond=0) + timedelta(seconds=1)
        run = reconcile.order_journal(attempt.request.widget.pbx_account, start, end)
    if run.status == "ordered":
        reconcile.fetch_journal(run.id)  # settles the attempt when a row shows its call
        run = db.session.get(PbxJournal, run.id, populate_existing=True)
    if run.status == "ordered":
        waiting = utcnow() - run.created_at < JOURNAL_WAIT
        db.session.rollback()
        return waiting
    if run.status != "done":
        # Ordered by a look at this attempt running at the same moment: the sweep finds
        # that order next minute.
        taken = (run.error or "").startswith("already-ordered")
        waiting = taken and utcnow() - checked_until < JOURNAL_WAIT
        db.session.rollback()
        return waiting
    rows = _rows(run)
    attempt = db.session.get(CallAttempt, attempt_id, populate_existing=True)
    if attempt.outcome is not None:
        return True  # a row of the journal was its call, and settled it
    digits = digits_of(attempt.request.phone)[-10:]
    if rows is None or any(digits in (row.dest_digits(), _caller(row)) for row in rows):
        # No file to read again, or a call with this number the journal cannot tie to
        # the attempt: not the positive evidence a second ring needs.
        db.session.rollback()
        return False
    _not_placed(attempt_id)
    return True


def _rows(run: PbxJournal) -> list[JournalRow] | None:
    """The journal's rows read again (``reconcile`` keeps only counts), or None."""
    try:
        data = client_for(db.session.get(PbxAccount, run.pbx_account_id)).download_call_history(
            run.order_id
        )
        return parse_journal(data)
    except (PbxError, JournalError) as exc:
        log.warning("journal %s could not be read again: %s", run.id, exc.__class__.__name__)
        return None


def _caller(row: JournalRow) -> str:
    return digits_of(row.orig_number)[-10:]


def _claim(attempt_id: int, outcome: Outcome) -> tuple[CallbackRequest, CallAttempt] | None:
    """End a call_back nothing else has settled with ``outcome``, its request locked and
    the change not yet committed; None (rolled back) when an event or job got there first."""
    attempt = db.session.get(CallAttempt, attempt_id)
    req = lock_request(attempt.request_id)
    db.session.refresh(attempt)
    if attempt.outcome is not None or attempt.session_id:
        db.session.rollback()
        return None
    attempt.outcome = outcome
    attempt.stage = attempt.reached_stage = "ended"
    attempt.ended_at = utcnow()
    return req, attempt


def _not_placed(attempt_id: int) -> None:
    """The journal has no call with the visitor's number: nobody was rung; dial again."""
    # Like a PBX that could not be reached: it tried nobody, so the round goes on.
    claimed = _claim(attempt_id, Outcome.PBX_UNAVAILABLE)
    if claimed is None:
        return
    req, attempt = claimed
    attempt.pbx_message = "the PBX journal shows no call for this call_back"
    if is_final(req):  # cancelled meanwhile: nothing to dial
        db.session.commit()
        return
    if req.deadline_at is not None and utcnow() > req.deadline_at + _check_after():
        # A PBX that swallows every call_back would be asked forever: one more try only.
        db.session.commit()
        give_up(req, Status.PBX_ERROR, "failed", reason="the PBX placed none of our calls")
        return
    req.next_dispatch_at = utcnow()
    db.session.commit()
    log.warning("request %s: the PBX journal shows its call was never placed; dialling", req.id)
    queue().place_next_call(req.id, priority=IN_FLIGHT)


def _owner_takes_over(attempt_id: int) -> None:
    claimed = _claim(attempt_id, Outcome.UNKNOWN)
    if claimed is None:
        return
    req, attempt = claimed
    log.warning(
        "request %s: no trace of the call_back sent at %s; the owner takes over",
        req.id,
        attempt.sent_at,
    )
    give_up(
        req,
        Status.PBX_ERROR,
        "failed",
        reason="the PBX did not confirm the call; it may or may not have rung",
    )
