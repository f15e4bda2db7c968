"""Health checks and Prometheus metrics, over real HTTP against real servers.

/readyz is checked against a real Redis server that is then stopped, and a database
server nobody listens for; /metrics after real requests through the simulator, and
under ``widget-server run`` with two gunicorn workers and the queue worker process.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor

import pytest
import requests
from prometheus_client.parser import text_string_to_metric_families

from widget_server import create_app, setup
from widget_server.extensions import db, limiter
from widget_server.pbx import directory
from widget_server.pbx.sim import start_sim_thread

from .conftest import (
    POSTGRES,
    SIM_CLIENT_ID,
    SIM_SIGN_KEY,
    TEST_SECRET,
    build_stack,
    database_url,
    make_app,
)
from .test_abuse_limits import ROOT, _free_port, start_redis, stop_redis

TOKEN = "metrics-token-0123456789abcdef"
AUTH = {"Authorization": f"Bearer {TOKEN}"}


def sample(text: str, name: str, **labels: str) -> float:
    """The sum of the samples called ``name`` whose labels include ``labels``."""
    total = 0.0
    for family in text_string_to_metric_families(text):
        for s in family.samples:
            if s.name == name and all(s.labels.get(k) == v for k, v in labels.items()):
                total += s.value
    return total


# -- health ------------------------------------------------------------------------------
def test_healthz_answers_while_readyz_names_a_database_nobody_listens_for(tmp_path, monkeypatch):
    monkeypatch.setenv("WIDGET_INSTANCE_PATH", str(tmp_path / "instance"))
    dead = f"postgresql+psycopg://widget:pw@127.0.0.1:{_free_port()}/widget"
    app = create_app({"TESTING": True, "SECRET_KEY": TEST_SECRET, "SQLALCHEMY_DATABASE_URI": dead})
    client = app.test_client()
    alive = client.get("/healthz")
    assert alive.status_code == 200 and alive.json == {"status": "ok"}
    started = time.monotonic()
    ready = client.get("/readyz")
    assert time.monotonic() - started < 10
    assert ready.status_code == 503
    assert ready.json["failed"] == ["database"]
    assert ready.json["checks"]["queue"] == "ok"
    assert "pw" not in ready.get_data(as_text=True)  # the URL's password is never shown


@pytest.mark.redis
def test_readyz_is_ready_with_redis_and_names_redis_and_the_queue_once_it_stops(tmp_path):
    server, url = start_redis()
    try:
        app = make_app(tmp_path, REDIS_URL=url)
        client = app.test_client()
        ready = client.get("/readyz")
        assert ready.status_code == 200, ready.json
        # The disk is looked at where SQLite keeps the database (not in the PostgreSQL pass).
        disk = {} if POSTGRES else {"disk": "ok"}
        assert ready.json["checks"] == {"database": "ok", **disk, "redis": "ok", "queue": "ok"}
    finally:
        stop_redis(server)  # nothing listens on its port any more
    started = time.monotonic()
    down = client.get("/readyz")
    assert time.monotonic() - started < 5
    assert down.status_code == 503
    assert down.json["status"] == "unavailable"
    assert set(down.json["failed"]) == {"redis", "queue"}
    assert down.json["checks"]["database"] == "ok"
    assert client.get("/healthz").status_code == 200


def test_health_checks_are_never_rate_limited(tmp_path, monkeypatch):
    # One limiter serves every app and keeps the first default limits it is given:
    # put them back afterwards, or later tests' pages are limited to 2/minute too.
    monkeypatch.setattr(limiter.limit_manager, "_default_limits", [])
    client = make_app(tmp_path, RATELIMIT_DEFAULT="2/minute").test_client()
    assert [client.get("/readyz").status_code for _ in range(5)] == [200] * 5


# -- metrics ---------------------------------------------------------------------------------
def test_metrics_are_off_without_a_token_and_need_the_bearer_token_when_on(tmp_path):
    off = make_app(tmp_path).test_client()
    assert off.get("/metrics").status_code == 404
    on = make_app(tmp_path, METRICS_TOKEN=TOKEN).test_client()
    assert on.get("/metrics").status_code == 401
    assert (
        on.get("/metrics", headers={"Authorization": "Bearer wrong-token-0000000"}).status_code
        == 401
    )
    assert on.get("/metrics", headers={"Authorization": TOKEN}).status_code == 401
    answer = on.get("/metrics", headers=AUTH)
    assert answer.status_code == 200
    assert answer.content_type.startswith("text/plain")
    assert "widget_queue_pending_jobs" in answer.get_data(as_text=True)


def test_metrics_count_requests_pbx_calls_webhooks_outcomes_and_refusals_by_label(tmp_path):
    stack, stop = build_stack(tmp_path, app_overrides={"METRICS_TOKEN": TOKEN})

    def scrape() -> str:
        answer = requests.get(f"{stack.service_url}/metrics", headers=AUTH, timeout=10)
        assert answer.status_code == 200
        return answer.text

    route = "/api/v1/widgets/<key>/requests"
    try:
        before = scrape()
        ok = stack.submit("+7 916 200-00-01")
        assert ok.status_code == 202
        again = stack.submit("+7 916 200-00-01")  # an active call for this number: refused
        assert again.status_code == 429
        refused_by_pbx = stack.submit("+7 900 000-00-04")  # call_back answers -20
        assert stack.wait_final(ok.json()["handle"])["status"] == "finished"
        assert stack.wait_final(refused_by_pbx.json()["handle"])["status"] == "pbx_error"
        # "finished" shows as soon as `end` is stored; the webhook's own count and the
        # call_info fetched after it land a moment later, so wait for both.
        after = stack.wait_until(
            lambda: settled(before, scrape()), message="the end event and its call_info"
        )
    finally:
        stop()

    def delta(name: str, **labels: str) -> float:
        return sample(after, name, **labels) - sample(before, name, **labels)

    assert delta("widget_http_requests_total", route=route, method="POST", status="202") == 2
    assert delta("widget_http_requests_total", route=route, method="POST", status="429") == 1
    assert delta("widget_http_request_duration_seconds_count", route=route, method="POST") == 3
    assert stack.widget_key not in after  # routes are URL rules, never paths
    assert delta("widget_limit_refusals_total", kind="active_call") == 1
    assert delta("widget_pbx_api_call_duration_seconds_count", method="call_back") >= 2
    assert delta("widget_pbx_api_call_duration_seconds_count", method="call_info") >= 1
    assert delta("widget_pbx_api_errors_total", method="call_back", result="-20") >= 1
    assert delta("widget_webhook_events_total", state="end", outcome="applied") >= 1
    assert delta("widget_callback_requests_total", outcome="finished") == 1
    assert delta("widget_callback_requests_total", outcome="pbx_error") == 1
    assert sample(after, "widget_queue_pending_jobs") >= 0
    assert "widget_queue_oldest_due_seconds" in after


def settled(before: str, now: str) -> str | None:
    """``now`` once the work after a call's ``end`` (its count, call_info) shows in it."""
    ends = sample(now, "widget_webhook_events_total", state="end", outcome="applied")
    infos = sample(now, "widget_pbx_api_call_duration_seconds_count", method="call_info")
    ends_before = sample(before, "widget_webhook_events_total", state="end", outcome="applied")
    infos_before = sample(before, "widget_pbx_api_call_duration_seconds_count", method="call_info")
    return now if ends > ends_before and infos > infos_before else None


