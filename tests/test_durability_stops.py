"""Every stop keeps what was accepted: `widget-server demo` stopped by Ctrl-C, and
`widget-server run` stopped by systemd (SIGTERM) or killed (SIGKILL, a crash whose WAL
the next start replays), on the default SQLite and, in the PostgreSQL pass, on PostgreSQL.

Before each stop the service has: a request whose call connected and finished, an
owner's edit made on the config page, and a request waiting to try a failing PBX again (a
job in the queue, due after the stop). After the restart all of it is there, and the
waiting request goes on trying until its deadline, then tells the visitor the truth.
"""

from __future__ import annotations

import signal
import sqlite3

import pytest

from widget_server.pbx.sim import start_sim_thread

from . import real_service
from .conftest import SIM_CLIENT_ID, SIM_SIGN_KEY, database_url
from .real_service import (
    Running,
    free_port,
    query,
    service_environment,
    start_demo,
    start_run,
    widget_key_in,
)

pytestmark = pytest.mark.stack

TALKS = "+7 916 555-00-01"  # connects, talks, hangs up
PBX_DOWN = "+7 900 000-00-06"  # the PBX answers 503: tried again 5 s, then 15 s later
DEADLINE = "30"  # seconds: PBX_DOWN is tried two or three times, then pbx_error


def _before_the_stop(service: Running, key: str, db_url: str) -> dict:
    """A finished call, an owner's edit and a queued next try, as the service had them."""
    talked = service.submit(key, TALKS)
    assert service.wait_status(talked, "finished")["final"] is True
    waiting = service.submit(key, PBX_DOWN)
    service.wait_status(waiting, "retrying")
    (request_id,) = query(db_url, "SELECT id FROM callback_requests WHERE handle = :h", h=talked)[0]
    browser = service.sign_in(*service.owner)
    service.comment_lead(browser, request_id, "Перезвонить в пятницу")
    return {"talked": talked, "waiting": waiting, "request_id": request_id}


def _next_try_is_queued(queue_file) -> bool:
    """The queue's own file holds the job of the waiting request's next try (due later,
    or already due)."""
    conn = sqlite3.connect(queue_file)
    try:
        rows = conn.execute("SELECT data FROM schedule UNION ALL SELECT data FROM task").fetchall()
    finally:
        conn.close()
    return any(b"place_next_call" in bytes(data) for (data,) in rows)


def _after_the_restart(service: Running, db_url: str, kept: dict) -> None:
    talked = service.status(kept["talked"])
    assert (talked["status"], talked["final"]) == ("finished", True)
    calls = query(
        db_url,
        "SELECT a.outcome FROM call_attempts a WHERE a.request_id = :r",
        r=kept["request_id"],
    )
    assert calls == [("completed",)], "the call of the finished request is kept"
    lead = query(
        db_url,
        "SELECT lead_status, lead_comment FROM callback_requests WHERE id = :r",
        r=kept["request_id"],
    )
    assert lead == [("in_work", "Перезвонить в пятницу")], "the owner's edit is kept"
    service.sign_in(*service.owner)  # the owner's account, password and all
    # The waiting request goes on after the restart: tried again, then told the truth.
    final = service.wait_status(kept["waiting"], "pbx_error", seconds=90)
    assert final["final"] is True
    tries = query(
        db_url,
        "SELECT a.outcome FROM call_attempts a JOIN callback_requests r ON r.id = a.request_id "
        "WHERE r.handle = :h",
        h=kept["waiting"],
    )
    assert len(tries) >= 2 and set(tries) == {("pbx_unavailable",)}


@pytest.fixture
def site(tmp_path):
    """A PBX simulator of this test, and the files and settings `run` is started with."""
    sim = start_sim_thread(
        {"CLIENT_ID": SIM_CLIENT_ID, "SIGN_KEY": SIM_SIGN_KEY, "TIME_SCALE": 0.02}
    )
    yield real_service.site(tmp_path, sim.url, WIDGET_DISPATCH_DEADLINE=DEADLINE)
    sim.stop()


@pytest.mark.parametrize(
    "how",
    [signal.SIGTERM, signal.SIGKILL],
    ids=["stopped by SIGTERM", "killed by SIGKILL"],
)
def test_a_run_stopped_or_killed_keeps_requests_calls_edits_and_queued_jobs(site, tmp_path, how):
    log = tmp_path / "service.log"
    service = start_run(site.env, site.port, log)
    try:
        kept = _before_the_stop(service, site.key, site.db_url)
        # systemd sends SIGTERM to the main process; a crash takes every process at once.
        code = service.stop(how, group=how == signal.SIGKILL)
    finally:
        service.kill()
    assert code == (0 if how == signal.SIGTERM else -signal.SIGKILL), log.read_text()[-2000:]
    assert _next_try_is_queued(site.instance / "queue.sqlite3")

    service = start_run(site.env, site.port, log)
    try:
        _after_the_restart(service, site.db_url, kept)
    finally:
        service.stop(signal.SIGTERM)


def test_the_demo_stopped_with_ctrl_c_keeps_everything_made_since_it_started(tmp_path):
    """`make demo`, a call on the sample shop, an edit on the config page, Ctrl-C (SIGINT
    to the terminal's whole process group), `make demo` again: all of it is still there."""
    instance = tmp_path / "instance"
    db_url = database_url(tmp_path)
    env = service_environment(instance, db_url, 0, WIDGET_DISPATCH_DEADLINE=DEADLINE)
    for name in ("WIDGET_PUBLIC_URL", "WIDGET_SECRET_KEY", "WIDGET_DEV", "WIDGET_NIGHT_GUARD"):
        del env[name]  # the demo's own, as a new user has them
    env["WIDGET_SIM_TIME_SCALE"] = "0.05"
    if db_url.startswith("sqlite"):
        del env["WIDGET_DATABASE_URL"]  # the default: a file in the instance folder
        db_url = f"sqlite:///{instance / 'widget.sqlite3'}"
    ports = (free_port(), free_port(), free_port())
    demo, banner = start_demo(env, ports)
    try:
        key = widget_key_in(banner)
        kept = _before_the_stop(demo, key, db_url)
        assert demo.stop(signal.SIGINT, group=True) == 0
    finally:
        demo.kill()
    assert _next_try_is_queued(instance / "queue.sqlite3")

    demo, banner = start_demo(env, ports)
    try:
        assert widget_key_in(banner) == key
        _after_the_restart(demo, db_url, kept)
        assert demo.stop(signal.SIGINT, group=True) == 0
    finally:
        demo.kill()
