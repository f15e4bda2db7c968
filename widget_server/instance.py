"""The instance folder holds visitors' numbers, PBX signing keys, webhook secrets and
password hashes (the SQLite database, the queue file, the demo's key): only the
service's own user may read it (152-FZ; threat model), whatever the umask says."""

from __future__ import annotations

import contextlib
import os
from pathlib import Path

from flask import Flask
from sqlalchemy.engine import make_url

PRIVATE_DIR = 0o700
PRIVATE_FILE = 0o600


def private_dir(path: str | os.PathLike) -> None:
    """Create ``path`` (and parents) if needed; the folder itself is left 0700."""
    os.makedirs(path, mode=PRIVATE_DIR, exist_ok=True)
    os.chmod(path, PRIVATE_DIR)


def private_file(path: str | os.PathLike) -> None:
    """Create ``path`` empty if absent, 0600 either way. SQLite gives its -wal, -shm and
    journal files the mode of the database file, so they follow.

    A file that exists is never opened, only chmod-ed: closing any descriptor of a SQLite
    file drops every POSIX lock this process holds on it (sqlite.org/howtocorrupt.html,
    2.2), and a process whose locks are gone lets another think it is the last one and
    delete the WAL, with every commit since the last checkpoint in it.
    """
    with contextlib.suppress(FileExistsError):  # O_EXCL: only a file this call made
        os.close(os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, PRIVATE_FILE))
    os.chmod(path, PRIVATE_FILE)
    for suffix in ("-wal", "-shm", "-journal"):
        companion = Path(f"{path}{suffix}")
        if companion.exists():
            os.chmod(companion, PRIVATE_FILE)


def write_private(path: str | os.PathLike, text: str) -> None:
    """Write a secret to a file nobody else may read, even for a moment."""
    private_file(path)
    Path(path).write_text(text)


def secure(app: Flask) -> None:
    """The instance folder 0700, and the SQLite database and queue files in it 0600."""
    private_dir(app.instance_path)
    url = make_url(app.config["SQLALCHEMY_DATABASE_URI"])
    if url.get_backend_name() == "sqlite" and url.database not in (None, "", ":memory:"):
        private_file(url.database)
    if not app.config.get("REDIS_URL") and app.config.get("QUEUE_PATH"):
        private_file(app.config["QUEUE_PATH"])
