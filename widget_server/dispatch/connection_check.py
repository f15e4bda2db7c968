"""The PBX page's "check the connection" and "refresh groups", run in the queue.

A click books a job and the page says "checking" until the answer is in. The job takes a
place from its account's share of the queue's workers (``bulkhead.py``), so an owner
whose "PBX" answers a byte at a time waits behind their own checks and calls, and holds
neither a request slot of the web nor another owner's worker. The answer is kept on the
account (``check_*`` columns) as data, and put in words when the page is shown.
"""

from __future__ import annotations

import logging
from datetime import timedelta
from enum import StrEnum
from typing import Any

from sqlalchemy import update

from ..clock import utcnow
from ..extensions import db
from ..models import PbxAccount
from ..pbx import directory
from ..pbx.client import PbxError, client_for
from .queue import queue

log = logging.getLogger(__name__)

# After this long without an answer, the page stops saying "checking" and says the queue
# has not taken the job (a worker not running); a new click may book it again.
STALLED_AFTER = timedelta(seconds=60)
SHOWN_FOR = timedelta(hours=1)  # an older answer is not shown: it may no longer be true
REFRESH_SECONDS = 2  # how often the page looks again while a check waits


class CheckKind(StrEnum):
    CHECK = "check"  # ask users_info, store nothing of it
    SYNC = "sync"  # ask users_info and store its users and groups


class CheckState(StrEnum):
    WAITING = "waiting"
    STALLED = "stalled"
    DONE = "done"


def book(account: PbxAccount, kind: CheckKind) -> bool:
    """Book a check of ``kind``; commits. False when one is still waiting for its answer.

    The conditional update decides between two clicks at once: one of them books.
    """
    now = utcnow()
    booked = db.session.execute(
        update(PbxAccount)
        .where(PbxAccount.id == account.id)
        .where(
            (PbxAccount.check_asked_at.is_(None))
            | (PbxAccount.check_done_at.is_not(None))
            | (PbxAccount.check_asked_at < now - STALLED_AFTER)
        )
        .values(check_kind=kind.value, check_asked_at=now, check_done_at=None, check_answer=None)
    ).rowcount
    db.session.commit()
    if not booked:
        return False
    try:
        queue().check_connection(account.id, kind.value)
    except Exception:
        # Nothing else would ever run it: the page says so instead of "checking" forever.
        log.exception("PBX account %s: the queue is unreachable, its check not booked", account.id)
        db.session.execute(
            update(PbxAccount)
            .where(PbxAccount.id == account.id)
            .values(check_done_at=utcnow(), check_answer={"ok": False, "result": "no-queue"})
        )
        db.session.commit()
    return True


def check_connection(account_id: int, kind: str) -> None:
    """The queue job: ask the PBX and keep the answer on the account."""
    account = db.session.get(PbxAccount, account_id)
    if account is None or account.check_done_at is not None:
        return
    try:
        if kind == CheckKind.SYNC:
            users, groups = directory.sync_groups(account)
            answer: dict[str, Any] = {"ok": True, "user_count": users, "group_count": groups}
        else:
            client = client_for(account)
            db.session.commit()  # no pool connection held while the PBX answers
            answer = {"ok": True, **_found(client.users_info())}
    except PbxError as exc:
        db.session.rollback()
        answer = {
            "ok": False,
            "result": exc.result,
            "http_status": exc.http_status,
            "message": exc.message,
            "answered": exc.answer is not None,
        }
    db.session.execute(
        update(PbxAccount)
        .where(PbxAccount.id == account_id)
        .values(check_done_at=utcnow(), check_answer=answer)
    )
    db.session.commit()


def _found(data: dict) -> dict[str, Any]:
    """What the page lists of a users_info answer: each group with its members by name."""
    users = directory._as_list(data.get("users"))
    groups = directory._as_list(data.get("groups"))
    by_pin = {str(u.get("pin")): u for u in users}
    return {
        "user_count": len(users),
        "group_count": len(groups),
        "groups": [
            {
                "pin": str(group.get("pin")),
                "name": str(group.get("name") or group.get("pin")),
                "members": [
                    str(by_pin.get(str(pin), {}).get("display_name") or pin)
                    for pin in group.get("users_list") or []
                ],
            }
            for group in groups
        ],
    }


def state(account: PbxAccount) -> CheckState | None:
    """Where the account's last check is; None when none was booked within the hour."""
    if account.check_asked_at is None:
        return None
    if account.check_done_at is not None:
        return CheckState.DONE if utcnow() - account.check_done_at < SHOWN_FOR else None
    if utcnow() - account.check_asked_at > STALLED_AFTER:
        return CheckState.STALLED
    return CheckState.WAITING


def failure(answer: dict[str, Any]) -> PbxError:
    """A failed check's answer as the PBX client's error, to be put in words."""
    return PbxError(
        answer.get("message") or "",
        result=str(answer.get("result") or ""),
        retryable=False,
        http_status=answer.get("http_status"),
        answer={} if answer.get("answered") else None,
    )