def _wait_up(url: str, process: subprocess.Popen, seconds: float = 60) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise AssertionError("widget-server run exited")
        try:
            if requests.get(f"{url}/healthz", timeout=1).status_code == 200:
                return
        except requests.RequestException:
            pass
        time.sleep(0.2)
    raise AssertionError("widget-server run did not come up")


@pytest.mark.redis
@pytest.mark.stack
def test_metrics_under_run_add_up_every_gunicorn_worker_and_the_queue_worker(tmp_path):
    redis_server, redis_url = start_redis()
    sim = start_sim_thread(
        {"CLIENT_ID": SIM_CLIENT_ID, "SIGN_KEY": SIM_SIGN_KEY, "TIME_SCALE": 0.02}
    )
    port = _free_port()
    url = f"http://127.0.0.1:{port}"
    app = make_app(tmp_path, PUBLIC_URL=url)
    with app.app_context():
        owner = setup.create_owner("owner@example.com", "correct horse")
        account = directory.add_pbx(
            owner, sim.url, SIM_CLIENT_ID, SIM_SIGN_KEY, "demo.cloudpbx.rt.ru"
        )
        sim_config = {"webhook_base": directory.webhook_base(account)}
        requests.post(f"{sim.url}/_sim/config", json=sim_config, timeout=5)
        directory.sync_groups(account)
        widget = setup.add_widget(account, ["https://shop.example"], [("101", "Продажи")])
        widget.group_rounds = 1
        db.session.commit()
        key = widget.public_key
    temp = tmp_path / "tmp"
    temp.mkdir()
    env = {k: v for k, v in os.environ.items() if not k.startswith("WIDGET_")}
    env["WIDGET_ALLOW_PRIVATE_NETWORKS"] = "1"  # the simulator is on loopback
    env.update(
        TMPDIR=str(temp),
        WIDGET_DATABASE_URL=database_url(tmp_path),
        WIDGET_REDIS_URL=redis_url,
        WIDGET_SECRET_KEY=TEST_SECRET,
        WIDGET_METRICS_TOKEN=TOKEN,
        WIDGET_INSTANCE_PATH=str(tmp_path / "instance"),
        WIDGET_PUBLIC_URL=url,
        WIDGET_WORKERS="2",
        WIDGET_THREADS="2",
        WIDGET_QUEUE_WORKERS="1",
        WIDGET_NIGHT_GUARD="0",
        WIDGET_FORM_TOKENS="0",  # posted directly, not by the widget
    )
    log_path = tmp_path / "run.log"
    with open(log_path, "w") as log_file:
        server = subprocess.Popen(
            [sys.executable, "-m", "widget_server.ops.cli", "run", "--port", str(port)],
            env=env,
            cwd=ROOT,
            stdout=log_file,
            stderr=subprocess.STDOUT,
        )
    try:
        _wait_up(url, server)
        assert len(list(temp.glob("widget-metrics-*"))) == 1  # a fresh directory per start
        with ThreadPoolExecutor(8) as pool:  # concurrent, so both workers are likely to serve
            codes = list(pool.map(lambda _: requests.get(f"{url}/healthz", timeout=5), range(40)))
        assert {c.status_code for c in codes} == {200}
        answer = requests.post(
            f"{url}/api/v1/widgets/{key}/requests",
            json={"phone": "+7 916 200-00-09", "group": "101", "consent": True},
            headers={"Origin": "https://shop.example"},
            timeout=10,
        )
        assert answer.status_code == 202
        deadline = time.monotonic() + 30
        while True:
            text = requests.get(f"{url}/metrics", headers=AUTH, timeout=5).text
            # call_back is placed by the queue worker, a process of its own.
            if sample(text, "widget_pbx_api_call_duration_seconds_count", method="call_back"):
                break
            assert time.monotonic() < deadline, "the queue worker's call_back never showed"
            time.sleep(0.3)
        # Whichever worker answers a scrape, it reports what every worker served.
        scrapes = [requests.get(f"{url}/metrics", headers=AUTH, timeout=5).text for _ in range(6)]
        served = {
            sample(text, "widget_http_requests_total", route="/healthz", status="200")
            for text in scrapes
        }
    finally:
        server.send_signal(signal.SIGTERM)
        try:
            server.wait(timeout=30)
        finally:
            if server.poll() is None:
                server.kill()
            stop_redis(redis_server)
            sim.stop()
    assert list(temp.glob("widget-metrics-*")) == []  # removed on exit
    lines = [line for line in log_path.read_text().splitlines() if line.startswith("{")]
    access = [json.loads(line) for line in lines if '"widget_server.access"' in line]
    healthz = [entry for entry in access if entry["route"] == "/healthz"]
    assert all(entry["status"] == 200 and entry["request_id"] for entry in healthz)
    # Every scrape counted every /healthz line any worker logged.
    assert served == {float(len(healthz))}
