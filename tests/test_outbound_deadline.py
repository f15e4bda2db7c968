"""Hostile answers from owner-supplied addresses: a deadline over the whole call and a cap
on the answer's size (issue 26), under plain threads and under gevent.

A tiny server on loopback drips its answer one byte at a time or pours out far more than
any answer should hold; it counts what it managed to send before the client hung up.
"""

from __future__ import annotations

import contextlib
import json
import os
import socket
import ssl
import subprocess
import sys
import textwrap
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

import pytest
from flask import Flask

from widget_server import outbound
from widget_server.dispatch import recordings
from widget_server.dispatch.recordings import open_link
from widget_server.notify.channel_error import ChannelError
from widget_server.notify.http_call import call_json
from widget_server.notify.webhook import send_webhook
from widget_server.pbx import client as pbx_client
from widget_server.pbx.client import PbxClient, PbxCredentials, PbxError

from .test_pbx_client import self_signed_cert  # noqa: F401 - a fixture

DEADLINE = 1.5
READ_TIMEOUT = 1.0
DRIP_EVERY = 0.5
DRIP_FOR = 15.0  # how long the server keeps dripping: the unbounded client waits that long
SLACK = 3.0  # a loaded 2-core machine; the unbounded client takes DRIP_FOR
HUGE = 300 * 2**20  # made up as it is sent, never held
MB = 2**20


@dataclass
class Hostile:
    """A server playing one misbehaviour per connection; ``sent`` counts body bytes out."""

    mode: str
    port: int = 0
    sent: list[int] = field(default_factory=list)
    done: threading.Event = field(default_factory=threading.Event)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"


def _read_request(conn: socket.socket) -> None:
    data = b""
    while b"\r\n\r\n" not in data:
        got = conn.recv(65536)
        if not got:
            return
        data += got
    head, _, body = data.partition(b"\r\n\r\n")
    length = 0
    for line in head.split(b"\r\n"):
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            length = int(value)
    while len(body) < length:
        got = conn.recv(65536)
        if not got:
            return
        body += got


def _drip(conn: socket.socket, data: Iterator[bytes], stop: threading.Event) -> None:
    until = time.monotonic() + DRIP_FOR
    for byte in data:
        if time.monotonic() > until or stop.is_set():
            break
        conn.sendall(byte)
        time.sleep(DRIP_EVERY)


def _forever(text: bytes) -> Iterator[bytes]:
    while True:
        for i in range(len(text)):
            yield text[i : i + 1]


def _pour(conn: socket.socket, head: bytes, counted: list[int], *, chunked: bool) -> None:
    """``HUGE`` bytes of body after ``head``, made up 64 KiB at a time, until refused;
    ``counted[0]`` is what the socket took so far."""
    conn.sendall(head)
    block = b" " * 65536
    while counted[0] < HUGE:
        conn.sendall(b"10000\r\n" + block + b"\r\n" if chunked else block)
        counted[0] += len(block)
    if chunked:
        conn.sendall(b"0\r\n\r\n")


