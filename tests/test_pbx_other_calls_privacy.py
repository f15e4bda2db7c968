"""The domain's other calls: their events reach our webhook, none of their numbers stay.

The PBX sends ``call_events`` for every call of the domain: customers calling the
office, operators calling out by hand (the operator we ring among them), internal
calls. While a visitor's request is dialled through our service and the real
simulator over loopback, a stream of signed events of such calls is posted, and
the simulator plays calls of the same operator to other numbers; the visitor's
call must still finish (under dialect (e) too, where our events come under
another session id), and afterwards no unrelated number is anywhere: not in any
row of any table, not in any file of the instance (the database files, the
queue's), not in the log.
"""

from __future__ import annotations

import io
import itertools
import logging
import re
import secrets
import threading
import time
import uuid
from datetime import timedelta
from pathlib import Path

import pytest
import requests
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy import MetaData, select

from widget_server.dispatch import reconcile
from widget_server.extensions import db
from widget_server.models import CallEvent, PbxAccount, PbxExchange, utcnow
from widget_server.pbx import exchanges
from widget_server.pbx.dialect_check import analyse
from widget_server.pbx.signing import encode_body, signed_headers
from widget_server.pbx.sim.player import moscow_timestamp, post_event

from .conftest import SIM_CLIENT_ID, SIM_SIGN_KEY, build_stack

TOKEN = "metrics-token-0123456789abcdef"
DOMAIN = "demo.cloudpbx.rt.ru"
VISITOR = "+7 916 123-45-67"
OPERATOR = "201"  # the widget's first operator: our call_back rings this PIN
# The domain's incoming line, and people who are none of our visitors: customers
# calling in or called by hand, and the operator's calls the simulator plays.
LINE = "74951234567"
BY_HAND = [f"790355501{n:02d}" for n in range(1, 9)]
SIM_PLAYED = ["79264440011", "79857770022"]
OTHERS = BY_HAND + SIM_PLAYED
# The ways a PBX writes a number (§2.2: SIP URI, +7, national 8, host an IP address).
SPELLINGS = (
    "sip:{d}@" + DOMAIN,
    "+{d}",
    "8{n}",
    "sip:+{d}@188.254.33.73",
    "{d}",
)


def spelled(digits: str, turn: int) -> str:
    return SPELLINGS[turn % len(SPELLINGS)].format(d=digits, n=digits[1:])


# -- the other calls -------------------------------------------------------------------------
def event(session_id: str, kind: str, state: str, **fields: str) -> dict[str, str]:
    """A call_events body with every key present, unused ones "" (the KAM fixture's shape)."""
    body = {
        "session_id": session_id,
        "timestamp": moscow_timestamp(time.time()),
        "type": kind,
        "state": state,
        "from_number": "",
        "from_pin": "",
        "request_number": "",
        "request_pin": "",
        "disconnect_reason": "",
        "is_record": "",
    }
    body.update(fields)
    if state == "disconnected":
        body["disconnect_reason"] = "5"
    if state == "end":
        body["is_record"] = "true"
    return body


STATES = ("new", "calling", "connected", "disconnected", "end")


def customer_calls_the_office(number: str, turn: int) -> list[dict[str, str]]:
    """An incoming call (the seed article's shape), answered by our operator."""
    session_id = "SD" + secrets.token_urlsafe(11)[:14]
    caller = spelled(number, turn)
    events = [
        event(session_id, "incoming", "new", from_number=caller, request_number=spelled(LINE, 0))
    ]
    answered = {"from_number": caller, "request_number": f"anna@{DOMAIN}", "request_pin": OPERATOR}
    events += [event(session_id, "incoming", state, **answered) for state in STATES[1:]]
    return events


def operator_calls_out(pin: str, login: str, number: str, turn: int) -> list[dict[str, str]]:
    """An outbound call dialled by hand; ids like a live event's (SD…) or a reply's (UUID)."""
    session_id = str(uuid.uuid4()) if turn % 2 else "SD" + secrets.token_urlsafe(11)[:14]
    fields = {
        "from_number": f"sip:{login}@{DOMAIN}",
        "from_pin": pin,
        "request_number": spelled(number, turn),
    }
    return [event(session_id, "outbound", state, **fields) for state in STATES]


def colleagues_talk() -> list[dict[str, str]]:
    """An internal call: two operators, no outside number."""
    session_id = "SD" + secrets.token_urlsafe(11)[:14]
    fields = {
        "from_number": f"sip:boris@{DOMAIN}",
        "from_pin": "202",
        "request_number": f"sip:vera@{DOMAIN}",
        "request_pin": "203",
    }
    return [event(session_id, "internal", state, **fields) for state in STATES]


