"""A file system of a test's own: ext4 kept in a file and mounted through a loop device.

The power-cut drill copies it while the service runs (tests/test_durability_crash.py);
the disk drills fill it or remount it read-only (tests/test_faults_disk.py,
tests/test_drill_disk.py). Mounting takes root (the ``loop_disk`` marker).
"""

from __future__ import annotations

import contextlib
import errno
import os
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path


def mount(image: Path, where: Path) -> None:
    where.mkdir(exist_ok=True)
    subprocess.run(["mount", "-o", "loop", str(image), str(where)], check=True)


def unmount(where: Path) -> None:
    for _ in range(50):  # a process just killed may still hold a file for a moment
        if subprocess.run(["umount", str(where)], capture_output=True).returncode == 0:
            return
        time.sleep(0.1)
    subprocess.run(["umount", "--lazy", str(where)], check=True)


@contextlib.contextmanager
def loop_disk(tmp_path: Path, size: str) -> Iterator[tuple[Path, Path]]:
    """An empty ext4 file system of ``size`` (``truncate``'s "32M"), mounted at
    ``tmp_path/disk`` until the block ends; the file that holds it, and where it is."""
    image = tmp_path / "disk.img"
    subprocess.run(["truncate", "-s", size, str(image)], check=True)
    subprocess.run(["mkfs.ext4", "-q", "-F", str(image)], check=True)
    mounted = tmp_path / "disk"
    mount(image, mounted)
    try:
        yield image, mounted
    finally:
        with contextlib.suppress(subprocess.CalledProcessError):
            unmount(mounted)


def fill(path: Path) -> None:
    """Write ``path`` until the disk refuses even a block: ENOSPC, as a full disk answers.

    Each write is synced: ext4 refuses a write while blocks are only promised to writes
    still in the cache, and gives them back once they are on disk, so a fill that stops
    at the first refusal leaves hundreds of kilobytes. As root, who may also take the
    blocks ext4 keeps for root: the service runs as root here too, so nothing is left for
    it either.
    """
    with open(path, "wb", buffering=0) as filler:
        for size in (1 << 20, 1 << 16, 1 << 12, 1 << 10):
            chunk = b"\0" * size
            try:
                while True:
                    filler.write(chunk)
                    os.fsync(filler.fileno())
            except OSError as exc:
                assert exc.errno == errno.ENOSPC
    os.sync()
