"""The guided first call on a live domain: ring the owner, read the call's raw
journal, learn the dialect (``pbx.dialect_check``) and set it on the account.

The call takes the normal path (``visitor.intake.submit(..., is_test=True)`` on one
of the owner's widgets on this account), so what it shows is what visitors get.
"""

from __future__ import annotations

from sqlalchemy import select

from ..extensions import db
from ..models import CallAttempt, CallbackRequest, PbxAccount, PbxExchange, Widget, utcnow
from ..pbx import exchanges, tls_probe
from ..pbx.dialect_check import Findings, analyse
from ..statuses import FINAL
from ..visitor import intake


def widget_for(account: PbxAccount) -> Widget | None:
    """The owner's first widget on this account (the test call goes through it)."""
    return db.session.scalar(
        select(Widget)
        .where(Widget.pbx_account_id == account.id, Widget.owner_id == account.owner_id)
        .order_by(Widget.id)
        .limit(1)
    )


def start(account: PbxAccount, phone: str, *, origin: str, client_ip: str | None, note: str):
    """Order the test call to ``phone``; ``intake.Accepted``/``Refused``, None without a widget."""
    widget = widget_for(account)
    if widget is None:
        return None
    offered = widget.offered_groups
    group = offered[0].group.pin if offered else ""
    return intake.submit(
        widget,
        {"phone": phone, "consent": True, "group": group},
        origin=origin,
        client_ip=client_ip,
        consent_text=note,
        is_test=True,
    )


def test_request(account: PbxAccount, request_id: int) -> CallbackRequest | None:
    """A test request of this account's widgets, or None."""
    req = db.session.get(CallbackRequest, request_id)
    if req is None or not req.is_test or req.widget.pbx_account_id != account.id:
        return None
    return req


def finish(account: PbxAccount, req: CallbackRequest) -> Findings | None:
    """The findings once the call is over (None while it is alive); sets them on the account.

    Asking again reads the same journal and changes nothing more.
    """
    if req.status not in FINAL:
        return None
    callback = _callback_exchange(account, req)
    if callback is None:
        return Findings()  # never placed: nothing to learn about the dialect
    rows = exchanges.call_exchanges(account.id, callback.id)
    if not any(r.kind == "tls" for r in rows):
        exchanges.note_tls(account, tls_probe.probe(account.api_url, account.ca_bundle))
        db.session.flush()
        rows = exchanges.call_exchanges(account.id, callback.id)
    found = analyse([exchanges.as_dict(r) for r in rows], req.phone)
    checked = account.dialect_checked_at
    if found.placed and (checked is None or checked < callback.created_at):
        apply(account, found)
    db.session.commit()
    return found


def apply(account: PbxAccount, found: Findings) -> None:
    """Set what the dispatch rules read: events expected or polled, and the dialect letter."""
    settings = found.settings()
    account.events_expected = settings["events_expected"]
    if settings["events_expected"]:
        account.events_missing_at = None
    account.dialect = settings["dialect"]
    account.dialect_checked_at = utcnow()


def _callback_exchange(account: PbxAccount, req: CallbackRequest) -> PbxExchange | None:
    """The call_back exchange of the request's last placed attempt."""
    session_id = db.session.scalar(
        select(CallAttempt.session_id)
        .where(CallAttempt.request_id == req.id, CallAttempt.session_id.is_not(None))
        .order_by(CallAttempt.id.desc())
        .limit(1)
    )
    if session_id is None:
        return None
    return db.session.scalar(
        select(PbxExchange)
        .where(
            PbxExchange.pbx_account_id == account.id,
            PbxExchange.kind == "call_back",
            PbxExchange.session_id == session_id,
        )
        .order_by(PbxExchange.id.desc())
        .limit(1)
    )
