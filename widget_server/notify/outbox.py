"""Telling the site owner: e-mail (SMTP) and a signed webhook to the owner's CRM.

Events (``kind``): ``missed`` (nobody reached the visitor), ``failed`` (the PBX failed
past the deadline), ``held`` (the request was stored but not dialled) and ``digest``
(yesterday's summary).

Outbox: ``record`` adds one ``Notification`` row per channel the owner has set up, in
the caller's transaction, with the whole message built at that moment; ``kick`` after
the caller's commit starts delivery at once. Delivery is at least once: a row stays
``pending`` and is retried with capped exponential backoff for two days, and a sweep
every minute finds due rows in the database, so a restart (which loses huey's
in-memory schedule on the SQLite store) or a mail server outage only delays mail.

This is the one place where a visitor's full number leaves the system: the owner
must be able to call back. It is never logged.

Webhook signature: ``X-Widget-Signature: sha256=<hex>``, the HMAC-SHA256 of the raw
request body keyed with the owner's webhook secret (the hex string as printed by
``set-notifications``, UTF-8). ``X-Widget-Delivery`` is the notification id, the same
on every retry, so a receiver can drop repeats.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import random
import re
import secrets
import smtplib
import ssl
from datetime import UTC, date, datetime, time, timedelta
from email.message import EmailMessage
from email.utils import format_datetime, parseaddr
from typing import Any
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

import phonenumbers
import requests
from flask import current_app
from sqlalchemy import or_, select, update

from ..extensions import db
from ..models import CallbackRequest, Notification, Owner, Widget, utcnow
from ..ops.logs import mask_text

log = logging.getLogger(__name__)

KINDS = ("missed", "failed", "held", "digest")
CHANNELS = ("email", "webhook")
# Retry delays: 30 s, 1 min, 2 min … doubling, capped at 30 min, each with up to 25 % jitter.
BACKOFF_FIRST = 30
BACKOFF_CAP = 1800
GIVE_UP_AFTER = timedelta(days=2)
# A scheduled retry may run a moment before its stored time.
EARLY_TOLERANCE = timedelta(seconds=2)
WEBHOOK_TIMEOUT = (3, 10)  # connect, read
# "Yesterday" for the digest is a Moscow day; it is sent at 05:00 UTC = 08:00 Moscow.
DIGEST_TZ = ZoneInfo("Europe/Moscow")
MISSED_STATUSES = ("no_operator", "visitor_busy", "visitor_no_answer")

_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
_LOCAL_HOSTS = {"127.0.0.1", "localhost", "::1"}
_smtp_warned = False


# -- recording (the caller's transaction) --------------------------------------------
def record(
    owner_id: int,
    kind: str,
    *,
    request_id: int | None = None,
    dedupe_key: str | None = None,
    extra: dict | None = None,
) -> list[Notification]:
    """Add a notification for each channel the owner has set up; the caller commits.

    Tell once: a row with the same (owner, kind, dedupe_key, channel) is never added
    twice; ``dedupe_key`` defaults to the request id. Returns the rows added now
    (empty when the owner has no channel or was told already).

    Two callers racing for the same key must serialise themselves (``ringing`` holds
    the request's row lock); the check here is a plain query, so it never breaks the
    caller's transaction with an IntegrityError.
    """
    if kind not in KINDS:
        raise ValueError(f"unknown notification kind {kind!r}")
    if dedupe_key is None:
        if request_id is None:
            raise ValueError("a notification needs a request_id or a dedupe_key")
        dedupe_key = str(request_id)
    owner = db.session.get(Owner, owner_id)
    if owner is None:
        log.warning("notification %s for unknown owner %s dropped", kind, owner_id)
        return []
    payload: dict[str, Any] = {}
    if request_id is not None:
        req = db.session.get(CallbackRequest, request_id)
        if req is None:
            log.warning("notification %s for unknown request %s dropped", kind, request_id)
            return []
        payload["request"] = request_summary(req)
    if extra:
        payload["extra"] = dict(extra)
    return _add(owner, kind, str(dedupe_key), payload, request_id)


def _add(
    owner: Owner, kind: str, dedupe_key: str, payload: dict[str, Any], request_id: int | None
) -> list[Notification]:
    channels = owner_channels(owner)
    if not channels:
        return []
    done = set(
        db.session.scalars(
            select(Notification.channel).where(
                Notification.owner_id == owner.id,
                Notification.kind == kind,
                Notification.dedupe_key == dedupe_key,
            )
        )
    )
    added = []
    for channel in channels:
        if channel in done:
            continue
        row = Notification(
            owner_id=owner.id,
            kind=kind,
            channel=channel,
            dedupe_key=dedupe_key[:64],
            request_id=request_id,
            payload=payload,
            status="pending",
            tries=0,
            created_at=utcnow(),
        )
        db.session.add(row)
        added.append(row)
    if added:
        log.info(
            "notification %s for owner %s recorded (%s)",
            kind,
            owner.id,
            ", ".join(r.channel for r in added),
        )
    return added


def owner_channels(owner: Owner) -> list[str]:
    """The channels an owner can be told through right now."""
    global _smtp_warned
    channels = []
    if owner.notify_email:
        if smtp_configured():
            channels.append("email")
        elif not _smtp_warned:
            _smtp_warned = True
            log.warning(
                "owners want e-mail notifications but WIDGET_SMTP_HOST is not set: "
                "no e-mail is sent"
            )
    if owner.webhook_url and owner.webhook_secret:
        channels.append("webhook")
    return channels


def smtp_configured() -> bool:
    return bool(current_app.config.get("SMTP_HOST"))


def request_summary(req: CallbackRequest) -> dict[str, Any]:
    """What the owner gets about a request, the full number included."""
    widget: Widget = req.widget
    return {
        "id": req.id,
        "widget": {"key": widget.public_key, "name": widget.name or ""},
        "origin": req.origin,
        "page_url": req.page_url,
        "phone": req.phone,  # E.164: the owner calls back
        "name": req.name,
        "department": req.widget_group.label if req.widget_group else None,
        "status": req.status,
        "held_reason": req.held_reason,
        "created_at": _iso(req.created_at),
        "scheduled_for": _iso(req.scheduled_for),
        "timezone": widget.timezone,
        "attempts": [
            {
                "operator_pin": a.operator_pin,
                "outcome": a.outcome,
                "duration": a.duration,
                "sent_at": _iso(a.sent_at),
            }
            for a in req.attempts
        ],
    }


def _iso(value: datetime | None) -> str | None:
    return None if value is None else value.isoformat(timespec="seconds") + "Z"


def kick() -> None:
    """After the caller's commit: start delivering now (the minute sweep catches up anyway)."""
    from ..dispatch.queue import queue

    try:
        queue().sweep_notifications()
    except Exception:
        log.warning("could not enqueue the notification sweep; the periodic one will run")


# -- delivery ------------------------------------------------------------------------
class DeliveryError(Exception):
    """A notification could not be delivered this time."""


def backoff(tries: int) -> float:
    """Seconds before the next try after ``tries`` tries: 30 s doubling to 30 min, + jitter."""
    base = min(BACKOFF_CAP, BACKOFF_FIRST * 2 ** max(0, tries - 1))
    return base * (1 + random.SystemRandom().uniform(0, 0.25))


def next_try_at(notification: Notification) -> datetime:
    """When a pending notification is due: stored with each try, else at once."""
    stored = (notification.payload or {}).get("delivery", {}).get("next_try_at")
    return _parse_naive(stored) if stored else notification.created_at


def _parse_naive(value: str) -> datetime:
    return datetime.fromisoformat(value.removesuffix("Z"))


def _with_next_try(payload: dict[str, Any], when: datetime) -> dict[str, Any]:
    # A new dict: the JSON column only notices reassignment.
    return {**(payload or {}), "delivery": {"next_try_at": _iso(when)}}


def deliver_notification(notification_id: int, *, now: datetime | None = None) -> str:
    """Send one notification; on failure keep it pending and schedule the next try.

    Returns what happened: ``sent``, ``retry``, ``failed`` or ``skipped`` (already
    sent, not due yet, or another worker has this try).
    """
    from ..dispatch.queue import queue

    now = now or utcnow()
    row = db.session.get(Notification, notification_id, populate_existing=True)
    if row is None or row.status != "pending" or next_try_at(row) > now + EARLY_TOLERANCE:
        db.session.rollback()
        return "skipped"
    # Claim this try: ``tries`` is the optimistic lock, and the next try time moves
    # ahead so a sweep running meanwhile leaves the row alone. A worker dying while
    # sending just makes the row due again later.
    tries = row.tries
    claimed = db.session.execute(
        update(Notification)
        .where(
            Notification.id == notification_id,
            Notification.status == "pending",
            Notification.tries == tries,
        )
        .values(
            tries=tries + 1,
            payload=_with_next_try(row.payload, now + timedelta(seconds=backoff(tries + 1))),
        )
        .execution_options(synchronize_session=False)
    ).rowcount
    if not claimed:
        db.session.rollback()
        return "skipped"
    owner = db.session.get(Owner, row.owner_id)
    message = {
        "id": row.id,
        "kind": row.kind,
        "channel": row.channel,
        "payload": dict(row.payload or {}),
        "created_at": row.created_at,
        "email": owner.notify_email,
        "webhook_url": owner.webhook_url,
        "webhook_secret": owner.webhook_secret,
    }
    created_at = row.created_at
    db.session.commit()  # no transaction stays open across the network call

    try:
        if message["channel"] == "email":
            send_email(message)
        else:
            send_webhook(message)
    except Exception as exc:
        error = mask_text(_describe(exc))[:500]
        row = db.session.get(Notification, notification_id, populate_existing=True)
        row.last_error = error
        if now - created_at >= GIVE_UP_AFTER:
            row.status = "failed"
            db.session.commit()
            log.error(
                "notification %s (%s by %s) undelivered after %s tries, given up: %s",
                notification_id,
                message["kind"],
                message["channel"],
                row.tries,
                error,
            )
            return "failed"
        when = now + timedelta(seconds=backoff(row.tries))
        row.payload = _with_next_try(row.payload, when)
        db.session.commit()
        log.warning(
            "notification %s (%s by %s) not delivered (try %s): %s; next try at %s",
            notification_id,
            message["kind"],
            message["channel"],
            row.tries,
            error,
            _iso(when),
        )
        try:
            queue().deliver_notification.schedule(
                args=(notification_id,), eta=when.replace(tzinfo=UTC)
            )
        except Exception:
            log.warning("could not schedule notification %s; the sweep will", notification_id)
        return "retry"
    row = db.session.get(Notification, notification_id, populate_existing=True)
    row.status = "sent"
    row.sent_at = now
    row.last_error = None
    db.session.commit()
    log.info(
        "notification %s (%s by %s) delivered", notification_id, message["kind"], message["channel"]
    )
    return "sent"


def _describe(exc: Exception) -> str:
    text = str(exc).strip()
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


def sweep_notifications(*, now: datetime | None = None) -> int:
    """Enqueue every pending notification that is due (runs every minute); return how many.

    The durable backstop: scheduled retries live in huey's memory on the SQLite
    store and die with the process; the rows do not.
    """
    from ..dispatch.queue import queue

    now = now or utcnow()
    rows = db.session.scalars(
        select(Notification).where(Notification.status == "pending").order_by(Notification.id)
    ).all()
    due = [r.id for r in rows if next_try_at(r) <= now]
    db.session.rollback()
    for notification_id in due:
        queue().deliver_notification(notification_id)
    if due:
        log.info("notification sweep: %s due", len(due))
    return len(due)


# -- e-mail --------------------------------------------------------------------------
def send_email(message: dict[str, Any]) -> None:
    """Send one notification by SMTP; raises on any failure."""
    config = current_app.config
    host = config.get("SMTP_HOST")
    if not host:
        raise DeliveryError("SMTP not configured (WIDGET_SMTP_HOST)")
    to = message["email"]
    if not to:
        raise DeliveryError("the owner has no notification e-mail address")
    subject, body = email_text(message["kind"], message["payload"])
    sender = _sender(config)
    domain = parseaddr(sender)[1].rpartition("@")[2] or "widget-server.invalid"
    msg = EmailMessage()
    msg["Subject"] = subject
    msg["From"] = sender
    msg["To"] = to
    msg["Date"] = format_datetime(datetime.now(UTC))
    # The same id on every try, so a mailbox can drop a repeat.
    msg["Message-ID"] = (
        f"<notification-{message['id']}.{message['created_at']:%Y%m%d%H%M%S}@{domain}>"
    )
    msg["X-Widget-Event"] = message["kind"]
    msg.set_content(body)
    smtp_send(config, msg)


def smtp_send(config, msg: EmailMessage) -> None:
    """Send one message with the WIDGET_SMTP_* settings; SMTP and socket errors propagate."""
    host, port, timeout = config["SMTP_HOST"], config["SMTP_PORT"], config["SMTP_TIMEOUT"]
    security = config["SMTP_SECURITY"]
    if security == "ssl":
        client: smtplib.SMTP = smtplib.SMTP_SSL(
            host, port, timeout=timeout, context=ssl.create_default_context()
        )
    else:
        client = smtplib.SMTP(host, port, timeout=timeout)
    with client as smtp:
        if security == "starttls":
            smtp.starttls(context=ssl.create_default_context())
        if config.get("SMTP_USER"):
            smtp.login(config["SMTP_USER"], config.get("SMTP_PASSWORD") or "")
        smtp.send_message(msg)


def _sender(config) -> str:
    if config.get("SMTP_FROM"):
        return config["SMTP_FROM"]
    user = config.get("SMTP_USER") or ""
    if _EMAIL.match(user):
        return user
    return f"widget-server@{config['SMTP_HOST']}"


def display_phone(e164: str | None) -> str:
    """``+79161234567`` → ``+7 916 123-45-67``."""
    if not e164:
        return ""
    try:
        number = phonenumbers.parse(e164, None)
    except phonenumbers.NumberParseException:
        return e164
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.INTERNATIONAL)