class OtherCalls:
    """Posts signed events of calls that are not ours, interleaved as live calls are."""

    def __init__(self, base: str):
        self.base = base
        self.posted = 0
        self.times: list[float] = []  # when each event went out
        self.refused: list[int | None] = []
        self.stop = threading.Event()
        self.rounds = 0
        self.thread = threading.Thread(target=self._run, name="other-calls", daemon=True)
        self._turns = itertools.count()

    def start(self) -> None:
        self.thread.start()

    def finish(self) -> None:
        self.stop.set()
        self.thread.join(timeout=30)
        assert not self.thread.is_alive()

    def _calls(self) -> list[list[dict[str, str]]]:
        turn = next(self._turns)
        number = [BY_HAND[(turn + n) % len(BY_HAND)] for n in range(5)]
        return [
            customer_calls_the_office(number[0], turn),
            # Our operator calls others by hand, under ids like a reply's and like events'.
            operator_calls_out(OPERATOR, "anna", number[1], turn),
            operator_calls_out(OPERATOR, "anna", number[2], turn + 1),
            operator_calls_out("202", "boris", number[3], turn + 2),
            # A line that names no PIN (a trunk, a mobile extension).
            operator_calls_out("", "gleb", number[4], turn + 3),
            colleagues_talk(),
        ]

    def _run(self) -> None:
        # At least one round, whatever happens; then until told to stop.
        while self.rounds == 0 or not self.stop.is_set():
            for moment in itertools.zip_longest(*self._calls()):
                for payload in filter(None, moment):
                    payload["timestamp"] = moscow_timestamp(time.time())
                    status, _error = post_event(self.base, SIM_CLIENT_ID, SIM_SIGN_KEY, payload)
                    self.posted += 1
                    self.times.append(time.time())
                    if status != 200:
                        self.refused.append(status)
            self.rounds += 1


def sim_plays_another_call(stack, number: str) -> str:
    """The operator calls someone else through the PBX (not through us): the simulator
    plays it in the domain's dialect and its events come to our webhook."""
    body = encode_body({"request_number": number, "from_pin": OPERATOR})
    answer = requests.post(
        f"{stack.sim_url}/call_back",
        data=body,
        headers=signed_headers(SIM_CLIENT_ID, body, SIM_SIGN_KEY),
        timeout=5,
    ).json()
    assert answer["result"] in ("0", "1"), answer
    return answer["session_id"]


# -- looking everywhere ----------------------------------------------------------------------
def pattern(digits: str) -> str:
    """The last ten digits, whatever stands between them (``+7 (903) 555-01-01``)."""
    return r"\D{0,3}".join(digits[-10:])


WANTED = [LINE, *OTHERS]
TEXT_PATTERNS = {d: re.compile(pattern(d)) for d in WANTED}
BYTE_PATTERNS = {d: re.compile(pattern(d).encode()) for d in WANTED}


def every_row(app) -> str:
    """Every row of every table, as text."""
    with app.app_context():
        tables = MetaData()
        tables.reflect(bind=db.engine)  # every table there is, not only the models'
        lines = []
        for table in tables.sorted_tables:
            for row in db.session.execute(select(table)):
                lines.append(f"{table.name}: {tuple(row)!r}")
        db.session.rollback()
        return "\n".join(lines)


def numbers_in(where: str) -> list[str]:
    return [d for d, found in TEXT_PATTERNS.items() if found.search(where)]


def numbers_in_files(folder: Path) -> dict[str, list[str]]:
    """Every file of the instance read as bytes: deleted rows linger in database pages."""
    found = {}
    for path in folder.rglob("*"):
        if path.is_file():
            data = path.read_bytes()
            hits = [d for d, seen in BYTE_PATTERNS.items() if seen.search(data)]
            if hits:
                found[str(path.relative_to(folder))] = hits
    return found


def sample(text_format: str, name: str, **labels: str) -> float:
    total = 0.0
    for family in text_string_to_metric_families(text_format):
        for s in family.samples:
            if s.name == name and all(s.labels.get(k) == v for k, v in labels.items()):
                total += s.value
    return total


