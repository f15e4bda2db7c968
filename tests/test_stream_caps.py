"""How many live status streams one client may hold open in one process
(``WIDGET_STREAMS_PER_IP``), over real HTTP: counted on open, given back on close."""

from __future__ import annotations

import http.client
import json
import time
from urllib.parse import urlsplit

import pytest

from widget_server.abuse import blocklist
from widget_server.abuse.bots import TRAP_FIELD
from widget_server.extensions import db
from widget_server.visitor import stream

from .conftest import build_stack

CAP = 3


class Stream:
    """``GET /events`` as a browser's EventSource sends it, from the address ``client``
    (the one proxy trusted in front of the app says so in ``X-Forwarded-For``)."""

    def __init__(self, stack, handle: str, client: str = "198.51.100.7"):
        parts = urlsplit(stack.service_url)
        self.conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=20)
        headers = {
            "Origin": stack.shop_url,
            "Accept": "text/event-stream",
            "X-Forwarded-For": client,
        }
        self.conn.request("GET", f"/api/v1/requests/{handle}/events", headers=headers)
        self.response = self.conn.getresponse()
        self.status = self.response.status

    def first_line(self) -> bytes:
        return self.response.readline()

    def rest(self) -> bytes:
        return self.response.read()

    def close(self) -> None:
        self.response.close()  # the socket stays open while the response holds it
        self.conn.close()


@pytest.fixture
def capped(tmp_path, monkeypatch):
    """A stack behind one trusted proxy, allowing ``CAP`` streams per client; its queue never
    dials, so every request waits."""
    monkeypatch.setattr(stream, "KEEPALIVE_SECONDS", 0.2)  # a hung-up client is noticed soon
    stack, stop = build_stack(
        tmp_path,
        start_consumer=False,
        app_overrides={"STREAMS_PER_IP": CAP, "TRUSTED_PROXIES": 1},
    )
    yield stack
    stop()


def _handles(stack, count: int) -> list[str]:
    return [stack.submit(f"+7916555{i:04d}").json()["handle"] for i in range(count)]


def _open(stack, handles, client: str = "198.51.100.7") -> list[Stream]:
    opened = [Stream(stack, handle, client) for handle in handles]
    for each in opened:
        if each.status == 200:
            assert each.first_line() == b"retry: 1000\n"  # the server holds it open
    return opened


def test_one_client_past_the_cap_is_told_429_and_the_widget_polls_instead(capped):
    handles = _handles(capped, CAP + 1)
    held = _open(capped, handles[:CAP])
    try:
        over = Stream(capped, handles[CAP])

        assert [s.status for s in held] == [200] * CAP
        assert over.status == 429
        assert json.loads(over.rest())["error"] == "rate_limited"
        assert int(over.response.headers["Retry-After"]) > 0
        # The widget's page may read the answer: its EventSource fails and it polls.
        assert over.response.headers["Access-Control-Allow-Origin"] == capped.shop_url
        # Polling the same request is not capped.
        assert capped.status(handles[CAP])["status"] == "queued"
        # Another client is counted on its own.
        other = _open(capped, handles[CAP:], client="203.0.113.9")
        assert [s.status for s in other] == [200]
        other[0].close()
    finally:
        for each in held:
            each.close()


def test_a_stream_closed_by_its_client_gives_its_place_back(capped):
    handles = _handles(capped, CAP + 1)
    held = _open(capped, handles[:CAP])
    try:
        held[0].close()
        deadline = time.monotonic() + 5
        while True:  # the server notices the hang-up when its next keep-alive fails
            again = Stream(capped, handles[CAP])
            if again.status == 200:
                break
            again.rest()
            again.close()
            assert time.monotonic() < deadline, "the closed stream's place never came back"
            time.sleep(0.1)
        again.close()
    finally:
        for each in held[1:]:
            each.close()


def test_a_final_requests_stream_ends_after_its_status_and_holds_no_place(capped):
    handles = _handles(capped, 1)
    assert capped.session.post(
        f"{capped.service_url}/api/v1/requests/{handles[0]}/cancel",
        headers={"Origin": capped.shop_url},
        timeout=5,
    ).json()["final"]

    answers = []
    for _ in range(CAP * 2):
        ended = Stream(capped, handles[0])
        body = ended.rest()  # returns only once the server closed the stream
        answers.append((ended.status, body.count(b"data:")))
        ended.close()

    assert answers == [(200, 1)] * (CAP * 2)


def test_addresses_of_one_ipv6_64_share_one_cap(capped):
    handles = _handles(capped, CAP + 2)
    held = _open(capped, handles[:CAP], client="2001:db8:5:6::1")
    try:
        same = Stream(capped, handles[CAP], client="2001:db8:5:6::ffff")
        next_net = Stream(capped, handles[CAP + 1], client="2001:db8:5:7::1")

        assert same.status == 429
        assert next_net.status == 200
        same.close()
        next_net.close()
    finally:
        for each in held:
            each.close()


def test_disguised_requests_streams_count_against_the_cap_as_real_ones(capped):
    with capped.app.app_context():
        blocklist.block("+79165559999", owner_id=None, source="opt_out")
        db.session.commit()
    blocked = capped.submit("+79165559999").json()["handle"]
    trapped = capped.submit("+79165559998", **{TRAP_FIELD: "http://spam.example"}).json()
    handles = [blocked, trapped["handle"], *_handles(capped, 2)]
    held = _open(capped, handles[:CAP])
    try:
        over = Stream(capped, handles[CAP])
        assert [s.status for s in held] == [200] * CAP
        assert over.status == 429
        over.close()
    finally:
        for each in held:
            each.close()