_SUBJECTS = {
    "missed": "Пропущенный звонок",
    "failed": "Не удалось позвонить",
    "held": "Заявка не передана операторам",
}
_WHY = {
    "no_operator": "никто из операторов отдела не ответил",
    "visitor_busy": "оператор ответил, но номер посетителя был занят",
    "visitor_no_answer": "оператор ответил, но посетитель не взял трубку",
    "pbx_error": "АТС не смогла соединить (ошибка или недоступность дольше допустимого)",
}
_WHY_KIND = {
    "missed": "дозвониться не удалось",
    "failed": "АТС не смогла выполнить звонок",
    "held": "заявка сохранена, но звонок не выполнялся",
}
_OUTCOMES = {
    "completed": "разговор состоялся",
    "no_answer": "не ответил",
    "operator_timeout": "не ответил",
    "visitor_busy": "посетитель занят",
    "visitor_no_answer": "посетитель не ответил",
    "failed": "АТС отказала",
    "pbx_unavailable": "АТС недоступна",
    "unknown": "неизвестно",
}


def email_text(kind: str, payload: dict[str, Any]) -> tuple[str, str]:
    """Subject and plain-text body (Russian) of a notification e-mail."""
    if kind == "digest":
        return _digest_text(payload.get("digest") or {})
    req = payload.get("request") or {}
    extra = payload.get("extra") or {}
    phone = display_phone(req.get("phone"))
    site = urlsplit(req.get("origin") or "").netloc or (req.get("origin") or "")
    subject = f"{_SUBJECTS.get(kind, 'Заявка')}: {phone} ({site})"
    if kind == "held":
        why = _WHY_KIND["held"]
        if req.get("held_reason"):
            why += f" ({req['held_reason']})"
    else:
        why = _WHY.get(req.get("status") or "", _WHY_KIND.get(kind, ""))
    lines = [
        f"{_SUBJECTS.get(kind, 'Заявка')} с сайта {site}.",
        f"Почему: {why}.",
        "",
        f"Номер: {phone}",
        f"Имя: {req.get('name') or '—'}",
        f"Отдел: {req.get('department') or '—'}",
        f"Виджет: {req.get('widget', {}).get('name') or '—'} ({req.get('widget', {}).get('key')})",
        f"Страница: {req.get('page_url') or req.get('origin') or '—'}",
        f"Заявка №{req.get('id')} от {_local_time(req.get('created_at'), req.get('timezone'))}",
        f"Статус: {req.get('status')}",
    ]
    if req.get("scheduled_for"):
        lines.append(f"Назначено на: {_local_time(req.get('scheduled_for'), req.get('timezone'))}")
    attempts = req.get("attempts") or []
    if attempts:
        lines += ["", "Попытки:"]
        for n, a in enumerate(attempts, 1):
            outcome = _OUTCOMES.get(a.get("outcome") or "", a.get("outcome") or "нет итога")
            duration = f", {a['duration']} с" if a.get("duration") else ""
            lines.append(f"  {n}. оператор {a.get('operator_pin')}: {outcome}{duration}")
    if extra.get("reason"):
        lines += ["", f"Подробности: {extra['reason']}"]
    others = {k: v for k, v in extra.items() if k != "reason"}
    for key, value in others.items():
        lines.append(f"{key}: {value}")
    lines += ["", "Перезвоните посетителю, пожалуйста.", "", "— widget-server"]
    return subject, "\n".join(lines) + "\n"


