"""Will a person hear of a request nobody answered? The visitor is promised a call back
only when so (``visitor/status.py``), and the config page warns when not (the banner)."""

from __future__ import annotations

from sqlalchemy import and_, case, func, select

from ..extensions import db
from ..models import Notification, Owner
from .channels import linked


def failing(owner: Owner) -> set[str]:
    """The channels that could not deliver their latest message (it is kept for another
    try) and have delivered nothing since it was made: a refused token, a dead CRM. The
    messages still go to them, so one getting through puts the channel back."""
    if owner.id is None:  # not saved yet: nothing was ever sent
        return set()
    not_delivered = and_(Notification.status != "sent", Notification.last_error.is_not(None))
    rows = db.session.execute(
        select(
            Notification.channel,
            func.max(case((not_delivered, Notification.created_at))),
            func.max(case((Notification.status == "sent", Notification.sent_at))),
        )
        .where(Notification.owner_id == owner.id)
        .group_by(Notification.channel)
    ).all()
    return {channel for channel, error, sent in rows if error and (sent is None or sent < error)}


def someone_will_hear(owner: Owner | None) -> bool:
    """True when at least one of the owner's channels can deliver right now: e-mail with
    SMTP configured, the webhook, a linked Telegram chat with a bot, Bitrix24 or amoCRM,
    and it is not failing."""
    if owner is None:
        return False
    channels = linked(owner)
    return bool(channels) and bool(set(channels) - failing(owner))
