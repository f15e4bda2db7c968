"""Everything the simulator remembers, in one object guarded by one lock."""

from __future__ import annotations

import secrets
import threading
import time
from dataclasses import dataclass, field
from typing import Any

from .call_info import call_info_of
from .scenarios import ONCE_WINDOW_SECONDS
from .settings import RUNTIME_KEYS, coerce


@dataclass
class Call:
    """One call_back session and what has been played of it so far."""

    session_id: str
    scenario: str  # the SCENARIOS name chosen by the number
    script: str  # what is actually played (operator_no_answer_once resolves to one)
    operator_pin: str
    operator_login: str
    group_pin: str | None
    visitor: str
    request_number: str
    recording: bool
    time_scale: float
    client_id: str = ""
    dialect: str = "a"
    event_session_id: str = ""  # the id its events carry (dialect e: not session_id)
    status: tuple[str, str] = ("0", "")
    created: float = field(default_factory=time.time)
    cancel: threading.Event = field(default_factory=threading.Event)
    events: list[dict[str, Any]] = field(default_factory=list)
    log: list[tuple[float, str, str]] = field(default_factory=list)
    started_at: float | None = None
    connected_at: float | None = None
    disconnected_at: float | None = None
    ended: bool = False
    ended_at: float | None = None
    is_record: bool = False

    def sim_seconds(self, start: float | None, end: float | None) -> int:
        """Real elapsed time converted back to simulated whole seconds."""
        if start is None or end is None:
            return 0
        return max(0, round((end - start) / self.time_scale))

    def visitor_answered(self) -> bool:
        return any(code == "cc" and party == self.visitor for _, code, party in self.log)

    def as_dict(self) -> dict[str, Any]:
        return {
            "session_id": self.session_id,
            "event_session_id": self.event_session_id or self.session_id,
            "dialect": self.dialect,
            "scenario": self.scenario,
            "script": self.script,
            "operator_pin": self.operator_pin,
            "operator_login": self.operator_login,
            "group_pin": self.group_pin,
            "visitor": self.visitor,
            "request_number": self.request_number,
            "created": self.created,
            "ended": self.ended,
            "ended_at": self.ended_at,
            "answered": self.visitor_answered(),
            "is_record": self.is_record,
            "events": [dict(event) for event in self.events],
        }


@dataclass
class RecordLink:
    """A one-time recording download link."""

    token: str
    digits: str
    session_id: str
    created: float
    ip: str | None
    used: bool = False


class SimState:
    """Requests, calls and record links, plus the stop switch for background threads."""

    def __init__(self, config: dict[str, Any]):
        self.lock = threading.Lock()
        # Set by shutdown(): wakes the slow scenario and stops every playing call.
        self.stop_event = threading.Event()
        self.config = config
        self.requests: list[dict[str, Any]] = []
        self.calls: dict[str, Call] = {}
        self.records: dict[str, RecordLink] = {}
        self.first_seen: dict[str, float] = {}

    # -- config ---------------------------------------------------------------
    def setting(self, key: str) -> Any:
        with self.lock:
            return self.config[key]

    def update_config(self, changes: dict[str, Any]) -> None:
        """Apply run-time changes (keys case-insensitive); raise ValueError on bad input."""
        coerced = {}
        for key, value in changes.items():
            upper = key.upper()
            if upper not in RUNTIME_KEYS:
                raise ValueError(f"setting cannot be changed at run time: {key}")
            coerced[upper] = coerce(upper, value)
        with self.lock:
            self.config.update(coerced)

    def account(self, client_id: str | None) -> dict[str, Any] | None:
        """``{"sign_key", "webhook_base", "dialect"}`` of a client id the sim serves."""
        with self.lock:
            config = self.config
            if client_id and client_id == config["CLIENT_ID"]:
                return {
                    "sign_key": config["SIGN_KEY"],
                    "webhook_base": config["WEBHOOK_BASE"],
                    "dialect": config["DIALECT"],
                }
            extra = config["ACCOUNTS"].get(client_id or "")
            if extra is None:
                return None
            return {**extra, "dialect": extra["dialect"] or config["DIALECT"]}

    # -- requests -------------------------------------------------------------
    def record_request(self, method: str, body: Any, signature_ok: bool) -> dict[str, Any]:
        entry = {"method": method, "time": time.time(), "body": body, "signature_ok": signature_ok}
        with self.lock:
            self.requests.append(entry)
        return entry

    def requests_snapshot(self) -> list[dict[str, Any]]:
        with self.lock:
            return [dict(entry) for entry in self.requests]

    # -- calls ----------------------------------------------------------------
    def first_call_for(self, digits: str) -> bool:
        """True the first time a number is seen (again after ONCE_WINDOW_SECONDS)."""
        now = time.time()
        with self.lock:
            seen = self.first_seen.get(digits)
            if seen is not None and now - seen < ONCE_WINDOW_SECONDS:
                return False
            self.first_seen[digits] = now
            return True

    def add_call(self, call: Call) -> None:
        with self.lock:
            self.calls[call.session_id] = call

    def get_call(self, session_id: str) -> Call | None:
        with self.lock:
            return self.calls.get(session_id)

    def calls_snapshot(self) -> list[dict[str, Any]]:
        with self.lock:
            return [call.as_dict() for call in self.calls.values()]

    def find_call(self, session_id: str) -> Call | None:
        """The call a session id names: the reply's id, or the id its events carry."""
        with self.lock:
            call = self.calls.get(session_id)
            if call is None:
                call = next(
                    (c for c in self.calls.values() if c.event_session_id == session_id), None
                )
            return call

    def call_info(self, session_id: str) -> dict[str, Any] | None:
        """The call_info ``info`` object (``call_info.py``), or None for an unknown session.

        Dialect (g) knows a call only once it is over.
        """
        domain = self.setting("DOMAIN")
        call = self.find_call(session_id)
        with self.lock:
            if call is None or (call.dialect == "g" and not call.ended):
                return None
            return call_info_of(call, domain)

    # -- records --------------------------------------------------------------
    def issue_record_link(self, session_id: str, ip: str | None) -> RecordLink | None:
        """A fresh one-time link if the call ended with a recording, else None."""
        with self.lock:
            call = self.calls.get(session_id)
            if call is None or not (call.ended and call.is_record):
                return None
            link = RecordLink(
                token=secrets.token_hex(16),
                digits=str(secrets.randbelow(10**9)).zfill(9),
                session_id=session_id,
                created=time.time(),
                ip=ip or None,
            )
            self.records[link.token] = link
            return link

    def take_record_link(self, token: str, digits: str, remote_ip: str | None) -> str:
        """Consume a link: "ok", "gone" (unknown, used or expired) or "forbidden" (wrong IP)."""
        ttl = self.setting("RECORD_TTL_SECONDS")
        with self.lock:
            link = self.records.get(token)
            if link is None or link.digits != digits or link.used:
                return "gone"
            if time.time() - link.created > ttl:
                return "gone"
            if link.ip and link.ip != remote_ip:
                return "forbidden"
            link.used = True
            return "ok"

    # -- lifecycle ------------------------------------------------------------
    def reset(self) -> None:
        """Forget everything and stop calls still playing."""
        with self.lock:
            for call in self.calls.values():
                call.cancel.set()
            self.requests.clear()
            self.calls.clear()
            self.records.clear()
            self.first_seen.clear()

    def shutdown(self) -> None:
        """Stop playing calls and wake a stalled call_back, promptly."""
        self.stop_event.set()
        with self.lock:
            for call in self.calls.values():
                call.cancel.set()
