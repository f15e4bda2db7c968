"""Plays a call: sends its signed call_events webhooks on schedule in a daemon thread."""

from __future__ import annotations

import logging
import threading
import time
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

import requests

from widget_server.pbx.signing import encode_body, signed_headers

from .phones import mask_phone
from .scenarios import Step
from .state import Call, SimState

log = logging.getLogger("widget_server.pbx.sim")

MOSCOW = ZoneInfo("Europe/Moscow")
WEBHOOK_TIMEOUT = 5.0


def moscow_timestamp(at: float) -> str:
    """``YYYY-MM-DD HH:MM:SS.mmm`` in Moscow time, as the PBX writes it."""
    moment = datetime.fromtimestamp(at, MOSCOW)
    return moment.strftime("%Y-%m-%d %H:%M:%S.") + f"{moment.microsecond // 1000:03d}"


def event_payload(call: Call, step: Step, at: float, domain: str) -> dict[str, Any]:
    """A call_events body with every key present, unused ones "" (like captured payloads)."""
    return {
        "session_id": call.event_session_id or call.session_id,
        "timestamp": moscow_timestamp(at),
        "type": "outbound",
        "state": step.state,
        "from_number": f"sip:{call.operator_login}@{domain}",
        "from_pin": call.operator_pin,
        "request_number": step.request_number,
        "request_pin": "",
        "disconnect_reason": step.disconnect_reason,
        "is_record": step.is_record,
    }


def post_event(
    base: str, client_id: str, sign_key: str, payload: dict[str, Any]
) -> tuple[int | None, str | None]:
    """POST one signed event to ``{base}/call_events``; return (HTTP status, error)."""
    body = encode_body(payload)
    try:
        response = requests.post(
            f"{base}/call_events",
            data=body,
            headers=signed_headers(client_id, body, sign_key),
            timeout=WEBHOOK_TIMEOUT,
        )
    except requests.RequestException as exc:
        return None, type(exc).__name__
    return response.status_code, None


def _apply(call: Call, step: Step, at: float) -> None:
    """Update what call_info reports; done before the POST so a receiver asking
    call_info right after ``end`` already sees the final state."""
    if step.state == "new":
        call.started_at = at
    elif step.state == "connected":
        call.connected_at = at
    elif step.state == "disconnected":
        call.disconnected_at = at
    elif step.state == "end":
        call.ended, call.ended_at = True, at
        call.is_record = step.is_record == "true"
    if step.status is not None:
        call.status = step.status
    call.log.extend((at, code, party) for code, party in step.log)


def play_call(state: SimState, call: Call, steps: list[Step]) -> None:
    """Send each step's event after its delay; stop early on reset or shutdown."""
    last = time.time()
    try:
        for step in steps:
            # The call keeps its own clock: each moment comes its delay after the previous
            # one, so a slow webhook answer delays the next event's delivery, never the call
            # (a talk of 6 s lasts 6 s in call_info however slow the receiver).
            at = last + step.delay * call.time_scale
            if call.cancel.wait(max(0.0, at - time.time())) or state.stop_event.is_set():
                log.info("sim call %s stopped before %s", call.session_id, step.state)
                return
            account = state.account(call.client_id) or {}
            with state.lock:
                domain = state.config["DOMAIN"]
                _apply(call, step, at)
            last = at
            if step.state is None or call.dialect == "g":
                continue  # this dialect reports the moment by no event
            with state.lock:
                payload = event_payload(call, step, at, domain)
                # "time" is when it was sent (what latency is measured from).
                record = {"state": step.state, "time": time.time(), "status": None}
                record["payload"] = payload
                call.events.append(record)
            base = account.get("webhook_base")
            status, error = (None, "no webhook base")
            if base:
                status, error = post_event(base, call.client_id, account["sign_key"], payload)
            with state.lock:
                record["status"] = status
                if error:
                    record["error"] = error
            log.info(
                "sim event %s %s request_number=%s reason=%r -> %s%s",
                call.session_id,
                step.state,
                mask_phone(step.request_number),
                step.disconnect_reason,
                status,
                f" ({error})" if error else "",
            )
    except Exception:
        # A crashing daemon thread would vanish silently; leave a trace instead.
        log.exception("sim call %s failed", call.session_id)


def start_playing(state: SimState, call: Call, steps: list[Step]) -> threading.Thread | None:
    """Start the daemon thread playing ``call`` (not after shutdown)."""
    if state.stop_event.is_set():
        return None
    name = f"pbx-sim-{call.session_id[:8]}"
    thread = threading.Thread(target=play_call, args=(state, call, steps), name=name, daemon=True)
    thread.start()
    return thread
