"""What is committed stays committed, and what is deleted leaves no copy: the database's
own settings, checked on the files and connections the service really uses.

The stops of real processes (Ctrl-C, SIGTERM, SIGKILL) are tests/test_durability_stops.py's
subject; a power cut is tests/test_durability_crash.py's.
"""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import select, text

from widget_server import create_app, retention
from widget_server.database import release
from widget_server.extensions import db
from widget_server.models import CallbackRequest, Notification, Owner, utcnow
from widget_server.phones import digits_of

from .conftest import TEST_SECRET, build_stack, make_app

# Another process opening the file and closing it again, as the queue worker, a CLI
# command or the demo's servers do beside a process that holds it open.
_OPEN_AND_CLOSE = "import sqlite3, sys; c = sqlite3.connect(sys.argv[1]); c.execute('PRAGMA schema_version').fetchall(); c.close()"


def _other_process_opens_and_closes(path: Path) -> None:
    subprocess.run([sys.executable, "-c", _OPEN_AND_CLOSE, str(path)], check=True, timeout=30)


@pytest.mark.parametrize("name", ["widget.sqlite3", "queue.sqlite3"])
def test_building_another_app_keeps_the_file_locks_of_a_connection_already_open(tmp_path, name):
    """Closing any descriptor of a SQLite file drops the process's locks on it; a process
    without them lets another think it is the last one and delete the WAL under it."""
    instance = tmp_path / "instance"
    config = {
        "TESTING": True,
        "SECRET_KEY": TEST_SECRET,
        "SQLALCHEMY_DATABASE_URI": f"sqlite:///{instance / 'widget.sqlite3'}",
        "QUEUE_PATH": str(instance / "queue.sqlite3"),
    }
    os.environ["WIDGET_INSTANCE_PATH"] = str(instance)  # the autouse fixture cleans it up
    first = create_app(config)
    with first.app_context():
        db.session.execute(text("CREATE TABLE kept (x INTEGER)"))
        db.session.execute(text("INSERT INTO kept VALUES (1)"))
        db.session.commit()
    first.extensions["queue"].huey.put("kept", "1")  # the queue's file has a WAL too
    wal = instance / f"{name}-wal"
    assert wal.exists()

    create_app(config)  # as the demo, a test or a CLI command does in the same process
    _other_process_opens_and_closes(instance / name)

    assert wal.exists(), "another process thought it was the last one and removed the WAL"
    with first.app_context():
        assert db.session.execute(text("SELECT count(*) FROM kept")).scalar() == 1
    release(first)


def test_a_commit_is_on_disk_before_it_returns_on_either_database(tmp_path):
    app = make_app(tmp_path)
    with app.app_context():
        if db.engine.dialect.name == "sqlite":
            # FULL = 2: the WAL is synced at every commit (NORMAL = 1 only at checkpoints).
            assert db.session.execute(text("PRAGMA synchronous")).scalar() == 2
        else:
            # A database (or server) set to `synchronous_commit = off` acknowledges commits
            # a crash may lose; the service's connections ask for `on` for themselves.
            name = db.engine.url.database
            db.session.execute(text(f'ALTER DATABASE "{name}" SET synchronous_commit = off'))
            db.session.commit()
            db.engine.dispose()  # the database's setting applies to new connections
            assert db.session.execute(text("SHOW synchronous_commit")).scalar() == "on"
    queue_conn = app.extensions["queue"].huey.storage.conn
    assert queue_conn.execute("PRAGMA synchronous").fetchone()[0] == 2


def _request(widget, phone: str) -> CallbackRequest:
    req = CallbackRequest(
        widget_id=widget.id,
        widget_group_id=widget.offered_groups[0].id,
        phone=phone,
        origin="https://shop.example",
        consent_text="Согласен",
        status="finished",
    )
    db.session.add(req)
    db.session.commit()
    return req


def _notification(owner, req) -> Notification:
    note = Notification(
        owner_id=owner.id, kind="missed", channel="webhook", dedupe_key=str(req.id), payload={}
    )
    note.request_id = req.id
    db.session.add(note)
    db.session.commit()
    return note


def test_a_forgotten_requests_id_is_never_given_to_the_next_one(stack):
    with stack.app.app_context():
        owner = db.session.scalar(select(Owner))
        widget = owner.widgets[0]
        kept = _request(widget, "+79161110001")
        forgotten = _request(widget, "+79161110002")
        forgotten_id, note_id = forgotten.id, _notification(owner, forgotten).id
        assert retention.forget_number(owner.id, "+79161110002") == 1
        assert db.session.get(Notification, note_id) is None

        following = _request(widget, "+79161110003")
        # A link to /admin/requests/<id> already sent to Telegram or a CRM, and a webhook
        # delivery id already seen, never name another visitor.
        assert following.id > forgotten_id > kept.id
        assert _notification(owner, following).id > note_id


def _digits_on_disk(database: Path, digits: str) -> list[str]:
    """Which of the database's files hold the number's last 10 digits as text."""
    wanted = digits[-10:].encode()
    found = []
    for path in sorted(database.parent.glob(database.name + "*")):
        data = path.read_bytes()
        if wanted in data or wanted in bytes(data).replace(b"-", b"").replace(b" ", b""):
            found.append(path.name)
    return found


def _called(stack, phone: str) -> Path:
    """The number called once through the stack; the SQLite file it is kept in."""
    handle = stack.submit(phone).json()["handle"]
    assert stack.wait_final(handle)["status"] == "finished"
    database = Path(stack.app.config["SQLALCHEMY_DATABASE_URI"].removeprefix("sqlite:///"))
    assert _digits_on_disk(database, digits_of(phone)), "the call left the number on disk"
    return database


@pytest.mark.sqlite_file
def test_forgetting_a_number_leaves_no_copy_of_it_in_the_database_file_or_its_wal(tmp_path):
    stack, stop = build_stack(tmp_path)
    try:
        database = _called(stack, "+7 916 246-80-13")
        with stack.app.app_context():
            owner = db.session.scalar(select(Owner))
            assert retention.forget_number(owner.id, "+79162468013") == 1
        assert _digits_on_disk(database, "79162468013") == []
    finally:
        stop()


@pytest.mark.sqlite_file
def test_the_retention_purge_leaves_no_copy_of_the_numbers_it_deletes(tmp_path):
    stack, stop = build_stack(tmp_path)
    try:
        database = _called(stack, "+7 916 246-80-14")
        with stack.app.app_context():
            db.session.scalar(select(Owner)).retention_days = 1
            db.session.commit()
            # Three days on: the request, its calls, events and exchanges are all past it.
            assert retention.purge_expired(now=utcnow() + timedelta(days=3)) == 1
        assert _digits_on_disk(database, "79162468014") == []
    finally:
        stop()
