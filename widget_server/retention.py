"""Retention: visitors' numbers and consent records are kept only as long as the owner says.

``purge_expired`` (hourly) deletes every request older than its owner's
``retention_days`` together with everything that repeats the number: its call
attempts, their PBX events and the notifications about it. ``forget_number``
deletes one visitor's data at once, on request; ``delete_owner`` an owner with
everything theirs.

Bulk deletes in batches of request ids, children first, so foreign keys hold on
SQLite and PostgreSQL alike and no transaction grows without bound. Events of the
domain's other calls are never stored (``dispatch.events``); the few kept while they might
still be ours are dropped after minutes (``prune_orphan_events``).
Deleted rows are overwritten in SQLite's file (``secure_delete``) and its WAL is emptied
after them (``database.forget_copies``), so no copy of a forgotten number stays on disk.
"""

from __future__ import annotations

import logging
import time
from datetime import datetime, timedelta
from typing import Any

from huey import crontab
from sqlalchemy import delete, select

from .database import forget_copies
from .extensions import db
from .models import (
    CallAttempt,
    CallbackRequest,
    CallEvent,
    Notification,
    NumberBlock,
    Owner,
    PbxExchange,
    Widget,
    utcnow,
)
from .pbx import exchanges
from .phones import mask_phone

log = logging.getLogger(__name__)

BATCH_SIZE = 500


def delete_requests(request_ids: list[int]) -> int:
    """Delete these requests with their attempts, events and notifications; no commit."""
    if not request_ids:
        return 0
    attempt_ids = select(CallAttempt.id).where(CallAttempt.request_id.in_(request_ids))
    options = {"synchronize_session": False}
    db.session.execute(
        delete(CallEvent).where(CallEvent.attempt_id.in_(attempt_ids)).execution_options(**options)
    )
    db.session.execute(
        delete(Notification)
        .where(Notification.request_id.in_(request_ids))
        .execution_options(**options)
    )
    db.session.execute(
        delete(CallAttempt)
        .where(CallAttempt.request_id.in_(request_ids))
        .execution_options(**options)
    )
    return db.session.execute(
        delete(CallbackRequest)
        .where(CallbackRequest.id.in_(request_ids))
        .execution_options(**options)
    ).rowcount


def _delete_in_batches(query, batch_size: int) -> int:
    """Delete the requests ``query`` selects (ids), a batch per transaction."""
    deleted = 0
    while True:
        ids = list(db.session.scalars(query.order_by(CallbackRequest.id).limit(batch_size)))
        if not ids:
            db.session.commit()
            return deleted
        deleted += delete_requests(ids)
        db.session.commit()  # expires what the session holds: deleted rows are not reused
        # A turn for the others between batches: with the queue inside the web worker
        # (gevent's patched sleep), live status streams and requests run meanwhile.
        time.sleep(0)


def purge_expired(*, now: datetime | None = None, batch_size: int = BATCH_SIZE) -> int:
    """Delete every owner's requests older than their retention period; return how many."""
    now = now or utcnow()
    owners = db.session.execute(select(Owner.id, Owner.retention_days).order_by(Owner.id)).all()
    total = 0
    for owner_id, retention_days in owners:
        cutoff = now - timedelta(days=retention_days or 30)
        query = (
            select(CallbackRequest.id)
            .join(Widget, CallbackRequest.widget_id == Widget.id)
            .where(Widget.owner_id == owner_id, CallbackRequest.created_at < cutoff)
        )
        deleted = _delete_in_batches(query, batch_size)
        # Notifications outlive nothing either: digests, and rows whose request went.
        old_notifications = db.session.execute(
            delete(Notification)
            .where(Notification.owner_id == owner_id, Notification.created_at < cutoff)
            .execution_options(synchronize_session=False)
        ).rowcount
        db.session.commit()
        if deleted or old_notifications:
            log.info(
                "retention: owner %s, %s requests and %s notifications older than %s days deleted",
                owner_id,
                deleted,
                old_notifications,
                retention_days,
            )
        total += deleted
    # The raw PBX exchanges of the first-call check hold numbers too.
    exchanges.purge_expired(now=now)
    # The WAL still holds the deleted rows as they were (requests, notifications and
    # exchanges alike); once an hour, emptying it is cheap.
    forget_copies(db.engine)
    return total


def forget_number(owner_id: int, phone_e164: str) -> int:
    """Delete everything of one owner's about one number; return how many requests went.

    Commits. Other owners' requests with the same number are not touched.
    """
    query = (
        select(CallbackRequest.id)
        .join(Widget, CallbackRequest.widget_id == Widget.id)
        .where(Widget.owner_id == owner_id, CallbackRequest.phone == phone_e164)
    )
    deleted = _delete_in_batches(query, BATCH_SIZE)
    exchanges.forget_number(owner_id, phone_e164)
    forget_copies(db.engine)  # the WAL still holds the deleted rows as they were
    log.info("owner %s: %s requests of %s forgotten", owner_id, deleted, mask_phone(phone_e164))
    return deleted


def delete_owner(owner: Owner) -> None:
    """Delete an owner with everything theirs: requests, calls, widgets, PBX accounts."""
    widget_ids = select(Widget.id).where(Widget.owner_id == owner.id)
    account_ids = [a.id for a in owner.pbx_accounts]
    while ids := list(
        db.session.scalars(
            select(CallbackRequest.id).where(CallbackRequest.widget_id.in_(widget_ids)).limit(500)
        )
    ):
        delete_requests(ids)
    if account_ids:
        db.session.execute(delete(CallEvent).where(CallEvent.pbx_account_id.in_(account_ids)))
        db.session.execute(delete(PbxExchange).where(PbxExchange.pbx_account_id.in_(account_ids)))
    db.session.execute(delete(Notification).where(Notification.owner_id == owner.id))
    db.session.execute(delete(NumberBlock).where(NumberBlock.owner_id == owner.id))
    db.session.expire_all()
    for widget in list(owner.widgets):
        db.session.delete(widget)
    db.session.flush()  # widgets point at PBX groups: they go first
    for account in list(owner.pbx_accounts):
        db.session.delete(account)
    db.session.flush()
    db.session.delete(owner)
    db.session.commit()


def register_tasks(huey, in_app) -> dict[str, Any]:
    """The retention task, for ``dispatch.queue.init_queue``."""
    return {
        "purge_expired": huey.periodic_task(crontab(minute="17"), name="purge_expired")(
            in_app(purge_expired)
        ),
    }
