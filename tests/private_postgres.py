"""A PostgreSQL cluster of one test's own, to stop and start as a fault drill pleases.

The shared server (TEST_DATABASE_URL) serves every test running at the same time, so a
drill that restarts PostgreSQL never touches it: it runs initdb into a fresh folder,
starts that cluster on a free loopback port and deletes it at the end. PostgreSQL refuses
to run as root, so as root (CI) initdb and pg_ctl run as the ``postgres`` user, in a folder
of /tmp that user may enter (pytest's tmp_path lies under a folder only root may).
"""

from __future__ import annotations

import contextlib
import glob
import os
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.pool import NullPool

from .real_service import free_port


def _bin_dir() -> Path:
    found = sorted(
        glob.glob("/usr/lib/postgresql/*/bin/pg_ctl"),
        key=lambda path: int(Path(path).parts[-3]),
    )
    if not found:
        pytest.fail("no pg_ctl under /usr/lib/postgresql/*/bin: apt-get install postgresql")
    return Path(found[-1]).parent


class PrivateCluster:
    """One initdb'd cluster: ``start``, ``stop``; ``url`` names its database."""

    def __init__(self, folder: Path, port: int):
        self.bin = _bin_dir()
        self.folder, self.port = folder, port
        self.data, self.log = folder / "data", folder / "postgres.log"
        self.url = f"postgresql+psycopg://postgres@127.0.0.1:{port}/widget"

    def _run(self, tool: str, *args: str) -> None:
        command = [str(self.bin / tool), *args]
        if os.geteuid() == 0:
            command = ["runuser", "-u", "postgres", "--", *command]
        # cwd=/: the postgres user may not be able to enter the test's working folder.
        done = subprocess.run(command, capture_output=True, text=True, cwd="/", timeout=120)
        assert done.returncode == 0, f"{tool} {args[0]} failed: {done.stderr[-2000:]}"

    def _server_options(self) -> str:
        # Loopback only; the socket in the cluster's own folder, not the system's
        # /run/postgresql; no fsync: the drill stops it cleanly, never cuts its power.
        return (
            f"-p {self.port} -c listen_addresses=127.0.0.1 "
            f"-c unix_socket_directories={self.folder} -c fsync=off"
        )

    def init(self) -> None:
        # Trust on loopback: a throwaway cluster only this machine's tests reach.
        self._run(
            "initdb", "-D", str(self.data), "-U", "postgres", "--auth=trust", "-E", "UTF8", "-N"
        )
        self.start()
        admin = create_engine(
            self.url.rsplit("/", 1)[0] + "/postgres",
            isolation_level="AUTOCOMMIT",
            poolclass=NullPool,
        )
        try:
            with admin.connect() as conn:
                conn.execute(text("CREATE DATABASE widget"))
        finally:
            admin.dispose()

    def start(self) -> None:
        """Started and accepting connections (``-w``: pg_ctl waits for that)."""
        data, log, options = str(self.data), str(self.log), self._server_options()
        self._run("pg_ctl", "start", "-w", "-D", data, "-l", log, "-o", options)

    def stop(self, mode: str = "fast") -> None:
        """Stopped: ``fast`` ends every session (its transaction rolled back), as a
        `systemctl restart postgresql` does."""
        self._run("pg_ctl", "stop", "-w", "-m", mode, "-D", str(self.data))


@contextlib.contextmanager
def private_cluster() -> Iterator[PrivateCluster]:
    """A running cluster with an empty database ``widget``; stopped and deleted after."""
    folder = Path(tempfile.mkdtemp(prefix="widget-pg-"))
    if os.geteuid() == 0:
        shutil.chown(folder, "postgres", "postgres")
    cluster = PrivateCluster(folder, free_port())
    try:
        cluster.init()
        yield cluster
    finally:
        with contextlib.suppress(AssertionError, subprocess.TimeoutExpired):
            cluster.stop("immediate")
        shutil.rmtree(folder, ignore_errors=True)
