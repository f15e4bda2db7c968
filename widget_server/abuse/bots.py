"""Bot defence for the create-request endpoint: form token, trap field, fill time, proof of work.

- **Form token** (issued with the widget config): signed and timestamped with itsdangerous over
  the widget's public key, the allowed origin that asked, a random nonce and the issue time.
  Valid for 10 minutes, for that widget and origin only, and once: the nonce is remembered in
  flask-limiter's storage (memory:// or Redis), so reuse is refused across processes too.
- **Trap field** ``website``: hidden from people; a filled one marks a bot (held, never dialled).
- **Step-up**: a submit less than 3 s after the token, a counter past half its limit, or an
  ``Origin``-less request (only ``Referer``) must carry a solved proof of work: a SHA-256
  hashcash (``sha256(salt + number)`` starting with ``bits`` zero bits), self-hosted, no
  third-party service. The salt is itself a signed, short-lived, single-use challenge.
"""

from __future__ import annotations

import hashlib
import logging
import secrets
import time
from dataclasses import dataclass
from typing import Any

from flask import current_app
from itsdangerous import BadSignature, URLSafeTimedSerializer

from ..extensions import limiter

log = logging.getLogger(__name__)

TOKEN_MAX_AGE = 600  # seconds a form token stays valid
MIN_FILL_SECONDS = 3.0  # a submit sooner than this after the token is a bot signal
CHALLENGE_MAX_AGE = 300  # seconds to solve and send back a challenge
POW_BITS = 16  # leading zero bits: ~65 000 hashes, well under a second in a browser
TRAP_FIELD = "website"

_FORM_SALT = "widget-form-token"
_CHALLENGE_SALT = "widget-pow-challenge"


def _serializer(salt: str) -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(current_app.config["SECRET_KEY"], salt=salt)


def enabled() -> bool:
    return bool(current_app.config.get("FORM_TOKENS", True))


def issue_token(widget_key: str, origin: str) -> str:
    """A form token for this widget and origin."""
    payload = {"w": widget_key, "o": origin, "n": secrets.token_urlsafe(12), "t": time.time()}
    return _serializer(_FORM_SALT).dumps(payload)


@dataclass(frozen=True)
class Token:
    nonce: str
    issued_at: float

    @property
    def age(self) -> float:
        return time.time() - self.issued_at


def _once(kind: str, nonce: str, max_age: int, *, consume: bool) -> bool:
    """True when ``nonce`` is unused; with ``consume``, atomically mark it used (any process)."""
    key = f"bot:{kind}:{nonce}"
    storage = limiter.storage
    try:
        if consume:
            return storage.incr(key, max_age) == 1
        return storage.get(key) == 0
    except Exception as exc:
        # The store is down: the signature still holds, and the dial decision fails closed
        # on its own (the request is held, never dialled), so let the request go on to it.
        log.warning("bot defence: limit store unavailable (%s)", exc.__class__.__name__)
        return True


def check_token(raw: Any, widget_key: str, origin: str) -> Token | None:
    """The token's claims when it is valid for this widget and origin and not used yet."""
    if not isinstance(raw, str) or not raw or len(raw) > 400:
        return None
    try:
        data = _serializer(_FORM_SALT).loads(raw, max_age=TOKEN_MAX_AGE)
    except BadSignature:  # also SignatureExpired
        return None
    if not isinstance(data, dict) or data.get("w") != widget_key or data.get("o") != origin:
        return None
    nonce, issued = data.get("n"), data.get("t")
    if not isinstance(nonce, str) or not isinstance(issued, int | float):
        return None
    if not _once("token", nonce, TOKEN_MAX_AGE, consume=False):
        return None
    return Token(nonce, float(issued))


def consume_token(token: Token) -> bool:
    """Use the token up; False when another request used it first."""
    return _once("token", token.nonce, TOKEN_MAX_AGE, consume=True)


def trapped(data: dict[str, Any]) -> bool:
    """The hidden trap field was filled in: no person sees it."""
    value = data.get(TRAP_FIELD)
    return value not in (None, "") and not (isinstance(value, str) and not value.strip())


def signals(
    token: Token | None, pressure: bool, *, origin: str | None, referer: str | None
) -> list[str]:
    """The reasons to ask this request for a proof of work (empty: none).

    ``origin`` and ``referer`` are the request's headers as sent (None when missing).
    """
    found = []
    if current_app.config.get("BOT_CHALLENGE_ALWAYS"):  # tests only
        found.append("always")
    if token is not None and token.age < MIN_FILL_SECONDS:
        found.append("fast submit")
    if pressure:
        found.append("limits under pressure")
    if not origin and referer:
        found.append("no origin")
    return found


def _bits() -> int:
    return max(1, min(32, int(current_app.config.get("BOT_POW_BITS", POW_BITS))))


def new_challenge(widget_key: str) -> dict[str, Any]:
    """A challenge for the widget to solve: find ``number`` for ``salt`` and ``bits``."""
    bits = _bits()
    salt = _serializer(_CHALLENGE_SALT).dumps(
        {"w": widget_key, "b": bits, "n": secrets.token_urlsafe(12)}
    )
    return {"algorithm": "SHA-256", "salt": salt, "bits": bits, "expires_in": CHALLENGE_MAX_AGE}


def leading_zero_bits(digest: bytes) -> int:
    value = int.from_bytes(digest, "big")
    return len(digest) * 8 - value.bit_length()


def check_pow(raw: Any, widget_key: str) -> bool:
    """A solved, signed, unexpired challenge of this widget, used here for the first time."""
    if not isinstance(raw, dict):
        return False
    salt, number = raw.get("salt"), raw.get("number")
    if not isinstance(salt, str) or len(salt) > 400:
        return False
    if isinstance(number, bool) or not isinstance(number, int) or not 0 <= number < 2**40:
        return False
    try:
        data = _serializer(_CHALLENGE_SALT).loads(salt, max_age=CHALLENGE_MAX_AGE)
    except BadSignature:
        return False
    if not isinstance(data, dict) or data.get("w") != widget_key:
        return False
    bits, nonce = data.get("b"), data.get("n")
    if not isinstance(bits, int) or not isinstance(nonce, str):
        return False
    digest = hashlib.sha256(f"{salt}{number}".encode()).digest()
    if leading_zero_bits(digest) < bits:
        return False
    return _once("pow", nonce, CHALLENGE_MAX_AGE, consume=True)