def _answer(server: Hostile, conn: socket.socket, stop: threading.Event, counted: list[int]):
    mode = server.mode
    json_type = b"Content-Type: application/json\r\n"
    if mode == "drip-body":
        conn.sendall(b"HTTP/1.1 200 OK\r\n" + json_type + b"Content-Length: 1000\r\n\r\n")
        return _drip(conn, _forever(b'{"result":"0"}' + b" " * 50), stop)
    if mode == "drip-head":
        return _drip(conn, _forever(b"HTTP/1.1 200 OK\r\nX-Pad: " + b"a" * 60), stop)
    if mode == "drip-audio":
        head = b"HTTP/1.1 200 OK\r\nContent-Type: audio/wav\r\nContent-Length: 1000\r\n\r\n"
        return _drip(conn, iter([head[i : i + 1] for i in range(len(head))]), stop)
    if mode == "huge-length":
        head = b"HTTP/1.1 200 OK\r\n" + json_type + f"Content-Length: {HUGE}\r\n\r\n".encode()
        return _pour(conn, head, counted, chunked=False)
    if mode == "huge-close":
        head = b"HTTP/1.1 200 OK\r\n" + json_type + b"Connection: close\r\n\r\n"
        return _pour(conn, head, counted, chunked=False)
    if mode == "huge-chunked":
        head = b"HTTP/1.1 200 OK\r\n" + json_type + b"Transfer-Encoding: chunked\r\n\r\n"
        return _pour(conn, head, counted, chunked=True)
    if mode == "huge-audio":
        head = f"HTTP/1.1 200 OK\r\nContent-Type: audio/wav\r\nContent-Length: {HUGE}\r\n\r\n"
        return _pour(conn, head.encode(), counted, chunked=False)
    if mode == "huge-audio-close":
        head = b"HTTP/1.1 200 OK\r\nContent-Type: audio/wav\r\nConnection: close\r\n\r\n"
        return _pour(conn, head, counted, chunked=False)
    if mode == "drip-audio-body":
        conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: audio/wav\r\nContent-Length: 1000\r\n\r\n")
        return _drip(conn, _forever(b"RIFF"), stop)
    raise AssertionError(mode)


def _serve(server: Hostile, listener: socket.socket, stop: threading.Event) -> None:
    def one(conn: socket.socket) -> None:
        # A small send buffer, so what the server counts as sent is close to what the
        # client took off its socket.
        conn.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 65536)
        counted = [0]
        with conn:
            try:
                _read_request(conn)
                _answer(server, conn, stop, counted)
            except OSError:
                pass
            finally:
                server.sent.append(counted[0])
                server.done.set()

    while not stop.is_set():
        try:
            conn, _ = listener.accept()
        except OSError:
            return
        threading.Thread(target=one, args=(conn,), daemon=True).start()


@pytest.fixture
def hostile():
    stops: list[tuple[threading.Event, socket.socket]] = []

    def start(mode: str) -> Hostile:
        listener = socket.create_server(("127.0.0.1", 0))
        server = Hostile(mode, listener.getsockname()[1])
        stop = threading.Event()
        threading.Thread(target=_serve, args=(server, listener, stop), daemon=True).start()
        stops.append((stop, listener))
        return server

    yield start
    for stop, listener in stops:
        stop.set()
        listener.close()


@pytest.fixture
def dripping_tls(self_signed_cert):  # noqa: F811 - the fixture imported above
    """An https:// address whose TLS handshake comes one byte at a time: a relay in front
    of a real TLS server. Yields (url, the server's certificate as PEM)."""
    cert, key = self_signed_cert
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)
    backend, front = socket.create_server(("127.0.0.1", 0)), socket.create_server(("127.0.0.1", 0))
    stop = threading.Event()

    def handshake() -> None:
        while not stop.is_set():
            try:
                conn, _ = backend.accept()
            except OSError:
                return
            with conn, contextlib.suppress(OSError):
                context.wrap_socket(conn, server_side=True).close()

    def pipe(source: socket.socket, target: socket.socket, drip: bool) -> None:
        until = time.monotonic() + DRIP_FOR
        with contextlib.suppress(OSError):
            while not stop.is_set() and time.monotonic() < until:
                data = source.recv(1 if drip else 65536)
                if not data:
                    break
                target.sendall(data)
                if drip:
                    time.sleep(DRIP_EVERY)
        for sock in (source, target):
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)

    def relay() -> None:
        while not stop.is_set():
            try:
                client, _ = front.accept()
            except OSError:
                return
            upstream = socket.create_connection(backend.getsockname())
            threading.Thread(target=pipe, args=(client, upstream, False), daemon=True).start()
            threading.Thread(target=pipe, args=(upstream, client, True), daemon=True).start()

    for target in (handshake, relay):
        threading.Thread(target=target, daemon=True).start()
    yield f"https://127.0.0.1:{front.getsockname()[1]}", cert.read_text()
    stop.set()
    backend.close()
    front.close()


