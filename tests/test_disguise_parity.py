"""A blocked, opted-out or trapped request is, through the public API, a real one nobody
answered: the same limits on asking again, and the same status stream, byte for byte."""

from __future__ import annotations

import threading
import time
from datetime import timedelta

import pytest
from sqlalchemy import select

from widget_server.abuse import blocklist
from widget_server.abuse.bots import TRAP_FIELD
from widget_server.dispatch import state
from widget_server.extensions import db
from widget_server.models import CallbackRequest, utcnow
from widget_server.statuses import Status
from widget_server.visitor import disguise, intake, stream

from .conftest import build_stack
from .sse_client import EventStream
from .test_abuse_limits import build

BLOCKED, REAL = "+79161230001", "+79162340002"  # distinct prefixes: no shared prefix counter


def _block(app, phone: str) -> None:
    with app.app_context():
        blocklist.block(phone, owner_id=None, source="opt_out")
        db.session.commit()


def _answers(site, phone: str, times: int, **extra) -> list[tuple[int, str | None]]:
    answers = []
    for i in range(times):
        response = site.client.post(
            f"/api/v1/widgets/{site.keys[i % len(site.keys)]}/requests",
            json={"phone": phone, "consent": True, "group": "101", **extra},
            headers={"Origin": "https://shop.example"},
            environ_base={"REMOTE_ADDR": f"198.51.100.{i + 1}"},
        )
        answers.append((response.status_code, response.headers.get("Retry-After")))
    return answers


def test_a_blocked_number_asked_again_is_refused_as_a_number_with_a_call_under_way(tmp_path):
    site = build(tmp_path, widgets=2, RATELIMIT_NUMBER="100/minute")
    _block(site.app, BLOCKED)

    blocked, real = _answers(site, BLOCKED, 3), _answers(site, REAL, 3)

    assert blocked == real
    assert [code for code, _ in real] == [202, 429, 429]


def test_a_trapped_bot_asking_again_is_refused_as_anyone_else_would_be(tmp_path):
    site = build(tmp_path, RATELIMIT_NUMBER="100/minute")

    trapped = _answers(site, BLOCKED, 2, **{TRAP_FIELD: "http://spam.example"})
    real = _answers(site, REAL, 2)

    assert trapped == real == [(202, None), (429, "60")]


def test_a_blocked_numbers_requests_count_against_the_per_number_limits_as_real_ones(tmp_path):
    site = build(tmp_path, widgets=2, RATELIMIT_NUMBER="1/2minute")
    _block(site.app, BLOCKED)
    answers = {}
    for phone in (BLOCKED, REAL):
        first = _answers(site, phone, 1)
        site.finish_all()  # out of the one-active-call rule's way: the number limit speaks
        answers[phone] = first + _answers(site, phone, 1)

    assert answers[BLOCKED][0] == answers[REAL][0] == (202, None)
    assert answers[BLOCKED][1][0] == answers[REAL][1][0] == 429
    assert abs(int(answers[BLOCKED][1][1]) - int(answers[REAL][1][1])) <= 1


def test_once_a_disguised_request_would_have_ended_its_number_may_ask_again(tmp_path):
    site = build(tmp_path, RATELIMIT_NUMBER="100/minute", RATELIMIT_WIDGET_NUMBER="100/minute")
    _block(site.app, BLOCKED)
    assert _answers(site, BLOCKED, 1) == [(202, None)]
    with site.app.app_context():
        held = db.session.scalar(select(CallbackRequest).filter_by(phone=BLOCKED))
        held.created_at = utcnow() - timedelta(minutes=20)  # long past its last round
        db.session.commit()
        assert disguise.progress(held, utcnow()).status == Status.NO_OPERATOR

    assert _answers(site, BLOCKED, 1) == [(202, None)]


# -- the stream -----------------------------------------------------------------------------
# Keep-alives at 0.4 s and 0.8 s, the disguised request rings at about 0.95 s (it was made a
# little before its stream opened), then keep-alives at 1.35 s and 1.75 s: every moment
# well apart from the next, so that scheduling noise cannot swap two of them.
KEEPALIVE = 0.4
QUEUED_FOR = 1.0
WATCH = 1.95  # seconds each stream is read
TOLERANCE = 0.15


