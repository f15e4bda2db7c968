"""The service as a user runs it: `widget-server run` or `demo` as real processes on real
ports, driven over HTTP as a visitor and an owner drive it, and stopped with a signal.

Used by the tests of what a stop keeps (tests/test_durability_stops.py), of what a
power cut keeps (tests/test_durability_crash.py), and by the drills of a crash and of a
full disk in the middle of a burst (tests/test_drill_burst.py, tests/test_drill_disk.py).
"""

from __future__ import annotations

import contextlib
import os
import re
import signal
import socket
import subprocess
import sys
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import requests
from sqlalchemy import create_engine, text
from sqlalchemy.pool import NullPool

from widget_server import setup
from widget_server.database import release
from widget_server.dispatch.schedule import ALWAYS_OPEN
from widget_server.extensions import db
from widget_server.pbx import directory
from widget_server.statuses import FINAL

from .admin_support import csrf_token
from .conftest import SIM_CLIENT_ID, SIM_SIGN_KEY, database_url, make_app

SHOP = "https://shop.example"
OWNER, PASSWORD = "owner@example.com", "correct horse battery"
SECRET = "test-secret-key-0123456789abcdef"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def service_environment(instance: Path, database_url: str, port: int, **extra: str) -> dict:
    """The environment of `widget-server run`: this test's files, the simulator on loopback."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("WIDGET_")}
    env.update(
        WIDGET_ALLOW_PRIVATE_NETWORKS="1",
        WIDGET_INSTANCE_PATH=str(instance),
        WIDGET_DATABASE_URL=database_url,
        WIDGET_DEV="1",  # plain-HTTP cookies on loopback
        WIDGET_SECRET_KEY=SECRET,
        WIDGET_NIGHT_GUARD="0",
        WIDGET_FORM_TOKENS="0",  # requests are posted directly, not by the widget
        WIDGET_PUBLIC_URL=f"http://127.0.0.1:{port}",
        WIDGET_LOG_LEVEL="WARNING",
        WIDGET_RATELIMIT_IP="100000/minute",
        WIDGET_RATELIMIT_IP_GLOBAL="100000/minute",
        WIDGET_RATELIMIT_PREFIX="100000/minute",
        WIDGET_NEW_WIDGET_CAP="100000/minute",
    )
    env.update(extra)
    return env


def prepare_site(tmp_path: Path, instance: Path, database_url: str, sim_url: str, port: int):
    """An owner, their PBX account on the simulator and a widget always open; the key.

    Built by an app of this process, which then lets the files go: the service's
    processes own them from here.
    """
    app = make_app(
        tmp_path,
        SQLALCHEMY_DATABASE_URI=database_url,
        QUEUE_PATH=str(instance / "queue.sqlite3"),
        PUBLIC_URL=f"http://127.0.0.1:{port}",
    )
    with app.app_context():
        owner = setup.create_owner(OWNER, PASSWORD)
        account = directory.add_pbx(
            owner, sim_url, SIM_CLIENT_ID, SIM_SIGN_KEY, "demo.cloudpbx.rt.ru"
        )
        requests.post(
            f"{sim_url}/_sim/config",
            json={"webhook_base": directory.webhook_base(account)},
            timeout=5,
        )
        directory.sync_groups(account)
        widget = setup.add_widget(account, [SHOP], [("101", "Продажи")])
        widget.group_rounds = 1
        widget.hours, widget.public_holidays = ALWAYS_OPEN, False
        db.session.commit()
        key = widget.public_key
    release(app)
    return key


@dataclass(frozen=True)
class Site:
    """What `widget-server run` is started with for one test: its environment and port,
    the widget's key, the database and the instance folder."""

    env: dict
    port: int
    key: str
    db_url: str
    instance: Path


def site(
    tmp_path: Path,
    sim_url: str,
    *,
    instance: Path | None = None,
    db_url: str | None = None,
    **env: str,
) -> Site:
    """A site on the simulator at ``sim_url`` (``prepare_site``), ready for `run`.

    The instance folder is ``tmp_path/instance`` and the database this pass's (SQLite or
    PostgreSQL) unless given; ``env`` adds to ``service_environment``.
    """
    instance = instance or tmp_path / "instance"
    instance.mkdir(exist_ok=True)
    db_url, port = db_url or database_url(tmp_path), free_port()
    key = prepare_site(tmp_path, instance, db_url, sim_url, port)
    return Site(service_environment(instance, db_url, port, **env), port, key, db_url, instance)


