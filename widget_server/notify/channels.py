"""Which channels an owner is told through, for which events, and who sends each.

Events (``Notification.kind``): ``new`` (a request was taken), ``missed``, ``failed``,
``held``, ``digest`` and ``ended`` (the call is over, for the CRMs' outcome note).

* e-mail and the signed webhook: ``missed``, ``failed``, ``held``, ``digest`` (as before);
* Telegram: ``new``, ``missed``, ``failed``, ``held``, and ``digest`` if the owner wants it;
* Bitrix24 and amoCRM: ``new`` (a lead) and ``ended`` (the outcome on it).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from ..models import Owner
from .amocrm import send_amocrm
from .bitrix24 import send_bitrix24
from .email import send_email, smtp_configured
from .telegram import send_telegram, telegram_configured
from .webhook import send_webhook

log = logging.getLogger(__name__)

ALERTS = frozenset({"missed", "failed", "held", "digest"})
CRM = frozenset({"new", "ended"})
TELEGRAM = frozenset({"new", "missed", "failed", "held"})
KINDS = tuple(sorted(ALERTS | CRM))
CHANNELS = ("email", "webhook", "telegram", "bitrix24", "amocrm")

SENDERS: dict[str, Callable[[dict[str, Any]], Any]] = {
    "email": send_email,
    "webhook": send_webhook,
    "telegram": send_telegram,
    "bitrix24": send_bitrix24,
    "amocrm": send_amocrm,
}

_smtp_warned = False


def linked(owner: Owner) -> list[str]:
    """The channels that can deliver to this owner right now."""
    global _smtp_warned
    found = []
    if owner.notify_email:
        if smtp_configured():
            found.append("email")
        elif not _smtp_warned:
            _smtp_warned = True
            log.warning(
                "owners want e-mail notifications but WIDGET_SMTP_HOST is not set: "
                "no e-mail is sent"
            )
    if owner.webhook_url and owner.webhook_secret:
        found.append("webhook")
    if owner.telegram_chat_id and telegram_configured():
        found.append("telegram")
    if owner.bitrix24_url:
        found.append("bitrix24")
    if owner.amocrm_subdomain and owner.amocrm_token:
        found.append("amocrm")
    return found


def wants(owner: Owner, channel: str, kind: str) -> bool:
    """Whether ``channel`` carries ``kind`` for this owner."""
    if channel in ("email", "webhook"):
        return kind in ALERTS
    if channel == "telegram":
        return kind in TELEGRAM or (kind == "digest" and owner.telegram_digest)
    return kind in CRM


def channels_for(owner: Owner, kind: str) -> list[str]:
    return [channel for channel in linked(owner) if wants(owner, channel, kind)]


def send(message: dict[str, Any]) -> Any:
    """Deliver one message by its channel; what the channel made (a lead id) or None."""
    return SENDERS[message["channel"]](message)


def owner_fields(owner: Owner) -> dict[str, Any]:
    """What the senders need of the owner, read before the network call."""
    return {
        "owner_id": owner.id,
        "email": owner.notify_email,
        "language": owner.language,
        "webhook_url": owner.webhook_url,
        "webhook_secret": owner.webhook_secret,
        "telegram_chat_id": owner.telegram_chat_id,
        "bitrix24_url": owner.bitrix24_url,
        "amocrm_subdomain": owner.amocrm_subdomain,
        "amocrm_token": owner.amocrm_token,
    }
