"""Rostelecom request signing: ``sha256hex(client_id + raw_body + sign_key)``.

The same scheme signs our requests to the PBX and the PBX's webhooks to us.
It is a keyed hash, not HMAC, and covers the exact bytes on the wire, so we
always sign the bytes we send and verify the bytes we received.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from typing import Any


def sign(client_id: str, body: bytes, sign_key: str) -> str:
    """Return the lower-case hex signature of ``body``."""
    digest = hashlib.sha256()
    digest.update(client_id.encode("utf-8"))
    digest.update(body)
    digest.update(sign_key.encode("utf-8"))
    return digest.hexdigest()


def verify(client_id: str, body: bytes, sign_key: str, signature: str | None) -> bool:
    """Check ``signature`` over ``body`` in constant time; fail closed on blanks."""
    if not client_id or not sign_key or not signature:
        return False
    expected = sign(client_id, body, sign_key)
    # Compared as bytes: compare_digest raises TypeError on non-ASCII str, and a
    # header is whatever the sender put there.
    candidate = signature.strip().lower().encode("utf-8", "replace")
    return hmac.compare_digest(expected.encode("ascii"), candidate)


def encode_body(payload: dict[str, Any]) -> bytes:
    """Serialise a payload once; the result is what gets signed and sent."""
    return json.dumps(payload, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


def signed_headers(client_id: str, body: bytes, sign_key: str) -> dict[str, str]:
    """Headers for a signed JSON request carrying ``body``."""
    return {
        "Content-Type": "application/json; charset=utf-8",
        "X-Client-ID": client_id,
        "X-Client-Sign": sign(client_id, body, sign_key),
    }