@dataclass
class Running:
    """A started `widget-server` command (its own process group) and its address."""

    process: subprocess.Popen
    url: str
    origin: str = SHOP
    log: Path | None = None
    owner: tuple[str, str] = (OWNER, PASSWORD)  # the config page's e-mail and password
    session: requests.Session = field(default_factory=requests.Session)

    def stop(self, sig: signal.Signals, *, group: bool = False) -> int:
        """Send ``sig`` to the command (or to its whole process group, as a terminal's
        Ctrl-C does) and wait for it to end; its exit code."""
        if group:
            os.killpg(self.process.pid, sig)
        else:
            self.process.send_signal(sig)
        try:
            return self.process.wait(timeout=60)
        finally:
            self.kill()

    def kill(self) -> None:
        """Whatever of the group is left, killed (a test that failed half way)."""
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.process.pid, signal.SIGKILL)
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.process.wait(timeout=10)

    def submit(self, key: str, phone: str) -> str:
        response = self.session.post(
            f"{self.url}/api/v1/widgets/{key}/requests",
            json={"phone": phone, "consent": True, "group": "101"},
            headers={"Origin": self.origin},
            timeout=30,
        )
        assert response.status_code == 202, response.text
        return response.json()["handle"]

    def status(self, handle: str) -> dict:
        response = self.session.get(
            f"{self.url}/api/v1/requests/{handle}", headers={"Origin": self.origin}, timeout=10
        )
        assert response.status_code == 200, f"request {handle}: {response.status_code}"
        return response.json()

    def wait_status(self, handle: str, *wanted: str, seconds: float = 30) -> dict:
        deadline = time.monotonic() + seconds
        while True:
            found = self.status(handle)
            if found["status"] in wanted:
                return found
            assert time.monotonic() < deadline, f"{found['status']}, not {wanted}"
            time.sleep(0.3)  # the status API allows a handle 40 polls in 10 s

    def sign_in(self, email: str, password: str) -> requests.Session:
        """An owner's browser session on the config page, through its real form."""
        browser = requests.Session()
        token = csrf_token(browser.get(f"{self.url}/admin/sign-in", timeout=10).text)
        response = browser.post(
            f"{self.url}/admin/sign-in",
            data={"email": email, "password": password, "csrf_token": token},
            allow_redirects=False,
            timeout=10,
        )
        assert response.status_code == 302, response.text[:500]
        return browser

    def comment_lead(self, browser: requests.Session, request_id: int, comment: str) -> None:
        """The owner's edit: the request's lead status and comment, saved on its page."""
        page = f"{self.url}/admin/requests/{request_id}"
        token = csrf_token(browser.get(page, timeout=10).text)
        response = browser.post(
            f"{page}/lead",
            data={"lead_status": "in_work", "lead_comment": comment, "csrf_token": token},
            allow_redirects=False,
            timeout=10,
        )
        assert response.status_code == 302, response.text[:500]


def wait_ready(url: str, process: subprocess.Popen, seconds: float = 60) -> None:
    deadline = time.monotonic() + seconds
    while True:
        assert process.poll() is None, f"the service exited with {process.returncode}"
        try:
            if requests.get(f"{url}/readyz", timeout=2).status_code == 200:
                return
        except requests.RequestException:
            pass
        assert time.monotonic() < deadline, "the service did not get ready"
        time.sleep(0.2)


