"""The test apps themselves: each starts from a fresh database and a fresh limiter."""

from __future__ import annotations

import pytest
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import select

from widget_server.database import alembic_config
from widget_server.extensions import db
from widget_server.models import Owner

from .admin_support import make_owner
from .conftest import make_app


def test_each_test_app_gets_its_own_database_already_at_head(tmp_path):
    first = make_app(tmp_path / "first")
    make_owner(first, "first@example.com")
    second = make_app(tmp_path / "second")
    head = ScriptDirectory.from_config(alembic_config("sqlite://")).get_current_head()
    with second.app_context():
        assert db.session.scalars(select(Owner.email)).all() == []
        with db.engine.connect() as conn:
            assert MigrationContext.configure(conn).get_current_revision() == head
    with first.app_context():
        assert db.session.scalars(select(Owner.email)).all() == ["first@example.com"]


def test_an_app_made_again_on_the_same_folder_keeps_its_data(tmp_path):
    make_owner(make_app(tmp_path), "kept@example.com")
    with make_app(tmp_path).app_context():
        assert db.session.scalars(select(Owner.email)).all() == ["kept@example.com"]


def test_the_default_limits_of_one_app_do_not_carry_over_to_the_next(tmp_path):
    limited = make_app(tmp_path / "limited", RATELIMIT_DEFAULT="1/minute").test_client()
    assert [limited.get("/admin/sign-in").status_code for _ in range(2)] == [200, 429]
    free = make_app(tmp_path / "free").test_client()
    assert [free.get("/admin/sign-in").status_code for _ in range(3)] == [200, 200, 200]


EXPIRED = "Форма устарела"  # the CSRF refusal's page


def test_csrf_is_off_in_test_apps(tmp_path):
    client = make_app(tmp_path).test_client()
    assert EXPIRED not in client.post("/admin/sign-in", data={"email": "a@example.com"}).text


@pytest.mark.csrf
def test_csrf_is_on_in_tests_marked_csrf(tmp_path):
    client = make_app(tmp_path).test_client()
    assert EXPIRED in client.post("/admin/sign-in", data={"email": "a@example.com"}).text
