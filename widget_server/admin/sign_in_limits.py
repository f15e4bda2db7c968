"""Failed sign-ins slow the guesser, not the owner.

Failures are counted per e-mail *and* client address (``RATELIMIT_SIGNIN_EMAIL``),
so an attacker's address waits after a few wrong passwords while the owner,
signing in from elsewhere, does not. A global ceiling per e-mail (``CEILING_FACTOR``
times as many failures in the same window) stops a guesser who spreads over many
addresses: over it, every address that has already failed for that e-mail waits
too, but an address that has not failed may still try, so the owner is never
locked out by someone else's guessing.
"""

from __future__ import annotations

import hashlib
import hmac
import math
import time

from flask import current_app
from limits import RateLimitItem, parse_many
from werkzeug.exceptions import TooManyRequests

from ..extensions import limiter

# The per-e-mail ceiling, as a multiple of the per-address allowance.
CEILING_FACTOR = 10


class SignInThrottled(TooManyRequests):
    """Too many failed sign-ins: ``retry_after`` seconds to wait."""

    def __init__(self, retry_after: int):
        super().__init__()
        self.retry_after = retry_after


def _email_id(email: str) -> str:
    # A keyed digest, so the limiter's storage (maybe a shared Redis) holds no addresses.
    key = str(current_app.config["SECRET_KEY"]).encode()
    return hmac.new(key, email.encode(), hashlib.sha256).hexdigest()[:32]


def _limits() -> tuple[list[RateLimitItem], list[RateLimitItem]]:
    per_address = parse_many(current_app.config["RATELIMIT_SIGNIN_EMAIL"])
    ceiling = [type(item)(item.amount * CEILING_FACTOR, item.multiples) for item in per_address]
    return per_address, ceiling


def _keys(email: str, address: str) -> tuple[tuple[str, ...], tuple[str, ...]]:
    email_id = _email_id(email)
    return ("admin-signin-pair", email_id, address), ("admin-signin-email", email_id)


def _wait(items: list[RateLimitItem], keys: tuple[str, ...]) -> int:
    reset = max(limiter.limiter.get_window_stats(item, *keys).reset_time for item in items)
    return max(1, math.ceil(reset - time.time()))


def check(email: str, address: str) -> None:
    """Refuse (before any password is checked) when this address must wait.

    :raise SignInThrottled: too many failures from this address, or past the
        e-mail's ceiling from an address that has failed before.
    """
    if not limiter.enabled:
        return
    per_address, ceiling = _limits()
    pair_keys, email_keys = _keys(email, address)
    strategy = limiter.limiter
    if not all(strategy.test(item, *pair_keys) for item in per_address):
        raise SignInThrottled(_wait(per_address, pair_keys))
    has_failed = any(
        strategy.get_window_stats(item, *pair_keys).remaining < item.amount for item in per_address
    )
    if has_failed and not all(strategy.test(item, *email_keys) for item in ceiling):
        raise SignInThrottled(_wait(ceiling, email_keys))


def record_failure(email: str, address: str) -> None:
    """Count one wrong password for this e-mail from this address."""
    if not limiter.enabled:
        return
    per_address, ceiling = _limits()
    pair_keys, email_keys = _keys(email, address)
    for item in per_address:
        limiter.limiter.hit(item, *pair_keys)
    for item in ceiling:
        limiter.limiter.hit(item, *email_keys)
