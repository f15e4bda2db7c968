"""The signed webhook to the owner's CRM.

Signature: ``X-Widget-Signature: sha256=<hex>``, the HMAC-SHA256 of the raw
request body keyed with the owner's webhook secret (the hex string as printed by
``set-notifications``, UTF-8). ``X-Widget-Delivery`` is the notification id, the
same on every retry, so a receiver can drop repeats.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from typing import Any

from .. import outbound
from .message import DeliveryError, iso

WEBHOOK_TIMEOUT = (3, 10)  # connect, read


def webhook_body(message: dict[str, Any]) -> bytes:
    """The JSON the owner's CRM receives (no delivery bookkeeping)."""
    payload = message["payload"]
    body: dict[str, Any] = {
        "event": message["kind"],
        "id": message["id"],
        "created_at": iso(message["created_at"]),
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
    url, secret = message["webhook_url"], message["webhook_secret"]
    if not url or not secret:
        raise DeliveryError("the owner has no webhook URL and secret")
    body = webhook_body(message)
    # The owner typed this address: public addresses only, the one checked, no redirects.
    with outbound.session(WEBHOOK_TIMEOUT) as http:
        try:
            response = http.post(
                url,
                data=body,
                headers={
                    "Content-Type": "application/json",
                    "X-Widget-Event": message["kind"],
                    "X-Widget-Delivery": str(message["id"]),
                    "X-Widget-Signature": sign(secret, body),
                },
            )
        except outbound.InvalidIPAddress:
            raise DeliveryError("the webhook address is not a public internet address") from None
        response.close()
    if not 200 <= response.status_code < 300:
        raise DeliveryError(f"the webhook answered HTTP {response.status_code}")
