"""/readyz on a disk that cannot take a write: 503, the failed check named "disk"; and a
PBX event that such a disk cannot keep: 503 in words, not a 500 and its traceback.

A full or read-only disk still answers ``SELECT 1`` while every commit fails, so
readiness looks at the disk holding SQLite's files. The unit tests stand in for the
disk (the tests run as root, whom chmod does not stop); the marked ones fill and
remount a real file system of its own.
"""

from __future__ import annotations

import logging
import os
import sqlite3
import subprocess
import uuid

import pytest
from sqlalchemy import create_engine, event, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import OperationalError

from widget_server.extensions import db
from widget_server.ops import health

from .conftest import make_app
from .dispatch_support import World
from .loop_disk import fill, loop_disk
from .test_faults_call_events import post_event
from .test_ops_scale_e2e import postgres_server_url


def _statvfs(**changes):
    """``os.statvfs`` answering as the real one, with ``changes`` made."""
    real = os.statvfs

    def statvfs(path):
        seen = real(path)
        fields = {name: getattr(seen, name) for name in dir(seen) if name.startswith("f_")}
        fields.update(changes)
        return type("StatVfs", (), fields)()

    return statvfs


def test_a_disk_with_room_is_ready_and_says_so(app):
    ready = app.test_client().get("/readyz")

    assert ready.status_code == 200, ready.json
    assert ready.json["checks"]["disk"] == "ok"


def test_a_full_disk_is_not_ready_and_named(app, monkeypatch):
    monkeypatch.setattr(health.os, "statvfs", _statvfs(f_bavail=10))

    ready = app.test_client().get("/readyz")

    assert ready.status_code == 503
    assert ready.json["failed"] == ["disk"]
    assert ready.json["checks"]["disk"] == "failed: DiskFull"
    assert ready.json["checks"]["database"] == "ok"  # SELECT 1 still answers


def test_a_read_only_disk_is_not_ready_and_named(app, monkeypatch):
    monkeypatch.setattr(health.os, "statvfs", _statvfs(f_flag=os.ST_RDONLY))

    ready = app.test_client().get("/readyz")

    assert ready.status_code == 503
    assert ready.json["failed"] == ["disk"]
    assert ready.json["checks"]["disk"] == "failed: ReadOnlyDisk"


def test_a_sqlite_file_that_cannot_be_written_is_not_ready(app, monkeypatch):
    # The queue's file: there in either pass (the database may be PostgreSQL).
    queue_file = os.path.abspath(app.config["QUEUE_PATH"])
    real_access = os.access
    monkeypatch.setattr(
        health.os,
        "access",
        lambda path, mode: False if path == queue_file else real_access(path, mode),
    )

    ready = app.test_client().get("/readyz")

    assert ready.status_code == 503
    assert ready.json["checks"]["disk"] == "failed: ReadOnlyDisk"


def test_without_sqlite_files_nothing_of_the_disk_is_looked_at(app, monkeypatch):
    # PostgreSQL and Redis: neither the database nor the queue is a file of ours.
    monkeypatch.setattr(health, "_sqlite_files", lambda: [])

    ready = app.test_client().get("/readyz")

    assert ready.status_code == 200
    assert "disk" not in ready.json["checks"]


@pytest.mark.postgres
def test_a_read_only_postgresql_is_not_ready_and_named(tmp_path):
    server = create_engine(postgres_server_url(), isolation_level="AUTOCOMMIT")
    name = f"widget_readonly_{uuid.uuid4().hex[:8]}"
    with server.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    app = None
    try:
        app = make_app(
            tmp_path,
            SQLALCHEMY_DATABASE_URI=make_url(postgres_server_url())
            .set(database=name)
            .render_as_string(hide_password=False),
        )
        with server.connect() as conn:  # as a standby answers: writes refused
            conn.execute(text(f'ALTER DATABASE "{name}" SET default_transaction_read_only = on'))
        with app.app_context():
            db.engine.dispose()  # the setting holds for new sessions

        ready = app.test_client().get("/readyz")

        assert ready.status_code == 503
        assert ready.json["checks"]["database"] == "failed: ReadOnlyDatabase"
    finally:
        if app is not None:
            with app.app_context():
                db.engine.dispose()
        with server.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        server.dispose()


# -- a PBX event the disk cannot keep ---------------------------------------------------------
def _disk_full(*_args):
    raise OperationalError("COMMIT", {}, sqlite3.OperationalError("database or disk is full"))


def test_a_pbx_event_a_full_disk_cannot_keep_is_answered_503_in_words_without_a_traceback(
    tmp_path, caplog
):
    world = World(tmp_path)
    world.submit()
    world.jobs.run()  # dialled: call s1 is ours
    with world.app.app_context():
        engine = db.engine
    event.listen(engine, "commit", _disk_full)  # every commit fails, as on a full disk
    try:
        with caplog.at_level(logging.ERROR):
            refused = post_event(world, "s1", "new")
    finally:
        event.remove(engine, "commit", _disk_full)

    assert refused.status_code == 503
    assert refused.json == {
        "error": "unavailable",
        "message": "The service cannot store this now; try again in a minute.",
    }
    errors = [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert [r.getMessage() for r in errors] == ["/pbx/ webhook: database error: OperationalError"]
    assert errors[0].exc_info is None
    # Room again: the same process keeps the next event.
    assert post_event(world, "s1", "calling").status_code == 200


# -- a real file system of its own ---------------------------------------------------------
@pytest.fixture
def small_disk(tmp_path):
    """A 32 MB ext4 file system of its own, mounted; the service's files go on it."""
    with loop_disk(tmp_path, "32M") as (_image, mounted):
        yield mounted


@pytest.mark.loop_disk
@pytest.mark.sqlite_file
def test_readyz_names_a_really_full_then_read_only_disk_and_is_ready_once_it_is_writable(
    small_disk,
):
    app = make_app(small_disk)
    client = app.test_client()
    assert client.get("/readyz").status_code == 200

    filler = small_disk / "filler"
    fill(filler)
    full = client.get("/readyz")
    assert full.status_code == 503
    assert full.json["failed"] == ["disk"]
    assert full.json["checks"]["disk"] == "failed: DiskFull"
    filler.unlink()
    assert client.get("/readyz").status_code == 200

    # A file system remounted read-only (as ext4 does on an I/O error): the files stay open.
    with app.app_context():
        db.engine.dispose()  # no writer holds the mount, or the remount is refused
    app.extensions["queue"].huey.storage.close()
    subprocess.run(["mount", "-o", "remount,ro", str(small_disk)], check=True)
    try:
        read_only = client.get("/readyz")
        assert read_only.status_code == 503
        # SQLite's WAL cannot even be read there; the disk check says why.
        assert "disk" in read_only.json["failed"]
        assert read_only.json["checks"]["disk"] == "failed: ReadOnlyDisk"
    finally:
        with app.app_context():
            db.engine.dispose()
        app.extensions["queue"].huey.storage.close()
        subprocess.run(["mount", "-o", "remount,rw", str(small_disk)], check=True)
    assert client.get("/readyz").status_code == 200
    with app.app_context():
        db.engine.dispose()  # the disk is unmounted next
    app.extensions["queue"].huey.storage.close()
