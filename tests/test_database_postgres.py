"""The database layer on whichever server this pass runs on: SQLite, or PostgreSQL
when ``TEST_DATABASE_URL`` is set (``make test`` runs both passes).

Migrations go up from nothing and back down; the row lock that serialises work on
a request really makes a second worker wait; and two workers dispatching the same
request at the same moment ring it once.
"""

from __future__ import annotations

import threading
import time
import uuid

from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import create_engine, inspect, select, text
from sqlalchemy.pool import NullPool

from widget_server.database import alembic_config
from widget_server.dispatch import ringing, state
from widget_server.extensions import db
from widget_server.models import CallbackRequest

from .conftest import POSTGRES, build_stack

TABLES = {
    "owners",
    "pbx_accounts",
    "pbx_users",
    "pbx_groups",
    "widgets",
    "widget_groups",
    "callback_requests",
    "call_attempts",
    "call_events",
    "notifications",
    "number_blocks",
}


def _empty_database(tmp_path) -> str:
    """A database with no tables at all, on this pass's server."""
    if POSTGRES is None:
        return f"sqlite:///{tmp_path / 'empty.sqlite3'}"
    name = f"{POSTGRES.tag}empty_{uuid.uuid4().hex[:8]}"
    with POSTGRES.admin().connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    POSTGRES.created.append(name)  # dropped when the test ends
    return POSTGRES.url_for(name)


def test_the_migrations_go_up_from_nothing_match_the_models_and_go_down_again(tmp_path):
    url = _empty_database(tmp_path)
    config = alembic_config(url)
    engine = create_engine(url, poolclass=NullPool)
    try:
        command.upgrade(config, "head")
        assert set(inspect(engine).get_table_names()) >= TABLES
        with engine.connect() as conn:
            # What the migrations built is what the models describe: no drift.
            context = MigrationContext.configure(conn, opts={"compare_type": True})
            assert compare_metadata(context, db.metadata) == []
        command.downgrade(config, "base")
        assert set(inspect(engine).get_table_names()) <= {"alembic_version"}
        command.upgrade(config, "head")
        assert set(inspect(engine).get_table_names()) >= TABLES
    finally:
        engine.dispose()


def test_a_worker_holding_a_requests_lock_makes_a_second_one_wait(tmp_path):
    stack, stop = build_stack(tmp_path, start_consumer=False)
    try:
        handle = stack.submit("+7 916 300-00-01").json()["handle"]
        with stack.app.app_context():
            request_id = db.session.scalar(
                select(CallbackRequest.id).where(CallbackRequest.handle == handle)
            )
        locked, released_at, second_got_it_at = threading.Event(), [], []

        def first():
            with stack.app.app_context():
                state.lock_request(request_id)
                locked.set()
                time.sleep(1.0)
                released_at.append(time.monotonic())
                db.session.commit()

        def second():
            locked.wait(10)
            with stack.app.app_context():
                state.lock_request(request_id)
                second_got_it_at.append(time.monotonic())
                db.session.commit()

        threads = [threading.Thread(target=first), threading.Thread(target=second)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(30)
        assert released_at and second_got_it_at
        assert second_got_it_at[0] >= released_at[0]
    finally:
        stop()


def test_two_workers_dispatching_the_same_request_at_once_ring_the_pbx_once(tmp_path):
    stack, stop = build_stack(tmp_path, start_consumer=False)
    try:
        handle = stack.submit("+7 916 300-00-02").json()["handle"]
        with stack.app.app_context():
            request_id = db.session.scalar(
                select(CallbackRequest.id).where(CallbackRequest.handle == handle)
            )
        start = threading.Barrier(4)
        errors: list[BaseException] = []

        def dispatch():
            try:
                with stack.app.app_context():
                    start.wait(10)
                    ringing.place_next_call(request_id)
            except BaseException as exc:  # surfaced by the assertion below
                errors.append(exc)

        threads = [threading.Thread(target=dispatch) for _ in range(4)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(30)
        assert errors == []
        time.sleep(0.5)
        assert len(stack.sim_requests("call_back")) == 1
        with stack.app.app_context():
            req = db.session.get(CallbackRequest, request_id)
            assert [a.seq for a in req.attempts] == [1]
    finally:
        stop()
