"""Bitrix24: leads through the inbound webhook the owner made on their portal.

An inbound webhook (https://apidocs.bitrix24.ru/local-integrations/local-webhooks.html)
is ``https://<portal>/rest/<user_id>/<code>/``; a method is called as
``<that URL><method>.json`` with a JSON body. It answers ``{"result": …}`` or
``{"error": "…", "error_description": "…"}`` (HTTP 400/401/403…). Methods used:

* ``crm.duplicate.findbycomm`` ``{entity_type: "CONTACT", type: "PHONE", values: [...]}``
  → ``{"CONTACT": [ids]}`` (https://dev.1c-bitrix.ru/rest_help/crm/auxiliary/duplicates/crm_duplicate_findbycomm.php);
* no contact: ``crm.lead.add`` ``{fields: {TITLE, NAME, PHONE: [{VALUE, VALUE_TYPE}],
  SOURCE_ID, SOURCE_DESCRIPTION, UTM_*, COMMENTS}}`` → the lead id
  (https://apidocs.bitrix24.ru/api-reference/crm/leads/crm-lead-add.html);
* a known contact: ``crm.deal.add`` ``{fields: {TITLE, CONTACT_ID, SOURCE_ID, …}}``: a deal
  on the contact, not ``crm.activity.add``, because a deal carries the source and UTM
  fields and lands in the sales funnel the managers work from, while an activity needs
  communications and a responsible user and is easy to overlook;
* when the call ends: ``crm.timeline.comment.add`` ``{fields: {ENTITY_ID, ENTITY_TYPE:
  "lead"|"deal", COMMENT}}`` with the outcome, the talk time and the recording's page.

``SOURCE_ID`` ``CALLBACK`` is Bitrix24's own source "Обратный звонок". The webhook URL
holds the code that lets anyone act on the portal: never logged, never shown back.
"""

from __future__ import annotations

from typing import Any

from .channel_error import ChannelError
from .crm_text import (
    created_entity,
    lead_comment,
    lead_title,
    outcome_text,
    source_description,
    utm_values,
)
from .http_call import call_json

SOURCE_ID = "CALLBACK"


def call(url: str, method: str, params: dict[str, Any]) -> Any:
    """Call one REST method on the owner's portal; return its ``result``."""
    if not url:
        raise ChannelError("not_configured")
    status, body = call_json(
        "POST", f"{url.rstrip('/')}/{method}.json", owner_url=True, json=params
    )
    if isinstance(body, dict) and "error" in body:
        detail = str(body.get("error_description") or body.get("error"))
        code = "bad_token" if status == 401 or body["error"] in _AUTH_ERRORS else "http"
        raise ChannelError(code, status=status, detail=detail)
    if not 200 <= status < 300 or not isinstance(body, dict) or "result" not in body:
        raise ChannelError("http", status=status, detail="not a Bitrix24 REST answer")
    return body["result"]


_AUTH_ERRORS = {"INVALID_CREDENTIALS", "expired_token", "invalid_token", "NO_AUTH_FOUND"}


def send_bitrix24(message: dict[str, Any]) -> dict[str, Any]:
    """A lead (or a deal on a known contact) for ``new``; a timeline comment for ``ended``."""
    url = message.get("bitrix24_url") or ""
    req = message["payload"].get("request") or {}
    language = message.get("language") or "ru"
    if message["kind"] == "ended":
        entity = created_entity(message) or create_entry(url, req, language)
        comment = outcome_text(req, language)
        call(
            url,
            "crm.timeline.comment.add",
            {
                "fields": {
                    "ENTITY_ID": entity["id"],
                    "ENTITY_TYPE": entity["entity"],
                    "COMMENT": comment,
                }
            },
        )
        return entity
    return create_entry(url, req, language)


def create_entry(url: str, req: dict[str, Any], language: str) -> dict[str, Any]:
    phone = req.get("phone") or ""
    fields: dict[str, Any] = {
        "TITLE": lead_title(req, language),
        "SOURCE_ID": SOURCE_ID,
        "SOURCE_DESCRIPTION": source_description(req)[:255],
        "COMMENTS": lead_comment(req, language),
        **{key.upper(): value for key, value in utm_values(req).items()},
    }
    contacts = []
    if phone and not req.get("test"):
        found = call(
            url,
            "crm.duplicate.findbycomm",
            {"entity_type": "CONTACT", "type": "PHONE", "values": [phone]},
        )
        # No match is answered as an empty list, a match as {"CONTACT": [ids]}.
        contacts = found.get("CONTACT") or [] if isinstance(found, dict) else []
    if contacts:
        fields["CONTACT_ID"] = contacts[0]
        deal_id = call(url, "crm.deal.add", {"fields": fields})
        return {"entity": "deal", "id": int(deal_id)}
    fields["NAME"] = req.get("name") or ""
    fields["PHONE"] = [{"VALUE": phone, "VALUE_TYPE": "WORK"}] if phone else []
    lead_id = call(url, "crm.lead.add", {"fields": fields, "params": {"REGISTER_SONET_EVENT": "Y"}})
    return {"entity": "lead", "id": int(lead_id)}
