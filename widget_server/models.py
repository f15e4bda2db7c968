"""Database models: owners, PBX accounts and their directory, widgets, requests, calls."""

from __future__ import annotations

import secrets
from datetime import datetime

from sqlalchemy import JSON, ForeignKey, Index, String, Text, UniqueConstraint, false, true
from sqlalchemy.orm import Mapped, mapped_column, relationship

from .clock import new_public_id as new_public_id
from .clock import utcnow as utcnow
from .extensions import db

# Issue 15's columns and the funnel's table (re-exported) live in insight/columns.py.
from .insight.columns import FunnelDay as FunnelDay
from .insight.columns import LeadColumns

# The PBX's journal exports and raw exchanges (re-exported) live in pbx/records.py.
from .pbx.records import PbxExchange as PbxExchange
from .pbx.records import PbxJournal as PbxJournal


class Owner(db.Model):
    __tablename__ = "owners"

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(String(254), unique=True)
    password_hash: Mapped[str] = mapped_column(String(255))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    # Where the owner hears about missed/failed/held requests (notifications.py).
    notify_email: Mapped[str | None] = mapped_column(String(254))
    webhook_url: Mapped[str | None] = mapped_column(String(500))
    webhook_secret: Mapped[str | None] = mapped_column(String(128))
    daily_digest: Mapped[bool] = mapped_column(default=True)
    retention_days: Mapped[int] = mapped_column(default=30)
    # An installation admin manages owners on the config page's Users page.
    is_admin: Mapped[bool] = mapped_column(default=False)
    # The owner's own number: where the config page's "test call" rings.
    phone: Mapped[str | None] = mapped_column(String(20))
    language: Mapped[str] = mapped_column(String(5), default="ru")  # config page language
    # Reset links and sessions issued before this moment stop working.
    password_changed_at: Mapped[datetime | None]
    # Channels (notify/channels.py); the Bitrix24 webhook URL holds its secret code.
    telegram_chat_id: Mapped[str | None] = mapped_column(String(32))
    telegram_chat_name: Mapped[str | None] = mapped_column(String(100))
    telegram_digest: Mapped[bool] = mapped_column(default=False, server_default=false())
    bitrix24_url: Mapped[str | None] = mapped_column(String(500))
    amocrm_subdomain: Mapped[str | None] = mapped_column(String(63))
    amocrm_token: Mapped[str | None] = mapped_column(Text)
    timezone: Mapped[str] = mapped_column(String(64), default="Europe/Moscow")  # config page

    pbx_accounts: Mapped[list[PbxAccount]] = relationship(back_populates="owner")
    widgets: Mapped[list[Widget]] = relationship(back_populates="owner")


class EndedSession(db.Model):
    """A signed-out config page session, refused until its cookie would expire anyway."""

    __tablename__ = "ended_sessions"

    sid: Mapped[str] = mapped_column(String(64), primary_key=True)
    expires_at: Mapped[datetime] = mapped_column(index=True)


class PbxAccount(db.Model):
    """One Rostelecom domain's integration API credentials."""

    __tablename__ = "pbx_accounts"

    id: Mapped[int] = mapped_column(primary_key=True)
    # Unguessable id in the webhook URL: /pbx/<public_id>/call_events
    public_id: Mapped[str] = mapped_column(
        String(40), unique=True, default=lambda: new_public_id("pbx_")
    )
    owner_id: Mapped[int] = mapped_column(ForeignKey("owners.id"))
    api_url: Mapped[str] = mapped_column(String(255))
    client_id: Mapped[str] = mapped_column(String(128))
    sign_key: Mapped[str] = mapped_column(String(255))
    domain: Mapped[str | None] = mapped_column(String(255))
    ca_bundle: Mapped[str | None] = mapped_column(Text)  # PEM text
    last_event_at: Mapped[datetime | None]
    # How the domain speaks (docs/pbx-dialects.md). Events expected, or calls
    # followed by polling call_info only (a CRM holds the domain's one address).
    events_expected: Mapped[bool] = mapped_column(default=True, server_default=true())
    # Accepted call_backs got no event within a minute: polled, the owner told.
    events_missing_at: Mapped[datetime | None]
    # Events came under another session id than the call_back reply's.
    session_mismatch_at: Mapped[datetime | None]
    # The PBX's own operator ring time: our ring timeout never fires before it.
    ring_seconds: Mapped[int] = mapped_column(default=45, server_default="45")
    synced_at: Mapped[datetime | None]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    owner: Mapped[Owner] = relationship(back_populates="pbx_accounts")
    users: Mapped[list[PbxUser]] = relationship(
        back_populates="account", cascade="all, delete-orphan"
    )
    groups: Mapped[list[PbxGroup]] = relationship(
        back_populates="account", cascade="all, delete-orphan", order_by="PbxGroup.pin"
    )

    def user_by_pin(self, pin: str) -> PbxUser | None:
        return next((u for u in self.users if u.pin == pin), None)

    # Answer get_number_info with the caller's last operator (skips the domain's IVR
    # and queues, so the owner switches it on).
    route_inbound: Mapped[bool] = mapped_column(default=False)
    # The dialect letter (docs/pbx-dialects.md) the guided first call detected.
    dialect: Mapped[str | None] = mapped_column(String(1))
    dialect_checked_at: Mapped[datetime | None]
    # The PBX page's last connection check or group refresh, run in the queue
    # (dispatch/connection_check.py): booked, answered, and the answer as data.
    check_kind: Mapped[str | None] = mapped_column(String(8))
    check_asked_at: Mapped[datetime | None]
    check_done_at: Mapped[datetime | None]
    check_answer: Mapped[dict | None] = mapped_column(JSON)


