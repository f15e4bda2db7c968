"""Setting a site up: owners, PBX accounts, their directory, widgets.

Shared by the command line, the demo and the tests, so all three set things
up exactly the same way.
"""

from __future__ import annotations

import functools
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
from .pbx.client import PbxError, client_for
from .visitor.origins import normalize_origin
from .visitor.texts import LANGUAGES

_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
_HEX_COLOR = re.compile(r"^#[0-9a-fA-F]{3}([0-9a-fA-F]{3})?$")


class SetupError(ValueError):
    """A setup value was refused; the message says what to fix."""


class LooserLimitError(SetupError):
    """An owner's limit that is no stricter than the installation's."""


def create_owner(email: str, password: str, *, is_admin: bool = False) -> Owner:
    email = (email or "").strip().lower()
    if not _EMAIL.match(email):
        raise SetupError(f"{email!r} is not an e-mail address")
    if len(password or "") < 8:
        raise SetupError("the password must be at least 8 characters long")
    if db.session.scalar(select(Owner).where(Owner.email == email)):
        raise SetupError(f"an owner with the e-mail {email} already exists")
    owner = Owner(email=email, password_hash=_hasher().hash(password), is_admin=is_admin)
    db.session.add(owner)
    db.session.commit()
    return owner


def delete_owner(owner: Owner) -> None:
    """Delete an owner with everything theirs: requests, calls, widgets, PBX accounts."""
    from sqlalchemy import delete

    from .models import CallbackRequest, CallEvent, Notification, NumberBlock
    from .retention import delete_requests

    widget_ids = select(Widget.id).where(Widget.owner_id == owner.id)
    account_ids = [a.id for a in owner.pbx_accounts]
    while ids := list(
        db.session.scalars(
            select(CallbackRequest.id).where(CallbackRequest.widget_id.in_(widget_ids)).limit(500)
        )
    ):
        delete_requests(ids)
    if account_ids:
        db.session.execute(delete(CallEvent).where(CallEvent.pbx_account_id.in_(account_ids)))
    db.session.execute(delete(Notification).where(Notification.owner_id == owner.id))
    db.session.execute(delete(NumberBlock).where(NumberBlock.owner_id == owner.id))
    db.session.expire_all()
    for widget in list(owner.widgets):
        db.session.delete(widget)
    db.session.flush()  # widgets point at PBX groups: they go first
    for account in list(owner.pbx_accounts):
        db.session.delete(account)
    db.session.flush()
    db.session.delete(owner)
    db.session.commit()


def verify_password(owner: Owner | None, password: str) -> bool:
    """Check a password; an unknown owner costs the same hashing time as a known one."""
    from argon2.exceptions import InvalidHashError, VerificationError

    hasher = _hasher()
    stored = owner.password_hash if owner is not None else _dummy_hash(hasher)
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
    owner.password_hash = _hasher().hash(password)
    owner.password_changed_at = utcnow()
    db.session.commit()


# argon2 at the library's full cost, except under tests, which hash hundreds of
# passwords: there the cheapest parameters keep a sign-in in the microseconds.
_FULL_COST = PasswordHasher()
_TEST_COST = PasswordHasher(time_cost=1, memory_cost=8, parallelism=1)


def _hasher() -> PasswordHasher:
    return _TEST_COST if current_app.testing else _FULL_COST


@functools.cache
def _dummy_hash(hasher: PasswordHasher) -> str:
    """Verified against when the e-mail is unknown, so timing does not reveal which
    owners exist (made once per hasher, on first use rather than at import)."""
    return hasher.hash("not a real password")


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
    data = client_for(account).users_info()
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


def check_ca_bundle(pem: str) -> str:
    """PEM text with at least one certificate that really parses; return it stripped.

    :raise SetupError: not PEM, or a certificate that does not parse.
    """
    import ssl

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


def _redundant(own, installation) -> bool:
    # amount/window adds nothing when the installation already allows no more than
    # that amount within a window at least as long.
    return any(
        base.get_expiry() >= own.get_expiry() and base.amount <= own.amount for base in installation
    )


def check_own_limit(kind: str, value: str) -> str:
    """An owner's own limit (``per_number`` or ``cap``) that really tightens; return it.

    Owners may only tighten: every part must be stricter than the installation's.
    :raise SetupError: not limits like ``20/hour;100/day``, or a part that adds nothing.
    """
    from limits import parse_many

    value = (value or "").strip().replace(" ", "")
    try:
        items = parse_many(value)
    except ValueError:
        raise SetupError(f"{value!r}: expected limits like 20/hour;100/day") from None
    config = current_app.config
    names = (
        ("RATELIMIT_WIDGET_NUMBER", "RATELIMIT_NUMBER") if kind == "per_number" else ("WIDGET_CAP",)
    )
    installation = [item for name in names for item in parse_many(config[name])]
    for item in items:
        if item.amount < 1:
            raise SetupError(f"{value!r}: a limit must allow at least one call")
        if _redundant(item, installation):
            shown = ";".join(config[name] for name in names)
            raise LooserLimitError(
                f"{item} is not stricter than the installation's {shown}: it would change nothing"
            )
    return value


def parse_countries(items: list[str]) -> dict[str, int]:
    """``["KZ=20", "BY=10"]`` → ``{"KZ": 20, "BY": 10}``: other countries and their daily caps.

    :raise SetupError: the message names the item that is wrong.
    """
    import phonenumbers

    allowed: dict[str, int] = {}
    for item in items:
        code, _, cap = item.partition("=")
        code = code.strip().upper()
        cap = cap.strip()
        if code == "RU" or not code.isalpha() or not phonenumbers.country_code_for_region(code):
            raise SetupError(f"{item!r}: expected a country code other than RU, like KZ=20")
        if not cap.isdigit() or not 1 <= int(cap) <= 1000:
            raise SetupError(f"{item!r}: the daily cap must be a number from 1 to 1000")
        allowed[code] = int(cap)
    return allowed


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
    "delete_owner",
    "find_owner",
    "add_pbx",
    "find_pbx",
    "webhook_base",
    "sync_groups",
    "parse_group_arg",
    "add_widget",
    "check_ca_bundle",
    "check_own_limit",
    "parse_countries",
]
