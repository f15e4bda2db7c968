"""`widget-server demo` as a new user runs it: real processes, real ports, Ctrl-C to stop.

What a restart keeps is tests/test_durability_stops.py's subject.
"""

from __future__ import annotations

import hashlib
import os
import signal
import socket

import pytest
import requests

from .real_service import free_port, start_demo, widget_key_in


def _solve(challenge: dict) -> dict:
    from widget_server.abuse.bots import leading_zero_bits

    salt, n = challenge["salt"], 0
    while leading_zero_bits(hashlib.sha256(f"{salt}{n}".encode()).digest()) < challenge["bits"]:
        n += 1
    return {"salt": salt, "number": n}


@pytest.mark.stack
def test_the_demo_starts_everything_places_a_call_as_the_widget_does_and_stops_on_ctrl_c(
    tmp_path,
):
    env = {k: v for k, v in os.environ.items() if not k.startswith("WIDGET_")}
    env.update(WIDGET_INSTANCE_PATH=str(tmp_path), WIDGET_SIM_TIME_SCALE="0.05")
    ports = (free_port(), free_port(), free_port())
    service, shop, sim = (f"http://127.0.0.1:{p}" for p in ports)
    demo, banner = start_demo(env, ports)
    try:
        for address in (f"{shop}/", f"{service}/", f"{sim}/"):
            assert address in banner
        assert "+7 900 000-00-01" in banner
        key = widget_key_in(banner)
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
        assert demo.wait_status(response.json()["handle"], "finished")["final"] is True
        # Ctrl-C in a terminal: SIGINT to the whole process group.
        assert demo.stop(signal.SIGINT, group=True) == 0
    finally:
        demo.kill()
    for port in ports:
        with socket.socket() as sock:
            assert sock.connect_ex(("127.0.0.1", port)) != 0, f"port {port} still open after Ctrl-C"