# -- the stack -------------------------------------------------------------------------------
@pytest.fixture
def busy_domain(tmp_path):
    """The live stack at a pace where a call lasts seconds, its log read into a buffer."""
    stack, stop = build_stack(
        tmp_path,
        time_scale=0.25,
        app_overrides={"METRICS_TOKEN": TOKEN, "LOG_LEVEL": "DEBUG"},
    )
    handler = next(h for h in logging.getLogger().handlers if getattr(h, "_widget_server", False))
    stack.log_buffer = io.StringIO()
    previous = handler.setStream(stack.log_buffer)
    with stack.app.app_context():
        db.session.scalar(select(PbxAccount)).route_inbound = True  # get_number_info looks up
        db.session.commit()
    try:
        yield stack
    finally:
        handler.setStream(previous)
        stop()


def scrape(stack) -> str:
    answer = requests.get(
        f"{stack.service_url}/metrics", headers={"Authorization": f"Bearer {TOKEN}"}, timeout=10
    )
    assert answer.status_code == 200
    return answer.text


def sim_calls(stack) -> list[dict]:
    return stack.session.get(f"{stack.sim_url}/_sim/calls", timeout=5).json()


def all_played(stack) -> bool:
    """Every simulated call ended and each of its events got its answer."""
    calls = sim_calls(stack)
    return all(c["ended"] and all(e["status"] for e in c["events"]) for c in calls)


@pytest.mark.parametrize("dialect", ["a", "e"])
def test_a_domain_busy_with_other_calls_keeps_none_of_their_numbers_while_our_call_finishes(
    busy_domain, tmp_path, dialect
):
    stack = busy_domain
    stack.session.post(f"{stack.sim_url}/_sim/config", json={"dialect": dialect}, timeout=5)
    before = scrape(stack)
    others = OtherCalls(f"{stack.service_url}/pbx/{stack.account_public_id}")
    others.start()
    sim_plays_another_call(stack, SIM_PLAYED[0])
    stack.wait_until(lambda: others.posted >= 10, message="other calls' events under way")
    handle = stack.submit(VISITOR).json()["handle"]
    sim_plays_another_call(stack, SIM_PLAYED[1])
    for number in OTHERS:  # the office's line rings: who is calling?
        info = requests.post(
            f"{stack.service_url}/pbx/{stack.account_public_id}/get_number_info",
            data=(body := encode_body({"from_number": number, "request_number": LINE})),
            headers=signed_headers(SIM_CLIENT_ID, body, SIM_SIGN_KEY),
            timeout=10,
        )
        assert info.json() == {"result": "0", "resultMessage": "ok"}
    final = stack.wait_final(handle, timeout=30)
    others.finish()
    stack.wait_until(lambda: all_played(stack), timeout=20, message="every simulated call played")
    after = scrape(stack)

    # Our visitor's call went through as if the domain were quiet.
    assert final["status"] == "finished"
    assert others.refused == []
    ours = [c for c in sim_calls(stack) if c["visitor"] == "79161234567"]
    assert len(ours) == 1
    during = [t for t in others.times if ours[0]["created"] <= t <= ours[0]["ended_at"]]
    assert len(during) >= 10  # the other calls went on while ours was live
    our_events = {ours[0]["event_session_id"]}
    with stack.app.app_context():
        stored = db.session.execute(select(CallEvent.session_id, CallEvent.attempt_id)).all()
        assert {s for s, _a in stored} == our_events
        assert all(a is not None for _s, a in stored)
        assert len(stored) == len(ours[0]["events"])
        # The exchange journal holds our call alone: the first-call check reads it right.
        account = db.session.scalar(select(PbxAccount))
        callback = db.session.scalar(select(PbxExchange.id).where(PbxExchange.kind == "call_back"))
        journal = [exchanges.as_dict(r) for r in exchanges.call_exchanges(account.id, callback)]
        assert {x["session_id"] for x in journal if x["kind"] == "event"} == our_events
        assert analyse(journal, VISITOR).dialect == dialect
        # The PBX's call journal lists every call of the domain; we keep counts of the others.
        now = utcnow()
        run = reconcile.reconcile_now(account, now - timedelta(hours=1), now + timedelta(minutes=1))
        assert (run.status, run.rows, run.matched, run.unknown_calls) == ("done", 3, 1, [])

    # What was dropped is counted, by state, without numbers.
    dropped = sample(after, "widget_webhook_events_total", outcome="not_ours") - sample(
        before, "widget_webhook_events_total", outcome="not_ours"
    )
    played_elsewhere = sum(len(c["events"]) for c in sim_calls(stack) if c["visitor"] in SIM_PLAYED)
    assert dropped == others.posted + played_elsewhere

    # And none of their numbers is anywhere.
    assert numbers_in(every_row(stack.app)) == []
    assert numbers_in_files(tmp_path) == {}
    log = stack.log_buffer.getvalue()
    assert "event of another call on the domain (outbound), not kept" in log
    assert numbers_in(log) == []
