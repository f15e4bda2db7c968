"""The dashboard: figures for a known set of requests, its SVG charts, periods and scoping."""

from __future__ import annotations

import re
from datetime import datetime, timedelta

import pytest
from sqlalchemy import select

from widget_server.admin import charts
from widget_server.admin.request_stats import DISPLAY_TZ, day_start_utc, period_figures
from widget_server.extensions import db
from widget_server.models import Owner

from .admin_support import PASSWORD, csrf_token, make_owner, sign_in
from .test_admin_requests import add_request, seed_owner


def chart(html: str, name: str) -> str:
    match = re.search(rf'<svg[^>]*data-chart="{name}".*?</svg>', html, re.S)
    assert match, f"no {name} chart"
    return match.group(0)


def bars(svg: str) -> int:
    return len(re.findall(r'<rect class="bar"', svg))


def figure(html: str, name: str) -> str:
    return re.search(rf'data-figure="{name}">([^<]*)<', html).group(1)


@pytest.fixture
def known(app):
    """Ten requests this week on three days, a test call, and one 40 days old.

    Shop: yesterday two talks (30 s and 90 s to connect) and no operator; three days ago
    the visitor did not answer, one held by the widget cap and a talk (60 s).
    Blog: today a PBX error, a blocked number, one still open and one out of hours.
    """
    ids = seed_owner(app)
    today = datetime.now(DISPLAY_TZ).date()

    def at(days_ago: int, hour: int) -> datetime:
        return day_start_utc(today - timedelta(days=days_ago)) + timedelta(hours=hour)

    add_request(app, ids, "shop", created_at=at(1, 9), connect_after=30)
    add_request(app, ids, "shop", created_at=at(1, 10), connect_after=90)
    add_request(app, ids, "shop", created_at=at(1, 11), status="no_operator")
    add_request(app, ids, "shop", created_at=at(3, 9), status="visitor_no_answer")
    add_request(
        app, ids, "shop", created_at=at(3, 10), status="held", held_reason="widget cap reached"
    )
    add_request(app, ids, "shop", created_at=at(3, 11), connect_after=60)
    add_request(app, ids, "blog", created_at=at(0, 0), status="pbx_error")
    add_request(app, ids, "blog", created_at=at(0, 0), status="held", held_reason="number blocked")
    add_request(app, ids, "blog", created_at=at(0, 0), status="calling_operator")
    add_request(
        app,
        ids,
        "blog",
        created_at=at(0, 0),
        status="no_operator",
        held_reason="no working hours in the next 14 days",
    )
    add_request(app, ids, "blog", created_at=at(0, 0), connect_after=5, is_test=True)
    add_request(app, ids, "shop", created_at=at(40, 12), status="no_operator")
    return ids


def test_the_figures_of_a_known_week(app, known):
    with app.app_context():
        period = period_figures(known["owner"], 7)
    overall = period.overall
    assert (overall.total, overall.connected, overall.open, overall.missed) == (10, 3, 1, 6)
    assert overall.share_connected == pytest.approx(3 / 9)
    assert overall.median_wait == 60
    assert overall.reasons == {
        "no_operator": 1,
        "visitor": 1,
        "pbx_error": 1,
        "limits": 1,
        "blocked": 1,
        "out_of_hours": 1,
        "cancelled": 0,
    }
    today = datetime.now(DISPLAY_TZ).date()
    assert overall.per_day == {
        today: 4,
        today - timedelta(days=1): 3,
        today - timedelta(days=3): 3,
    }
    shop, blog = (figures for _, figures in period.widgets)
    assert (shop.total, shop.connected, shop.median_wait) == (6, 3, 60)
    assert (blog.total, blog.connected, blog.share_connected) == (4, 0, 0)


def test_the_dashboard_draws_the_figures_as_charts(app, known):
    client = app.test_client()
    sign_in(client)
    page = client.get("/admin/?days=7")
    assert page.status_code == 200
    html = page.data.decode()
    assert figure(html, "total") == "10"
    assert figure(html, "share") == "33\xa0%"  # Babel's Russian percent: a no-break space
    assert figure(html, "median") == "1:00"
    assert figure(html, "missed") == "6"
    per_day = chart(html, "per-day")
    assert bars(per_day) == 3  # three days had requests
    assert len(re.findall(r'class="bar-part"', per_day)) == 2  # two of them had talks
    assert "<title" in per_day and "<desc" in per_day and 'role="img"' in per_day
    assert bars(chart(html, "reasons")) == 6  # every reason but "cancelled"
    share = chart(html, "share")
    assert bars(share) == 2  # overall and the shop; the blog connected none
    assert "33\xa0%" in share and "50\xa0%" in share and "0\xa0%" in share
    assert bars(chart(html, "wait")) == 2
    # The text alternative: every day of the period in a table.
    assert html.count('<th scope="row">') >= 7
    assert "style=" not in html and "<script>" not in html


