"""The raw exchange journal: what the PBX said about an account's recent calls.

Every ``call_back``, ``call_info`` and ``get_record`` reply and every verified
event of our calls is kept as received (the first-call check reads it, and an
owner can download it for a support request); events of the domain's other calls
are not. Signatures and keys are never stored; numbers are masked only on
download, since the check compares them.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Any

from flask import has_app_context
from sqlalchemy import delete, select

from ..extensions import db
from ..models import Owner, PbxAccount, PbxExchange, utcnow
from ..ops.logs import mask_text
from ..phones import digits_of
from .errors import PbxError

RECORDED = ("call_back", "call_info", "get_record")
KEEP_CALLS = 20  # the last call_backs of an account whose exchanges are kept
KEEP_DAYS = 14
# Headers that authenticate; never stored (matched on the lower-cased name).
SECRET_HEADERS = ("x-client-sign", "authorization", "cookie", "x-api-key")
# ``record_event`` outcomes of events kept: of our calls, or maybe ours for a moment
# ("orphan": ``forget_events`` drops them with the call_events rows if never claimed).
OUR_EVENTS = frozenset({"applied", "adopted", "orphan", "duplicate"})


def recorded(call):
    """Wrap ``PbxClient.call``: keep the reply (or the refusal) of the methods of a call."""

    @functools.wraps(call)
    def keeping(self, method: str, payload: dict[str, Any]) -> dict[str, Any]:
        if method not in RECORDED:
            return call(self, method, payload)
        try:
            data = call(self, method, payload)
        except PbxError as exc:
            note_reply(self.credentials, method, payload, exc.answer, error=exc.result)
            raise
        note_reply(self.credentials, method, payload, data)
        return data

    return keeping


def note_reply(
    credentials, method: str, payload: dict, reply: dict | None, error: str = ""
) -> None:
    """Add one API exchange to the journal of the accounts using these credentials.

    Added to the caller's session (committed with the attempt it belongs to): a
    second connection would wait on SQLite's write lock the caller holds.
    """
    if not has_app_context():
        return
    accounts = db.session.scalars(
        select(PbxAccount.id).where(
            PbxAccount.client_id == credentials.client_id,
            PbxAccount.sign_key == credentials.sign_key,
            PbxAccount.api_url == credentials.api_url,
        )
    ).all()
    session_id = str((reply or {}).get("session_id") or payload.get("session_id") or "") or None
    for account_id in accounts:
        db.session.add(
            PbxExchange(
                pbx_account_id=account_id,
                kind=method,
                session_id=session_id,
                request=dict(payload),
                reply=reply,
                error=(error or None) and str(error)[:64],
            )
        )
        if method == "call_back":
            prune(account_id)


def note_event(
    account: PbxAccount, headers: Mapping[str, str], payload: dict, outcome: str = "applied"
) -> None:
    """Keep a verified event of our calls, headers and body as received, signature left
    out; commits.

    ``outcome`` is what ``record_event`` made of it. Events of the domain's other calls
    (customers calling in, operators calling out by hand) carry third parties' numbers:
    never kept, and kept out of the first-call check, which reads one call's events.
    """
    if outcome not in OUR_EVENTS:
        return
    kept = {k: v for k, v in headers.items() if k.lower() not in SECRET_HEADERS}
    db.session.add(
        PbxExchange(
            pbx_account_id=account.id,
            kind="event",
            session_id=str(payload.get("session_id") or "")[:128] or None,
            request=payload,
            headers=kept,
        )
    )
    db.session.commit()


def forget_events(account_id: int, session_ids: list[str]) -> None:
    """Drop the kept events of these sessions (calls that turned out not to be ours)."""
    if not session_ids:
        return
    rows = PbxExchange.__table__
    db.session.execute(
        delete(rows).where(
            rows.c.pbx_account_id == account_id,
            rows.c.kind == "event",
            rows.c.session_id.in_(session_ids),
        )
    )


def note_tls(account: PbxAccount, seen: dict) -> None:
    """Add what a TLS connection to the API showed (``pbx.tls_probe``)."""
    db.session.add(PbxExchange(pbx_account_id=account.id, kind="tls", reply=seen))


def prune(account_id: int, *, now: datetime | None = None) -> None:
    """Drop exchanges older than ``KEEP_DAYS`` (or the owner's shorter retention) or
    before the last ``KEEP_CALLS`` call_backs: they hold visitors' numbers."""
    rows = PbxExchange.__table__
    retention = db.session.scalar(
        select(Owner.retention_days)
        .join(PbxAccount, PbxAccount.owner_id == Owner.id)
        .where(PbxAccount.id == account_id)
    )
    days = min(KEEP_DAYS, retention or KEEP_DAYS)
    db.session.execute(
        delete(rows).where(
            rows.c.pbx_account_id == account_id,
            rows.c.created_at < (now or utcnow()) - timedelta(days=days),
        )
    )
    oldest_kept = db.session.scalar(
        select(PbxExchange.id)
        .where(PbxExchange.pbx_account_id == account_id, PbxExchange.kind == "call_back")
        .order_by(PbxExchange.id.desc())
        .offset(KEEP_CALLS - 1)
        .limit(1)
    )
    if oldest_kept is not None:
        db.session.execute(
            delete(rows).where(rows.c.pbx_account_id == account_id, rows.c.id < oldest_kept)
        )


def purge_expired(*, now: datetime | None = None) -> None:
    """Prune every account (for the retention job: an account that stopped calling)."""
    for account_id in db.session.scalars(select(PbxAccount.id)).all():
        prune(account_id, now=now)
    db.session.commit()


def forget_number(owner_id: int, phone_e164: str) -> int:
    """Drop the exchanges of one owner's accounts that mention a number; how many went.

    Read in Python: JSON search differs per database, and an account keeps few rows.
    """
    wanted = digits_of(phone_e164)[-10:]
    if len(wanted) < 10:
        return 0
    rows = db.session.scalars(
        select(PbxExchange)
        .join(PbxAccount, PbxAccount.id == PbxExchange.pbx_account_id)
        .where(PbxAccount.owner_id == owner_id)
    ).all()
    gone = [r for r in rows if wanted in _digit_runs(r)]
    for row in gone:
        db.session.delete(row)
    db.session.commit()
    return len(gone)


def _digit_runs(row: PbxExchange) -> str:
    """The row's numbers as bare digits, separated (``+7 916 …`` written any way)."""
    text = json.dumps([row.request, row.reply], ensure_ascii=False)
    return " ".join(digits_of(part) for part in text.split('"'))


def call_exchanges(account_id: int, callback_id: int) -> list[PbxExchange]:
    """A call's journal: from its call_back to the next one (events may carry another id)."""
    following = db.session.scalar(
        select(PbxExchange.id)
        .where(
            PbxExchange.pbx_account_id == account_id,
            PbxExchange.kind == "call_back",
            PbxExchange.id > callback_id,
        )
        .order_by(PbxExchange.id)
        .limit(1)
    )
    query = select(PbxExchange).where(
        PbxExchange.pbx_account_id == account_id, PbxExchange.id >= callback_id
    )
    if following is not None:
        query = query.where(PbxExchange.id < following)
    return list(db.session.scalars(query.order_by(PbxExchange.id)))


def as_dict(row: PbxExchange) -> dict[str, Any]:
    """An exchange as plain data (what the dialect check reads)."""
    return {
        "kind": row.kind,
        "session_id": row.session_id,
        "request": row.request,
        "reply": row.reply,
        "headers": row.headers,
        "error": row.error,
        "at": row.created_at.isoformat(timespec="milliseconds") + "Z",
    }


def masked_download(account: PbxAccount) -> str:
    """The account's kept exchanges as JSON text, numbers masked, no secret in it."""
    rows = db.session.scalars(
        select(PbxExchange).where(PbxExchange.pbx_account_id == account.id).order_by(PbxExchange.id)
    )
    text = json.dumps(
        {"domain": account.domain, "exchanges": [as_dict(r) for r in rows]},
        ensure_ascii=False,
        indent=1,
    )
    # mask_text masks 9–14-digit runs; sip:79161234567@… and "79161234567" are among them.
    text = mask_text(text)
    if account.sign_key:
        text = text.replace(account.sign_key, "***")
    return text
