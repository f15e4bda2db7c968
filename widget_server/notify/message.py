"""What every notification module shares: the timestamp format and the delivery error."""

from __future__ import annotations

from datetime import datetime


class DeliveryError(Exception):
    """A notification could not be delivered this time."""


def iso(value: datetime | None) -> str | None:
    """Naive UTC → ``2026-03-10T12:00:00Z`` (what payloads and webhooks carry)."""
    return None if value is None else value.isoformat(timespec="seconds") + "Z"


def parse_naive(value: str) -> datetime:
    """The reverse of ``iso``: naive UTC again."""
    return datetime.fromisoformat(value.removesuffix("Z"))
