"""What the CRMs get about a request: the lead's title, its comment, the call's outcome.

Written in the owner's language (their CRM is read by their managers), the full
number included: the CRM is the owner's own system.
"""

from __future__ import annotations

from typing import Any

from flask_babel import force_locale, gettext
from sqlalchemy import select

from ..extensions import db
from ..models import Notification
from ..statuses import Status, talk_unconfirmed
from .channel_error import ChannelError
from .email import display_phone
from .telegram import request_link, source_line

UTM_KEYS = ("utm_source", "utm_medium", "utm_campaign", "utm_term", "utm_content")


def created_entity(message: dict[str, Any]) -> dict[str, Any] | None:
    """What this channel's ``new`` message created for the request (its ``result``).

    None when there is none to add to (never recorded, or given up): the caller makes
    it now. :raise ChannelError: ``waiting`` while it is still being delivered.
    """
    request_id = (message["payload"].get("request") or {}).get("id")
    if request_id is None:
        return None
    row = db.session.scalar(
        select(Notification).where(
            Notification.owner_id == message["owner_id"],
            Notification.kind == "new",
            Notification.channel == message["channel"],
            Notification.dedupe_key == str(request_id),
        )
    )
    db.session.rollback()
    if row is None or row.status == "failed":
        return None
    if row.status == "pending":
        raise ChannelError("waiting")
    return (row.payload or {}).get("result")


def lead_title(req: dict[str, Any], language: str) -> str:
    with force_locale(language):
        if req.get("test"):
            return gettext("Проверка связи с виджетом обратного звонка — можно удалить")
        return gettext("Обратный звонок: %(phone)s", phone=display_phone(req.get("phone")))


def lead_comment(req: dict[str, Any], language: str) -> str:
    """The facts of a new request, one per line."""
    with force_locale(language):
        lines = []
        if req.get("name"):
            lines.append(gettext("Имя: %(name)s", name=req["name"]))
        if req.get("department"):
            lines.append(gettext("Отдел: %(department)s", department=req["department"]))
        if req.get("page_url") or req.get("origin"):
            lines.append(gettext("Страница: %(page)s", page=req.get("page_url") or req["origin"]))
        source = source_line(req.get("source"))
        if source:
            lines.append(gettext("Источник: %(source)s", source=source))
        if req.get("id"):
            lines.append(gettext("Заявка: %(link)s", link=request_link(req["id"])))
        return "\n".join(lines)


def outcome_text(req: dict[str, Any], language: str) -> str:
    """How the request ended: the outcome, the talk time and where the recording is.

    A call whose talk nothing confirmed says so (``pbx.events.decide_outcome``): the
    manager reading the lead checks with the operator instead of taking it as done.
    """
    attempts = req.get("attempts") or []
    talked = sum(a.get("duration") or 0 for a in attempts)
    unconfirmed = talk_unconfirmed(req.get("status"), (a.get("outcome") for a in attempts))
    with force_locale(language):
        outcomes = {
            Status.FINISHED: gettext("разговор состоялся"),
            Status.NO_OPERATOR: gettext("операторы не ответили"),
            Status.VISITOR_BUSY: gettext("номер посетителя был занят"),
            Status.VISITOR_NO_ANSWER: gettext("посетитель не ответил"),
            Status.PBX_ERROR: gettext("сбой АТС"),
            Status.CANCELLED: gettext("посетитель отменил звонок"),
            Status.HELD: gettext("заявка задержана, звонка не было"),
        }
        status = req.get("status") or ""
        outcome = outcomes.get(status, status)
        if unconfirmed:
            outcome = gettext(
                "звонок завершён, разговор не подтверждён: уточните у оператора, "
                "дозвонились ли до посетителя"
            )
        lines = [gettext("Итог звонка: %(outcome)s", outcome=outcome)]
        if talked and unconfirmed:  # the PBX's call length, not a talk anyone saw
            lines.append(
                gettext("Длительность звонка по данным АТС: %(seconds)s с", seconds=talked)
            )
        elif talked:
            lines.append(gettext("Разговор: %(seconds)s с", seconds=talked))
        if req.get("recording"):
            lines.append(gettext("Запись разговора: %(link)s", link=request_link(req.get("id"))))
        elif req.get("id"):
            lines.append(gettext("Заявка: %(link)s", link=request_link(req["id"])))
        return "\n".join(lines)


def utm_values(req: dict[str, Any]) -> dict[str, str]:
    source = req.get("source") if isinstance(req.get("source"), dict) else {}
    return {k: str(source[k])[:255] for k in UTM_KEYS if source.get(k)}


def source_description(req: dict[str, Any]) -> str:
    return source_line(req.get("source")) or (req.get("page_url") or req.get("origin") or "")
