"""The burst drill on real processes: a few hundred visitors from distinct numbers submit at
once to `widget-server run`, the whole service is killed (SIGKILL to its process group, a
crash) in the middle of the burst with calls under way, and started again. Counted against
what the PBX simulator received: every request answered 202 is still there and ends final,
nobody is dialled twice, a call_back lost in the crash is dialled once the PBX's journal
shows it was never placed, and a request that was never dialled ends with the owner told."""

from __future__ import annotations

import signal
import threading
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor

import pytest
import requests
from sqlalchemy import create_engine, text
from sqlalchemy.pool import NullPool

from widget_server.pbx.sim import start_sim_thread
from widget_server.statuses import FINAL

from .conftest import SIM_CLIENT_ID, SIM_SIGN_KEY, database_url
from .real_service import SHOP, free_port, prepare_site, query, service_environment, start_run

pytestmark = pytest.mark.stack

VISITORS = 240
KILL_AFTER = 90  # accepted requests before the crash


def _digits(value) -> str:
    return "".join(c for c in str(value) if c.isdigit())[-10:]


def test_a_crash_in_the_middle_of_a_burst_loses_no_accepted_request_and_dials_nobody_twice(
    tmp_path,
):
    sim = start_sim_thread(
        {"CLIENT_ID": SIM_CLIENT_ID, "SIGN_KEY": SIM_SIGN_KEY, "TIME_SCALE": 0.02}
    )
    instance = tmp_path / "instance"
    instance.mkdir()
    db_url, port = database_url(tmp_path), free_port()
    key = prepare_site(tmp_path, instance, db_url, sim.url, port)
    # The owner hears through a webhook (nobody listens: the notice waits in the outbox).
    engine = create_engine(db_url, poolclass=NullPool)
    with engine.begin() as conn:
        conn.execute(
            text("UPDATE owners SET webhook_url = :url, webhook_secret = :secret"),
            {"url": "http://127.0.0.1:9/hook", "secret": "s" * 32},
        )
    engine.dispose()
    env = service_environment(
        instance,
        db_url,
        port,
        WIDGET_UNKNOWN_CALL_GRACE="3",
        WIDGET_DISPATCH_DEADLINE="60",
        WIDGET_UNPLACED_CHECK_AFTER="5",  # the journal is asked 5 s after a lost call_back
    )
    log = tmp_path / "service.log"
    service = start_run(env, port, log)
    accepted: dict[str, str] = {}  # handle -> number
    lock, crashed = threading.Lock(), threading.Event()

    def visitor(n: int) -> None:
        phone = f"+7916{3000000 + n:07d}"
        try:
            answer = requests.post(
                f"{service.url}/api/v1/widgets/{key}/requests",
                json={"phone": phone, "consent": True, "group": "101"},
                headers={"Origin": SHOP},
                timeout=20,
            )
        except requests.RequestException:
            return  # the visitor saw an error: not accepted, nothing promised
        if answer.status_code == 202:
            with lock:
                accepted[answer.json()["handle"]] = phone
                if len(accepted) >= KILL_AFTER and not crashed.is_set():
                    crashed.set()
                    service.stop(signal.SIGKILL, group=True)

    try:
        with ThreadPoolExecutor(8) as pool:
            list(pool.map(visitor, range(VISITORS)))
        assert crashed.is_set(), "the burst ended before the crash"
        service = start_run(env, port, log)
        deadline = time.monotonic() + 180
        while time.monotonic() < deadline:
            rows = query(db_url, "SELECT handle, status FROM callback_requests")
            open_ = [h for h, status in rows if h in accepted and status not in FINAL]
            if not open_:
                break
            time.sleep(1)
        service.stop(signal.SIGTERM)
    finally:
        service.kill()
        calls = requests.get(f"{sim.url}/_sim/requests", timeout=10).json()
        sim.stop()

    rows = {h: s for h, s in query(db_url, "SELECT handle, status FROM callback_requests")}
    assert set(accepted) <= set(rows), "an accepted request is gone"
    assert not [h for h in accepted if rows[h] not in FINAL], "an accepted request never ended"
    dialled = Counter(
        _digits(c["body"].get("request_number")) for c in calls if c["method"] == "call_back"
    )
    assert [d for d, times in dialled.items() if times > 1] == [], "somebody was dialled twice"
    told = {
        h
        for (h,) in query(
            db_url,
            "SELECT r.handle FROM callback_requests r JOIN notifications n ON n.request_id = r.id",
        )
    }
    never_dialled = [h for h, phone in accepted.items() if _digits(phone) not in dialled]
    silent = [h for h in never_dialled if h not in told]
    assert silent == [], [
        query(
            db_url,
            "SELECT r.status, r.held_reason, a.outcome, a.pbx_result, a.session_id "
            "FROM callback_requests r LEFT JOIN call_attempts a ON a.request_id = r.id "
            "WHERE r.handle = :handle",
            handle=handle,
        )
        for handle in silent
    ]
