"""get_number_info answers: empty unless switched on, and empty when the lookup is slow or fails."""

from __future__ import annotations

import time

import pytest
from sqlalchemy.exc import OperationalError

from widget_server.models import PbxAccount
from widget_server.pbx import inbound

from .conftest import make_app


@pytest.fixture
def app(tmp_path):
    return make_app(tmp_path)


def _account(route: bool) -> PbxAccount:
    return PbxAccount(api_url="http://pbx.test", client_id="C", sign_key="K", route_inbound=route)


def _known_caller(account, digits):
    return {"displayName": "Обратный звонок: shop.example", "PIN": "201"}


def test_with_routing_off_the_database_is_not_even_asked(app, monkeypatch):
    def must_not_run(account, digits):
        raise AssertionError("looked up while routing is off")

    monkeypatch.setattr(inbound, "caller_info", must_not_run)
    with app.app_context():
        assert inbound.number_info(_account(False), {"from_number": "79161234567"}) == {}


def test_with_routing_on_a_known_caller_gets_the_pin_and_their_number_in_the_name(app, monkeypatch):
    monkeypatch.setattr(inbound, "caller_info", _known_caller)
    with app.app_context():
        info = inbound.number_info(_account(True), {"from_number": "+7 916 123-45-67"})
    assert info == {"displayName": "+79161234567 · Обратный звонок: shop.example", "PIN": "201"}


def test_a_lookup_slower_than_the_budget_gives_normal_routing(app, monkeypatch):
    def slow(account, digits):
        time.sleep(inbound.LOOKUP_BUDGET_SECONDS + 0.1)
        return _known_caller(account, digits)

    monkeypatch.setattr(inbound, "caller_info", slow)
    with app.app_context():
        assert inbound.number_info(_account(True), {"from_number": "79161234567"}) == {}


def test_a_failing_database_gives_normal_routing(app, monkeypatch):
    def broken(account, digits):
        raise OperationalError("SELECT", {}, Exception("database is locked"))

    monkeypatch.setattr(inbound, "caller_info", broken)
    with app.app_context():
        assert inbound.number_info(_account(True), {"from_number": "79161234567"}) == {}


def test_a_caller_without_a_number_gets_normal_routing(app, monkeypatch):
    monkeypatch.setattr(inbound, "caller_info", _known_caller)
    with app.app_context():
        assert inbound.number_info(_account(True), {"from_number": "anonymous"}) == {}