def test_the_period_and_widget_choices_change_the_figures(app, known):
    with app.app_context():
        owner = db.session.scalar(select(Owner))
        owner.retention_days = 90  # the 40-day-old request is still kept
        db.session.commit()
    client = app.test_client()
    sign_in(client)
    assert figure(client.get("/admin/?days=90").data.decode(), "total") == "11"
    assert figure(client.get("/admin/").data.decode(), "total") == "10"  # 30 days by default
    blog = client.get(f"/admin/?days=7&widget={known['blog']}").data.decode()
    assert figure(blog, "total") == "4" and figure(blog, "share") == "0\xa0%"
    assert bars(chart(blog, "per-day")) == 1


def test_the_period_selector_offers_no_range_beyond_the_retention_period(app, known):
    client = app.test_client()
    sign_in(client)
    html = client.get("/admin/").data.decode()  # the owner keeps requests 30 days
    offered = re.findall(
        r'<option[^>]*value="(\d+)"', html.split('id="days"', 1)[1].split("</select>")[0]
    )
    assert offered == ["7", "30"]
    assert client.get("/admin/?days=90").status_code == 400
    with app.app_context():
        db.session.scalar(select(Owner)).retention_days = 14
        db.session.commit()
    html = client.get("/admin/").data.decode()
    offered = re.findall(
        r'<option[^>]*value="(\d+)"', html.split('id="days"', 1)[1].split("</select>")[0]
    )
    assert offered == ["7", "14"]
    assert re.search(
        r"<option selected[^>]*value=\"14\"|<option[^>]*value=\"14\"[^>]*selected", html
    )


def test_requests_still_in_progress_are_neither_connected_nor_missed(app, known):
    client = app.test_client()
    sign_in(client)
    blog = client.get(f"/admin/?days=7&widget={known['blog']}").data.decode()
    line = re.search(r'data-figure="arithmetic">(.*?)</p>', blog, re.S).group(1)
    assert line.startswith("Соединено 0 из 4 — 1 заявка ещё в работе: она не соединена")
    assert figure(blog, "missed") == "3"


@pytest.mark.parametrize(
    ("query", "field"), [("days=12", "days"), ("days=x", "days"), ("widget=999999", "widget")]
)
def test_a_bad_choice_gets_a_message_next_to_its_field(app, known, query, field):
    client = app.test_client()
    sign_in(client)
    page = client.get(f"/admin/?{query}")
    assert page.status_code == 400
    assert f'id="{field}-error">Выберите значение из списка.<' in page.data.decode()


def test_a_new_owner_sees_how_to_begin(app):
    make_owner(app)
    client = app.test_client()
    sign_in(client)
    page = client.get("/admin/")
    assert page.status_code == 200
    html = page.data.decode()
    assert "Пока нет ни одного виджета" in html and "<svg" not in html


def test_an_owner_without_requests_in_the_period_is_told_so(app):
    seed_owner(app)
    client = app.test_client()
    sign_in(client)
    html = client.get("/admin/?days=7").data.decode()
    assert "За этот период заявок нет." in html and "<svg" not in html


def test_another_owners_requests_are_not_counted(app, known):
    rival = seed_owner(app, "rival@example.com")
    add_request(app, rival, "shop", connect_after=10)
    client = app.test_client()
    sign_in(client, "rival@example.com", PASSWORD)
    html = client.get("/admin/?days=7").data.decode()
    assert figure(html, "total") == "1" and figure(html, "share") == "100\xa0%"
    mine = app.test_client()
    sign_in(mine)
    assert figure(mine.get("/admin/?days=7").data.decode(), "total") == "10"


def test_the_dashboard_reads_in_english(app, known):
    client = app.test_client()
    sign_in(client)
    token = csrf_token(client.get("/admin/").data)
    client.post("/admin/language", data={"lang": "en", "csrf_token": token})
    html = client.get("/admin/?days=7").data.decode()
    assert "Requests per day" in html and "Why requests were not connected" in html
    assert "Held by limits" in html


def test_column_bars_stay_inside_the_plot():
    chart_ = charts.columns(["a", "b", "c"], [0, 7, 3], [0, 2, 3])
    assert [bar.label for bar in chart_.bars] == ["b", "c"]
    for bar in chart_.bars:
        assert chart_.plot_top <= bar.y and bar.y + bar.height == pytest.approx(chart_.plot_bottom)
        assert bar.part_height <= bar.height
        assert chart_.plot_left <= bar.x and bar.x + bar.width <= chart_.plot_right
    assert charts.nice_max(7) == 10 and charts.nice_max(0) == 1 and charts.nice_max(120) == 200
