"""Reconciling our calls with the PBX's call journal.

``domain_call_history`` orders the journal of a period; the PBX announces the file
with ``history_file_completed`` (``journal_ready``) and ``download_call_history``
gives it (``fetch_journal``; the periodic ``fetch_pending_journals`` also tries,
since an account without events never hears the announcement). Each journal call
is matched to our attempt by session id, else by operator pin, the visitor's last
ten digits and the time. A call whose events were lost is settled from the
journal; a call the PBX made to one of our visitors that we have no attempt for is
listed for the owner. Nightly (``nightly_reconcile``) and on demand (the PBX page,
``widget-server pbx-reconcile``).
"""

from __future__ import annotations

import logging
from datetime import date, datetime, timedelta

from flask import current_app
from sqlalchemy import select

from ..extensions import db
from ..models import CallAttempt, CallbackRequest, PbxAccount, PbxJournal, Widget, utcnow
from ..pbx.client import PbxError, client_for
from ..pbx.journal import MOSCOW_OFFSET, JournalError, JournalRow, parse_journal
from ..phones import digits_of
from ..statuses import Status
from .queue import queue
from .state import (
    current_attempt,
    give_up,
    is_final,
    lock_request,
    record_connected,
    set_status,
)

log = logging.getLogger(__name__)

MATCH_WINDOW = timedelta(minutes=5)  # journal start time vs our call_back
# A call still without an outcome this long after it was placed has lost its events.
STALE_AFTER = timedelta(hours=2)
GIVE_UP_WAITING = timedelta(hours=24)  # for a file the PBX never makes
JOURNAL_OUTCOMES = ("journal_answered", "journal_not_answered")


# -- ordering and fetching -------------------------------------------------------
def order_journal(account: PbxAccount, start: datetime, end: datetime) -> PbxJournal:
    """Order the journal of ``start``..``end`` (naive UTC); the stored run. Commits.

    A period ordered before is not ordered again (the PBX refuses: "уже существует"):
    the new run downloads the earlier order's file.
    """
    run = PbxJournal(pbx_account_id=account.id, period_start=start, period_end=end)
    run.order_id = db.session.scalar(
        select(PbxJournal.order_id)
        .where(
            PbxJournal.pbx_account_id == account.id,
            PbxJournal.period_start == start,
            PbxJournal.period_end == end,
            PbxJournal.order_id.is_not(None),
        )
        .order_by(PbxJournal.id.desc())
        .limit(1)
    )
    try:
        run.order_id = run.order_id or client_for(account).domain_call_history(start, end)
    except PbxError as exc:
        code = "already-ordered" if "уже существует" in exc.message else "pbx"
        _finish(run, "failed", f"{code}: {exc.message}")
    db.session.add(run)
    db.session.commit()
    return run


def reconcile_now(account: PbxAccount, start: datetime, end: datetime) -> PbxJournal:
    """Order and try the download at once (the simulator is ready; the PBX may not be)."""
    run = order_journal(account, start, end)
    if run.status == "ordered":
        fetch_journal(run.id)
    return db.session.get(PbxJournal, run.id)


def journal_ready(account: PbxAccount, order_id: str) -> bool:
    """``history_file_completed``: fetch that order's file in the queue; False if not ours."""
    run_id = db.session.scalar(
        select(PbxJournal.id).where(
            PbxJournal.pbx_account_id == account.id,
            PbxJournal.order_id == str(order_id),
            PbxJournal.status == "ordered",
        )
    )
    if run_id is None:
        log.info(
            "history_file_completed for an order we are not waiting for (account %s)", account.id
        )
        return False
    queue().fetch_journal(run_id)
    return True


def fetch_journal(run_id: int) -> None:
    """Download an ordered journal and reconcile it; a file not ready yet waits."""
    run = db.session.get(PbxJournal, run_id)
    if run is None or run.status != "ordered":
        return
    account = db.session.get(PbxAccount, run.pbx_account_id)
    try:
        data = client_for(account).download_call_history(run.order_id)
    except PbxError as exc:
        if exc.result == "not-ready" and utcnow() - run.created_at < GIVE_UP_WAITING:
            return
        _finish(run, "failed", f"pbx: {exc.message}")
        db.session.commit()
        return
    try:
        rows = parse_journal(data)
    except JournalError as exc:
        log.warning("journal %s of account %s unreadable: %s", run.id, account.id, exc.message)
        _finish(run, "failed", f"{exc.code}: {exc.message}")
        db.session.commit()
        return
    reconcile_rows(account, run, rows)


def fetch_pending_journals() -> None:
    """Periodic: try every journal still waiting for its file."""
    for run_id in db.session.scalars(select(PbxJournal.id).where(PbxJournal.status == "ordered")):
        fetch_journal(run_id)


def moscow_day(day: date) -> tuple[datetime, datetime]:
    """A Moscow calendar day as naive UTC (start, end); today's ends at the next minute.

    The PBX takes whole seconds, so "now" is rounded up rather than cutting off the
    calls of the current second.
    """
    start = datetime(day.year, day.month, day.day) - MOSCOW_OFFSET
    soon = utcnow().replace(second=0, microsecond=0) + timedelta(minutes=1)
    return start, min(start + timedelta(days=1), soon)


def nightly_reconcile() -> None:
    """Periodic: order yesterday's journal (a Moscow day) for every account."""
    moscow_midnight = (utcnow() + MOSCOW_OFFSET).replace(hour=0, minute=0, second=0, microsecond=0)
    end = moscow_midnight - MOSCOW_OFFSET
    for account in db.session.scalars(select(PbxAccount)).all():
        order_journal(account, end - timedelta(days=1), end)


