"""The dial decision's limits (threat model A1–A4, A8, A9), on memory and on a real Redis.

A Redis server is started by the tests from /usr/bin/redis-server (no persistence);
the race tests run 4 gunicorn worker processes sharing it.
"""

from __future__ import annotations

import logging
import os
import socket
import subprocess
import sys
import threading
import time
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
import requests
from sqlalchemy import func, select

from widget_server import setup
from widget_server.extensions import db
from widget_server.models import CallbackRequest, Notification, Owner, PbxGroup, Widget, utcnow
from widget_server.pbx import directory

from .conftest import TEST_SECRET, make_app

SHOP = "https://shop.example"
REDIS_SERVER = "/usr/bin/redis-server"
ROOT = Path(__file__).resolve().parent.parent


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _wait_port(port: int, seconds: float = 10) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        with socket.socket() as sock:
            if sock.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.05)
    raise AssertionError(f"nothing listens on port {port} after {seconds}s")


def start_redis() -> tuple[subprocess.Popen, str]:
    """A throwaway Redis server on a free loopback port, no persistence."""
    if not os.path.exists(REDIS_SERVER):
        pytest.fail(
            f"{REDIS_SERVER} is missing: install it (apt-get install -y redis-server); "
            "these tests need a real Redis server"
        )
    port = _free_port()
    server = subprocess.Popen(
        [REDIS_SERVER, "--port", str(port), "--bind", "127.0.0.1"]
        + ["--save", "", "--appendonly", "no"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        _wait_port(port)
    except AssertionError:
        server.kill()
        raise
    return server, f"redis://127.0.0.1:{port}/0"


def stop_redis(server: subprocess.Popen) -> None:
    server.terminate()
    server.wait(timeout=10)


@pytest.fixture(scope="module")
def redis_url():
    server, url = start_redis()
    yield url
    stop_redis(server)


@pytest.fixture(params=["memory", pytest.param("redis", marks=pytest.mark.redis)])
def store(request) -> str:
    """Each limit test runs on the in-process store and on the shared Redis."""
    if request.param == "memory":
        return "memory://"
    url = request.getfixturevalue("redis_url")
    import redis

    redis.Redis.from_url(url).flushdb()
    return url


@dataclass
class Site:
    app: Any
    client: Any
    keys: list[str]

    def submit(self, phone: str, *, key: int | str = 0, ip: str = "198.51.100.1"):
        widget_key = self.keys[key] if isinstance(key, int) else key
        return self.client.post(
            f"/api/v1/widgets/{widget_key}/requests",
            json={"phone": phone, "consent": True, "group": "101"},
            headers={"Origin": SHOP},
            environ_base={"REMOTE_ADDR": ip},
        )

    def count(self, status: str | None = None) -> int:
        with self.app.app_context():
            query = select(func.count(CallbackRequest.id))
            if status:
                query = query.where(CallbackRequest.status == status)
            return db.session.scalar(query)

    def finish_all(self) -> None:
        """Every stored request ends, so the one-active-call rule is out of the way."""
        with self.app.app_context():
            for req in db.session.scalars(select(CallbackRequest)):
                req.status = "finished"
            db.session.commit()

    def held_notifications(self) -> int:
        with self.app.app_context():
            return db.session.scalar(
                select(func.count(Notification.id)).where(Notification.kind == "held")
            )

    def dial_jobs(self) -> int:
        huey = self.app.extensions["queue"].huey
        return sum("place_next_call" in task.name for task in huey.pending())


def provision(app, widgets: int) -> list[str]:
    """An owner told by webhook, a PBX never contacted, and ``widgets`` widgets for SHOP."""
    with app.app_context():
        owner = Owner(
            email="owner@shop.example",
            password_hash="not-used-here",
            webhook_url="https://crm.shop.example/hook",
            webhook_secret="s" * 32,
        )
        account = directory.add_pbx(
            owner, "https://api-test.cloudpbx.rt.ru", "CLIENT0001", "KEY0001", "shop.rt.ru"
        )
        db.session.add(PbxGroup(account=account, pin="101", name="Продажи", member_pins=["201"]))
        db.session.commit()
        return [
            setup.add_widget(account, [SHOP], [("101", "Продажи")]).public_key
            for _ in range(widgets)
        ]


def build(tmp_path, widgets: int = 1, **overrides) -> Site:
    app = make_app(tmp_path, **overrides)
    return Site(app, app.test_client(), provision(app, widgets))


def number(i: int) -> str:
    """Distinct numbers with distinct prefixes (all but the last 4 digits)."""
    return f"+7916{100 + i:03d}{i:04d}"


# -- per number ---------------------------------------------------------------------------
def test_a_number_asked_twice_through_one_widget_within_5_minutes_gets_a_429(tmp_path, store):
    site = build(tmp_path, RATELIMIT_STORAGE_URI=store, RATELIMIT_NUMBER="100/minute")
    assert site.submit("+79161234567").status_code == 202
    site.finish_all()  # not the one-active-call rule: the widget+number limit refuses
    again = site.submit("+79161234567", ip="198.51.100.2")
    assert again.status_code == 429
    assert 240 <= int(again.headers["Retry-After"]) <= 300
    assert site.count() == 1


@pytest.mark.parametrize(
    ("number_limit", "accepted"), [("1/2minute;3/hour;5/day", 1), ("3/hour;5/day", 3)]
)
def test_one_number_across_ten_widgets_is_called_at_most_as_the_number_limit_allows(
    tmp_path, number_limit, accepted
):
    site = build(tmp_path, widgets=10, RATELIMIT_NUMBER=number_limit)
    codes = []
    for i in range(10):
        codes.append(site.submit("+79161234567", key=i, ip=f"198.51.100.{i + 1}").status_code)
        site.finish_all()
    assert codes.count(202) == accepted
    assert codes.count(429) == 10 - accepted
    assert site.count() == accepted


def test_numbers_sharing_a_prefix_are_limited_together(tmp_path):
    site = build(tmp_path, widgets=2, RATELIMIT_PREFIX="3/hour", NEW_WIDGET_CAP="100/hour")
    codes = [
        site.submit(f"+7916123{i:04d}", key=i % 2, ip=f"198.51.100.{i + 1}").status_code
        for i in range(5)
    ]
    assert codes == [202, 202, 202, 429, 429]


def test_a_number_with_a_request_still_under_way_gets_a_429(tmp_path, store):
    site = build(tmp_path, widgets=2, RATELIMIT_STORAGE_URI=store, RATELIMIT_NUMBER="100/minute")
    assert site.submit("+79161234567", key=0).status_code == 202
    busy = site.submit("+79161234567", key=1, ip="198.51.100.2")
    assert busy.status_code == 429
    assert int(busy.headers["Retry-After"]) > 0
    site.finish_all()
    assert site.submit("+79161234567", key=1, ip="198.51.100.3").status_code == 202
    assert site.count() == 2


# -- per client --------------------------------------------------------------------------
def test_a_hundred_addresses_of_one_ipv6_64_are_limited_as_one_client(tmp_path):
    site = build(tmp_path, RATELIMIT_IP="3/10minute")
    codes = [site.submit(number(i), ip=f"2001:db8:1:2::{i + 1:x}").status_code for i in range(100)]
    assert codes.count(202) == 3  # RATELIMIT_IP: 3 per 10 minutes per widget
    assert codes.count(429) == 97
    other = site.submit(number(200), ip="2001:db8:1:3::1")  # the next /64 is another client
    assert other.status_code == 202


# -- per widget ----------------------------------------------------------------------------
def test_past_the_widget_cap_requests_are_held_not_dialled_and_the_owner_told_once(tmp_path, store):
    site = build(tmp_path, RATELIMIT_STORAGE_URI=store, NEW_WIDGET_CAP="3/hour;50/day")
    answers = [site.submit(number(i), ip=f"198.51.100.{i + 1}") for i in range(6)]
    assert [a.status_code for a in answers] == [202] * 6
    # Held and accepted answers look the same to the visitor.
    assert {tuple(sorted(a.json)) for a in answers} == {("handle", "status")}
    assert {a.json["status"]["status"] for a in answers} == {"queued"}
    assert {a.json["status"]["message"] for a in answers} == {answers[0].json["status"]["message"]}
    assert site.count("queued") == 3
    assert site.count("held") == 3
    assert site.dial_jobs() == 3
    assert site.held_notifications() == 1
    with site.app.app_context():
        reasons = set(
            db.session.scalars(
                select(CallbackRequest.held_reason).where(CallbackRequest.status == "held")
            )
        )
    assert reasons == {"widget cap reached"}
    status = site.client.get(
        f"/api/v1/requests/{answers[-1].json['handle']}", headers={"Origin": SHOP}
    ).json
    assert status["message"] == "Заявка принята. Мы перезвоним вам."


def test_a_widget_older_than_a_week_gets_the_higher_cap(tmp_path):
    site = build(tmp_path, NEW_WIDGET_CAP="1/hour", WIDGET_CAP="2/hour")
    with site.app.app_context():
        widget = db.session.scalar(select(Widget))
        widget.created_at = utcnow() - timedelta(days=8)
        db.session.commit()
    codes = [site.submit(number(i), ip=f"198.51.100.{i + 1}").status_code for i in range(3)]
    assert codes == [202] * 3
    assert site.count("queued") == 2
    assert site.count("held") == 1


# -- the limit store down ------------------------------------------------------------------
@pytest.mark.redis
def test_with_the_limit_store_down_a_request_is_held_and_the_owner_told(tmp_path, caplog):
    server, url = start_redis()
    try:
        site = build(tmp_path, RATELIMIT_STORAGE_URI=url)
    finally:
        stop_redis(server)  # the store goes down: nothing listens on its port any more
    assert (
        site.client.get(
            f"/api/v1/widgets/{site.keys[0]}/config", headers={"Origin": SHOP}
        ).status_code
        == 200
    )
    with caplog.at_level(logging.ERROR, logger="widget_server.abuse.limits"):
        answers = [site.submit(number(i), ip=f"198.51.100.{i + 1}") for i in range(2)]
    assert [a.status_code for a in answers] == [202, 202]  # the per-IP limits did not 500
    assert {a.json["status"]["status"] for a in answers} == {"queued"}
    assert site.count("held") == 2
    assert site.dial_jobs() == 0
    assert site.held_notifications() == 1
    with site.app.app_context():
        reasons = set(db.session.scalars(select(CallbackRequest.held_reason)))
    assert reasons == {"limit store unavailable"}
    assert any("rate-limit store unavailable" in r.getMessage() for r in caplog.records)


# -- races across processes ------------------------------------------------------------------
@pytest.fixture
def gunicorn(tmp_path, redis_url):
    """4 gunicorn worker processes × 4 threads sharing one Redis and one SQLite file."""
    import redis

    redis.Redis.from_url(redis_url).flushdb()
    app = make_app(tmp_path)
    keys = provision(app, widgets=2)
    db_url = app.config["SQLALCHEMY_DATABASE_URI"]
    port = _free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("WIDGET_")}
    env["WIDGET_ALLOW_PRIVATE_NETWORKS"] = "1"  # the simulator is on loopback
    env.update(
        WIDGET_REDIS_URL=redis_url,
        WIDGET_DATABASE_URL=db_url,
        WIDGET_SECRET_KEY=TEST_SECRET,
        WIDGET_DEV="1",
        WIDGET_NIGHT_GUARD="0",
        WIDGET_INSTANCE_PATH=str(tmp_path / "gunicorn-instance"),
        WIDGET_LOG_LEVEL="WARNING",
        WIDGET_RATELIMIT_IP="100000/minute",
        WIDGET_RATELIMIT_IP_GLOBAL="100000/minute",
        WIDGET_NEW_WIDGET_CAP="5/hour",
        WIDGET_FORM_TOKENS="0",  # the requests are posted directly, not by the widget
    )
    server = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "gunicorn",
            "-k",
            "gthread",
            "-w",
            "4",
            "--threads",
            "4",
            "-b",
            f"127.0.0.1:{port}",
            "widget_server:create_app()",
        ],
        env=env,
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                if requests.get(f"{url}/api/v1/openapi.json", timeout=1).status_code == 200:
                    break
            except requests.RequestException:
                pass
            if time.monotonic() > deadline or server.poll() is not None:
                raise AssertionError("gunicorn did not come up")
            time.sleep(0.1)
        # Every worker serves: the first requests are answered before all 4 are up.
        time.sleep(1.0)
        yield url, keys, app
    finally:
        server.terminate()
        server.wait(timeout=15)


