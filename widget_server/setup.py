"""Setting a site up: owners, their widgets, and the validators of their settings.

One set of rules for the command line, the config page, the demo and the tests,
so all of them set things up exactly the same way (PBX accounts and their
directory: ``pbx/directory.py``).
"""

from __future__ import annotations

import functools
import re
import secrets

import phonenumbers
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from flask import current_app
from limits import parse_many
from sqlalchemy import select

from . import outbound
from .dispatch import schedule
from .extensions import db
from .models import (
    RING_STRATEGIES,
    Owner,
    PbxAccount,
    Widget,
    WidgetGroup,
    utcnow,
)
from .phones import ABKHAZIA
from .visitor.origins import normalize_origin
from .visitor.texts import LANGUAGES

_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
_HEX_COLOR = re.compile(r"^#[0-9a-fA-F]{3}([0-9a-fA-F]{3})?$")


class SetupError(ValueError):
    """A setup value was refused; the message says what to fix.

    ``field`` names the setting it is about when a caller needs to point at it.
    """

    def __init__(self, message: str, *, field: str | None = None):
        super().__init__(message)
        self.field = field


class LooserLimitError(SetupError):
    """An owner's limit that is no stricter than the installation's."""


class SettingsError(SetupError):
    """An owner's notification setting was refused; the message says what to fix."""


def create_owner(email: str, password: str, *, is_admin: bool = False) -> Owner:
    """Create an owner with a password; commits.

    :raise SetupError: not an e-mail address, a short password, or a taken address.
    """
    email = (email or "").strip().lower()
    if not _EMAIL.match(email):
        raise SetupError(f"{email!r} is not an e-mail address")
    if len(password or "") < 8:
        raise SetupError("the password must be at least 8 characters long")
    if db.session.scalar(select(Owner).where(Owner.email == email)):
        raise SetupError(f"an owner with the e-mail {email} already exists")
    # Missed-call alerts are on by default: the sign-in address hears them (changeable).
    owner = Owner(
        email=email, password_hash=_hasher().hash(password), is_admin=is_admin, notify_email=email
    )
    db.session.add(owner)
    db.session.commit()
    return owner


def verify_password(owner: Owner | None, password: str) -> bool:
    """Check a password; an unknown owner costs the same hashing time as a known one."""
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
    """An owner by e-mail address (any case).

    :raise SetupError: there is no such owner.
    """
    owner = db.session.scalar(select(Owner).where(Owner.email == (email or "").strip().lower()))
    if owner is None:
        raise SetupError(f"no owner with the e-mail {email}; create one with create-owner")
    return owner


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
    allowed: dict[str, int] = {}
    for item in items:
        code, _, cap = item.partition("=")
        code = code.strip().upper()
        cap = cap.strip()
        # Abkhazia (+7 840/940) has no region code of its own in phonenumbers.
        known = code == ABKHAZIA or phonenumbers.country_code_for_region(code)
        if code == "RU" or not code.isalpha() or not known:
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


def find_widget(ref: str, *, allow_id: bool = False) -> Widget:
    """A widget by its key (``wk_…``), or by id when ``allow_id``.

    :raise SetupError: there is no such widget.
    """
    ref = (ref or "").strip()
    widget = db.session.scalar(select(Widget).where(Widget.public_key == ref))
    if widget is None and allow_id and ref.isdigit():
        widget = db.session.get(Widget, int(ref))
    if widget is None:
        raise SetupError(f"no widget {ref}")
    return widget