def _client(url: str, **kwargs) -> PbxClient:
    creds = PbxCredentials(
        api_url=url, client_id="C" * 32, sign_key="K" * 32, ca_bundle=kwargs.pop("ca", None)
    )
    kwargs.setdefault("connect_timeout", 1.0)
    kwargs.setdefault("read_timeout", READ_TIMEOUT)
    kwargs.setdefault("deadline", DEADLINE)
    return PbxClient(creds, **kwargs)


def _timed(call) -> tuple[BaseException | None, float]:
    started = time.monotonic()
    try:
        call()
    except Exception as exc:  # noqa: BLE001 - the test looks at what came out
        return exc, time.monotonic() - started
    return None, time.monotonic() - started


def _sent(server: Hostile) -> int:
    # The server learns of the hang-up on its next send; wait for it to count.
    assert server.done.wait(DRIP_FOR + 5), "the server never saw the client go"
    return server.sent[-1]


# -- the deadline -------------------------------------------------------------------------
@pytest.mark.parametrize("mode", ["drip-body", "drip-head"])
def test_a_dripped_answer_to_call_back_ends_at_the_deadline(hostile, mode):
    server = hostile(mode)
    error, took = _timed(lambda: _client(server.url).call_back("+79161234567", from_pin="201"))
    assert took < DEADLINE + SLACK, took
    assert isinstance(error, PbxError), error
    assert error.result == "timeout"
    assert error.retryable is True
    assert error.ambiguous is True  # the request was out: the PBX may have dialled
    assert f"{DEADLINE:g} s" in error.message


