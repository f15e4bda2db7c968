"""The disk drill on real processes: a few hundred visitors from distinct numbers submit at
once to `widget-server run` on SQLite, whose instance folder (the database, the queue) lives
on a small file system of its own. In the middle of the burst a file fills that disk; once
visitors have been refused for a while, the file is deleted and the burst goes on.

Counted against what the PBX simulator received: every request answered 202 is still there
once room is back and ends final or with the owner told; nobody is dialled twice; every
visitor not answered 202 got the service's clear 503 in words (never a 500 page, never a
reset), and so did the PBX's events it could not keep; /readyz named the disk while it
was full; and the same processes served the rest of the burst, and are ready, without a
restart.
"""

from __future__ import annotations

import signal
import threading
from concurrent.futures import ThreadPoolExecutor

import pytest
import requests

from widget_server.pbx.sim import start_sim_thread
from widget_server.statuses import FINAL
from widget_server.visitor.texts import api_error

from . import real_service
from .conftest import SIM_CLIENT_ID, SIM_SIGN_KEY
from .loop_disk import fill, loop_disk
from .real_service import (
    SHOP,
    dialled,
    digits,
    group_members,
    owner_webhook_nobody_hears,
    query,
    request_story,
    start_run,
    told_owner,
    wait_all_final,
    webhook_answers,
)

pytestmark = [pytest.mark.loop_disk, pytest.mark.sqlite_file, pytest.mark.stack]

VISITORS = 300
FILL_AFTER = 80  # accepted requests before the disk is filled
REFUSED_WHILE_FULL = 20  # visitors refused before room is made again


class Burst:
    """The visitors' answers, and the disk filled and emptied as they come in.

    ``accepted``: handle → number, for each 202. ``refused``: the other answers, as
    (status, JSON body or the start of the text, whether the disk was full then).
    ``broken``: visitors who got no answer at all (a reset, a timeout).
    """

    def __init__(self, url: str, key: str, filler, readyz) -> None:
        self.url, self.key, self.filler, self.readyz = url, key, filler, readyz
        self.accepted: dict[str, str] = {}
        self.refused: list[tuple[int, object, bool]] = []
        self.broken: list[str] = []
        self.accepted_after_room = 0
        self.ready_while_full: requests.Response | None = None
        self.full = self.room_again = False
        self._lock = threading.Lock()

    def visitor(self, n: int) -> None:
        phone = f"+7916{4000000 + n:07d}"
        try:
            answer = requests.post(
                f"{self.url}/api/v1/widgets/{self.key}/requests",
                json={"phone": phone, "consent": True, "group": "101"},
                headers={"Origin": SHOP},
                timeout=30,
            )
        except requests.RequestException as exc:
            with self._lock:
                self.broken.append(f"{phone}: {exc.__class__.__name__}")
            return
        with self._lock:
            if answer.status_code == 202:
                self.accepted[answer.json()["handle"]] = phone
                self.accepted_after_room += self.room_again
            else:
                self.refused.append((answer.status_code, _body(answer), self.full))
            self._next_step()

    def _next_step(self) -> None:
        """Fill the disk once enough were accepted; empty it once enough were refused.

        Under the lock: the step is taken once, and the answers counted after it came
        after it.
        """
        if not self.full and len(self.accepted) >= FILL_AFTER:
            fill(self.filler)
            self.full = True
        elif self.full and not self.room_again and self._refused_while_full() >= REFUSED_WHILE_FULL:
            self.ready_while_full = self.readyz()
            self.filler.unlink()
            self.room_again = True

    def _refused_while_full(self) -> int:
        return sum(1 for *_, while_full in self.refused if while_full)


def _body(answer: requests.Response):
    try:
        return answer.json()
    except ValueError:
        return answer.text[:200]


def test_a_disk_full_in_the_middle_of_a_burst_refuses_in_words_and_loses_no_accepted_request(
    tmp_path,
):
    sim = start_sim_thread(
        {"CLIENT_ID": SIM_CLIENT_ID, "SIGN_KEY": SIM_SIGN_KEY, "TIME_SCALE": 0.02}
    )
    log = tmp_path / "service.log"
    with loop_disk(tmp_path, "64M") as (_image, mounted):
        instance = mounted / "instance"
        site = real_service.site(
            tmp_path,
            sim.url,
            instance=instance,
            db_url=f"sqlite:///{instance / 'widget.sqlite3'}",
            WIDGET_UNKNOWN_CALL_GRACE="3",
            WIDGET_DISPATCH_DEADLINE="60",
            WIDGET_UNPLACED_CHECK_AFTER="5",  # the journal is asked 5 s after a lost call_back
        )
        owner_webhook_nobody_hears(site.db_url)
        service = start_run(site.env, site.port, log)
        try:
            processes = sorted(group_members(service.process.pid))
            burst = Burst(
                service.url,
                site.key,
                mounted / "filler",
                lambda: requests.get(f"{service.url}/readyz", timeout=10),
            )
            with ThreadPoolExecutor(8) as pool:
                list(pool.map(burst.visitor, range(VISITORS)))
            assert burst.room_again, (
                f"the burst ended before {REFUSED_WHILE_FULL} visitors were refused on the "
                f"full disk: {len(burst.refused)} refused"
            )
            ready = requests.get(f"{service.url}/readyz", timeout=10)
            wait_all_final(site.db_url, burst.accepted, seconds=240)
            # The same processes all along: none died and was started again.
            same_processes = sorted(group_members(service.process.pid)) == processes
            # Read while the service runs: an event sent after the stop is nobody's fault.
            times_dialled, answered_pbx = dialled(sim.url), webhook_answers(sim.url)
            service.stop(signal.SIGTERM)
        finally:
            service.kill()
            sim.stop()
        rows = dict(query(site.db_url, "SELECT handle, status FROM callback_requests"))
        told = told_owner(site.db_url)
        never_dialled = {
            h for h, phone in burst.accepted.items() if digits(phone) not in times_dialled
        }
        # What became of each accepted request left open, or never dialled and not told.
        left = {
            h: request_story(site.db_url, h)
            for h in burst.accepted
            if h in rows and (rows[h] not in FINAL or h in never_dialled) and h not in told
        }

    service_log = log.read_text()[-3000:]
    assert burst.broken == [], service_log
    clear = (503, {"error": "unavailable", "message": api_error("ru", "unavailable")})
    unclear = [(status, body) for status, body, _ in burst.refused if (status, body) != clear]
    assert unclear == [], service_log
    # The PBX's events the full disk could not keep: refused in words too, never a 500.
    assert set(answered_pbx) <= {200, 503}, (answered_pbx, service_log)
    while_full = burst.ready_while_full
    assert while_full.status_code == 503
    assert "disk" in while_full.json()["failed"]
    assert while_full.json()["checks"]["disk"] == "failed: DiskFull"

    assert burst.accepted_after_room > 0, "nobody was accepted once room was back"
    assert ready.status_code == 200, ready.text
    assert same_processes, service_log

    assert set(burst.accepted) <= set(rows), "an accepted request is gone"
    assert left == {}, "an accepted request never ended, or was never dialled, untold"
    twice = [number for number, times in times_dialled.items() if times > 1]
    assert twice == [], "somebody was dialled twice"