def _local_time(iso: str | None, tz_name: str | None) -> str:
    if not iso:
        return "—"
    try:
        zone = ZoneInfo(tz_name or "Europe/Moscow")
    except (KeyError, ValueError):
        zone = DIGEST_TZ
    moment = _parse_naive(iso).replace(tzinfo=UTC).astimezone(zone)
    return f"{moment:%d.%m.%Y %H:%M} ({zone.key})"


_DIGEST_LABELS = (
    ("total", "всего"),
    ("connected", "соединены"),
    ("missed", "пропущены"),
    ("failed", "ошибка АТС"),
    ("held", "не переданы операторам"),
    ("cancelled", "отменены"),
    ("open", "в работе"),
)


def _counts_line(counts: dict[str, int]) -> str:
    return ", ".join(f"{label}: {counts.get(key, 0)}" for key, label in _DIGEST_LABELS)


def _digest_text(digest: dict[str, Any]) -> tuple[str, str]:
    day = date.fromisoformat(digest["date"]).strftime("%d.%m.%Y")
    totals = digest.get("totals") or {}
    subject = f"Заявки за {day}: {totals.get('total', 0)}"
    lines = [f"Сводка заявок за {day} (по московскому времени).", "", _counts_line(totals), ""]
    for widget in digest.get("widgets") or []:
        lines.append(f"Виджет «{widget.get('name') or widget.get('key')}» ({widget.get('key')}):")
        lines.append(f"  {_counts_line(widget)}")
    lines += ["", "— widget-server"]
    return subject, "\n".join(lines) + "\n"


