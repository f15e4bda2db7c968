"""amoCRM: a lead with its contact per request, and a note with how the call ended.

API v4 with a long-lived token (https://www.amocrm.ru/developers/content/oauth/step-by-step#long_lived_token):
``Authorization: Bearer <token>`` on ``https://<subdomain>.amocrm.ru`` (the
``WIDGET_AMOCRM_API_URL`` template). Endpoints used:

* ``POST /api/v4/leads/complex``: ``[{name, _embedded: {contacts: [{first_name,
  custom_fields_values: [{field_code: "PHONE", values: [{value, enum_code: "WORK"}]}]}],
  tags: [{name}]}}]`` → ``[{"id": <lead>, "contact_id": …}]``
  (https://www.amocrm.ru/developers/content/crm_platform/leads-api#leads-complex-add).
  A lead with a contact, not ``/leads/unsorted/forms``: an unsorted entry waits for a
  manager to accept it before anyone can add the outcome to it, and needs form metadata
  we do not have;
* ``POST /api/v4/leads/{id}/notes``: ``[{note_type: "common", params: {text}}]``
  (https://www.amocrm.ru/developers/content/crm_platform/events-and-notes#notes-add):
  the request's facts at once, the outcome when the call ends.

Errors are problem JSON: 401 ``{"title": "Unauthorized", "status": 401, "detail": …}``,
400 ``{"title": "Bad Request", "validation-errors": [...]}``. The token is never logged.
"""

from __future__ import annotations

import contextlib
import re
from typing import Any

from flask import current_app

from .channel_error import ChannelError
from .crm_text import created_entity, lead_comment, lead_title, outcome_text, utm_values
from .http_call import call_json

SUBDOMAIN = re.compile(r"^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$")
TAG = "Обратный звонок"


def normalize_subdomain(raw: str) -> str:
    """``shop``, ``shop.amocrm.ru`` or ``https://shop.amocrm.ru/`` → ``shop``; ValueError else."""
    value = (raw or "").strip().lower()
    value = re.sub(r"^https?://", "", value).split("/")[0]
    value = re.sub(r"\.(amocrm\.(ru|com)|kommo\.com)$", "", value)
    if not SUBDOMAIN.match(value):
        raise ValueError("not an amoCRM subdomain")
    return value


def base_url(subdomain: str) -> str:
    template = current_app.config.get("AMOCRM_API_URL") or "https://{subdomain}.amocrm.ru"
    return template.format(subdomain=subdomain).rstrip("/")


def call(message: dict[str, Any], path: str, body: Any) -> Any:
    subdomain, token = message.get("amocrm_subdomain"), message.get("amocrm_token")
    if not subdomain or not token:
        raise ChannelError("not_configured")
    status, answer = call_json(
        "POST",
        base_url(subdomain) + path,
        owner_url=True,
        json=body,
        headers={"Authorization": f"Bearer {token}"},
    )
    if 200 <= status < 300:
        return answer
    detail = _problem(answer)
    raise ChannelError(
        "bad_token" if status in (401, 403) else "http", status=status, detail=detail
    )


def _problem(answer: Any) -> str:
    if not isinstance(answer, dict):
        return ""
    words = str(answer.get("detail") or answer.get("title") or "")
    errors = answer.get("validation-errors")
    if errors:
        words = f"{words}: {errors}"[:300]
    return words


def send_amocrm(message: dict[str, Any]) -> dict[str, Any]:
    """A lead with its contact and a note for ``new``; a note with the outcome for ``ended``."""
    req = message["payload"].get("request") or {}
    language = message.get("language") or "ru"
    if message["kind"] == "ended":
        entity = created_entity(message) or create_lead(message, req, language)
        add_note(message, entity["id"], outcome_text(req, language))
        return entity
    return create_lead(message, req, language)


def create_lead(message: dict[str, Any], req: dict[str, Any], language: str) -> dict[str, Any]:
    phone = req.get("phone") or ""
    contact: dict[str, Any] = {"first_name": req.get("name") or phone or "—"}
    if phone:
        contact["custom_fields_values"] = [
            {"field_code": "PHONE", "values": [{"value": phone, "enum_code": "WORK"}]}
        ]
    lead: dict[str, Any] = {
        "name": lead_title(req, language),
        "_embedded": {"contacts": [contact], "tags": [{"name": TAG}]},
    }
    utm = utm_values(req)
    if utm:
        lead["custom_fields_values"] = [
            {"field_code": key.upper(), "values": [{"value": value}]} for key, value in utm.items()
        ]
    answer = call(message, "/api/v4/leads/complex", [lead])
    try:
        lead_id = int(answer[0]["id"])
    except (TypeError, KeyError, IndexError, ValueError):
        raise ChannelError("http", detail="not an amoCRM answer") from None
    comment = lead_comment(req, language)
    if comment:
        # The lead exists: a retry would make a second one, so a failed note is let go.
        with contextlib.suppress(ChannelError):
            add_note(message, lead_id, comment)
    return {"entity": "lead", "id": lead_id}


def add_note(message: dict[str, Any], lead_id: int, text: str) -> None:
    call(
        message,
        f"/api/v4/leads/{lead_id}/notes",
        [{"note_type": "common", "params": {"text": text}}],
    )
