"""Per-test PostgreSQL databases for the PostgreSQL pass, copied from one migrated template."""

from __future__ import annotations

import contextlib
import hashlib
import os
import time
import uuid
from pathlib import Path

from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError
from sqlalchemy.pool import NullPool

from widget_server.database import upgrade_to_head


class PostgresDatabases:
    """Per-test PostgreSQL databases on the server ``TEST_DATABASE_URL`` names.

    Names carry this process's id, so concurrent test sessions never share a
    database, and databases left by a session that died can be told apart and dropped.
    """

    PREFIX = "wt_"

    def __init__(self, url: str):
        self.url = make_url(url)
        self.tag = f"{self.PREFIX}{os.getpid()}_"
        self.template: str | None = None
        self.created: list[str] = []  # by the running test, dropped at its end
        self.deferred: list[str] = []  # still busy when its test ended: dropped at the end
        self._admin = None

    def admin(self):
        if self._admin is None:
            # CREATE/DROP DATABASE cannot run inside a transaction.
            self._admin = create_engine(self.url, isolation_level="AUTOCOMMIT", poolclass=NullPool)
        return self._admin

    def url_for(self, name: str) -> str:
        return self.url.set(database=name).render_as_string(hide_password=False)

    def name_for(self, tmp_path: Path) -> str:
        # The same tmp_path gives the same database, as it gives the same SQLite file.
        return self.tag + hashlib.sha256(str(tmp_path).encode()).hexdigest()[:16]

    def _exists(self, conn, name: str) -> bool:
        found = conn.execute(text("SELECT 1 FROM pg_database WHERE datname = :n"), {"n": name})
        return found.first() is not None

    def _ensure_template(self) -> str:
        if self.template is None:
            self._drop_leftovers()
            name = f"{self.tag}tpl_{uuid.uuid4().hex[:8]}"
            with self.admin().connect() as conn:
                conn.execute(text(f'CREATE DATABASE "{name}"'))
            # Migrated once; every test's database is a copy, so no test pays for it.
            upgrade_to_head(self.url_for(name))
            self.template = name
        return self.template

    def database_for(self, tmp_path: Path) -> str:
        """The URL of this test's database, created from the template if new."""
        name = self.name_for(tmp_path)
        template = self._ensure_template()
        with self.admin().connect() as conn:
            if not self._exists(conn, name):
                conn.execute(text(f'CREATE DATABASE "{name}" TEMPLATE "{template}"'))
                self.created.append(name)
        return self.url_for(name)

    def drop(self, name: str) -> None:
        with self.admin().connect() as conn:
            # FORCE ends what still holds a connection: a pool, a killed worker's session.
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))

    def drop_soon(self, name: str) -> None:
        """Drop ``name``; if the server's own autovacuum is in it (a session our role may
        not end), wait for it a moment, else leave it to the end of the session."""
        for _ in range(20):
            try:
                self.drop(name)
                return
            except DBAPIError:
                time.sleep(0.25)
        self.deferred.append(name)

    def drop_created(self, since: int = 0) -> None:
        """Drop the databases created since the ``since``-th (all by default)."""
        while len(self.created) > since:
            self.drop_soon(self.created.pop())

    def drop_all(self) -> None:
        self.drop_created()
        for name in self.deferred:
            with contextlib.suppress(DBAPIError):  # a later session's leftover sweep gets it
                self.drop(name)
        if self.template:
            with contextlib.suppress(DBAPIError):  # as above
                self.drop(self.template)
            self.template = None
        if self._admin is not None:
            self._admin.dispose()

    def _drop_leftovers(self) -> None:
        """Drop the databases of test sessions whose process is gone."""
        with self.admin().connect() as conn:
            names = conn.execute(
                text("SELECT datname FROM pg_database WHERE datname LIKE :p"),
                {"p": self.PREFIX.replace("_", "\\_") + "%"},
            ).scalars()
            stale = [n for n in names if not _process_alive(n.split("_")[1])]
        for name in stale:
            try:
                self.drop(name)
            except DBAPIError:
                # Still in use by a session this process cannot see (another machine or
                # container, another role): not ours to end, so it stays.
                continue


def _process_alive(pid: str) -> bool:
    if not pid.isdigit():
        return False
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True
