"""The live status stream (``GET /api/v1/requests/<handle>/events``), on the live stack:
our service and the simulator over loopback, the queue worker dialling."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from datetime import timedelta

import pytest
from sqlalchemy import select

from widget_server.abuse.bots import TRAP_FIELD
from widget_server.extensions import db
from widget_server.models import Widget
from widget_server.visitor import disguise, stream, watch

from .conftest import build_stack
from .sse_client import EventStream
from .test_abuse_limits import REDIS_SERVER, _wait_port, start_redis, stop_redis

STATUS_FIELDS = {"status", "final", "cancellable", "message", "updated_at", "scheduled_for"} | {
    "stage",
    "retry_at",
    "final_action",
    "title",
    "wait_seconds",
}


def events(stack, handle: str, origin: str | None = None) -> EventStream:
    return EventStream(
        stack.service_url, f"/api/v1/requests/{handle}/events", origin or stack.shop_url
    )


def test_the_stream_carries_each_stage_of_an_answered_call_and_ends_after_the_final_one(stack):
    handle = stack.submit("+79161234567").json()["handle"]
    live = events(stack, handle)

    assert live.status == 200
    assert live.headers["Content-Type"].startswith("text/event-stream")
    assert live.headers["Access-Control-Allow-Origin"] == stack.shop_url
    messages = live.messages()  # returns only when the server ends the stream
    statuses = [m["status"] for m in messages]
    assert statuses[-1] == "finished"
    assert "connected" in statuses and "calling_operator" in statuses
    assert statuses.index("calling_operator") < statuses.index("connected")
    assert all(set(m) == STATUS_FIELDS for m in messages)
    assert [m["final"] for m in messages] == [False] * (len(messages) - 1) + [True]
    # Each message is a change, and the last is exactly what a poll answers.
    assert all(a != b for a, b in zip(messages, messages[1:], strict=False))
    assert messages[-1] == stack.status(handle)


def test_a_finished_requests_stream_sends_its_final_status_once_and_ends(stack):
    handle = stack.submit("+79161234568").json()["handle"]
    final = stack.wait_final(handle)

    messages = events(stack, handle).messages()

    assert len(messages) == 1
    assert messages[0]["status"] == final["status"]
    assert messages[0] == stack.status(handle)


def test_the_stream_is_refused_to_other_origins_and_unknown_handles(stack):
    handle = stack.submit("+79161234569").json()["handle"]

    elsewhere = events(stack, handle, origin="https://evil.example")
    unknown = events(stack, "no-such-handle")

    assert elsewhere.status == 403
    assert b"origin_not_allowed" in elsewhere.body()
    assert "Access-Control-Allow-Origin" not in elsewhere.headers
    assert unknown.status == 404


def test_the_stream_keeps_the_status_endpoints_rate_limit_per_request(stack):
    handle = stack.submit("+79161234570").json()["handle"]
    stack.wait_final(handle)  # a final request's stream answers at once and ends

    answers = []
    for _ in range(41):
        live = events(stack, handle)
        answers.append(live.status)
        live.body()
        live.close()

    assert answers[:40] == [200] * 40
    assert answers[40] == 429


def test_a_trapped_bots_request_streams_the_life_its_polls_show(stack):
    with stack.app.app_context():
        widget = db.session.scalar(select(Widget).filter_by(public_key=stack.widget_key))
        widget.ring_timeout = widget.pbx_account.ring_seconds = 1  # a round of 2 s
        db.session.commit()
    handle = stack.submit("+79161234571", **{TRAP_FIELD: "http://spam.example"}).json()["handle"]
    live = events(stack, handle)

    messages = live.messages()

    statuses = [m["status"] for m in messages]
    # As a real request nobody answered: queued, the group rung (the next operator said as
    # a message of its own, as for a real one), then no operator.
    assert list(dict.fromkeys(statuses)) == ["queued", "calling_operator", "no_operator"]
    assert [m["stage"] for m in messages if m["status"] == "calling_operator"][-1] == (
        "next_operator"
    )
    assert messages[-1] == stack.status(handle)
    assert not stack.sim_requests("call/back"), "a disguised request is never dialled"


def _change_elsewhere(stack, handle: str, env: dict[str, str]) -> None:
    """Cancel the request from another process, as a queue worker would change it."""
    script = (
        "import sys\n"
        "from widget_server import create_app\n"
        "from widget_server.dispatch import state\n"
        "from widget_server.extensions import db\n"
        "from widget_server.models import CallbackRequest\n"
        "app = create_app({'SQLALCHEMY_DATABASE_URI': sys.argv[1], 'TESTING': True})\n"
        "with app.app_context():\n"
        "    req = db.session.query(CallbackRequest).filter_by(handle=sys.argv[2]).one()\n"
        "    assert state.cancel(req.id)\n"
    )
    uri = stack.app.config["SQLALCHEMY_DATABASE_URI"]
    subprocess.run([sys.executable, "-c", script, uri, handle], env=env, check=True, timeout=60)


def _held_in_queue(tmp_path, app_overrides):
    """A stack whose queue worker does not run: its requests stay queued until changed."""
    return build_stack(tmp_path, start_consumer=False, app_overrides=app_overrides)


@pytest.mark.redis
def test_a_change_made_in_another_process_reaches_the_stream_through_redis(tmp_path):
    server, url = start_redis()
    # No poll loop could have seen it: with Redis the streams only hear what is published.
    stack, stop = _held_in_queue(tmp_path, {"REDIS_URL": url, "STATUS_WATCH_POLL_MS": 3_600_000})
    try:
        handle = stack.submit("+79161234572").json()["handle"]
        live = events(stack, handle)
        assert live.next_message()["status"] == "queued"

        _change_elsewhere(stack, handle, dict(os.environ, WIDGET_REDIS_URL=url))

        cancelled = live.next_message()
        assert cancelled["status"] == "cancelled" and cancelled["final"] is True
        assert live.next_message() is None
    finally:
        watch.hub_for(stack.app).stop()
        stop()
        stop_redis(server)


def test_without_redis_one_poll_loop_per_process_hears_another_processs_change(tmp_path):
    stack, stop = _held_in_queue(tmp_path, {"STATUS_WATCH_POLL_MS": 100})
    try:
        handles = [stack.submit(f"+7916123458{i}").json()["handle"] for i in range(3)]
        streams = [events(stack, h) for h in handles]
        assert [s.next_message()["status"] for s in streams] == ["queued"] * 3
        hub = watch.hub_for(stack.app)
        assert sorted(hub.watched()) == sorted(handles)

        env = {k: v for k, v in os.environ.items() if k != "WIDGET_REDIS_URL"}
        _change_elsewhere(stack, handles[1], env)

        assert streams[1].next_message()["status"] == "cancelled"
        assert streams[1].next_message() is None
        # The others still wait, and leave the hub when they hang up.
        assert handles[1] not in hub.watched() or _eventually_gone(hub, handles[1])
        for s in (streams[0], streams[2]):
            s.close()
    finally:
        stop()


def _eventually_gone(hub, handle: str, seconds: float = 5.0) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if handle not in hub.watched():
            return True
        time.sleep(0.05)
    return False


def test_the_stream_sends_keep_alive_comments_while_nothing_changes(tmp_path, monkeypatch):
    monkeypatch.setattr(stream, "KEEPALIVE_SECONDS", 0.2)
    stack, stop = _held_in_queue(tmp_path, {})
    try:
        handle = stack.submit("+79161234590").json()["handle"]
        live = events(stack, handle)
        assert live.next_message()["status"] == "queued"
        lines = [live.response.readline() for _ in range(4)]
        assert lines.count(b": keep-alive\n") == 2, lines
        live.close()
    finally:
        stop()


def _redis_on(port: int) -> subprocess.Popen:
    server = subprocess.Popen(
        [
            REDIS_SERVER,
            "--port",
            str(port),
            "--bind",
            "127.0.0.1",
            "--save",
            "",
            "--appendonly",
            "no",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    _wait_port(port)
    return server


@pytest.mark.redis
def test_after_redis_comes_back_every_stream_looks_again_and_shows_what_it_missed(tmp_path):
    server, url = start_redis()
    port = int(url.rsplit(":", 1)[1].split("/")[0])
    stack, stop = _held_in_queue(tmp_path, {"REDIS_URL": url, "STATUS_WATCH_POLL_MS": 3_600_000})
    try:
        handle = stack.submit("+79161234573").json()["handle"]
        live = events(stack, handle)
        assert live.next_message()["status"] == "queued"
        stop_redis(server)  # the subscription is lost; the change below is published nowhere

        _change_elsewhere(stack, handle, dict(os.environ, WIDGET_REDIS_URL=url))
        server = _redis_on(port)

        cancelled = live.next_message()
        assert cancelled["status"] == "cancelled"
        assert live.next_message() is None
    finally:
        watch.hub_for(stack.app).stop()
        stop()
        stop_redis(server)


def test_a_disguised_requests_stream_looks_no_more_often_than_a_real_ones(tmp_path, monkeypatch):
    monkeypatch.setattr(disguise, "QUEUED_FOR", timedelta(seconds=30))  # no phase ends
    looks: dict[int, int] = {}
    real_current = stream._current

    def counted(request_id, language):
        looks[request_id] = looks.get(request_id, 0) + 1
        return real_current(request_id, language)

    monkeypatch.setattr(stream, "_current", counted)
    stack, stop = _held_in_queue(tmp_path, {})
    try:
        real = stack.submit("+79161234591").json()["handle"]
        trapped = stack.submit("+79161234592", **{TRAP_FIELD: "http://spam.example"}).json()
        streams = [events(stack, real), events(stack, trapped["handle"])]
        assert [s.next_message()["status"] for s in streams] == ["queued", "queued"]
        time.sleep(2.0)
        for s in streams:
            s.close()
    finally:
        stop()

    real_looks, disguised_looks = sorted(looks.items())
    assert disguised_looks[1] <= real_looks[1], looks
