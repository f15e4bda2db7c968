"""Webhooks the PBX sends us: ``<base>/call_events``, ``get_number_info``, ``history_file_completed``.

The base is ``/pbx/<account public id>``. Each request's signature is checked
over the raw body before anything is parsed; anything unsigned, mis-signed or
for an unknown account gets 403 and changes nothing.
"""

from __future__ import annotations

import hmac
import json
import logging

from flask import Blueprint, jsonify, request
from sqlalchemy import select

from ..dispatch.events import record_event
from ..dispatch.reconcile import journal_ready
from ..extensions import db
from ..models import PbxAccount
from ..ops import metrics
from . import exchanges
from .events import field
from .inbound import number_info
from .signing import verify

log = logging.getLogger(__name__)
bp = Blueprint("webhooks", __name__, url_prefix="/pbx")

MAX_WEBHOOK_BYTES = 64 * 1024
OK = {"result": "0", "resultMessage": "ok"}


def _refuse(status: int, message: str):
    return jsonify({"result": str(-status), "resultMessage": message}), status


def _verified_payload(public_id: str):
    """Return (account, payload) or an error response tuple."""
    account = db.session.scalar(select(PbxAccount).where(PbxAccount.public_id == public_id))
    if request.content_length is not None and request.content_length > MAX_WEBHOOK_BYTES:
        return None, _refuse(413, "body too large")
    request.max_content_length = MAX_WEBHOOK_BYTES
    body = request.get_data(cache=True)
    client_id = request.headers.get("X-Client-ID", "")
    signature = request.headers.get("X-Client-Sign")
    if account is None:
        log.warning("webhook for unknown PBX account refused")
        return None, _refuse(403, "forbidden")
    if not hmac.compare_digest(client_id.encode(), account.client_id.encode()) or not verify(
        account.client_id, body, account.sign_key, signature
    ):
        log.warning("webhook with a missing or wrong signature refused (account %s)", account.id)
        return None, _refuse(403, "forbidden")
    try:
        payload = json.loads(body)
    except (ValueError, RecursionError):  # RecursionError: absurdly deep nesting
        return None, _refuse(400, "malformed JSON")
    if not isinstance(payload, dict):
        return None, _refuse(400, "a JSON object is expected")
    return account, payload


@bp.post("/<public_id>/call_events")
def call_events(public_id: str):
    """A call's progress: new, calling, connected, disconnected, end.

    The PBX sends every call of the domain here; only our calls' events are kept
    (``record_event``), the others are counted as "not_ours" and dropped.
    """
    account, payload = _verified_payload(public_id)
    if account is None:
        return payload
    outcome = record_event(account, payload)
    exchanges.note_event(account, request.headers, payload, outcome)  # ours: the raw journal
    metrics.count_webhook_event(field(payload, "state"), outcome)
    log.debug("call_events %s: %s", payload.get("state"), outcome)
    return jsonify(OK)


@bp.post("/<public_id>/get_number_info")
def get_number_info(public_id: str):
    """Who is calling: empty unless the account routes returning callers (``pbx.inbound``)."""
    account, payload = _verified_payload(public_id)
    if account is None:
        return payload
    return jsonify(dict(OK, **number_info(account, payload)))


@bp.post("/<public_id>/history_file_completed")
def history_file_completed(public_id: str):
    """A call-journal export we ordered is ready: fetch and reconcile it in the queue."""
    account, payload = _verified_payload(public_id)
    if account is None:
        return payload
    order_id = payload.get("order_id")
    log.info("history_file_completed for account %s: order %s", account.id, order_id)
    if order_id:
        journal_ready(account, str(order_id))
    return jsonify(OK)
