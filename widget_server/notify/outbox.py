"""The outbox: what the owner is to be told, delivered at least once.

Events (``kind``): ``missed`` (nobody reached the visitor), ``failed`` (the PBX failed
past the deadline), ``held`` (the request was stored but not dialled), ``digest``
(yesterday's summary, ``digest.py``), ``new`` (a request was taken) and ``ended`` (its
call is over). Channels: e-mail (``email.py``), a signed webhook (``webhook.py``),
Telegram, Bitrix24 and amoCRM; which carries what is ``channels.py``.

``record`` adds one ``Notification`` row per channel the owner has set up, in the
caller's transaction, with the whole message built at that moment; ``kick`` after
the caller's commit starts delivery at once. Delivery is at least once: a row stays
``pending`` and is retried with capped exponential backoff for two days, and a sweep
every minute finds due rows in the database, so a restart (which loses huey's
in-memory schedule on the SQLite store) or a mail server outage only delays mail.

This is the one place where a visitor's full number leaves the system: the owner
must be able to call back. It is never logged.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import select, update

from ..dispatch import retry
from ..dispatch.queue import queue
from ..extensions import db
from ..insight.source import source_of
from ..models import CallbackRequest, Notification, Owner, Widget, utcnow
from ..ops.logs import mask_text
from . import channels
from .message import iso, parse_naive

log = logging.getLogger(__name__)

KINDS = channels.KINDS
CHANNELS = channels.CHANNELS
# Retry delays: 30 s, 1 min, 2 min … doubling, capped at 30 min, each with up to 25 % jitter.
GIVE_UP_AFTER = timedelta(days=2)
# A scheduled retry may run a moment before its stored time.
EARLY_TOLERANCE = timedelta(seconds=2)


# -- recording (the caller's transaction) --------------------------------------------
def record(
    owner_id: int,
    kind: str,
    *,
    request_id: int | None = None,
    dedupe_key: str | None = None,
    extra: dict | None = None,
) -> list[Notification]:
    """Add a notification for each channel the owner has set up; the caller commits.

    Tell once: a row with the same (owner, kind, dedupe_key, channel) is never added
    twice; ``dedupe_key`` defaults to the request id. Returns the rows added now
    (empty when the owner has no channel or was told already).

    Two callers racing for the same key must serialise themselves (``dispatch`` holds
    the request's row lock); the check here is a plain query, so it never breaks the
    caller's transaction with an IntegrityError.
    """
    if kind not in KINDS:
        raise ValueError(f"unknown notification kind {kind!r}")
    if dedupe_key is None:
        if request_id is None:
            raise ValueError("a notification needs a request_id or a dedupe_key")
        dedupe_key = str(request_id)
    owner = db.session.get(Owner, owner_id)
    if owner is None:
        log.warning("notification %s for unknown owner %s dropped", kind, owner_id)
        return []
    if not channels.channels_for(owner, kind):
        return []  # before loading the request: the submit path asks for every request
    payload: dict[str, Any] = {}
    if request_id is not None:
        req = db.session.get(CallbackRequest, request_id)
        if req is None:
            log.warning("notification %s for unknown request %s dropped", kind, request_id)
            return []
        payload["request"] = request_summary(req)
    if extra:
        payload["extra"] = dict(extra)
    return record_payload(owner, kind, str(dedupe_key), payload, request_id)


def record_payload(
    owner: Owner,
    kind: str,
    dedupe_key: str,
    payload: dict[str, Any],
    request_id: int | None,
    *,
    only: set[str] | None = None,
) -> list[Notification]:
    """Add the rows of a message already built (``record``, the digest); no commit.

    ``only``: of the owner's channels for ``kind``, just these."""
    wanted = [c for c in channels.channels_for(owner, kind) if only is None or c in only]
    if not wanted:
        return []
    done = set(
        db.session.scalars(
            select(Notification.channel).where(
                Notification.owner_id == owner.id,
                Notification.kind == kind,
                Notification.dedupe_key == dedupe_key,
            )
        )
    )
    added = []
    for channel in wanted:
        if channel in done:
            continue
        row = Notification(
            owner_id=owner.id,
            kind=kind,
            channel=channel,
            dedupe_key=dedupe_key[:64],
            request_id=request_id,
            payload=payload,
            status="pending",
            tries=0,
            created_at=utcnow(),
        )
        db.session.add(row)
        added.append(row)
    if added:
        log.info(
            "notification %s for owner %s recorded (%s)",
            kind,
            owner.id,
            ", ".join(r.channel for r in added),
        )
    return added


def owner_channels(owner: Owner) -> list[str]:
    """The channels an owner can be told through right now."""
    return channels.linked(owner)


def record_ended(req: CallbackRequest) -> list[Notification]:
    """The call of ``req`` is over: tell the channels that were told of it as ``new``
    (the CRMs, to note the outcome on their lead); the caller commits."""
    if req.id is None or req.widget_id is None:
        return []
    owner_id = db.session.scalar(select(Widget.owner_id).where(Widget.id == req.widget_id))
    told = set(
        db.session.scalars(
            select(Notification.channel).where(
                Notification.owner_id == owner_id,
                Notification.kind == "new",
                Notification.dedupe_key == str(req.id),
            )
        )
    )
    owner = db.session.get(Owner, owner_id) if told else None
    if owner is None:
        return []
    payload = {"request": request_summary(req)}
    return record_payload(owner, "ended", str(req.id), payload, req.id, only=told)


def request_summary(req: CallbackRequest) -> dict[str, Any]:
    """What the owner gets about a request, the full number included."""
    widget: Widget = req.widget
    return {
        "id": req.id,
        "widget": {"key": widget.public_key, "name": widget.name or ""},
        "origin": req.origin,
        "page_url": req.page_url,
        # Where the visitor came from (first touch of their session), null fields when unknown.
        "source": source_of(req),
        "variant": req.variant,
        "lead_status": req.lead_status,
        "phone": req.phone,  # E.164: the owner calls back
        "name": req.name,
        "department": req.widget_group.label if req.widget_group else None,
        "status": req.status,
        "held_reason": req.held_reason,
        "created_at": iso(req.created_at),
        "scheduled_for": iso(req.scheduled_for),
        "timezone": widget.timezone,
        "recording": any(a.is_record and a.session_id for a in req.attempts),
        "attempts": [
            {
                "operator_pin": a.operator_pin,
                "outcome": a.outcome,
                "duration": a.duration,
                "sent_at": iso(a.sent_at),
            }
            for a in req.attempts
        ],
    }


def kick() -> None:
    """After the caller's commit: start delivering now (the minute sweep catches up anyway)."""
    try:
        queue().sweep_notifications()
    except Exception:
        log.warning("could not enqueue the notification sweep; the periodic one will run")


# -- delivery ------------------------------------------------------------------------
def backoff(tries: int) -> float:
    """Seconds before the next try after ``tries`` tries (dispatch.retry has the rule)."""
    return retry.notification_delay(tries)


def next_try_at(notification: Notification) -> datetime:
    """When a pending notification is due: stored with each try, else at once."""
    stored = (notification.payload or {}).get("delivery", {}).get("next_try_at")
    return parse_naive(stored) if stored else notification.created_at


def _with_next_try(payload: dict[str, Any], when: datetime) -> dict[str, Any]:
    # A new dict: the JSON column only notices reassignment.
    return {**(payload or {}), "delivery": {"next_try_at": iso(when)}}


def deliver_notification(notification_id: int, *, now: datetime | None = None) -> str:
    """Send one notification; on failure keep it pending and schedule the next try.

    Returns what happened: ``sent``, ``retry``, ``failed`` or ``skipped`` (already
    sent, not due yet, or another worker has this try).
    """
    now = now or utcnow()
    message = _claim(notification_id, now)
    if message is None:
        return "skipped"
    try:
        result = channels.send(message)
    except Exception as exc:
        return _not_delivered(message, mask_text(_describe(exc))[:500], now)
    row = db.session.get(Notification, notification_id, populate_existing=True)
    if isinstance(result, dict):  # what the CRM made: the outcome note goes on it
        row.payload = {**(row.payload or {}), "result": result}
    row.status = "sent"
    row.sent_at = now
    row.last_error = None
    db.session.commit()
    log.info(
        "notification %s (%s by %s) delivered", notification_id, message["kind"], message["channel"]
    )
    return "sent"


def _claim(notification_id: int, now: datetime) -> dict[str, Any] | None:
    """Take this try of a due notification and return what to send; commits.

    None when it is not ours to send: gone, sent, not due, or claimed meanwhile.
    """
    row = db.session.get(Notification, notification_id, populate_existing=True)
    if row is None or row.status != "pending" or next_try_at(row) > now + EARLY_TOLERANCE:
        db.session.rollback()
        return None
    # Claim this try: ``tries`` is the optimistic lock, and the next try time moves
    # ahead so a sweep running meanwhile leaves the row alone. A worker dying while
    # sending just makes the row due again later.
    tries = row.tries
    claimed = db.session.execute(
        update(Notification)
        .where(
            Notification.id == notification_id,
            Notification.status == "pending",
            Notification.tries == tries,
        )
        .values(
            tries=tries + 1,
            payload=_with_next_try(row.payload, now + timedelta(seconds=backoff(tries + 1))),
        )
        .execution_options(synchronize_session=False)
    ).rowcount
    if not claimed:
        db.session.rollback()
        return None
    owner = db.session.get(Owner, row.owner_id)
    message = {
        "id": row.id,
        "kind": row.kind,
        "channel": row.channel,
        "payload": dict(row.payload or {}),
        "created_at": row.created_at,
        **channels.owner_fields(owner),
    }
    if row.kind == "ended" and row.request_id is not None:
        # The outcome as it is now: talk time and recording may have come since.
        req = db.session.get(CallbackRequest, row.request_id)
        if req is not None:
            message["payload"]["request"] = request_summary(req)
    db.session.commit()  # no transaction stays open across the network call
    return message


def _not_delivered(message: dict[str, Any], error: str, now: datetime) -> str:
    """Keep a failed try's notification pending for the next one, or give it up."""
    notification_id = message["id"]
    row = db.session.get(Notification, notification_id, populate_existing=True)
    row.last_error = error
    what = f"notification {notification_id} ({message['kind']} by {message['channel']})"
    if now - message["created_at"] >= GIVE_UP_AFTER:
        row.status = "failed"
        db.session.commit()
        log.error("%s undelivered after %s tries, given up: %s", what, row.tries, error)
        return "failed"
    when = now + timedelta(seconds=backoff(row.tries))
    row.payload = _with_next_try(row.payload, when)
    db.session.commit()
    log.warning("%s not delivered (try %s): %s; next try at %s", what, row.tries, error, iso(when))
    try:
        queue().deliver_notification.schedule(args=(notification_id,), eta=when.replace(tzinfo=UTC))
    except Exception:
        log.warning("could not schedule notification %s; the sweep will", notification_id)
    return "retry"


def _describe(exc: Exception) -> str:
    text = str(exc).strip()
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


def sweep_notifications(*, now: datetime | None = None) -> int:
    """Enqueue every pending notification that is due (runs every minute); return how many.

    The durable backstop: scheduled retries live in huey's memory on the SQLite
    store and die with the process; the rows do not.
    """
    now = now or utcnow()
    rows = db.session.scalars(
        select(Notification).where(Notification.status == "pending").order_by(Notification.id)
    ).all()
    due = [r.id for r in rows if next_try_at(r) <= now]
    db.session.rollback()
    for notification_id in due:
        queue().deliver_notification(notification_id)
    if due:
        log.info("notification sweep: %s due", len(due))
    return len(due)