def _fire(url: str, key: str, phones: list[str]) -> list[int]:
    barrier = threading.Barrier(len(phones))
    codes: list[int] = [0] * len(phones)

    def one(i: int) -> None:
        with requests.Session() as session:
            barrier.wait()
            codes[i] = session.post(
                f"{url}/api/v1/widgets/{key}/requests",
                json={"phone": phones[i], "consent": True, "group": "101"},
                headers={"Origin": SHOP},
                timeout=30,
            ).status_code

    threads = [threading.Thread(target=one, args=(i,)) for i in range(len(phones))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return codes


@pytest.mark.redis
@pytest.mark.stack
def test_fifty_identical_submits_across_four_worker_processes_give_exactly_one_call(gunicorn):
    url, keys, app = gunicorn
    codes = _fire(url, keys[0], ["+79161234567"] * 50)
    assert codes.count(202) == 1, codes
    assert codes.count(429) == 49, codes
    with app.app_context():
        db.session.remove()
        assert db.session.scalar(select(func.count(CallbackRequest.id))) == 1


@pytest.mark.redis
@pytest.mark.stack
def test_fifty_submits_racing_for_the_widget_cap_dial_exactly_the_cap(gunicorn):
    url, keys, app = gunicorn
    codes = _fire(url, keys[1], [number(i) for i in range(50)])
    assert codes == [202] * 50, codes
    with app.app_context():
        db.session.remove()
        statuses = list(db.session.scalars(select(CallbackRequest.status)))
        held = db.session.scalar(
            select(func.count(Notification.id)).where(Notification.kind == "held")
        )
    assert statuses.count("queued") == 5  # WIDGET_NEW_WIDGET_CAP=5/hour
    assert statuses.count("held") == 45
    assert held == 1
