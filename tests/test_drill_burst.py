"""The burst drill on real processes: a few hundred visitors from distinct numbers submit at
once to `widget-server run`, the whole service is killed (SIGKILL to its process group, a
crash) in the middle of the burst with calls under way, and started again. Counted against
what the PBX simulator received: every request answered 202 is still there and ends final,
nobody is dialled twice, a call_back lost in the crash is dialled once the PBX's journal
shows it was never placed, and a request that was never dialled ends with the owner told."""

from __future__ import annotations

import signal
import threading
from concurrent.futures import ThreadPoolExecutor

import pytest
import requests

from widget_server.pbx.sim import start_sim_thread
from widget_server.statuses import FINAL

from . import real_service
from .conftest import SIM_CLIENT_ID, SIM_SIGN_KEY
from .real_service import (
    SHOP,
    dialled,
    digits,
    owner_webhook_nobody_hears,
    query,
    request_story,
    start_run,
    told_owner,
    wait_all_final,
)

pytestmark = pytest.mark.stack

VISITORS = 240
KILL_AFTER = 90  # accepted requests before the crash


def test_a_crash_in_the_middle_of_a_burst_loses_no_accepted_request_and_dials_nobody_twice(
    tmp_path,
):
    sim = start_sim_thread(
        {"CLIENT_ID": SIM_CLIENT_ID, "SIGN_KEY": SIM_SIGN_KEY, "TIME_SCALE": 0.02}
    )
    site = real_service.site(
        tmp_path,
        sim.url,
        WIDGET_UNKNOWN_CALL_GRACE="3",
        WIDGET_DISPATCH_DEADLINE="60",
        WIDGET_UNPLACED_CHECK_AFTER="5",  # the journal is asked 5 s after a lost call_back
    )
    db_url, env, port, key = site.db_url, site.env, site.port, site.key
    owner_webhook_nobody_hears(db_url)
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
        wait_all_final(db_url, accepted, seconds=180)
        service.stop(signal.SIGTERM)
    finally:
        service.kill()
        times_dialled = dialled(sim.url)
        sim.stop()

    rows = {h: s for h, s in query(db_url, "SELECT handle, status FROM callback_requests")}
    assert set(accepted) <= set(rows), "an accepted request is gone"
    open_ = [h for h in accepted if rows[h] not in FINAL]
    assert not open_, [
        "an accepted request never ended",
        *(request_story(db_url, h) for h in open_),
    ]
    twice = [number for number, times in times_dialled.items() if times > 1]
    assert twice == [], "somebody was dialled twice"
    told = told_owner(db_url)
    never_dialled = [h for h, phone in accepted.items() if digits(phone) not in times_dialled]
    silent = [h for h in never_dialled if h not in told]
    assert silent == [], [request_story(db_url, handle) for handle in silent]
