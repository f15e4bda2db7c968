"""Engine setup and schema migrations (Alembic)."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import event
from sqlalchemy.engine import Engine, make_url

if TYPE_CHECKING:
    from alembic.config import Config

MIGRATIONS_DIR = Path(__file__).resolve().parent / "migrations"


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
        options["connect_args"] = {"connect_timeout": 5, "application_name": "widget-server"}
    return options


def configure_engine(engine: Engine) -> None:
    """SQLite: WAL so readers never block the writer, a busy timeout, foreign keys.

    Nothing for other databases: their pool settings come from ``engine_options``.
    """
    if engine.dialect.name != "sqlite":
        return

    @event.listens_for(engine, "connect")
    def _sqlite_pragmas(dbapi_connection, _record):  # pragma: no cover - trivial
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA busy_timeout=30000")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.close()


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
