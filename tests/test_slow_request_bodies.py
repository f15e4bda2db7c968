"""Clients that send a request's body a byte at a time, against `widget-server run` (gevent,
no proxy in front): they wait on their own connections, never in one of the worker's
request slots, so `/healthz`, the widget API and the config page stay up; the body is cut
off at `WIDGET_BODY_TIMEOUT` (408) and a body over 1 MiB is refused unread (413)."""

from __future__ import annotations

import contextlib
import socket
import threading
import time

import pytest
import requests

from widget_server.pbx.sim import start_sim_thread

from .conftest import SIM_CLIENT_ID, SIM_SIGN_KEY, database_url
from .real_service import free_port, prepare_site, service_environment, start_run

SLOTS = 2  # WIDGET_THREADS: requests a worker runs at once
SLOW_CLIENTS = 6  # three times the slots


@pytest.fixture(scope="module")
def service(tmp_path_factory):
    tmp_path = tmp_path_factory.mktemp("slow-bodies")
    instance = tmp_path / "instance"
    instance.mkdir()
    url = database_url(tmp_path)
    sim = start_sim_thread({"CLIENT_ID": SIM_CLIENT_ID, "SIGN_KEY": SIM_SIGN_KEY})
    port = free_port()
    key = prepare_site(tmp_path, instance, url, sim.url, port)
    env = service_environment(
        instance, url, port, WIDGET_THREADS=str(SLOTS), WIDGET_BODY_TIMEOUT="4"
    )
    running = start_run(env, port, tmp_path / "service.log")
    try:
        yield running, key
    finally:
        running.kill()
        sim.stop()


def _drip(port: int, path: str, sent: list[bytes], stop: threading.Event) -> None:
    """POST a 4 KB body one byte every 0.3 s; keep what the server answered."""
    with socket.create_connection(("127.0.0.1", port), timeout=30) as sock:
        sock.sendall(
            f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
            "Content-Length: 4096\r\n\r\n".encode()
        )
        sock.settimeout(0.3)
        answer = b""
        for _ in range(4096):
            if stop.is_set():
                break
            with contextlib.suppress(OSError):
                sock.sendall(b" ")
            try:
                part = sock.recv(4096)
            except TimeoutError:
                continue
            except OSError:
                break
            if not part:
                break
            answer += part
        sent.append(answer)


def test_clients_dripping_their_bodies_leave_healthz_the_widget_api_and_the_config_page_up(
    service,
):
    running, key = service
    port = int(running.url.rsplit(":", 1)[1])
    answers: list[bytes] = []
    stop = threading.Event()
    drips = [
        threading.Thread(
            target=_drip, args=(port, "/pbx/pbx_unknown/call_events", answers, stop), daemon=True
        )
        for _ in range(SLOW_CLIENTS)
    ]
    for drip in drips:
        drip.start()
    try:
        time.sleep(1.0)  # every dripping client is connected and under way
        started = time.monotonic()
        assert requests.get(f"{running.url}/healthz", timeout=3).status_code == 200
        config = requests.get(f"{running.url}/api/v1/widgets/{key}/config", timeout=3)
        assert config.status_code in (200, 403), config.text[:200]
        assert requests.get(f"{running.url}/admin/sign-in", timeout=3).status_code == 200
        assert time.monotonic() - started < 3
    finally:
        for drip in drips:
            drip.join(timeout=15)
        stop.set()
    # Cut off at WIDGET_BODY_TIMEOUT (4 s), each with its own answer: too slow.
    assert len(answers) == SLOW_CLIENTS
    assert all(answer.startswith(b"HTTP/1.1 408") for answer in answers), answers


def test_a_body_declared_over_a_mebibyte_is_refused_before_it_is_read(service):
    running, _key = service
    port = int(running.url.rsplit(":", 1)[1])
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        sock.sendall(
            b"POST /pbx/pbx_unknown/call_events HTTP/1.1\r\nHost: 127.0.0.1\r\n"
            b"Content-Length: 300000000\r\n\r\n"
        )
        answer = sock.recv(4096)
    assert answer.startswith(b"HTTP/1.1 413"), answer[:200]


def test_a_chunked_body_that_never_ends_is_cut_off_and_a_whole_one_is_served(service):
    running, _key = service
    port = int(running.url.rsplit(":", 1)[1])
    with socket.create_connection(("127.0.0.1", port), timeout=15) as sock:
        sock.sendall(
            b"POST /pbx/pbx_unknown/call_events HTTP/1.1\r\nHost: 127.0.0.1\r\n"
            b"Transfer-Encoding: chunked\r\n\r\n1\r\n{\r\n"
        )
        started = time.monotonic()
        answer = sock.recv(4096)
        waited = time.monotonic() - started
    assert answer.startswith(b"HTTP/1.1 408"), answer[:200]
    assert waited < 10
    # A whole chunked body reaches the view as it would have: an unknown account, 403.
    with socket.create_connection(("127.0.0.1", port), timeout=15) as sock:
        sock.sendall(
            b"POST /pbx/pbx_unknown/call_events HTTP/1.1\r\nHost: 127.0.0.1\r\n"
            b"Content-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n"
            b"2\r\n{}\r\n0\r\n\r\n"
        )
        answer = sock.recv(4096)
    assert answer.startswith(b"HTTP/1.1 403"), answer[:200]