def test_the_deadline_holds_for_threads_side_by_side(hostile):
    server = hostile("drip-head")
    results: list[tuple[BaseException | None, float]] = []

    def one() -> None:
        results.append(_timed(lambda: _client(server.url).users_info()))

    threads = [threading.Thread(target=one) for _ in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(DRIP_FOR + 5)
    assert len(results) == 3
    for error, took in results:
        assert took < DEADLINE + SLACK, took
        assert isinstance(error, PbxError) and error.result == "timeout", error


@pytest.mark.openssl
def test_a_dripped_tls_handshake_ends_at_the_deadline(dripping_tls):
    url, cert = dripping_tls
    # CPython bounds a whole handshake by the socket's timeout, gevent each read only: a
    # connect timeout past the deadline shows the deadline cutting the handshake off.
    client = _client(url, ca=cert, connect_timeout=10.0)
    error, took = _timed(lambda: client.call_back("+79161234567", from_pin="201"))
    assert took < DEADLINE + SLACK, took
    assert isinstance(error, PbxError) and error.result == "timeout", error
    assert error.ambiguous is False  # cut off before the request went out


def test_a_dripped_call_journal_ends_at_the_deadline(hostile):
    server = hostile("drip-body")
    error, took = _timed(lambda: _client(server.url).download_call_history("order-1"))
    assert took < DEADLINE + SLACK, took
    assert isinstance(error, PbxError) and error.result == "timeout", error


def test_a_recording_link_dripping_its_headers_ends_at_the_deadline(hostile):
    server = hostile("drip-audio")
    error, took = _timed(lambda: open_link(_client(server.url), server.url + "/rec.wav"))
    assert took < DEADLINE + SLACK, took
    assert isinstance(error, PbxError) and error.result == "timeout", error


def _channel_app() -> Flask:
    app = Flask(__name__)
    app.config.update(ALLOW_PRIVATE_NETWORKS=True, PBX_DEADLINE=DEADLINE, CHANNEL_TIMEOUT=1.0)
    return app


@pytest.mark.parametrize("owner_url", [True, False])
def test_a_crm_dripping_its_answer_ends_at_the_deadline(hostile, owner_url):
    server = hostile("drip-body")
    with _channel_app().app_context():
        error, took = _timed(lambda: call_json("POST", server.url, owner_url=owner_url, json={}))
    assert took < DEADLINE + SLACK, took
    assert isinstance(error, ChannelError) and error.code == "timeout", error


def test_a_webhook_dripping_its_answer_ends_at_the_deadline(hostile):
    server = hostile("drip-head")
    message = {
        "webhook_url": server.url + "/hook",
        "webhook_secret": "s" * 64,
        "kind": "missed",
        "id": 7,
        "created_at": datetime(2026, 12, 1, 9, 0),
        "payload": {"request": {"id": 1}},
    }
    with _channel_app().app_context():
        error, took = _timed(lambda: send_webhook(message))
    assert took < DEADLINE + SLACK, took
    assert isinstance(error, outbound.DeadlineExceeded), error


# -- the size cap -------------------------------------------------------------------------
@pytest.mark.parametrize("mode", ["huge-length", "huge-close", "huge-chunked"])
def test_a_300_mb_answer_is_refused_without_being_read(hostile, mode):
    server = hostile(mode)
    error, took = _timed(lambda: _client(server.url, deadline=30.0).users_info())
    assert isinstance(error, PbxError), error
    assert error.result == "too-large"
    assert error.retryable is False
    assert "8 MB" in error.message
    sent = _sent(server)
    limit = pbx_client.ANSWER_LIMITS["users_info"]
    # What left the server: the cap, plus what sat in the two sockets' buffers.
    assert sent < limit + 8 * MB, sent
    if mode == "huge-length":  # the header alone refuses it
        assert sent < 8 * MB, sent
    print(f"{mode}: refused after {took:.2f} s, {sent / MB:.1f} MB sent of {HUGE / MB:.0f}")


def test_a_call_back_answer_over_its_cap_is_refused_and_ambiguous(hostile):
    server = hostile("huge-close")
    error, _took = _timed(lambda: _client(server.url).call_back("+79161234567", from_pin="201"))
    assert isinstance(error, PbxError) and error.result == "too-large", error
    assert error.ambiguous is True  # the PBX took the request and answered
    assert _sent(server) < pbx_client.ANSWER_LIMIT + 8 * MB


def test_a_call_journal_over_the_journals_cap_is_refused(hostile):
    server = hostile("huge-close")
    error, _took = _timed(lambda: _client(server.url, deadline=30.0).download_call_history("o"))
    assert isinstance(error, PbxError) and error.result == "too-large", error
    assert _sent(server) < pbx_client.ANSWER_LIMITS["download_call_history"] + 8 * MB


def test_a_recording_longer_than_its_cap_is_refused_from_its_length(hostile):
    server = hostile("huge-audio")
    error, _took = _timed(lambda: open_link(_client(server.url), server.url + "/rec.wav"))
    assert isinstance(error, PbxError) and error.result == "too-large", error
    assert _sent(server) < 8 * MB


def test_a_recording_without_a_length_stops_streaming_at_its_cap(hostile):
    server = hostile("huge-audio-close")
    answer = open_link(_client(server.url), server.url + "/rec.wav")
    streamed = 0
    with pytest.raises(outbound.AnswerTooLarge):
        for chunk in answer.iter_content(64 * 1024):
            streamed += len(chunk)
    answer.close()
    assert streamed <= recordings.RECORDING_LIMIT
    assert _sent(server) < recordings.RECORDING_LIMIT + 8 * MB


def test_a_streamed_answer_is_cut_off_at_its_own_longer_deadline(hostile):
    """How a recording's body gets longer than the deadline, yet not for ever."""
    server = hostile("drip-audio-body")
    with outbound.session((1.0, READ_TIMEOUT)) as http:
        started = time.monotonic()
        answer = outbound.fetch(
            http, "GET", server.url, stream=True, deadline=DEADLINE, stream_for=2 * DEADLINE
        )
        with pytest.raises(outbound.DeadlineExceeded):
            for _chunk in answer.iter_content(1):
                pass
        took = time.monotonic() - started
    assert 2 * DEADLINE - 0.5 < took < 2 * DEADLINE + SLACK, took


@pytest.mark.parametrize("mode", ["huge-length", "huge-close"])
def test_a_crm_answer_over_1_mb_is_refused(hostile, mode):
    server = hostile(mode)
    with _channel_app().app_context():
        error, _took = _timed(lambda: call_json("POST", server.url, owner_url=True, json={}))
    assert isinstance(error, ChannelError) and error.code == "http", error
    assert "1 MB" in error.detail
    assert _sent(server) < 1 * MB + 8 * MB


def test_an_ordinary_answer_still_reads_whole():
    """The bounded reading gives the same bytes an unbounded one would."""
    body = json.dumps({"result": "0", "pad": "x" * 200_000}).encode()
    listener = socket.create_server(("127.0.0.1", 0))

    def serve() -> None:
        conn, _ = listener.accept()
        with conn:
            _read_request(conn)
            conn.sendall(
                b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
                + f"Content-Length: {len(body)}\r\n\r\n".encode()
                + body
            )

    threading.Thread(target=serve, daemon=True).start()
    try:
        data = _client(f"http://127.0.0.1:{listener.getsockname()[1]}").users_info()
    finally:
        listener.close()
    assert data["pad"] == "x" * 200_000


def test_outbound_names_its_limits_in_megabytes():
    assert outbound.in_words(2 * MB) == "2 MB"
    assert outbound.in_words(512 * 1024) == "512 KB"


# -- under gevent ---------------------------------------------------------------------------
_GEVENT_CLIENT = textwrap.dedent(
    """
    from gevent import monkey

    monkey.patch_all()

    import json, sys, time

    import gevent

    from widget_server.pbx.client import PbxClient, PbxCredentials, PbxError

    url, deadline, ca = sys.argv[1], float(sys.argv[2]), sys.argv[3] or None
    ticks = []

    def ticker():
        # The hub stays free while the calls wait: this greenlet keeps ticking.
        while True:
            ticks.append(time.monotonic())
            gevent.sleep(0.1)

    def one():
        creds = PbxCredentials(api_url=url, client_id="C" * 32, sign_key="K" * 32, ca_bundle=ca)
        client = PbxClient(creds, connect_timeout=10.0, read_timeout=1.0, deadline=deadline)
        started = time.monotonic()
        try:
            client.call_back("+79161234567", from_pin="201")
            result = "ok"
        except PbxError as exc:
            result = exc.result
        return {"result": result, "took": time.monotonic() - started}

    gevent.spawn(ticker)
    calls = [gevent.spawn(one) for _ in range(3)]
    gevent.joinall(calls)
    print(json.dumps({"calls": [c.value for c in calls], "ticks": len(ticks)}))
    """
)


def _under_gevent(url: str, ca: str = "") -> dict:
    done = subprocess.run(
        [sys.executable, "-c", _GEVENT_CLIENT, url, str(DEADLINE), ca],
        capture_output=True,
        text=True,
        timeout=DRIP_FOR + 30,
        env={**os.environ, "WIDGET_ALLOW_PRIVATE_NETWORKS": "1"},
        cwd=Path(__file__).resolve().parent.parent,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    report = json.loads(done.stdout.strip().splitlines()[-1])
    for call in report["calls"]:
        assert call["took"] < DEADLINE + SLACK, report
        assert call["result"] == "timeout", report
    assert report["ticks"] >= 5, report  # the waiting calls never blocked the hub
    return report


@pytest.mark.parametrize("mode", ["drip-head", "drip-body"])
def test_under_gevent_a_dripped_answer_ends_at_the_deadline(hostile, mode):
    report = _under_gevent(hostile(mode).url)
    print(f"gevent {mode}: {report}")


@pytest.mark.openssl
def test_under_gevent_a_dripped_tls_handshake_ends_at_the_deadline(dripping_tls):
    url, cert = dripping_tls
    report = _under_gevent(url, cert)
    print(f"gevent TLS handshake: {report}")
