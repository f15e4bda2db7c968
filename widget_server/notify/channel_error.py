"""Why a channel could not deliver, as a code the config page puts in words.

``str()`` is English for the log (never a secret: no token, no webhook code, no
number); ``code`` and ``detail`` are what the owner reads, in their language.
"""

from __future__ import annotations

from .message import DeliveryError

# code -> the log's English; the config page has its own words (admin/channels.py).
CODES = {
    "not_configured": "the channel is not set up",
    "not_linked": "no Telegram chat is linked",
    "bad_token": "the service refused the token",
    "refused": "the service refused the request",
    "http": "the service answered an error",
    "timeout": "the service did not answer in time",
    "unreachable": "could not connect to the service",
    "not_allowed": "the address is not a public internet address",
    "waiting": "waiting for the request's lead to be created first",
}


class ChannelError(DeliveryError):
    """A channel's delivery failed: ``code`` (one of CODES), the vendor's ``status`` and
    its own words (``detail``, already free of secrets)."""

    def __init__(self, code: str, *, status: int | None = None, detail: str = ""):
        self.code, self.status, self.detail = code, status, (detail or "")[:300]
        words = CODES[code]
        if status is not None:
            words += f" (HTTP {status})"
        super().__init__(f"{words}: {self.detail}" if self.detail else words)
