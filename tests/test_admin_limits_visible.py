"""Limits the owner can see: the first week's cap on the widget page and the dashboard,
an admin lifting it (recorded), and "Позвонить сейчас" on a held or missed request."""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from limits import parse_many
from limits.strategies import MovingWindowRateLimiter
from sqlalchemy import func, select

from widget_server.abuse import limits
from widget_server.dispatch.schedule import ALWAYS_OPEN, parse_hours
from widget_server.extensions import db, limiter
from widget_server.models import CallbackRequest, Widget

from .admin_support import make_owner, post_form, sign_in
from .conftest import make_app
from .test_admin_requests import add_request, seed_owner


@pytest.fixture
def app(tmp_path):
    return make_app(tmp_path)


@pytest.fixture
def ids(app):
    ids = seed_owner(app)
    with app.app_context():
        widget = db.session.get(Widget, ids["shop"])
        widget.hours = parse_hours(ALWAYS_OPEN)  # open whenever the test runs
        db.session.commit()
    return ids


@pytest.fixture
def client(app, ids):
    client = app.test_client()
    sign_in(client)
    return client


def use_cap(app, widget_id: int, calls: int) -> None:
    """Take ``calls`` slots of the widget's cap counters, as dialled requests do."""
    with app.app_context():
        strategy = MovingWindowRateLimiter(limiter.storage)
        for item in parse_many(app.config["NEW_WIDGET_CAP"]):
            for _ in range(calls):
                strategy.hit(item, "widget-cap", str(widget_id))


def test_a_new_widget_shows_its_first_week_cap_with_the_reason_and_its_end(app, client, ids):
    html = client.get(f"/admin/widgets/{ids['shop']}").get_data(as_text=True)
    section = re.search(r'<section class="card" id="cap".*?</section>', html, re.S).group(0)
    assert "Первую неделю новый виджет звонит реже" in section
    # The page's dates are the owner's (Moscow here): after 21:00 UTC it is tomorrow there.
    moscow = datetime.now(ZoneInfo("Europe/Moscow"))
    ends = {(moscow + timedelta(days=d)).strftime("%d.%m.%Y") for d in (6, 7)}
    assert any(day in section for day in ends), ends
    assert "за 1 час: 0 из 10" in section and "за 1 день: 0 из 50" in section
    assert "Снять ограничение" not in section  # not an installation admin


def test_at_80_percent_the_widget_page_and_the_dashboard_warn(app, client, ids):
    use_cap(app, ids["shop"], 7)
    assert "banner-warn" not in client.get("/admin/").get_data(as_text=True)
    use_cap(app, ids["shop"], 1)
    page = client.get(f"/admin/widgets/{ids['shop']}").get_data(as_text=True)
    assert 'class="card banner-warn" id="cap"' in page
    assert "за 1 час: 8 из 10" in page and "Использовано больше 80 % лимита" in page
    dashboard = client.get("/admin/").get_data(as_text=True)
    assert f'data-cap-warning="{ids["shop"]}"' in dashboard
    assert "использовано больше 80 % лимита звонков" in dashboard
    use_cap(app, ids["shop"], 2)
    page = client.get(f"/admin/widgets/{ids['shop']}").get_data(as_text=True)
    assert "исчерпано, следующий звонок возможен в" in page
    assert "Лимит исчерпан: новые заявки сохраняются как «Задержана»" in page


def test_only_an_installation_admin_lifts_the_cap_and_it_is_recorded(app, client, ids):
    url = f"/admin/widgets/{ids['shop']}/lift-cap"
    assert post_form(client, url, {}, page_url="/admin/").status_code == 404
    make_owner(app, "admin@example.com", admin=True)
    admin = app.test_client()
    sign_in(admin, "admin@example.com")
    users = admin.get("/admin/users").get_data(as_text=True)
    assert 'id="new-widgets"' in users and "Магазин" in users
    response = post_form(admin, url, {}, page_url="/admin/users")
    assert response.status_code == 302
    with app.app_context():
        widget = db.session.get(Widget, ids["shop"])
        assert widget.cap_lifted_by == "admin@example.com" and widget.cap_lifted_at is not None
        assert limits.is_new(widget) is False  # the usual cap applies from now on
    html = client.get(f"/admin/widgets/{ids['shop']}").get_data(as_text=True)
    assert "Ограничение первой недели снято администратором admin@example.com" in html
    assert "за 1 час: 0 из 60" in html


def call_now(client, request_id: int):
    return post_form(
        client,
        f"/admin/requests/{request_id}/call-now",
        {},
        page_url=f"/admin/requests/{request_id}",
        follow_redirects=True,
    )


def test_a_held_request_is_dialled_again_through_the_normal_path(app, client, ids):
    held = add_request(app, ids, status="held", held_reason="widget cap reached")
    page = client.get(f"/admin/requests/{held}").get_data(as_text=True)
    assert "Позвонить сейчас" in page
    response = call_now(client, held)
    assert "Звоним: сначала оператору, потом на номер заявки." in response.get_data(as_text=True)
    with app.app_context():
        original = db.session.get(CallbackRequest, held)
        again = db.session.scalar(select(CallbackRequest).order_by(CallbackRequest.id.desc()))
        assert again.id != held and again.phone == original.phone
        assert again.status == "queued" and not again.is_test
        assert again.consent_text == original.consent_text
        assert again.consent_at == original.consent_at  # the visitor's consent, not ours
    # The limits still apply: the same number again at once is refused, in words.
    missed = add_request(app, ids, status="no_operator")
    refused = call_now(client, missed).get_data(as_text=True)
    assert "Не звоним: на этот номер уже звонили недавно" in refused
    assert re.search(r"позволит позвонить через \d+ мин", refused)
    with app.app_context():
        assert db.session.scalar(select(func.count(CallbackRequest.id))) == 3


@pytest.mark.parametrize("status", ["finished", "cancelled", "queued"])
def test_a_request_that_talked_was_cancelled_or_is_running_is_not_offered(app, client, ids, status):
    request_id = add_request(app, ids, status=status)
    assert "Позвонить сейчас" not in client.get(f"/admin/requests/{request_id}").get_data(
        as_text=True
    )
    response = call_now(client, request_id)
    assert "Эту заявку нельзя набрать заново." in response.get_data(as_text=True)
