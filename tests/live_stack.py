"""The live stack's parts: WSGI apps on loopback ports, and the handle tests drive it by."""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field
from typing import Any

import requests
from werkzeug.serving import make_server


class ServerThread:
    """A WSGI app on a free loopback port, served from a thread."""

    def __init__(self, wsgi_app):
        self.server = make_server("127.0.0.1", 0, wsgi_app, threaded=True)
        self.thread = threading.Thread(
            target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )
        self.thread.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_port}"

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@dataclass
class Stack:
    """Our service, the simulator and the shop, running together."""

    app: Any
    sim: Any
    service_url: str
    shop_url: str
    widget_key: str
    account_public_id: str
    session: requests.Session = field(default_factory=requests.Session)

    @property
    def sim_url(self) -> str:
        return self.sim.url

    def submit(
        self, phone: str, group: str | None = "101", *, origin: str | None = None, **extra: Any
    ) -> requests.Response:
        body = {"phone": phone, "consent": True, "page_url": f"{self.shop_url}/"}
        if group is not None:
            body["group"] = group
        body.update(extra)
        return self.session.post(
            f"{self.service_url}/api/v1/widgets/{self.widget_key}/requests",
            json=body,
            headers={"Origin": origin or self.shop_url},
            timeout=10,
        )

    def wait_status(self, handle: str, status: str, timeout: float = 15.0) -> dict[str, Any]:
        return self.wait_until(
            lambda: self.status(handle)["status"] == status,
            timeout=timeout,
            message=f"status {status}",
            interval=0.3,
        )

    def status(self, handle: str) -> dict[str, Any]:
        response = self.session.get(
            f"{self.service_url}/api/v1/requests/{handle}",
            headers={"Origin": self.shop_url},
            timeout=10,
        )
        response.raise_for_status()
        return response.json()

    def wait_final(self, handle: str, timeout: float = 20.0) -> dict[str, Any]:
        deadline = time.monotonic() + timeout
        seen: list[str] = []
        while time.monotonic() < deadline:
            status = self.status(handle)
            if not seen or seen[-1] != status["status"]:
                seen.append(status["status"])
            if status["final"]:
                status["seen"] = seen
                return status
            time.sleep(0.26)  # the status endpoint allows 4 polls a second per request
        raise AssertionError(f"request {handle} not final after {timeout}s; statuses seen: {seen}")

    def sim_requests(self, method: str | None = None) -> list[dict[str, Any]]:
        items = self.session.get(f"{self.sim_url}/_sim/requests", timeout=5).json()
        return [i for i in items if method is None or i["method"] == method]

    def wait_until(
        self, predicate, timeout: float = 10.0, message: str = "condition", interval: float = 0.05
    ):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            value = predicate()
            if value:
                return value
            time.sleep(interval)
        raise AssertionError(f"timed out waiting for {message}")
