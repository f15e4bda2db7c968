"""`widget-server demo` as a new user runs it: real processes, real ports, Ctrl-C to stop."""

from __future__ import annotations

import hashlib
import os
import re
import signal
import socket
import subprocess
import sys
import time

import pytest
import requests


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _start_demo(tmp_path, ports):
    env = {k: v for k, v in os.environ.items() if not k.startswith("WIDGET_")}
    env.update(WIDGET_INSTANCE_PATH=str(tmp_path), WIDGET_SIM_TIME_SCALE="0.05")
    service, shop, sim = ports
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "widget_server.ops.cli",
            "demo",
            "--service-port",
            str(service),
            "--shop-port",
            str(shop),
            "--sim-port",
            str(sim),
        ],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
        start_new_session=True,
    )
    banner = []
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        line = process.stdout.readline()
        if not line and process.poll() is not None:
            break
        banner.append(line)
        if "Press Ctrl-C" in line:
            return process, "".join(banner)
    process.kill()
    raise AssertionError("the demo did not start:\n" + "".join(banner))


def _stop_demo(process) -> int:
    process.send_signal(signal.SIGINT)
    try:
        return process.wait(timeout=30)
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)


def _solve(challenge: dict) -> dict:
    from widget_server.abuse.bots import leading_zero_bits

    salt, n = challenge["salt"], 0
    while leading_zero_bits(hashlib.sha256(f"{salt}{n}".encode()).digest()) < challenge["bits"]:
        n += 1
    return {"salt": salt, "number": n}


@pytest.mark.stack
def test_the_demo_starts_everything_places_a_call_and_stops_on_ctrl_c_twice_in_a_row(tmp_path):
    ports = (_free_port(), _free_port(), _free_port())
    service, shop, sim = (f"http://127.0.0.1:{p}" for p in ports)
    process, banner = _start_demo(tmp_path, ports)
    try:
        for address in (f"{shop}/", f"{service}/", f"{sim}/"):
            assert address in banner
        assert "+7 900 000-00-01" in banner
        key = re.search(r"Widget key:\s+(\S+)", banner).group(1)
        page = requests.get(f"{shop}/", timeout=5).text
        assert f'src="{service}/embed.js" data-widget="{key}"' in page
        # As the widget does: the config's form token, and a proof of work when asked (428).
        config = requests.get(
            f"{service}/api/v1/widgets/{key}/config", headers={"Origin": shop}, timeout=5
        ).json()
        body = {"phone": "+7 916 700-00-01", "group": "101", "consent": True}
        body["token"] = config["form_token"]
        for _ in range(2):
            response = requests.post(
                f"{service}/api/v1/widgets/{key}/requests",
                json=body,
                headers={"Origin": shop},
                timeout=10,
            )
            if response.status_code != 428:
                break
            body["pow"] = _solve(response.json()["challenge"])
        assert response.status_code == 202
        handle = response.json()["handle"]
        deadline = time.monotonic() + 30
        status = {}
        while time.monotonic() < deadline:
            status = requests.get(
                f"{service}/api/v1/requests/{handle}", headers={"Origin": shop}, timeout=5
            ).json()
            if status["final"]:
                break
            time.sleep(0.3)
        assert status["status"] == "finished"
    finally:
        assert _stop_demo(process) == 0
    for port in ports:
        with socket.socket() as sock:
            assert sock.connect_ex(("127.0.0.1", port)) != 0, f"port {port} still open after Ctrl-C"

    process, banner = _start_demo(tmp_path, ports)
    try:
        assert re.search(r"Widget key:\s+(\S+)", banner).group(1) == key
    finally:
        assert _stop_demo(process) == 0