def start_run(env: dict, port: int, log: Path) -> Running:
    """`widget-server run`, as systemd starts it."""
    process = subprocess.Popen(
        [sys.executable, "-m", "widget_server.ops.cli", "run", "--port", str(port)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=log.open("ab"),
        start_new_session=True,
    )
    running = Running(process, f"http://127.0.0.1:{port}", log=log)
    try:
        wait_ready(running.url, process)
    except BaseException:
        running.kill()
        raise
    return running


def start_demo(env: dict, ports: tuple[int, int, int]) -> tuple[Running, str]:
    """`widget-server demo` as a new user starts it in a terminal; its banner."""
    service, shop, sim = ports
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "widget_server.ops.cli",
            "demo",
            *("--service-port", str(service), "--shop-port", str(shop), "--sim-port", str(sim)),
        ],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
        start_new_session=True,
    )
    banner = []
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        line = process.stdout.readline()
        if not line and process.poll() is not None:
            break
        banner.append(line)
        if "Press Ctrl-C" in line:
            running = Running(
                process,
                f"http://127.0.0.1:{service}",
                f"http://127.0.0.1:{shop}",
                owner=("demo@example.com", "demo-password"),  # the demo's published sign-in
            )
            return running, "".join(banner)
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGKILL)
    raise AssertionError("the demo did not start:\n" + "".join(banner))


def widget_key_in(banner: str) -> str:
    return re.search(r"Widget key:\s+(\S+)", banner).group(1)


def group_members(group: int) -> list[int]:
    """The processes of a process group (a started service: gunicorn, its workers, the
    queue's), read from /proc."""
    found = []
    for entry in os.listdir("/proc"):
        if entry.isdigit() and _stat(entry) and int(_stat(entry)[2]) == group:
            found.append(int(entry))
    return found


def process_state(pid: int) -> str:
    """The letter /proc gives a process's state ("T" stopped, "Z" a zombie); "X" when gone."""
    fields = _stat(pid)
    return fields[0] if fields else "X"


def _stat(pid) -> list[str]:
    try:
        line = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return []
    return line.rsplit(")", 1)[1].split()  # state, ppid, pgrp, …


def owner_webhook_nobody_hears(database_url: str) -> None:
    """The owner is told through a webhook nobody listens on: each notice stays in the
    outbox, where a drill finds who was told."""
    engine = create_engine(database_url, poolclass=NullPool)
    try:
        with engine.begin() as conn:
            conn.execute(
                text("UPDATE owners SET webhook_url = :url, webhook_secret = :secret"),
                {"url": "http://127.0.0.1:9/hook", "secret": "s" * 32},
            )
    finally:
        engine.dispose()


def told_owner(database_url: str) -> set[str]:
    """The handles of the requests the owner has a notice of."""
    rows = query(
        database_url,
        "SELECT r.handle FROM callback_requests r JOIN notifications n ON n.request_id = r.id",
    )
    return {handle for (handle,) in rows}


def digits(phone) -> str:
    """A number's last ten digits: how the simulator's log and our rows compare."""
    return "".join(c for c in str(phone) if c.isdigit())[-10:]


def dialled(sim_url: str) -> Counter:
    """How many call_backs the simulator received for each number (``digits``)."""
    calls = requests.get(f"{sim_url}/_sim/requests", timeout=10).json()
    return Counter(
        digits(c["body"].get("request_number")) for c in calls if c["method"] == "call_back"
    )


def wait_all_final(database_url: str, handles, seconds: float) -> None:
    """Until each of ``handles`` is final (``statuses.FINAL``) or ``seconds`` have passed;
    what is still open then is the caller's to assert."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        rows = query(database_url, "SELECT handle, status FROM callback_requests")
        if not [h for h, status in rows if h in handles and status not in FINAL]:
            return
        time.sleep(1)


def request_story(database_url: str, handle: str) -> list[tuple]:
    """A request's status and each of its calls, for an assertion's message."""
    return query(
        database_url,
        "SELECT r.status, r.held_reason, a.outcome, a.pbx_result, a.session_id "
        "FROM callback_requests r LEFT JOIN call_attempts a ON a.request_id = r.id "
        "WHERE r.handle = :handle",
        handle=handle,
    )


def webhook_answers(sim_url: str) -> Counter:
    """How the service answered the simulator's call_events webhooks: HTTP status → count
    (None: no answer at all)."""
    calls = requests.get(f"{sim_url}/_sim/calls", timeout=10).json()
    return Counter(event["status"] for call in calls for event in call["events"])


def query(database_url: str, sql: str, **params) -> list[tuple]:
    """Rows read by a connection of its own, closed at once (the service keeps running)."""
    engine = create_engine(database_url, poolclass=NullPool)
    try:
        with engine.connect() as conn:
            return [tuple(row) for row in conn.execute(text(sql), params)]
    finally:
        engine.dispose()
