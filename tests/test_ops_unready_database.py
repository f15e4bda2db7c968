"""`widget-server run` and `worker` refuse a database this release cannot serve, and say what
to do, instead of starting and then failing every request and every job."""

from __future__ import annotations

import sqlite3

import pytest
from alembic.script import ScriptDirectory

from widget_server.database import alembic_config, schema_problem

from .test_ops_config_and_cli import Cli


@pytest.fixture
def cli(tmp_path) -> Cli:
    return Cli(tmp_path)


def _set_revision(db_path, revision: str) -> None:
    with sqlite3.connect(db_path) as conn:
        conn.execute("UPDATE alembic_version SET version_num = ?", (revision,))


def test_run_on_a_database_without_tables_says_to_run_init_db_and_starts_nothing(cli: Cli):
    result = cli("run", "--port", "1")

    assert result.exit_code == 1
    assert "Not starting: the database has no tables yet: run `widget-server init-db` first" in (
        result.output
    )


def test_a_database_migrated_by_a_newer_release_is_named_as_such(cli: Cli):
    cli.ok("init-db")
    _set_revision(cli.db_path, "f00dfeedbeef")

    result = cli("run", "--port", "1")

    assert result.exit_code == 1
    assert "migrated by a newer widget-server (revision f00dfeedbeef)" in result.output


def test_the_queue_worker_on_a_database_of_an_older_release_is_told_to_migrate_it(cli: Cli):
    cli.ok("init-db")
    url = f"sqlite:///{cli.db_path}"
    first = ScriptDirectory.from_config(alembic_config(url)).get_base()
    _set_revision(cli.db_path, first)

    result = cli("worker")

    assert result.exit_code == 1
    assert "from an older release: run `widget-server init-db` to migrate it" in result.output


def test_a_database_at_this_releases_migrations_passes(cli: Cli):
    cli.ok("init-db")

    assert schema_problem(f"sqlite:///{cli.db_path}") is None


def test_an_unreachable_database_is_left_to_the_health_check():
    assert schema_problem("postgresql+psycopg://nobody@127.0.0.1:1/none") is None
