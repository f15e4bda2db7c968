"""Engine setup and schema migrations (Alembic)."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import event
from sqlalchemy.engine import Engine, make_url

if TYPE_CHECKING:
    from alembic.config import Config

MIGRATIONS_DIR = Path(__file__).resolve().parent / "migrations"
log = logging.getLogger(__name__)


def engine_options(database_url: str) -> dict[str, Any]:
    """Pool settings for a server database; SQLite keeps Flask-SQLAlchemy's defaults.

    A server restart or a proxy dropping idle connections must cost one reconnect,
    not an error for the visitor (pre-ping, recycle), and a dead server must fail a
    request within seconds, not hang a worker thread (connect and pool timeouts).
    """
    if make_url(database_url).get_backend_name() == "sqlite":
        return {}
    options: dict[str, Any] = {"pool_pre_ping": True, "pool_recycle": 1800, "pool_timeout": 10}
    if make_url(database_url).get_backend_name() == "postgresql":
        options["connect_args"] = {
            "connect_timeout": 5,
            "application_name": "widget-server",
            # A 202 is a promise: the commit before it is on disk, whatever the server's
            # own default says (an "off" there would drop the last commits on a crash).
            "options": "-c synchronous_commit=on",
        }
    return options


def configure_engine(engine: Engine) -> None:
    """SQLite: WAL so readers never block the writer, a busy timeout, foreign keys, and
    every commit on disk before it returns.

    ``synchronous=FULL`` syncs the WAL at each commit: with ``NORMAL`` a power cut or a
    file system gone read-only loses the last seconds of accepted requests (11 to 13 of 20
    kept in the drill of tests/test_durability_crash.py; 20 of 20 with FULL). ``secure_delete``
    overwrites what is deleted, so a forgotten number leaves no copy in the file's free
    pages (``forget_copies`` then empties the WAL). Nothing for other databases: their
    pool settings come from ``engine_options``.
    """
    if engine.dialect.name != "sqlite":
        return

    @event.listens_for(engine, "connect")
    def _sqlite_pragmas(dbapi_connection, _record):  # pragma: no cover - trivial
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA busy_timeout=30000")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA synchronous=FULL")
        cursor.execute("PRAGMA secure_delete=ON")
        cursor.close()


def forget_copies(engine: Engine) -> None:
    """After deleting personal data: leave no copy of it in SQLite's WAL.

    Deleted rows are overwritten in place (``secure_delete``), but the WAL still holds
    the pages as they were before; a TRUNCATE checkpoint copies the WAL into the
    database and empties it. It waits (the busy timeout) for readers of other
    processes to finish. On PostgreSQL the server's own WAL is recycled by the server.
    """
    if engine.dialect.name != "sqlite":
        return
    with engine.connect() as conn:
        busy, _log, _done = conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)").one()
    if busy:
        log.warning("the WAL could not be emptied after a deletion: a reader held it")


def alembic_config(database_url: str) -> Config:
    """Alembic's settings for ``database_url`` (alembic is imported only by what migrates:
    a running web or queue worker never loads it)."""
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
    cfg.set_main_option("sqlalchemy.url", database_url.replace("%", "%%"))
    return cfg


def upgrade_to_head(database_url: str) -> None:
    """Apply every migration; safe to run again."""
    from alembic import command  # only when migrating (see alembic_config)

    command.upgrade(alembic_config(database_url), "head")


def schema_problem(database_url: str) -> str | None:
    """Why this release cannot serve ``database_url`` as it is, or None when it is at head.

    The database's Alembic revision against this release's migrations: never set up, or set up
    by an older or a newer release. An unreachable database is not judged here (None): it may
    come up after the service, and the health check reports it meanwhile.
    """
    from alembic.runtime.migration import MigrationContext  # only at start-up (see above)
    from alembic.script import ScriptDirectory
    from sqlalchemy import create_engine
    from sqlalchemy.exc import OperationalError
    from sqlalchemy.pool import NullPool

    engine = create_engine(database_url, poolclass=NullPool)
    try:
        with engine.connect() as conn:
            current = set(MigrationContext.configure(conn).get_current_heads())
    except OperationalError:
        return None
    finally:
        engine.dispose()
    script = ScriptDirectory.from_config(alembic_config(database_url))
    heads = set(script.get_heads())
    if current == heads:
        return None
    if not current:
        return "the database has no tables yet: run `widget-server init-db` first"
    known = {rev.revision for rev in script.walk_revisions()}
    if current - known:
        return (
            f"the database was migrated by a newer widget-server (revision "
            f"{', '.join(sorted(current - known))}): run that release, or restore a backup"
        )
    return "the database is from an older release: run `widget-server init-db` to migrate it"


def release(app) -> None:
    """Close this process's connections to the database and to the queue's SQLite file.

    For a process that stops, or that hands the files over to others (the demo's own
    process once its servers run): SQLite checkpoints the WAL when its last connection
    closes, and a connection left to the interpreter's exit may never close at all.
    """
    with app.app_context():
        for engine in app.extensions["sqlalchemy"].engines.values():
            engine.dispose()
    queue = app.extensions.get("queue")
    if queue is not None:
        queue.huey.storage.close()
