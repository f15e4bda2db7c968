"""A 202 is on disk: requests accepted before a power cut are all there after it.

The service runs on a file system of its own (ext4 in a file, mounted through a loop
device). The cut is a copy of that file taken while the service runs: it holds what the
"disk" had received, and nothing of what still sat in the kernel's cache, exactly what a
power cut (or a file system gone read-only) leaves. The copy is checked and mounted as
the machine's disk would be at the next boot, and the service is started on it.

With SQLite's ``synchronous=NORMAL`` (before this test) 11 to 13 of 20 accepted requests
were found after the cut, in three runs; every one is found with ``FULL``.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import time

import pytest

from widget_server.pbx.sim import start_sim_thread

from . import real_service
from .conftest import SIM_CLIENT_ID, SIM_SIGN_KEY
from .loop_disk import loop_disk, mount, unmount
from .real_service import group_members, process_state, query, start_run

pytestmark = [pytest.mark.loop_disk, pytest.mark.sqlite_file, pytest.mark.stack]

ACCEPTED = 20


@pytest.fixture
def disk(tmp_path):
    """An empty ext4 file system of its own, mounted; the file that holds it."""
    with loop_disk(tmp_path, "256M") as (image, mounted):
        yield image, mounted


def test_every_request_answered_202_is_there_after_a_power_cut(disk, tmp_path):
    image, mounted = disk
    sim = start_sim_thread(
        {"CLIENT_ID": SIM_CLIENT_ID, "SIGN_KEY": SIM_SIGN_KEY, "TIME_SCALE": 0.02}
    )
    instance = mounted / "instance"
    db_url = f"sqlite:///{instance / 'widget.sqlite3'}"
    log = tmp_path / "service.log"
    try:
        site = real_service.site(tmp_path, sim.url, instance=instance, db_url=db_url)
        env, port, key = site.env, site.port, site.key
        subprocess.run(["sync"], check=True)  # the site was set up long before the cut
        service = start_run(env, port, log)
        try:
            handles = [
                service.submit(key, f"+7 916 700-{i // 100:02d}-{i % 100:02d}")
                for i in range(ACCEPTED)
            ]
            # The power goes: the disk keeps what it was sent, the cache is lost. The
            # service is frozen first, so the copy is of one moment, not torn by writes
            # made while it is read (the kernel may still write back what it holds:
            # a cut during that writeback is a cut too).
            _freeze(service.process.pid)
            shutil.copyfile(image, tmp_path / "after-the-cut.img")
        finally:
            service.stop(signal.SIGKILL, group=True)
        unmount(mounted)
        # The next boot: the file system checked (its journal replayed), then mounted.
        cut = tmp_path / "after-the-cut.img"
        subprocess.run(["e2fsck", "-p", str(cut)], capture_output=True)
        mount(cut, mounted)
        service = start_run(env, port, log)
        try:
            found = [h for h in handles if _known(service, h)]
            assert len(found) == ACCEPTED, f"{len(found)} of {ACCEPTED} accepted requests kept"
            consents = query(
                db_url, "SELECT count(*) FROM callback_requests WHERE consent_text != ''"
            )
            assert consents == [(ACCEPTED,)], "each with its consent record"
        finally:
            service.stop(signal.SIGTERM)
    finally:
        sim.stop()


def _freeze(group: int) -> None:
    """SIGSTOP every process of the group, and wait until each one is stopped."""
    os.killpg(group, signal.SIGSTOP)
    deadline = time.monotonic() + 10
    while any(process_state(pid) not in "TtZX" for pid in group_members(group)):
        assert time.monotonic() < deadline, "the service did not stop"
        time.sleep(0.01)


def _known(service, handle: str) -> bool:
    response = service.session.get(
        f"{service.url}/api/v1/requests/{handle}", headers={"Origin": service.origin}, timeout=10
    )
    assert response.status_code in (200, 404), response.text
    return response.status_code == 200
