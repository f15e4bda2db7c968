"""The notification jobs and their schedules, for ``dispatch.queue.init_queue``."""

from __future__ import annotations

from typing import Any

from huey import crontab

from ..dispatch.queue import NOTICE
from .digest import send_daily_digests
from .outbox import deliver_notification, sweep_notifications
from .telegram_link import poll_quietly


def register_tasks(huey, in_app) -> dict[str, Any]:
    """Deliver one notification; sweep for due ones every minute; the digest from 05:00 UTC;
    the Telegram bot's updates every minute."""
    return {
        "deliver_notification": huey.task(name="deliver_notification", priority=NOTICE)(
            in_app(deliver_notification)
        ),
        "sweep_notifications": huey.periodic_task(crontab(minute="*"), name="sweep_notifications")(
            in_app(sweep_notifications)
        ),
        "send_daily_digests": huey.periodic_task(
            crontab(minute="0", hour="5-23"), name="send_daily_digests"
        )(in_app(send_daily_digests)),
        # The bot's /start messages (linking chats): telegram_link.py says why polling.
        "poll_telegram": huey.periodic_task(crontab(minute="*"), name="poll_telegram")(
            in_app(poll_quietly)
        ),
    }
