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

import contextlib
import os
import shutil
import signal
import subprocess
import time
from pathlib import Path

import pytest

from widget_server.pbx.sim import start_sim_thread

from .conftest import SIM_CLIENT_ID, SIM_SIGN_KEY
from .real_service import free_port, prepare_site, query, service_environment, start_run

pytestmark = [pytest.mark.loop_disk, pytest.mark.sqlite_file, pytest.mark.stack]

ACCEPTED = 20


def _mount(image: Path, where: Path) -> None:
    where.mkdir(exist_ok=True)
    subprocess.run(["mount", "-o", "loop", str(image), str(where)], check=True)


def _unmount(where: Path) -> None:
    for _ in range(50):  # a process just killed may still hold a file for a moment
        if subprocess.run(["umount", str(where)], capture_output=True).returncode == 0:
            return
        time.sleep(0.1)
    subprocess.run(["umount", "--lazy", str(where)], check=True)


@pytest.fixture
def disk(tmp_path):
    """An empty ext4 file system of its own, mounted; the file that holds it."""
    image = tmp_path / "disk.img"
    subprocess.run(["truncate", "-s", "256M", str(image)], check=True)
    subprocess.run(["mkfs.ext4", "-q", "-F", str(image)], check=True)
    mounted = tmp_path / "disk"
    _mount(image, mounted)
    try:
        yield image, mounted
    finally:
        with contextlib.suppress(subprocess.CalledProcessError):
            _unmount(mounted)


def test_every_request_answered_202_is_there_after_a_power_cut(disk, tmp_path):
    image, mounted = disk
    sim = start_sim_thread(
        {"CLIENT_ID": SIM_CLIENT_ID, "SIGN_KEY": SIM_SIGN_KEY, "TIME_SCALE": 0.02}
    )
    instance = mounted / "instance"
    instance.mkdir()
    db_url, port = f"sqlite:///{instance / 'widget.sqlite3'}", free_port()
    log = tmp_path / "service.log"
    try:
        key = prepare_site(tmp_path, instance, db_url, sim.url, port)
        subprocess.run(["sync"], check=True)  # the site was set up long before the cut
        env = service_environment(instance, db_url, port)
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
        _unmount(mounted)
        # The next boot: the file system checked (its journal replayed), then mounted.
        cut = tmp_path / "after-the-cut.img"
        subprocess.run(["e2fsck", "-p", str(cut)], capture_output=True)
        _mount(cut, mounted)
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
    while any(_state(pid) not in "TtZX" for pid in _members(group)):
        assert time.monotonic() < deadline, "the service did not stop"
        time.sleep(0.01)


def _members(group: int) -> list[int]:
    found = []
    for entry in os.listdir("/proc"):
        if entry.isdigit() and _stat(entry) and int(_stat(entry)[2]) == group:
            found.append(int(entry))
    return found


def _stat(pid) -> list[str]:
    try:
        text = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return []
    return text.rsplit(")", 1)[1].split()  # state, ppid, pgrp, …


def _state(pid: int) -> str:
    fields = _stat(pid)
    return fields[0] if fields else "X"


def _known(service, handle: str) -> bool:
    response = service.session.get(
        f"{service.url}/api/v1/requests/{handle}", headers={"Origin": service.origin}, timeout=10
    )
    assert response.status_code in (200, 404), response.text
    return response.status_code == 200
