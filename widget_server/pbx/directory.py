"""The owner's PBX accounts and their directory: connecting a domain, its users and groups.

Shared by the command line, the config page and the demo, so all three connect a
PBX the same way.
"""

from __future__ import annotations

import ssl
from typing import Any

from flask import current_app
from sqlalchemy import select

from .. import outbound
from ..extensions import db
from ..models import Owner, PbxAccount, PbxGroup, PbxUser, WidgetGroup, utcnow
from ..setup import SetupError
from .client import client_for


def add_pbx(
    owner: Owner,
    api_url: str,
    client_id: str,
    sign_key: str,
    domain: str | None = None,
    ca_bundle: str | None = None,
) -> PbxAccount:
    """Connect a Rostelecom domain's integration API for an owner; commits.

    :raise SetupError: a value the PBX could never accept.
    """
    api_url = (api_url or "").strip().rstrip("/")
    if not api_url.startswith(("https://", "http://")):
        raise SetupError("the API address must start with https:// (or http:// for the simulator)")
    try:
        outbound.check_url(api_url)  # the same policy as every owner-supplied address
    except outbound.OutboundError as exc:
        raise SetupError(str(exc)) from None
    if not (client_id or "").strip() or not (sign_key or "").strip():
        raise SetupError("both the identification code and the signing key are needed")
    if ca_bundle is not None and "BEGIN CERTIFICATE" not in ca_bundle:
        raise SetupError("the CA bundle must be PEM text with at least one certificate")
    account = PbxAccount(
        owner=owner,
        api_url=api_url,
        client_id=client_id.strip(),
        sign_key=sign_key.strip(),
        domain=(domain or "").strip() or None,
        ca_bundle=ca_bundle,
    )
    db.session.add(account)
    db.session.commit()
    return account


def webhook_base(account: PbxAccount) -> str:
    """The external-system address to enter in the Rostelecom admin panel."""
    return f"{current_app.config['PUBLIC_URL']}/pbx/{account.public_id}"


def find_pbx(ref: str | int) -> PbxAccount:
    """A PBX account by id or public id.

    :raise SetupError: there is no such account.
    """
    ref = str(ref).strip()
    account = (
        db.session.get(PbxAccount, int(ref))
        if ref.isdigit()
        else db.session.scalar(select(PbxAccount).where(PbxAccount.public_id == ref))
    )
    if account is None:
        raise SetupError(f"no PBX account {ref}")
    return account


def _as_list(value: Any) -> list[dict[str, Any]]:
    # users_info may give one object instead of a list when a single user is asked for.
    if isinstance(value, dict):
        return [value]
    return [v for v in (value or []) if isinstance(v, dict)]


def _flag(value: Any) -> bool:
    return str(value).strip().lower() in {"1", "true", "yes"}


def sync_groups(account: PbxAccount, data: dict[str, Any] | None = None) -> tuple[int, int]:
    """Refresh the account's users and groups from ``users_info``; return their counts.

    ``data`` is a ``users_info`` answer already had (saving a form just asked).

    :raise PbxError: the PBX could not be asked.
    """
    if data is None:
        data = client_for(account).users_info()
    users = {str(u.get("pin")): u for u in _as_list(data.get("users")) if u.get("pin")}
    groups = {str(g.get("pin")): g for g in _as_list(data.get("groups")) if g.get("pin")}
    _sync_users(account, users)
    _sync_groups(account, groups)
    account.synced_at = utcnow()
    db.session.commit()
    return len(users), len(groups)


def _sync_users(account: PbxAccount, users: dict[str, dict[str, Any]]) -> None:
    existing = {u.pin: u for u in account.users}
    for pin, raw in users.items():
        user = existing.pop(pin, None) or PbxUser(account=account, pin=pin)
        user.name = str(raw.get("name") or pin)
        user.display_name = str(raw.get("display_name") or user.name)
        user.email = raw.get("email") or None
        user.is_operator = _flag(raw.get("is_operator", True))
        user.is_supervisor = _flag(raw.get("is_supervisor", False))
        user.recording = _flag(raw.get("recording", False))
        db.session.add(user)
    for gone in existing.values():
        db.session.delete(gone)


def _sync_groups(account: PbxAccount, groups: dict[str, dict[str, Any]]) -> None:
    existing = {g.pin: g for g in account.groups}
    for pin, raw in groups.items():
        group = existing.pop(pin, None) or PbxGroup(account=account, pin=pin)
        group.name = str(raw.get("name") or pin)
        group.email = raw.get("email") or None
        try:
            group.distribution = (
                int(raw["distribution"]) if raw.get("distribution") not in (None, "") else None
            )
        except (TypeError, ValueError):
            group.distribution = None
        group.member_pins = [str(p) for p in (raw.get("users_list") or [])]
        db.session.add(group)
    # A group a widget still offers is kept (emptied) rather than breaking the widget.
    offered = set(db.session.scalars(select(WidgetGroup.group_id)))
    for gone in existing.values():
        if gone.id in offered:
            gone.member_pins = []
        else:
            db.session.delete(gone)


def check_ca_bundle(pem: str) -> str:
    """PEM text with at least one certificate that really parses; return it stripped.

    :raise SetupError: not PEM, or a certificate that does not parse.
    """
    pem = (pem or "").strip()
    if "-----BEGIN CERTIFICATE-----" not in pem:
        raise SetupError("the CA bundle must be PEM text with at least one certificate")
    try:
        context = ssl.create_default_context(cafile=None, capath=None, cadata=pem)
    except (ssl.SSLError, ValueError):
        raise SetupError("the CA bundle has a certificate that does not parse") from None
    if not context.get_ca_certs():
        raise SetupError("the CA bundle must be PEM text with at least one certificate")
    return pem + "\n"
