"""Taking a callback request in: fields, slot, the abuse decision, the stored row, the queue.

One path for a visitor's request (``api.create_request``) and the config page's test
call (``admin/widgets.py``); each renders the result, which holds no Flask objects:
``Accepted`` (stored: queued, scheduled or held, all answered alike) or ``Refused``
(nothing stored). Error texts are looked up when rendering, in the reader's language.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from flask import current_app
from sqlalchemy.exc import SQLAlchemyError

from ..abuse.decide import Decision, check_form, decide
from ..abuse.limits import held_dedupe_key
from ..dispatch import hours, state
from ..dispatch.queue import queue
from ..extensions import db
from ..insight.source import clean_source, clean_variant
from ..models import CallbackRequest, Widget, utcnow
from ..notify import outbox
from ..ops import metrics
from ..phones import PhoneError, mask_phone, normalize_phone
from ..statuses import HeldReason, Status
from . import disguise
from .status import status_view
from .texts import api_error, texts_for

log = logging.getLogger(__name__)

MAX_NAME = 100
MAX_PAGE_URL = 1000
MAX_PHONE_TEXT = 32  # as typed, spaces and dashes included
SLOT_COUNT = 6
_PHONE_ERRORS = {
    "required": "phone_required",
    "extension": "phone_extension",
    "not_allowed": "phone_not_allowed",
}


@dataclass(frozen=True)
class Accepted:
    """Stored. A held request is answered like the others: the visitor cannot tell."""

    request_id: int
    handle: str
    view: dict[str, Any]  # what the visitor's page is told (visitor.status)
    held: bool = False
    scheduled_for: datetime | None = None  # the slot (UTC) when called later, not now
    when: str | None = None  # that slot in words, in the visitor's language and zone


@dataclass(frozen=True)
class Refused:
    """Nothing stored: answered ``status`` with the API error ``code``."""

    status: int
    code: str
    fields: dict[str, str] = field(default_factory=dict)  # field name → API error code
    retry_after: int | None = None
    challenge: dict[str, Any] | None = None

    def message(self, language: str) -> str:
        return api_error(language, self.code, seconds=self.retry_after)

    def field_messages(self, language: str) -> dict[str, str]:
        return {name: api_error(language, code) for name, code in self.fields.items()}


def submit(
    widget: Widget,
    data: dict[str, Any],
    *,
    origin: str,
    client_ip: str | None,
    user_agent: str = "",
    lang: str = "ru",
    tz: str | None = None,
    origin_header: str | None = None,
    referer: str | None = None,
    consent_text: str | None = None,
    is_test: bool = False,
    by_owner: bool = False,
) -> Accepted | Refused:
    """Take a request for ``widget`` from the JSON object ``data``.

    ``origin`` is the allowed origin the request came from; ``origin_header`` and
    ``referer`` the headers as sent; ``lang`` the visitor's language (for the consent
    text and the slot's label); ``tz`` the ``?tz=`` hint when the body has none.
    A test call (``is_test``) skips the bot defences and records ``consent_text``; so does
    the owner dialling a held or missed request again (``by_owner``: every limit applies).
    """
    bot_checks = not (is_test or by_owner)
    decision, token = check_form(widget, data, origin, bot_checks=bot_checks)
    if decision.refused:
        return _refused(decision)
    clean, fields = _validate(widget, data)
    visitor_tz = hours.valid_timezone(data.get("tz")) or hours.valid_timezone(tz)
    now = hours.utc_now()
    slot, slot_error = _pick_slot(widget, data.get("slot"), visitor_tz, now)
    if slot_error:
        fields["slot"] = slot_error
    if fields:
        return Refused(422, "validation", fields=fields)
    decision = decide(
        widget,
        clean["phone"],
        data,
        client_ip=client_ip,
        token=token,
        origin_header=origin_header,
        referer=referer,
        bot_checks=bot_checks,
    )
    if decision.refused:
        return _refused(decision)
    req = CallbackRequest(
        widget=widget,
        widget_group=clean["widget_group"],
        phone=clean["phone"],
        name=clean.get("name"),
        page_url=clean.get("page_url"),
        origin=origin,
        client_ip=client_ip,
        user_agent=(user_agent or "")[:300],
        # The consent record keeps the exact text the visitor saw.
        consent_text=consent_text or texts_for(widget, lang)["consent"],
        is_test=is_test,
        visitor_tz=visitor_tz,
        # Due now: if the queue loses the job, the sweep dispatches the request.
        next_dispatch_at=utcnow(),
        # Where the visitor came from and the A/B variant they saw: kept, never refused.
        variant=clean_variant(data.get("variant")),
        **clean_source(data.get("source")),
    )
    when = hours.format_slot(slot, visitor_tz, lang, now, widget.timezone) if slot else None
    return _store(widget, req, decision, slot, when, lang)


def _refused(decision: Decision) -> Refused:
    return Refused(
        decision.status,
        decision.error,
        retry_after=decision.retry_after,
        challenge=decision.challenge,
    )


def _validate(widget: Widget, data: dict[str, Any]) -> tuple[dict[str, Any], dict[str, str]]:
    """The clean fields, and an API error code for each field that is wrong."""
    fields: dict[str, str] = {}
    clean: dict[str, Any] = {}
    try:
        clean["phone"] = normalize_phone(data.get("phone"), widget.countries or {})
    except PhoneError as exc:
        fields["phone"] = _PHONE_ERRORS.get(exc.code, "phone_invalid")
    if data.get("consent") is not True:
        fields["consent"] = "consent_required"
    offered = widget.offered_groups
    group_id = data.get("group")
    if group_id in (None, "") and len(offered) == 1:
        clean["widget_group"] = offered[0]
    else:
        match = next((wg for wg in offered if wg.group.pin == str(group_id)), None)
        if match is None or not isinstance(group_id, str | int):
            fields["group"] = "group_unknown"
        clean["widget_group"] = match
    name = data.get("name")
    if name not in (None, ""):
        if not isinstance(name, str) or len(name) > MAX_NAME:
            fields["name"] = "name_too_long"
        else:
            clean["name"] = name.strip() or None
    page_url = data.get("page_url")
    if isinstance(page_url, str) and page_url.startswith(("http://", "https://")):
        clean["page_url"] = page_url[:MAX_PAGE_URL]
    fields.update(_wrong_types(data))
    return clean, fields


# Fields a widget always sends as text: a value of another type is refused, so nothing the
# API document calls wrong is accepted (a trap field filled with `true` would otherwise be
# taken, disguised; tests/test_visitor_openapi_fuzz.py checks it). What only counts the
# lead (page_url, source, variant) is dropped when odd, never refused: it must not cost
# the visitor the call, and the document says so.
_TYPES: dict[str, tuple[type, ...]] = {
    "phone": (str,),
    "tz": (str,),
    "token": (str,),
    "website": (str,),
}


def _wrong_types(data: dict[str, Any]) -> dict[str, str]:
    wrong = {
        name: "field_invalid"
        for name, types in _TYPES.items()
        if data.get(name) is not None and not isinstance(data[name], types)
    }
    if isinstance(data.get("phone"), str) and len(data["phone"]) > MAX_PHONE_TEXT:
        wrong["phone"] = "phone_invalid"
    return wrong


def _pick_slot(widget: Widget, raw: Any, visitor_tz: str | None, now) -> tuple[Any, str | None]:
    """When to call: (None, None) for now, (slot, None) for later, (None, error code).

    A slot the visitor sent must be one of those we offer (within a minute). A widget
    that cannot call now and got no slot calls at its first free slot.
    """
    guard = current_app.config["NIGHT_GUARD"]
    if raw in (None, ""):
        if hours.can_call_now(widget, visitor_tz, now, night_guard=guard):
            return None, None
        offered = hours.next_slots(widget, visitor_tz, now, 1, night_guard=guard)
        return (offered[0], None) if offered else (None, "no_slots")
    try:
        asked = hours.as_utc(datetime.fromisoformat(raw))
    except (TypeError, ValueError):
        return None, "slot_unavailable"
    offered = hours.next_slots(widget, visitor_tz, now, SLOT_COUNT, night_guard=guard)
    match = next((s for s in offered if abs(s - asked) <= timedelta(minutes=1)), None)
    return (match, None) if match else (None, "slot_unavailable")


def _store(
    widget: Widget,
    req: CallbackRequest,
    decision: Decision,
    slot,
    when: str | None,
    lang: str,
) -> Accepted | Refused:
    """Store the request in its first status, then hand it to the queue (unless held)."""
    if slot is not None:
        # Called at the slot, not now: the queue holds a job due then, and the row's
        # next_dispatch_at lets the sweep dispatch it should that job be lost.
        req.scheduled_for = req.next_dispatch_at = slot.replace(tzinfo=None)
    if decision.held:
        # Stored, never dialled; the visitor gets the same answer as an accepted request.
        req.held_reason = decision.held_reason[:64]
        req.next_dispatch_at = None
    # The first status goes through the one setter, like every later move.
    first = Status.HELD if decision.held else Status.SCHEDULED if slot else Status.QUEUED
    state.set_status(req, first)
    try:
        db.session.add(req)
        db.session.flush()
        # Read before the commit expires them, so answering costs no extra query.
        request_id, handle, widget_id, phone = req.id, req.handle, widget.id, req.phone
        view = status_view(req, lang, just_accepted=True)
        # Telegram and the CRMs hear of each real request (not tests, not disguised ones).
        told = not req.is_test and not disguise.disguised(req)
        told = told and bool(outbox.record(widget.owner_id, "new", request_id=request_id))
        db.session.commit()
    except SQLAlchemyError:
        db.session.rollback()
        log.exception("widget %s: could not store a request", widget.id)
        return Refused(503, "unavailable")
    accepted = Accepted(request_id, handle, view, decision.held, slot, when)
    if told:
        outbox.kick()
    if decision.held:
        metrics.count_final(Status.HELD)
    if decision.held:
        log.warning(
            "widget %s: request %s for %s held (%s), not dialled",
            widget_id,
            request_id,
            mask_phone(phone),
            decision.held_reason,
        )
        if decision.tell_owner:
            _tell_owner_held(widget, decision.held_reason)
        return accepted
    log.info(
        "widget %s: request %s for %s accepted%s",
        widget_id,
        request_id,
        mask_phone(phone),
        f", scheduled for {hours.iso_utc(slot)}" if slot else "",
    )
    _enqueue(request_id, slot)
    return accepted


def _enqueue(request_id: int, slot) -> None:
    try:
        if slot is not None:
            queue().place_next_call.schedule(args=(request_id,), eta=slot)
        else:
            queue().place_next_call(request_id)
    except Exception:
        # The row is the truth: the dispatch sweep picks the request up within a minute.
        log.exception(
            "request %s stored; the queue is unreachable, the sweep will dispatch it", request_id
        )


def _tell_owner_held(widget: Widget, reason: HeldReason) -> None:
    """Tell the owner once per widget and hour that requests are held, not per request.

    A transaction of its own, after the request's: two workers holding requests at
    once may race for the same notification row, and the loser must not lose its request.
    """
    try:
        added = outbox.record(
            widget.owner_id,
            "held",
            request_id=None,
            dedupe_key=held_dedupe_key(widget, reason),
            extra={"reason": str(reason), "widget": widget.public_key, "widget_name": widget.name},
        )
        db.session.commit()
    except SQLAlchemyError:
        db.session.rollback()
        log.info("widget %s: held notification already recorded by another worker", widget.id)
        return
    if added:
        outbox.kick()