# -- webhook -------------------------------------------------------------------------
def webhook_body(message: dict[str, Any]) -> bytes:
    """The JSON the owner's CRM receives (no delivery bookkeeping)."""
    payload = message["payload"]
    body: dict[str, Any] = {
        "event": message["kind"],
        "id": message["id"],
        "created_at": _iso(message["created_at"]),
    }
    for key in ("request", "digest"):
        if key in payload:
            body[key] = payload[key]
    if payload.get("extra"):
        body["details"] = payload["extra"]
    return json.dumps(body, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


def sign(secret: str, body: bytes) -> str:
    """The ``X-Widget-Signature`` value: ``sha256=`` + hex HMAC-SHA256 of the raw body."""
    return "sha256=" + hmac.new(secret.encode("utf-8"), body, hashlib.sha256).hexdigest()


def send_webhook(message: dict[str, Any]) -> None:
    """POST one notification to the owner's webhook; 2xx is delivered, anything else raises."""
    from .. import __version__

    url, secret = message["webhook_url"], message["webhook_secret"]
    if not url or not secret:
        raise DeliveryError("the owner has no webhook URL and secret")
    body = webhook_body(message)
    response = requests.post(
        url,
        data=body,
        headers={
            "Content-Type": "application/json",
            "User-Agent": f"widget-server/{__version__}",
            "X-Widget-Event": message["kind"],
            "X-Widget-Delivery": str(message["id"]),
            "X-Widget-Signature": sign(secret, body),
        },
        timeout=WEBHOOK_TIMEOUT,
        allow_redirects=False,
    )
    response.close()
    if not 200 <= response.status_code < 300:
        raise DeliveryError(f"the webhook answered HTTP {response.status_code}")


# -- daily digest --------------------------------------------------------------------
def digest_window(now: datetime) -> tuple[date, datetime, datetime]:
    """Yesterday (a Moscow day) before naive-UTC ``now``, and its naive-UTC bounds."""
    day = now.replace(tzinfo=UTC).astimezone(DIGEST_TZ).date() - timedelta(days=1)
    start = datetime.combine(day, time(0), DIGEST_TZ).astimezone(UTC).replace(tzinfo=None)
    end = (
        datetime.combine(day + timedelta(days=1), time(0), DIGEST_TZ)
        .astimezone(UTC)
        .replace(tzinfo=None)
    )
    return day, start, end


def _category(status: str, held_reason: str | None) -> str:
    if held_reason or status == "held":
        return "held"
    if status == "finished":
        return "connected"
    if status in MISSED_STATUSES:
        return "missed"
    if status == "pbx_error":
        return "failed"
    if status == "cancelled":
        return "cancelled"
    return "open"


def digest_summary(owner_id: int, start: datetime, end: datetime) -> dict[str, Any]:
    """Counts of an owner's requests created in [start, end), in all and per widget."""
    keys = [key for key, _ in _DIGEST_LABELS]
    totals = dict.fromkeys(keys, 0)
    widgets: dict[int, dict[str, Any]] = {}
    rows = db.session.execute(
        select(
            Widget.id,
            Widget.public_key,
            Widget.name,
            CallbackRequest.status,
            CallbackRequest.held_reason,
        )
        .join(CallbackRequest, CallbackRequest.widget_id == Widget.id)
        .where(
            Widget.owner_id == owner_id,
            CallbackRequest.created_at >= start,
            CallbackRequest.created_at < end,
        )
        .order_by(Widget.id)
    ).all()
    for widget_id, key, name, status, held_reason in rows:
        entry = widgets.setdefault(
            widget_id, {"key": key, "name": name or "", **dict.fromkeys(keys, 0)}
        )
        category = _category(status, held_reason)
        for counts in (entry, totals):
            counts["total"] += 1
            counts[category] += 1
    return {"totals": totals, "widgets": list(widgets.values())}


def send_daily_digests(*, now: datetime | None = None) -> int:
    """Record yesterday's digest for every owner who wants one; return how many were added.

    Runs at 05:00 UTC and hourly after that until 23:00: the later runs catch up
    after downtime and otherwise do nothing (the date is the dedupe key). A day
    without requests sends nothing.
    """
    now = now or utcnow()
    day, start, end = digest_window(now)
    owners = db.session.scalars(
        select(Owner)
        .where(
            Owner.daily_digest.is_(True),
            or_(Owner.notify_email.is_not(None), Owner.webhook_url.is_not(None)),
        )
        .order_by(Owner.id)
    ).all()
    added = 0
    for owner in owners:
        summary = digest_summary(owner.id, start, end)
        if not summary["totals"]["total"]:
            continue
        summary = {"date": day.isoformat(), "timezone": DIGEST_TZ.key, **summary}
        added += len(_add(owner, "digest", day.isoformat(), {"digest": summary}, None))
        db.session.commit()
    db.session.commit()
    if added:
        kick()
    return added


# -- owner settings (the CLI) --------------------------------------------------------
class SettingsError(ValueError):
    """An owner's notification setting was refused; the message says what to fix."""


def validate_webhook_url(url: str) -> str:
    """https:// anywhere; http:// only to this machine (tests, a local relay)."""
    url = (url or "").strip()
    parts = urlsplit(url)
    if parts.scheme == "https" and parts.hostname:
        return url
    if parts.scheme == "http" and parts.hostname in _LOCAL_HOSTS:
        return url
    raise SettingsError(
        f"{url!r} is not a webhook URL: it must start with https:// "
        "(http:// only for 127.0.0.1 or localhost)"
    )


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
    """
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


# -- queue ---------------------------------------------------------------------------
def register_tasks(huey, in_app) -> dict[str, Any]:
    """The notification tasks, for ``tasks.init_queue``."""
    from huey import crontab

    return {
        "deliver_notification": huey.task(name="deliver_notification")(
            in_app(deliver_notification)
        ),
        "sweep_notifications": huey.periodic_task(crontab(minute="*"), name="sweep_notifications")(
            in_app(sweep_notifications)
        ),
        "send_daily_digests": huey.periodic_task(
            crontab(minute="0", hour="5-23"), name="send_daily_digests"
        )(in_app(send_daily_digests)),
    }