def _finish(run: PbxJournal, status: str, error: str | None = None) -> None:
    run.status = status
    run.error = error[:500] if error else None
    run.finished_at = utcnow()


# -- matching ---------------------------------------------------------------------
def reconcile_rows(account: PbxAccount, run: PbxJournal, rows: list[JournalRow]) -> None:
    """Match the journal to our attempts, settle the lost ones, list the unknown. Commits."""
    start, end = run.period_start - MATCH_WINDOW, run.period_end + MATCH_WINDOW
    attempts = _attempts_between(account, start, end)
    by_session = {a.session_id: a for a in attempts if a.session_id}
    requests = _requests_by_digits(account, start - STALE_AFTER, end)
    taken: set[int] = set()
    matched = settled = 0
    unknown: list[dict[str, str]] = []
    for row in rows:
        attempt = by_session.get(row.session_id) or _closest(row, attempts, taken)
        if attempt is None:
            req = requests.get(row.dest_digits())
            if req is not None:
                unknown.append(_unknown_call(row, req))
            continue
        taken.add(attempt.id)
        matched += 1
        settled += _settle(attempt.id, row)
    run = db.session.get(PbxJournal, run.id)
    run.rows, run.matched, run.settled, run.unknown_calls = len(rows), matched, settled, unknown
    _finish(run, "done")
    db.session.commit()
    log.info(
        "journal %s of account %s: %s calls, %s ours, %s settled, %s unknown",
        run.id, account.id, len(rows), matched, settled, len(unknown),
    )  # fmt: skip


def _attempts_between(account: PbxAccount, start: datetime, end: datetime) -> list[CallAttempt]:
    return list(
        db.session.scalars(
            select(CallAttempt)
            .join(CallbackRequest)
            .join(Widget)
            .where(
                Widget.pbx_account_id == account.id,
                CallAttempt.sent_at >= start,
                CallAttempt.sent_at <= end,
            )
            .order_by(CallAttempt.id)
        )
    )


def _requests_by_digits(
    account: PbxAccount, start: datetime, end: datetime
) -> dict[str, CallbackRequest]:
    found = db.session.scalars(
        select(CallbackRequest)
        .join(Widget)
        .where(
            Widget.pbx_account_id == account.id,
            CallbackRequest.created_at >= start,
            CallbackRequest.created_at <= end,
        )
        .order_by(CallbackRequest.id)
    )
    return {digits_of(req.phone)[-10:]: req for req in found}


def _closest(row: JournalRow, attempts: list[CallAttempt], taken: set[int]) -> CallAttempt | None:
    """Our attempt to the same visitor by the same operator, placed nearest the journal time."""
    digits = row.dest_digits()
    best, best_gap = None, MATCH_WINDOW
    for attempt in attempts:
        if attempt.id in taken or attempt.sent_at is None:
            continue
        if digits_of(attempt.request.phone)[-10:] != digits:
            continue
        if row.orig_pin and attempt.operator_pin != row.orig_pin:
            continue
        gap = abs(row.started_at - attempt.sent_at)
        if gap <= best_gap:
            best, best_gap = attempt, gap
    return best


def _unknown_call(row: JournalRow, req: CallbackRequest) -> dict[str, str]:
    digits = row.dest_digits()
    return {
        "session_id": row.session_id,
        "started_at": row.started_at.strftime("%Y-%m-%d %H:%M:%S"),
        "operator_pin": row.orig_pin,
        "visitor": "…" + digits[-4:],  # masked: the request id leads to the number
        "request_id": str(req.id),
        "answered": "yes" if row.answered else "no",
    }


# -- settling ----------------------------------------------------------------------
def _settle(attempt_id: int, row: JournalRow) -> int:
    """Journal facts onto an attempt that never learnt its end; 1 when it did. Commits."""
    attempt = db.session.get(CallAttempt, attempt_id)
    if not _needs_journal(attempt):
        return 0
    req = lock_request(attempt.request_id)
    db.session.refresh(attempt)
    if not _needs_journal(attempt):
        db.session.rollback()
        return 0
    # Both "answered" and a talk time: the journal alone cannot tell whose answer it
    # was, and a visitor who never answered must not be recorded as a finished call.
    talked = row.answered and row.duration > 0
    attempt.answered, attempt.duration = row.answered, row.duration
    attempt.outcome = JOURNAL_OUTCOMES[0] if talked else JOURNAL_OUTCOMES[1]
    attempt.stage = "ended"
    attempt.ended_at = attempt.ended_at or utcnow()
    log.warning("request %s: settled from the PBX journal (%s)", req.id, attempt.outcome)
    if talked:
        record_connected(req, attempt)  # as the events' `connected` would have
    if attempt is not current_attempt(req) or is_final(req):
        db.session.commit()
    elif talked:
        set_status(req, Status.FINISHED)
        db.session.commit()
    else:
        reached_visitor = attempt.reached_stage in ("visitor_ringing", "connected")
        status = Status.VISITOR_NO_ANSWER if reached_visitor else Status.NO_OPERATOR
        give_up(req, status, "missed", reason="the PBX journal shows the call was not answered")
    return 1


def _needs_journal(attempt: CallAttempt | None) -> bool:
    """No outcome long after it was placed, or given up as "unknown" (no trace at all)."""
    if attempt is None:
        return False
    if attempt.outcome == "unknown":
        return True
    if attempt.outcome is not None or attempt.sent_at is None:
        return False
    age = utcnow() - attempt.sent_at
    # A call_back that never answered, old enough to be in the journal (dispatch/unplaced.py).
    unconfirmed = attempt.session_id is None and attempt.event_session_id is None
    checked_after = timedelta(seconds=current_app.config["UNPLACED_CHECK_AFTER"])
    return age >= STALE_AFTER or (unconfirmed and age >= checked_after)
