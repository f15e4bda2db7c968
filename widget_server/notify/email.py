"""Owner e-mail over SMTP; the text comes from ``templates/notify/*.txt``.

The templates are written in Russian (the source language) and go through
gettext: each message is rendered in the owner's language (``Owner.language``)
with ``flask_babel.force_locale``, so an English owner reads the English catalog.
"""

from __future__ import annotations

import re
import smtplib
import ssl
from datetime import UTC, date, datetime
from email.message import EmailMessage
from email.utils import format_datetime, parseaddr
from typing import Any
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

import phonenumbers
from flask import current_app, render_template
from flask_babel import force_locale

from .message import DeliveryError, parse_naive

_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
# Request times are shown in the widget's zone; Moscow when it has none (or a bad one).
_MOSCOW = ZoneInfo("Europe/Moscow")


def smtp_configured() -> bool:
    """True when an SMTP server is set (``WIDGET_SMTP_HOST``): e-mail is on."""
    return bool(current_app.config.get("SMTP_HOST"))


def send_email(message: dict[str, Any]) -> None:
    """Send one notification by SMTP; raises on any failure."""
    config = current_app.config
    host = config.get("SMTP_HOST")
    if not host:
        raise DeliveryError("SMTP not configured (WIDGET_SMTP_HOST)")
    to = message["email"]
    if not to:
        raise DeliveryError("the owner has no notification e-mail address")
    subject, body = email_text(
        message["kind"], message["payload"], language=message.get("language") or "ru"
    )
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


def email_text(kind: str, payload: dict[str, Any], *, language: str = "ru") -> tuple[str, str]:
    """Subject and plain-text body of a notification e-mail, in ``language``."""
    if kind == "digest":
        name, context = "digest", _digest_context(payload.get("digest") or {})
    else:
        name, context = "request", _request_context(kind, payload)
    with force_locale(language):
        subject = render_template(f"notify/{name}_subject.txt", **context)
        body = render_template(f"notify/{name}.txt", **context)
    return subject.strip(), body.rstrip("\n") + "\n"


def _request_context(kind: str, payload: dict[str, Any]) -> dict[str, Any]:
    req = payload.get("request") or {}
    extra = payload.get("extra") or {}
    zone = req.get("timezone")
    return {
        "kind": kind,
        "req": req,
        "widget": req.get("widget") or {},
        "phone": display_phone(req.get("phone")),
        "site": urlsplit(req.get("origin") or "").netloc or (req.get("origin") or ""),
        "created": _local_time(req.get("created_at"), zone),
        "scheduled": _local_time(req.get("scheduled_for"), zone)
        if req.get("scheduled_for")
        else "",
        "attempts": req.get("attempts") or [],
        "reason": extra.get("reason"),
        "others": {k: v for k, v in extra.items() if k != "reason"},
    }


def _digest_context(digest: dict[str, Any]) -> dict[str, Any]:
    return {
        "day": date.fromisoformat(digest["date"]).strftime("%d.%m.%Y"),
        "totals": digest.get("totals") or {},
        "widgets": digest.get("widgets") or [],
    }


def _local_time(iso: str | None, tz_name: str | None) -> str:
    if not iso:
        return "—"
    try:
        zone = ZoneInfo(tz_name or "Europe/Moscow")
    except (KeyError, ValueError):
        zone = _MOSCOW
    moment = parse_naive(iso).replace(tzinfo=UTC).astimezone(zone)
    return f"{moment:%d.%m.%Y %H:%M} ({zone.key})"
