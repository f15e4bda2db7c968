"""Which dialect a domain speaks (docs/pbx-dialects.md), read from one call's raw journal.

Pure: takes the exchanges of one test call (``pbx.exchanges.as_dict`` rows, the
call_back first) and the number that was called, returns the findings and the
dialect letter. The words for the owner are in ``admin/pbx_check.py``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from .events import read_call_info, same_number

# (h): an operator ring past this many seconds outlasts the usual ring timeout.
LONG_RING_SECONDS = 20


@dataclass
class Findings:
    """What one call showed; None where the journal cannot tell."""

    placed: bool = False
    result_code: str = ""
    events_arrive: bool = False
    session_ids_match: bool | None = None
    visitor_calling_seen: bool | None = None
    connected_on_operator_answer: bool | None = None
    session_log_present: bool = False
    # The log has ring/answer/hang-up entries with the visitor's number; the seed
    # article's names them only as the external line (s): then it cannot tell.
    log_names_visitor: bool | None = None
    visitor_answered: bool | None = None
    operator_ring_seconds: int | None = None
    tls_verified: bool | None = None
    tls: dict[str, Any] = field(default_factory=dict)
    dialect: str = "a"

    def settings(self) -> dict[str, Any]:
        """The account settings the dispatch rules read, as this call showed them."""
        return {"events_expected": self.events_arrive, "dialect": self.dialect}


def analyse(exchanges: list[dict[str, Any]], visitor_number: str) -> Findings:
    """The findings of one call's journal (``visitor_number``: the number we had called)."""
    found = Findings()
    callback = next((x for x in exchanges if x["kind"] == "call_back"), None)
    reply = (callback or {}).get("reply") or {}
    found.placed = bool(reply.get("session_id"))
    found.result_code = str(reply.get("result", "")).strip()
    events = [x["request"] or {} for x in exchanges if x["kind"] == "event"]
    found.events_arrive = bool(events)
    if events and found.placed:
        ids = {str(e.get("session_id", "")) for e in events}
        found.session_ids_match = ids == {str(reply["session_id"])}
    if events:
        _read_events(found, events, visitor_number)
    _read_call_info(found, exchanges, visitor_number)
    tls = next((x["reply"] for x in reversed(exchanges) if x["kind"] == "tls"), None)
    if tls:
        found.tls, found.tls_verified = tls, tls.get("verified")
    found.dialect = _dialect(found)
    return found


def _read_events(found: Findings, events: list[dict], visitor_number: str) -> None:
    callings = [e for e in events if e.get("state") == "calling"]
    # A session's first calling is the operator leg, even with the visitor's number (b).
    found.visitor_calling_seen = any(
        same_number(e.get("request_number"), visitor_number) for e in callings[1:]
    )
    connected = [e for e in events if e.get("state") == "connected"]
    if connected:
        found.connected_on_operator_answer = not same_number(
            connected[0].get("request_number"), visitor_number
        )


def _read_call_info(found: Findings, exchanges: list[dict], visitor_number: str) -> None:
    infos = [
        (x["reply"] or {}).get("info")
        for x in exchanges
        if x["kind"] == "call_info" and isinstance((x["reply"] or {}).get("info"), dict)
    ]
    logged = [i for i in infos if i.get("session_log")]
    if not logged:
        if infos:
            found.visitor_answered = str(infos[-1].get("state")) == "1"
        return
    last = logged[-1]
    found.session_log_present = True
    seen = read_call_info(last, visitor_number)
    found.log_names_visitor = seen.visitor_named
    found.visitor_answered = seen.visitor_answered if seen.visitor_named else None
    found.operator_ring_seconds = _operator_ring(str(last["session_log"]), visitor_number)


def _operator_ring(session_log: str, visitor_number: str) -> int | None:
    """Seconds from the operator's ``ct`` to their ``cc`` in a session_log."""
    rang = answered = None
    for item in session_log.split(";"):
        parts = item.strip().split(":")
        if len(parts) < 3 or same_number(parts[2], visitor_number):
            continue
        try:
            moment = float(parts[0])
        except ValueError:
            continue
        if parts[1] == "ct" and rang is None:  # the seed's el/ru entries are no ring
            rang = moment
        elif parts[1] == "cc" and answered is None:
            answered = moment
    if rang is None or answered is None:
        return None
    return int(answered - rang)


def _dialect(found: Findings) -> str:
    """One letter: the difference that matters most to the call machine wins."""
    if not found.events_arrive:
        return "g"
    if found.session_ids_match is False:
        return "e"
    if found.placed and found.result_code == "1":
        return "f"
    if found.connected_on_operator_answer:
        return "d" if found.visitor_answered is False else "c"
    if found.visitor_calling_seen is False:
        return "b"
    if found.log_names_visitor is False:
        return "s"
    if (found.operator_ring_seconds or 0) >= LONG_RING_SECONDS:
        return "h"
    return "a"
