"""The instance folder and the files that hold personal data and secrets are the service's alone."""

from __future__ import annotations

import os
import stat

import pytest
from sqlalchemy import text

from widget_server import create_app
from widget_server.dev.demo import _demo_environment
from widget_server.extensions import db
from widget_server.instance import private_file

from .conftest import TEST_SECRET


def _mode(path) -> int:
    return stat.S_IMODE(os.stat(path).st_mode)


@pytest.fixture
def open_umask():
    """A careless machine: files would be world-readable by default."""
    old = os.umask(0o022)
    yield
    os.umask(old)


def test_the_instance_folder_database_and_queue_are_readable_by_the_service_user_only(
    tmp_path, monkeypatch, open_umask
):
    instance = tmp_path / "instance"
    monkeypatch.setenv("WIDGET_INSTANCE_PATH", str(instance))
    app = create_app({"TESTING": True, "SECRET_KEY": TEST_SECRET})
    with app.app_context():
        db.session.execute(text("CREATE TABLE probe (x INTEGER)"))
        db.session.execute(text("INSERT INTO probe VALUES (1)"))
        db.session.commit()
        db.session.execute(text("SELECT x FROM probe")).all()
        db.session.remove()
    app.extensions["queue"].huey.put("probe", "1")
    assert _mode(instance) == 0o700
    files = sorted(p.name for p in instance.iterdir())
    assert "widget.sqlite3" in files and "queue.sqlite3" in files
    for name in files:
        assert _mode(instance / name) == 0o600, name


def test_files_left_readable_by_an_older_version_are_closed_on_start(
    tmp_path, monkeypatch, open_umask
):
    instance = tmp_path / "instance"
    instance.mkdir(mode=0o755)
    (instance / "widget.sqlite3").touch(mode=0o644)
    (instance / "widget.sqlite3-wal").touch(mode=0o644)
    monkeypatch.setenv("WIDGET_INSTANCE_PATH", str(instance))
    create_app({"TESTING": True, "SECRET_KEY": TEST_SECRET})
    assert _mode(instance) == 0o700
    assert _mode(instance / "widget.sqlite3") == 0o600
    assert _mode(instance / "widget.sqlite3-wal") == 0o600


def test_the_demo_key_is_written_readable_by_its_owner_only(tmp_path, monkeypatch, open_umask):
    instance = tmp_path / "demo"
    monkeypatch.setenv("WIDGET_INSTANCE_PATH", str(instance))
    monkeypatch.delenv("WIDGET_SECRET_KEY", raising=False)
    env = _demo_environment(8000)
    key_file = instance / "demo-secret-key"
    assert env["WIDGET_SECRET_KEY"] == key_file.read_text().strip()
    assert len(env["WIDGET_SECRET_KEY"]) == 64
    assert _mode(key_file) == 0o600 and _mode(instance) == 0o700


def test_private_file_keeps_what_is_already_written(tmp_path):
    path = tmp_path / "kept"
    path.write_text("data")
    private_file(path)
    assert path.read_text() == "data" and _mode(path) == 0o600