class Recorder:
    """Reads a stream in a thread: each line sent, with its time since the stream opened."""

    def __init__(self, stack, handle: str):
        self.stream = EventStream(
            stack.service_url, f"/api/v1/requests/{handle}/events", stack.shop_url
        )
        self.opened = time.monotonic()
        self.lines: list[tuple[float, bytes]] = []
        self.thread = threading.Thread(target=self._read, daemon=True)
        self.thread.start()

    def _read(self) -> None:
        try:
            while line := self.stream.response.readline():
                self.lines.append((time.monotonic() - self.opened, line))
        except (OSError, ValueError):  # closed by the test
            pass

    def messages(self) -> int:
        return sum(line.startswith(b"data:") for _, line in self.lines)

    def sent(self) -> list[tuple[float, str]]:
        """What was sent and when, each message's ``updated_at`` left out (the two requests
        were not made in the same instant)."""
        import json

        found = []
        for at, line in self.lines:
            text = line.decode()
            if text.startswith("data:"):
                view = json.loads(text[5:])
                view.pop("updated_at")
                text = f"data: {json.dumps(view, sort_keys=True)}\n"
            found.append((at, text))
        return found


@pytest.fixture
def quiet_stack(tmp_path, monkeypatch):
    """A stack whose queue never dials: a real request stays queued until the test moves it."""
    monkeypatch.setattr(stream, "KEEPALIVE_SECONDS", KEEPALIVE)
    monkeypatch.setattr(disguise, "QUEUED_FOR", timedelta(seconds=QUEUED_FOR))
    stack, stop = build_stack(tmp_path, start_consumer=False)
    yield stack
    stop()


def _ring_as_a_real_request(stack, handle: str) -> None:
    """What the queue worker does when it starts ringing the group."""
    with stack.app.app_context():
        req = db.session.scalar(select(CallbackRequest).filter_by(handle=handle))
        assert state.set_status(req, Status.CALLING_OPERATOR)
        db.session.commit()


def test_a_disguised_requests_stream_sends_what_a_real_ones_does_when_it_does(quiet_stack):
    stack = quiet_stack
    _block(stack.app, BLOCKED)
    real = stack.submit(REAL).json()["handle"]
    blocked = stack.submit(BLOCKED).json()["handle"]
    streams = Recorder(stack, real), Recorder(stack, blocked)
    try:
        # The disguised request starts ringing on its own; the real one when its worker says.
        deadline = time.monotonic() + QUEUED_FOR + 3
        while streams[1].messages() < 2:
            assert time.monotonic() < deadline, streams[1].lines
            time.sleep(0.01)
        _ring_as_a_real_request(stack, real)
        time.sleep(max(0.0, WATCH - (time.monotonic() - streams[1].opened)))
    finally:
        for recorder in streams:
            recorder.stream.close()
    real_sent, disguised_sent = streams[0].sent(), streams[1].sent()

    skip = {"Date", "X-Request-ID"}  # the second the answer was made, and a random id
    assert [(k, v) for k, v in streams[0].stream.headers.items() if k not in skip] == [
        (k, v) for k, v in streams[1].stream.headers.items() if k not in skip
    ]
    assert [text for _, text in disguised_sent] == [text for _, text in real_sent], (
        disguised_sent,
        real_sent,
    )
    assert ": keep-alive\n" in [text for _, text in real_sent]
    for (real_at, _), (disguised_at, _) in zip(real_sent, disguised_sent, strict=True):
        assert abs(real_at - disguised_at) <= TOLERANCE, (real_sent, disguised_sent)


def test_the_owner_may_dial_a_trapped_request_again_at_once_it_was_a_person_after_all(tmp_path):
    site = build(tmp_path, RATELIMIT_NUMBER="100/minute", RATELIMIT_WIDGET_NUMBER="100/minute")
    assert _answers(site, REAL, 1, **{TRAP_FIELD: "http://spam.example"}) == [(202, None)]
    with site.app.test_request_context():
        held = db.session.scalar(select(CallbackRequest).filter_by(phone=REAL))
        assert disguise.disguised(held)

        again = intake.submit(
            held.widget,
            {"phone": REAL, "consent": True, "group": "101"},
            origin=held.origin,
            client_ip=None,
            by_owner=True,
        )

        assert isinstance(again, intake.Accepted) and not again.held
