"""Health checks for load balancers and orchestrators.

``/healthz``: the process answers (no dependency is touched), for liveness.
``/readyz``: the database, Redis (when configured) and the task queue answer,
each within a second or two, and the database can take a write: PostgreSQL is
not read-only, the disk holding SQLite's files (the database, the queue) is
neither read-only nor full ("disk"). A full or read-only disk still answers
``SELECT 1`` while every commit fails. 503 names what failed. Failures are
reported by exception class only: a message could carry a URL with a password.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable

from flask import Blueprint, current_app, jsonify
from sqlalchemy import text
from sqlalchemy.engine import make_url

from ..extensions import db

log = logging.getLogger(__name__)
bp = Blueprint("health", __name__)

REDIS_TIMEOUT = 1.0
# Below this much room a SQLite commit (the WAL grows first, then checkpoints) may fail.
DISK_FREE_MIN = 16 * 1024 * 1024


class ReadOnlyDatabase(Exception):
    """PostgreSQL answers but refuses writes (a standby, or set read-only)."""


class ReadOnlyDisk(Exception):
    """A SQLite file, or the folder it lives in, cannot be written."""


class DiskFull(Exception):
    """The disk holding a SQLite file has less than ``DISK_FREE_MIN`` left."""


@bp.get("/healthz")
def healthz():
    """Alive: answers without touching anything."""
    return jsonify({"status": "ok"}), 200, {"Cache-Control": "no-store"}


def _database() -> None:
    try:
        db.session.execute(text("SELECT 1")).scalar_one()
        # A standby (pg_is_in_recovery) or a database set read-only answers "on".
        if (
            db.engine.dialect.name == "postgresql"
            and db.session.execute(text("SHOW transaction_read_only")).scalar_one() == "on"
        ):
            raise ReadOnlyDatabase
    finally:
        db.session.rollback()


def _sqlite_files() -> list[str]:
    """The SQLite files this process writes: the database's, the queue's (without Redis)."""
    files = []
    url = make_url(current_app.config["SQLALCHEMY_DATABASE_URI"])
    if url.get_backend_name() == "sqlite" and url.database not in (None, "", ":memory:"):
        files.append(url.database)
    if not current_app.config.get("REDIS_URL") and current_app.config.get("QUEUE_PATH"):
        files.append(current_app.config["QUEUE_PATH"])
    return files


def _disk() -> None:
    """Each SQLite file's disk is writable and has room, and so are the file and its -wal.

    Looked at rather than written to: a write in a transaction rolled back never reaches
    the disk, so it would pass on a full one. ``os.access`` answers EROFS even for root.
    """
    for path in _sqlite_files():
        folder = os.path.dirname(os.path.abspath(path))
        disk = os.statvfs(folder)
        if disk.f_flag & os.ST_RDONLY:
            raise ReadOnlyDisk
        if disk.f_bavail * disk.f_frsize < DISK_FREE_MIN:
            raise DiskFull
        for name in (folder, path, f"{path}-wal"):
            if os.path.exists(name) and not os.access(name, os.W_OK):
                raise ReadOnlyDisk


def _redis() -> None:
    import redis

    client = redis.Redis.from_url(
        current_app.config["REDIS_URL"],
        socket_timeout=REDIS_TIMEOUT,
        socket_connect_timeout=REDIS_TIMEOUT,
    )
    try:
        client.ping()
    finally:
        client.close()


def _queue() -> None:
    current_app.extensions["queue"].huey.pending_count()


@bp.get("/readyz")
def readyz():
    """Ready: every dependency answers; 503 with the failed checks named otherwise."""
    checks: dict[str, Callable[[], None]] = {"database": _database}
    if _sqlite_files():
        checks["disk"] = _disk
    if current_app.config.get("REDIS_URL"):
        checks["redis"] = _redis
    checks["queue"] = _queue
    results: dict[str, str] = {}
    for name, check in checks.items():
        try:
            check()
            results[name] = "ok"
        except Exception as exc:
            results[name] = f"failed: {exc.__class__.__name__}"
    failed = [name for name, result in results.items() if result != "ok"]
    if failed:
        log.warning("readiness check failed: %s", ", ".join(failed))
    body = {"status": "unavailable" if failed else "ready", "checks": results, "failed": failed}
    return jsonify(body), 503 if failed else 200, {"Cache-Control": "no-store"}
