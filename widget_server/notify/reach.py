"""Will a person hear of a request nobody answered? The visitor is promised a call back
only when so (``visitor/status.py``), and the config page warns when not (the banner)."""

from __future__ import annotations

from ..models import Owner
from .channels import linked


def someone_will_hear(owner: Owner | None) -> bool:
    """True when at least one of the owner's channels can deliver right now: e-mail with
    SMTP configured, the webhook, a linked Telegram chat with a bot, Bitrix24 or amoCRM."""
    return owner is not None and bool(linked(owner))