def set_hours(
    widget_ref: str,
    *,
    timezone: str | None = None,
    days: tuple[str, ...] = (),
    always_open: bool = False,
    default_hours: bool = False,
    days_off: tuple[str, ...] = (),
    clear_days_off: bool = False,
    public_holidays: bool | None = None,
) -> Widget:
    """Check, then set a widget's hours (``DAY=HH:MM-HH:MM``; days not named keep theirs),
    time zone and days off; commits.

    :raise SetupError: ``field`` is ``mode`` (more than one way to set the week),
        ``timezone``, ``days`` (a day or a date off that does not parse) or None (no widget).
    """
    if sum(map(bool, (days, always_open, default_hours))) > 1:
        raise SetupError("use only one of --day, --always-open and --default-hours", field="mode")
    if timezone is not None and schedule.valid_timezone(timezone) is None:
        raise SetupError(
            f"{timezone!r} is not a known time zone (like Europe/Moscow)", field="timezone"
        )
    try:
        changes = [schedule.parse_day_arg(d) for d in days]
        new_days_off = schedule.parse_days_off(days_off)
    except ValueError as exc:
        raise SetupError(str(exc), field="days") from None
    widget = find_widget(widget_ref, allow_id=True)
    if always_open:
        widget.hours = schedule.parse_hours(schedule.ALWAYS_OPEN)
    elif default_hours:
        widget.hours = None
    elif changes:
        week = schedule.parse_hours(
            widget.hours if widget.hours is not None else schedule.DEFAULT_HOURS
        )
        week.update(changes)
        widget.hours = week
    if timezone is not None:
        widget.timezone = timezone
    if clear_days_off or new_days_off:
        kept = [] if clear_days_off else list(widget.days_off or [])
        widget.days_off = schedule.parse_days_off([*kept, *new_days_off])
    if public_holidays is not None:
        widget.public_holidays = public_holidays
    db.session.commit()
    return widget


# -- owner notification settings -------------------------------------------------------


def validate_webhook_url(url: str) -> str:
    """An https:// address that resolves to public addresses only (``outbound``); plain
    http:// and private networks only where ``WIDGET_ALLOW_PRIVATE_NETWORKS`` allows.

    :raise SettingsError: any other address.
    """
    try:
        return outbound.check_url(url)
    except outbound.OutboundError as exc:
        error = SettingsError(f"not a webhook URL: {exc}")
        error.reason = exc.reason  # the config page words each reason its own way
        raise error from None


def _check_owner_settings(email, no_email, webhook_url, no_webhook, retention_days):
    if email is not None and no_email:
        raise SettingsError("use either --email or --no-email")
    if webhook_url is not None and no_webhook:
        raise SettingsError("use either --webhook-url or --no-webhook")
    if retention_days is not None and retention_days < 1:
        raise SettingsError("the retention period must be at least 1 day")
    if email is not None:
        email = email.strip()
        if not _EMAIL.match(email) or len(email) > 254:
            raise SettingsError(f"{email!r} is not an e-mail address")
    if webhook_url is not None:
        webhook_url = validate_webhook_url(webhook_url)
        if len(webhook_url) > 500:
            raise SettingsError("the webhook URL is longer than 500 characters")
    return email, webhook_url


def configure_owner(
    owner: Owner,
    *,
    email: str | None = None,
    no_email: bool = False,
    webhook_url: str | None = None,
    no_webhook: bool = False,
    digest: bool | None = None,
    retention_days: int | None = None,
) -> str | None:
    """Change an owner's notification settings and commit; return a new webhook secret.

    Setting a webhook URL always issues a fresh secret, returned here to be shown once.
    :raise SettingsError: a value refused; nothing is changed then.
    """
    email, webhook_url = _check_owner_settings(
        email, no_email, webhook_url, no_webhook, retention_days
    )
    secret = None
    if email is not None:
        owner.notify_email = email
    if no_email:
        owner.notify_email = None
    if webhook_url is not None:
        secret = secrets.token_hex(32)
        owner.webhook_url, owner.webhook_secret = webhook_url, secret
    if no_webhook:
        owner.webhook_url = owner.webhook_secret = None
    if digest is not None:
        owner.daily_digest = digest
    if retention_days is not None:
        owner.retention_days = retention_days
    db.session.commit()
    return secret