class PbxUser(db.Model):
    """A domain user as ``users_info`` lists it."""

    __tablename__ = "pbx_users"
    __table_args__ = (UniqueConstraint("account_id", "pin"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("pbx_accounts.id"))
    pin: Mapped[str] = mapped_column(String(32))
    name: Mapped[str] = mapped_column(String(255))  # login, the user part of the SIP URI
    display_name: Mapped[str] = mapped_column(String(255), default="")
    email: Mapped[str | None] = mapped_column(String(254))
    is_operator: Mapped[bool] = mapped_column(default=True)
    is_supervisor: Mapped[bool] = mapped_column(default=False)
    recording: Mapped[bool] = mapped_column(default=False)

    account: Mapped[PbxAccount] = relationship(back_populates="users")


class PbxGroup(db.Model):
    """A domain group (department) as ``users_info`` lists it."""

    __tablename__ = "pbx_groups"
    __table_args__ = (UniqueConstraint("account_id", "pin"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("pbx_accounts.id"))
    pin: Mapped[str] = mapped_column(String(32))
    name: Mapped[str] = mapped_column(String(255))
    email: Mapped[str | None] = mapped_column(String(254))
    distribution: Mapped[int | None]
    member_pins: Mapped[list] = mapped_column(JSON, default=list)  # PBX order

    account: Mapped[PbxAccount] = relationship(back_populates="groups")


RING_STRATEGIES = ("sequential", "round_robin", "random", "pbx_group")


class Widget(db.Model):
    """A callback widget placed on one owner's site(s)."""

    __tablename__ = "widgets"

    id: Mapped[int] = mapped_column(primary_key=True)
    public_key: Mapped[str] = mapped_column(
        String(40), unique=True, default=lambda: new_public_id("wk_")
    )
    owner_id: Mapped[int] = mapped_column(ForeignKey("owners.id"))
    pbx_account_id: Mapped[int] = mapped_column(ForeignKey("pbx_accounts.id"))
    name: Mapped[str] = mapped_column(String(255), default="")
    origins: Mapped[list] = mapped_column(JSON, default=list)
    language: Mapped[str] = mapped_column(String(5), default="ru")
    texts: Mapped[dict] = mapped_column(JSON, default=dict)  # owner overrides of UI texts
    privacy_policy_url: Mapped[str | None] = mapped_column(String(500))
    color: Mapped[str] = mapped_column(String(16), default="#0b6bcb")
    position: Mapped[str] = mapped_column(String(8), default="right")
    ask_name: Mapped[bool] = mapped_column(default=True)
    ring_strategy: Mapped[str] = mapped_column(String(16), default="sequential")
    ring_timeout: Mapped[int] = mapped_column(default=25)  # seconds per operator
    countdown_seconds: Mapped[int] = mapped_column(default=30)
    # A number visitors may call themselves (E.164; None: none shown): the widget offers it
    # as a tel: link on the screens where no call will come (visitor/call_us.py).
    visitor_phone: Mapped[str | None] = mapped_column(String(20))
    rr_cursor: Mapped[int] = mapped_column(default=0)  # round-robin position
    # Working hours (working_hours.py): {"mon": [["09:00", "13:00"], ["14:00", "20:00"]], ...};
    # None means the default Mon–Fri 09:00–20:00.
    hours: Mapped[dict | None] = mapped_column(JSON)
    timezone: Mapped[str] = mapped_column(String(64), default="Europe/Moscow")
    days_off: Mapped[list] = mapped_column(JSON, default=list)  # ["2026-12-31", ...]
    public_holidays: Mapped[bool] = mapped_column(default=True)  # Russian holidays are days off
    # Not reached: ring the group again after a pause, up to this many rounds in all.
    # Countries beyond Russia the owner allows, each with its own daily cap: {"KZ": 20}.
    countries: Mapped[dict] = mapped_column(JSON, default=dict)
    # The owner's own, stricter limits, on top of the installation's:
    # {"per_number": "1/30minute", "cap": "20/hour;100/day"}.
    limits: Mapped[dict] = mapped_column(JSON, default=dict)
    group_rounds: Mapped[int] = mapped_column(default=2)
    round_pause: Mapped[int] = mapped_column(default=120)  # seconds
    active: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    # Analytics goals, triggers and the A/B test (insight/lead_settings.py); None: all off.
    lead_settings: Mapped[dict | None] = mapped_column(JSON)
    seen_on: Mapped[dict | None] = mapped_column(JSON)  # {origin: ISO time} (visitor/seen.py)
    # An installation admin lifted the new-widget cap (who: their e-mail).
    cap_lifted_at: Mapped[datetime | None]
    cap_lifted_by: Mapped[str | None] = mapped_column(String(254))
    # Bumped when what the widget's look document shows changes (visitor/look_cache.py).
    look_version: Mapped[int] = mapped_column(default=0, server_default="0")

    owner: Mapped[Owner] = relationship(back_populates="widgets")
    pbx_account: Mapped[PbxAccount] = relationship()
    offered_groups: Mapped[list[WidgetGroup]] = relationship(
        back_populates="widget", cascade="all, delete-orphan", order_by="WidgetGroup.position"
    )


class WidgetGroup(db.Model):
    """A department offered by a widget, with its visitor-facing label."""

    __tablename__ = "widget_groups"
    __table_args__ = (UniqueConstraint("widget_id", "group_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    widget_id: Mapped[int] = mapped_column(ForeignKey("widgets.id"))
    group_id: Mapped[int] = mapped_column(ForeignKey("pbx_groups.id"))
    label: Mapped[str] = mapped_column(String(120))
    label_en: Mapped[str | None] = mapped_column(String(120))  # the English widget's label
    position: Mapped[int] = mapped_column(default=0)

    widget: Mapped[Widget] = relationship(back_populates="offered_groups")
    group: Mapped[PbxGroup] = relationship()


class CallbackRequest(LeadColumns, db.Model):
    """A visitor's request to be called back, with its consent record."""

    __tablename__ = "callback_requests"
    # AUTOINCREMENT: an id sent in a link never names another visitor after a deletion.
    __table_args__ = (
        Index("ix_callback_requests_phone_created", "phone", "created_at"),
        {"sqlite_autoincrement": True},
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    # The visitor's only handle on the request (status polling): 192 random bits.
    handle: Mapped[str] = mapped_column(
        String(64), unique=True, default=lambda: secrets.token_urlsafe(24)
    )
    widget_id: Mapped[int] = mapped_column(ForeignKey("widgets.id"), index=True)
    widget_group_id: Mapped[int] = mapped_column(ForeignKey("widget_groups.id"))
    phone: Mapped[str] = mapped_column(String(20))  # E.164
    name: Mapped[str | None] = mapped_column(String(100))
    page_url: Mapped[str | None] = mapped_column(String(1000))
    origin: Mapped[str] = mapped_column(String(255))
    client_ip: Mapped[str | None] = mapped_column(String(64))
    user_agent: Mapped[str | None] = mapped_column(String(300))
    consent_text: Mapped[str] = mapped_column(Text)
    consent_at: Mapped[datetime] = mapped_column(default=utcnow)
    status: Mapped[str] = mapped_column(String(24), default="queued", index=True)
    operator_order: Mapped[list | None] = mapped_column(JSON)  # pins to try, decided once
    visitor_tz: Mapped[str | None] = mapped_column(String(64))
    scheduled_for: Mapped[datetime | None]  # a slot the visitor picked (UTC)
    # Outbox: the row says when it must be dispatched next; the queue only carries the work.
    next_dispatch_at: Mapped[datetime | None] = mapped_column(index=True)
    deadline_at: Mapped[datetime | None]  # give up on PBX failures after this
    dispatch_tries: Mapped[int] = mapped_column(default=0)  # PBX-unavailable retries so far
    round: Mapped[int] = mapped_column(default=1)  # ring round through the group
    visitor_retries: Mapped[int] = mapped_column(default=0)
    held_reason: Mapped[str | None] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)
    connected_at: Mapped[datetime | None]
    finished_at: Mapped[datetime | None]
    is_test: Mapped[bool] = mapped_column(default=False)  # the config page's "test call"

    widget: Mapped[Widget] = relationship()
    widget_group: Mapped[WidgetGroup] = relationship()
    attempts: Mapped[list[CallAttempt]] = relationship(
        back_populates="request", order_by="CallAttempt.seq", cascade="all, delete-orphan"
    )


class CallAttempt(db.Model):
    """One ``call_back`` placed for a request: one operator, then the visitor."""

    __tablename__ = "call_attempts"
    __table_args__ = (UniqueConstraint("request_id", "seq"), {"sqlite_autoincrement": True})

    id: Mapped[int] = mapped_column(primary_key=True)
    request_id: Mapped[int] = mapped_column(ForeignKey("callback_requests.id"), index=True)
    seq: Mapped[int]
    operator_pin: Mapped[str] = mapped_column(String(32))
    session_id: Mapped[str | None] = mapped_column(String(128), unique=True)
    # The id the PBX's events carry when it is not the reply's session_id.
    event_session_id: Mapped[str | None] = mapped_column(String(128), index=True)
    stage: Mapped[str] = mapped_column(String(24), default="created")
    # Furthest live stage seen, kept apart from ``stage`` because ``end`` may
    # arrive before ``connected`` and the outcome depends on both.
    reached_stage: Mapped[str] = mapped_column(String(24), default="created")
    outcome: Mapped[str | None] = mapped_column(String(32))
    pbx_result: Mapped[str | None] = mapped_column(String(32))
    pbx_message: Mapped[str | None] = mapped_column(String(500))
    disconnect_reason: Mapped[str | None] = mapped_column(String(32))
    is_record: Mapped[bool] = mapped_column(default=False)
    answered: Mapped[bool | None]
    duration: Mapped[int | None]
    call_info: Mapped[dict | None] = mapped_column(JSON)
    call_info_fetched: Mapped[bool] = mapped_column(default=False)
    call_info_tries: Mapped[int] = mapped_column(default=0, server_default="0")
    round: Mapped[int] = mapped_column(default=1)
    recording: Mapped[str | None] = mapped_column(String(16))  # pending | available | missing
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    sent_at: Mapped[datetime | None]  # call_back sent
    accepted_at: Mapped[datetime | None]  # call_back answered with a session_id
    ended_at: Mapped[datetime | None]

    request: Mapped[CallbackRequest] = relationship(back_populates="attempts")
    events: Mapped[list[CallEvent]] = relationship(
        back_populates="attempt", order_by="CallEvent.id"
    )


class CallEvent(db.Model):
    """A signed ``call_events`` webhook as received; duplicates are refused by the key."""

    __tablename__ = "call_events"
    __table_args__ = (UniqueConstraint("pbx_account_id", "session_id", "state", "event_time"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    pbx_account_id: Mapped[int] = mapped_column(ForeignKey("pbx_accounts.id"))
    attempt_id: Mapped[int | None] = mapped_column(ForeignKey("call_attempts.id"), index=True)
    session_id: Mapped[str] = mapped_column(String(128), index=True)
    state: Mapped[str] = mapped_column(String(24))
    event_time: Mapped[str] = mapped_column(String(32))  # the PBX's own timestamp string
    payload: Mapped[dict] = mapped_column(JSON)
    received_at: Mapped[datetime] = mapped_column(default=utcnow)

    attempt: Mapped[CallAttempt | None] = relationship(back_populates="events")


class Notification(db.Model):
    """A message to an owner, kept until delivered: the queue retries, the row remembers."""

    __tablename__ = "notifications"
    # AUTOINCREMENT: the id is the webhook's delivery id, unique for good.
    __table_args__ = (
        UniqueConstraint("owner_id", "kind", "dedupe_key", "channel"),
        {"sqlite_autoincrement": True},
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    owner_id: Mapped[int] = mapped_column(ForeignKey("owners.id"), index=True)
    kind: Mapped[str] = mapped_column(String(16))  # missed | failed | held | digest
    channel: Mapped[str] = mapped_column(String(16))  # email | webhook
    # Makes "tell the owner once" hold: the request id, or the digest's date.
    dedupe_key: Mapped[str] = mapped_column(String(64))
    request_id: Mapped[int | None] = mapped_column(
        ForeignKey("callback_requests.id", ondelete="SET NULL")
    )
    payload: Mapped[dict] = mapped_column(JSON)
    status: Mapped[str] = mapped_column(String(16), default="pending")  # pending | sent | failed
    tries: Mapped[int] = mapped_column(default=0)
    last_error: Mapped[str | None] = mapped_column(String(500))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    sent_at: Mapped[datetime | None]


class NumberBlock(db.Model):
    """A number that must not be called: everywhere (opt-out, no owner) or for one owner.

    Holds a keyed hash of the number, never the number itself.
    """

    __tablename__ = "number_blocks"
    __table_args__ = (UniqueConstraint("number_hash", "owner_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    number_hash: Mapped[str] = mapped_column(String(64), index=True)
    owner_id: Mapped[int | None] = mapped_column(ForeignKey("owners.id", ondelete="CASCADE"))
    source: Mapped[str] = mapped_column(String(16))  # opt_out | owner | junk
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
