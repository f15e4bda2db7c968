"""Start the real thing for a benchmark: `widget-server run` (gunicorn + queue worker),
`widget-server pbx-sim`, set up through the real CLI, in a temporary instance folder."""

from __future__ import annotations

import contextlib
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import requests
from werkzeug.serving import make_server

ROOT = Path(__file__).resolve().parent.parent
CLI = [sys.executable, "-m", "widget_server.ops.cli"]
CLIENT_ID = "BENCH000000000000000000000000001"
SIGN_KEY = "BENCHKEY000000000000000000000001"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_for(url: str, seconds: float = 30) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        with contextlib.suppress(requests.RequestException):
            requests.get(url, timeout=1)
            return
        time.sleep(0.2)
    raise RuntimeError(f"{url} did not come up")


class BenchStack:
    """Service on one port, simulator on another, sample shop in this process."""

    def __init__(self, time_scale: float = 0.05, extra_env: dict[str, str] | None = None):
        self.tmp = Path(tempfile.mkdtemp(prefix="widget-bench-"))
        self.service_port, self.sim_port = free_port(), free_port()
        self.service_url = f"http://127.0.0.1:{self.service_port}"
        self.sim_url = f"http://127.0.0.1:{self.sim_port}"
        self.env = dict(
            os.environ,
            WIDGET_INSTANCE_PATH=str(self.tmp),
            WIDGET_SECRET_KEY="bench-7d1c9e40f2a85b36c0e94d7a1f3b6e52",  # noqa: S106 - bench only
            WIDGET_PUBLIC_URL=self.service_url,
            WIDGET_ALLOW_PRIVATE_NETWORKS="1",  # the simulator listens on loopback
            WIDGET_LOG_LEVEL="WARNING",
            WIDGET_RATELIMIT_NUMBER="100000/minute",
            WIDGET_RATELIMIT_IP="1000000/minute",
            WIDGET_RATELIMIT_IP_GLOBAL="1000000/minute",
            WIDGET_RATELIMIT_WIDGET_NUMBER="100000/minute",
            WIDGET_RATELIMIT_PREFIX="1000000/minute",
            WIDGET_NEW_WIDGET_CAP="1000000/minute",
            WIDGET_NIGHT_GUARD="0",  # benches run at any hour: widgets without hours stay open
            WIDGET_FORM_TOKENS="0",  # the bench posts directly, without the widget's form token
            WIDGET_STREAMS_PER_IP="1000000",  # every stream of a bench comes from 127.0.0.1
        )
        self.env.update(extra_env or {})
        self.time_scale = time_scale
        self.children: list[subprocess.Popen] = []

    def _cli(self, *args: str, stdin: str | None = None) -> str:
        out = subprocess.run(
            [*CLI, *args],
            env=self.env,
            input=stdin,
            capture_output=True,
            text=True,
            check=True,
            cwd=ROOT,
        )
        return out.stdout

    def start(self, with_worker: bool = True) -> BenchStack:
        """Set up through the CLI and start; without the worker, only the web app runs
        (same gunicorn settings as `widget-server run`), so queued calls wait."""
        from widget_server.dev.sample_shop import create_shop_app

        self._cli("init-db")
        self._cli("create-owner", "bench@example.com", stdin="bench-password\n")
        out = self._cli(
            "add-pbx",
            "--owner",
            "bench@example.com",
            "--api-url",
            self.sim_url,
            "--client-id",
            CLIENT_ID,
            "--sign-key",
            SIGN_KEY,
            "--domain",
            "demo.cloudpbx.rt.ru",
        )
        pbx_id = out.split("PBX account id:")[1].split()[0]
        self.pbx_id = pbx_id
        hook = out.split("(Адрес внешней системы):")[1].split()[0]
        sim_env = dict(
            self.env,
            WIDGET_SIM_CLIENT_ID=CLIENT_ID,
            WIDGET_SIM_SIGN_KEY=SIGN_KEY,
            WIDGET_SIM_DOMAIN="demo.cloudpbx.rt.ru",
            WIDGET_SIM_WEBHOOK_BASE=hook,
            WIDGET_SIM_TIME_SCALE=str(self.time_scale),
        )
        self.children.append(
            subprocess.Popen(
                [*CLI, "pbx-sim", "--port", str(self.sim_port)],
                env=sim_env,
                cwd=ROOT,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
        )
        wait_for(f"{self.sim_url}/_sim/calls")
        self._cli("sync-groups", pbx_id)
        shop_port = free_port()
        self.shop_url = f"http://127.0.0.1:{shop_port}"
        out = self._cli(
            "add-widget",
            "--pbx",
            pbx_id,
            "--origin",
            self.shop_url,
            "--group",
            "101=Отдел продаж",
            "--group",
            "102=Сервис",
        )
        self.widget_key = out.split("Widget key:")[1].split()[0]
        web = [*CLI, "run", "--port", str(self.service_port)]
        if not with_worker:
            web = gunicorn_command(self.service_port, "widget_server:create_app()")
        self.children.append(
            subprocess.Popen(
                web, env=self.env, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
            )
        )
        shop = make_server(
            "127.0.0.1",
            shop_port,
            create_shop_app(self.service_url, self.widget_key),
            threaded=True,
        )
        threading.Thread(target=shop.serve_forever, daemon=True).start()
        wait_for(f"{self.service_url}/embed.js")
        return self

    def stop(self) -> None:
        for child in self.children:
            child.terminate()
        for child in self.children:
            try:
                child.wait(timeout=15)
            except subprocess.TimeoutExpired:
                child.kill()
        shutil.rmtree(self.tmp, ignore_errors=True)


def gunicorn_command(port: int, app: str, *extra: str) -> list[str]:
    """The server settings every throughput figure shares (those of `widget-server run`)."""
    return [
        sys.executable,
        "-m",
        "gunicorn",
        "-k",
        "gthread",
        "-w",
        "1",
        "--threads",
        "8",
        "-b",
        f"127.0.0.1:{port}",
        *extra,
        app,
    ]


def submit(session: requests.Session, url: str, key: str, origin: str, phone: str) -> str:
    """One callback request for ``phone`` through the public API; its handle."""
    response = session.post(
        f"{url}/api/v1/widgets/{key}/requests",
        json={"phone": phone, "consent": True, "group": "101"},
        headers={"Origin": origin},
        timeout=30,
    )
    response.raise_for_status()
    return response.json()["handle"]


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(q / 100 * (len(ordered) - 1))))
    return ordered[index]


@contextlib.contextmanager
def bare_endpoint():
    """The bare Flask JSON endpoint (``bare_app.py``) under the same gunicorn settings as the
    service: the baseline every ratio is measured against. Yields its ``/json`` URL."""
    port = free_port()
    bare = subprocess.Popen(
        gunicorn_command(port, "bare_app:app", "--chdir", str(ROOT / "bench")),
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        wait_for(f"http://127.0.0.1:{port}/json")
        yield f"http://127.0.0.1:{port}/json"
    finally:
        bare.terminate()
        bare.wait(timeout=15)
