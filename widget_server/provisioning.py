"""Setting a site up: owners, PBX accounts, their directory, widgets.

Shared by the command line, the demo and the tests, so all three set things
up exactly the same way.
"""

from __future__ import annotations

import re
from typing import Any

from argon2 import PasswordHasher
from flask import current_app
from sqlalchemy import select

from .extensions import db
from .models import (
    RING_STRATEGIES,
    Owner,
    PbxAccount,
    PbxGroup,
    PbxUser,
    Widget,
    WidgetGroup,
    utcnow,
)
from .origins import normalize_origin
from .pbx_client import PbxError
from .widget_texts import LANGUAGES

_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
_HEX_COLOR = re.compile(r"^#[0-9a-fA-F]{3}([0-9a-fA-F]{3})?$")


class SetupError(ValueError):
    """A setup value was refused; the message says what to fix."""


def create_owner(email: str, password: str) -> Owner:
    email = (email or "").strip().lower()
    if not _EMAIL.match(email):
        raise SetupError(f"{email!r} is not an e-mail address")
    if len(password or "") < 8:
        raise SetupError("the password must be at least 8 characters long")
    if db.session.scalar(select(Owner).where(Owner.email == email)):
        raise SetupError(f"an owner with the e-mail {email} already exists")
    owner = Owner(email=email, password_hash=PasswordHasher().hash(password))
    db.session.add(owner)
    db.session.commit()
    return owner


def verify_password(owner: Owner | None, password: str) -> bool:
    """Check a password; an unknown owner costs the same hashing time as a known one."""
    from argon2.exceptions import InvalidHashError, VerificationError

    hasher = PasswordHasher()
    stored = owner.password_hash if owner is not None else _DUMMY_HASH
    try:
        hasher.verify(stored, password or "")
    except (VerificationError, InvalidHashError):
        return False
    if owner is None:
        return False
    if hasher.check_needs_rehash(stored):
        owner.password_hash = hasher.hash(password)
        db.session.commit()
    return True


def set_password(owner: Owner, password: str) -> None:
    """Store a new password; sessions and reset links issued before now stop working."""
    if len(password or "") < 8:
        raise SetupError("the password must be at least 8 characters long")
    owner.password_hash = PasswordHasher().hash(password)
    owner.password_changed_at = utcnow()
    db.session.commit()


# Verified against when the e-mail is unknown, so timing does not reveal which owners exist.
_DUMMY_HASH = PasswordHasher().hash("not a real password")


def find_owner(email: str) -> Owner:
    owner = db.session.scalar(select(Owner).where(Owner.email == (email or "").strip().lower()))
    if owner is None:
        raise SetupError(f"no owner with the e-mail {email}; create one with create-owner")
    return owner


def add_pbx(
    owner: Owner,
    api_url: str,
    client_id: str,
    sign_key: str,
    domain: str | None = None,
    ca_bundle: str | None = None,
) -> PbxAccount:
    api_url = (api_url or "").strip().rstrip("/")
    if not api_url.startswith(("https://", "http://")):
        raise SetupError("the API address must start with https:// (or http:// for the simulator)")
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


def sync_groups(account: PbxAccount) -> tuple[int, int]:
    """Refresh the account's users and groups from ``users_info``; return their counts.

    :raise PbxError: the PBX could not be asked.
    """
    from .ringing import pbx_client

    data = pbx_client(account).users_info()
    users = {str(u.get("pin")): u for u in _as_list(data.get("users")) if u.get("pin")}
    groups = {str(g.get("pin")): g for g in _as_list(data.get("groups")) if g.get("pin")}
    existing_users = {u.pin: u for u in account.users}
    for pin, raw in users.items():
        user = existing_users.pop(pin, None) or PbxUser(account=account, pin=pin)
        user.name = str(raw.get("name") or pin)
        user.display_name = str(raw.get("display_name") or user.name)
        user.email = raw.get("email") or None
        user.is_operator = _flag(raw.get("is_operator", True))
        user.is_supervisor = _flag(raw.get("is_supervisor", False))
        user.recording = _flag(raw.get("recording", False))
        db.session.add(user)
    for gone in existing_users.values():
        db.session.delete(gone)
    existing_groups = {g.pin: g for g in account.groups}
    for pin, raw in groups.items():
        group = existing_groups.pop(pin, None) or PbxGroup(account=account, pin=pin)
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
    for gone in existing_groups.values():
        if gone.id in offered:
            gone.member_pins = []
        else:
            db.session.delete(gone)
    account.synced_at = utcnow()
    db.session.commit()
    return len(users), len(groups)


def parse_group_arg(value: str) -> tuple[str, str | None]:
    """``PIN[=Label]`` → (pin, label or None)."""
    pin, _, label = value.partition("=")
    pin = pin.strip()
    if not pin:
        raise SetupError(f"{value!r}: expected PIN or PIN=Label")
    return pin, (label.strip() or None)


def add_widget(
    account: PbxAccount,
    origins: list[str],
    groups: list[tuple[str, str | None]],
    *,
    name: str = "",
    language: str = "ru",
    privacy_policy_url: str | None = None,
    ring_strategy: str = "sequential",
    ring_timeout: int = 25,
    color: str = "#0b6bcb",
    position: str = "right",
) -> Widget:
    if not origins:
        raise SetupError("at least one site origin is needed, like https://shop.example")
    try:
        clean_origins = sorted({normalize_origin(o) for o in origins})
    except ValueError as exc:
        raise SetupError(str(exc)) from None
    if not groups:
        raise SetupError(
            "at least one group is needed (--group PIN[=Label]); run sync-groups first"
        )
    if language not in LANGUAGES:
        raise SetupError(f"language must be one of {', '.join(LANGUAGES)}")
    if ring_strategy not in RING_STRATEGIES:
        raise SetupError(f"ring strategy must be one of {', '.join(RING_STRATEGIES)}")
    if not 5 <= int(ring_timeout) <= 120:
        raise SetupError("ring timeout must be between 5 and 120 seconds")
    if not _HEX_COLOR.match(color):
        raise SetupError("colour must look like #0b6bcb")
    if position not in ("left", "right"):
        raise SetupError("position must be left or right")
    if privacy_policy_url and not privacy_policy_url.startswith(("https://", "http://")):
        raise SetupError("the privacy policy address must start with https://")
    by_pin = {g.pin: g for g in account.groups}
    widget = Widget(
        owner=account.owner,
        pbx_account=account,
        name=name,
        origins=clean_origins,
        language=language,
        privacy_policy_url=privacy_policy_url,
        ring_strategy=ring_strategy,
        ring_timeout=int(ring_timeout),
        color=color,
        position=position,
    )
    for position_index, (pin, label) in enumerate(groups):
        group = by_pin.get(pin)
        if group is None:
            known = ", ".join(sorted(by_pin)) or "none (run sync-groups first)"
            raise SetupError(f"group {pin} is not on this PBX; known groups: {known}")
        widget.offered_groups.append(
            WidgetGroup(group=group, label=label or group.name, position=position_index)
        )
    db.session.add(widget)
    db.session.commit()
    return widget


__all__ = [
    "SetupError",
    "PbxError",
    "create_owner",
    "find_owner",
    "add_pbx",
    "find_pbx",
    "webhook_base",
    "sync_groups",
    "parse_group_arg",
    "add_widget",
]
