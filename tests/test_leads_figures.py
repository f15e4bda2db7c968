"""Issue 15: funnel, sources, pages, operators, heat map and A/B figures from fixed data.

Every expected number below is worked out by hand from the rows inserted (or, for the
A/B probability, by integrating the two Beta posteriors numerically); none is read back
from the code under test.
"""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta

import pytest

from widget_server.admin.request_stats import DISPLAY_TZ, day_start_utc, period_days
from widget_server.extensions import db
from widget_server.insight import figures
from widget_server.insight.ab import compare
from widget_server.models import CallAttempt, FunnelDay, Widget

from .admin_support import post_form
from .test_admin_requests import add_request, seeded, signed_in  # noqa: F401


def last_monday() -> datetime:
    """Midnight (display zone) of the latest Monday before today: inside a 30-day period."""
    today = datetime.now(DISPLAY_TZ).date()
    monday = today - timedelta(days=today.weekday() or 7)
    return datetime.combine(monday, datetime.min.time(), DISPLAY_TZ)


def utc(local: datetime) -> datetime:
    return local.astimezone(UTC).replace(tzinfo=None)


def attempt(app, request_id: int, seq: int, pin: str, outcome: str) -> None:
    with app.app_context():
        db.session.add(
            CallAttempt(request_id=request_id, seq=seq, operator_pin=pin, outcome=outcome)
        )
        db.session.commit()


def funnel_row(app, widget_id, day, impressions, opens, *, variant="", path=""):
    with app.app_context():
        db.session.add(
            FunnelDay(
                widget_id=widget_id,
                day=day,
                variant=variant,
                path=path,
                impressions=impressions,
                opens=opens,
            )
        )
        db.session.commit()


@pytest.fixture
def week(app, seeded):  # noqa: F811
    """Three real requests on the shop on a Monday, a test call, and one on the blog."""
    monday = last_monday()
    shop = seeded["shop"]
    funnel_row(app, shop, monday.date(), 200, 40, path="/tv")
    funnel_row(app, shop, monday.date(), 100, 10, path="/cart")
    funnel_row(app, seeded["blog"], monday.date(), 999, 99, path="/tv")
    r1 = add_request(
        app,
        seeded,
        created_at=utc(monday.replace(hour=10, minute=15)),
        connect_after=30,
        page_url="https://shop.example/tv?color=black",
        source_utm_source="yandex",
    )
    attempt(app, r1, 1, "201", "completed")
    r2 = add_request(
        app,
        seeded,
        status="no_operator",
        created_at=utc(monday.replace(hour=10, minute=40)),
        page_url="https://shop.example/tv",
        source_utm_source="yandex",
    )
    attempt(app, r2, 1, "201", "operator_no_answer")
    attempt(app, r2, 2, "202", "operator_timeout")
    r3 = add_request(
        app,
        seeded,
        created_at=utc(monday.replace(hour=14, minute=5)),
        connect_after=90,
        page_url="https://shop.example/cart",
        source_referrer="https://www.google.com/search?q=tv",
    )
    attempt(app, r3, 1, "202", "completed")
    test_call = add_request(
        app, seeded, created_at=utc(monday.replace(hour=14, minute=30)), is_test=True
    )
    attempt(app, test_call, 1, "201", "completed")
    add_request(app, seeded, "blog", created_at=utc(monday.replace(hour=11)), connect_after=5)
    days = period_days(30)
    return {
        "ids": [shop],
        "first": days[0],
        "last": days[-1],
        "start": day_start_utc(days[0]),
        "end": day_start_utc(days[-1] + timedelta(days=1)),
    }


def test_the_funnel_counts_beacons_and_requests_of_the_chosen_widget(app, week):
    with app.app_context():
        result = figures.funnel(
            week["ids"], week["first"], week["last"], week["start"], week["end"]
        )
    assert (result.impressions, result.opens, result.submits, result.connected) == (300, 50, 3, 2)


def test_conversion_by_source_groups_utm_source_then_the_referrers_host(app, week):
    with app.app_context():
        rows = figures.by_source(week["ids"], week["start"], week["end"], "direct")
    assert [(r.label, r.submits, r.connected) for r in rows] == [
        ("yandex", 2, 1),
        ("www.google.com", 1, 1),
    ]


def test_conversion_by_page_joins_beacons_and_requests_on_the_path(app, week):
    with app.app_context():
        rows = figures.by_page(week["ids"], week["first"], week["last"], week["start"], week["end"])
    assert [(r.label, r.impressions, r.opens, r.submits, r.connected) for r in rows] == [
        ("/tv", 200, 40, 2, 1),
        ("/cart", 100, 10, 1, 1),
    ]


def test_the_operator_table_counts_answered_missed_and_the_median_to_talk(app, week):
    with app.app_context():
        rows = figures.operators(week["ids"], week["start"], week["end"])
    assert [(r.pin, r.answered, r.missed, r.median_wait) for r in rows] == [
        ("201", 1, 1, 30.0),
        ("202", 1, 1, 90.0),
    ]


def test_the_heat_map_puts_requests_in_their_moscow_weekday_and_hour(app, week):
    with app.app_context():
        grid = figures.heat_map(week["ids"], week["start"], week["end"])
    assert len(grid) == 7 and {len(row) for row in grid} == {24}
    assert grid[0][10] == 2 and grid[0][14] == 1
    assert sum(map(sum, grid)) == 3


def test_the_dashboard_shows_the_lead_panel_with_these_figures(app, week, seeded, signed_in):  # noqa: F811
    html = signed_in.get(f"/admin/?days=30&widget={seeded['shop']}").data.decode()
    assert 'data-step="impressions">300<' in html and 'data-step="opens">50<' in html
    assert 'data-step="submits">3<' in html and 'data-step="connected">2<' in html
    assert "Анна (201)" in html and "0:30" in html
    assert '<td class="heat-4">2</td>' in html and '<td class="heat-2">1</td>' in html
    # Addresses may wrap at their dots and slashes on a phone (<wbr>), not inside a word.
    assert "www.<wbr>google.<wbr>com" in html and "/<wbr>cart" in html


# -- the A/B test ----------------------------------------------------------------------
def beta_probability(sa, na, sb, nb, steps: int = 20_000) -> float:
    """P(p_B > p_A) for Beta(1 + s, 1 + n − s) posteriors by numerical integration:
    the integral of B's density times A's distribution function (midpoint rule)."""

    def density(x, a, b):
        return math.exp(
            (a - 1) * math.log(x)
            + (b - 1) * math.log1p(-x)
            + math.lgamma(a + b)
            - math.lgamma(a)
            - math.lgamma(b)
        )

    h = 1 / steps
    below, total = 0.0, 0.0  # below: A's probability mass left of the current cell
    for k in range(steps):
        x = (k + 0.5) * h
        cell_a = density(x, 1 + sa, 1 + na - sa) * h
        total += density(x, 1 + sb, 1 + nb - sb) * h * (below + cell_a / 2)
        below += cell_a
    return total


def test_the_ab_comparison_is_the_bayesian_probability_that_b_is_better():
    result = compare(100, 1000, 130, 1000)
    assert result.enough
    assert result.p_b_better == pytest.approx(beta_probability(100, 1000, 130, 1000), abs=1e-4)
    assert result.leader == "b" and round(result.leader_probability, 2) == 0.98
    reverse = compare(130, 1000, 100, 1000)
    assert reverse.leader == "a" and reverse.leader_probability == pytest.approx(
        result.leader_probability
    )


@pytest.mark.parametrize(
    ("sa", "na", "sb", "nb"),
    [(10, 99, 20, 1000), (4, 1000, 40, 1000), (10, 100, 96, 100), (0, 0, 0, 0)],
)
def test_too_small_a_sample_says_there_is_too_little_data(sa, na, sb, nb):
    result = compare(sa, na, sb, nb)
    assert not result.enough and result.p_b_better is None and result.leader is None


def start_test(app, widget_id: int, started: str) -> None:
    with app.app_context():
        widget = db.session.get(Widget, widget_id)
        widget.texts = {"title": "Старый заголовок"}
        widget.lead_settings = {
            "ab": {
                "started": started,
                "weight_a": 50,
                "a": {"texts": {}, "triggers": None},
                "b": {
                    "texts": {"title": "Перезвоним за 30 секунд"},
                    "triggers": {"after_seconds": 15},
                },
            }
        }
        db.session.commit()


def test_the_ab_panel_states_the_leader_and_the_winner_becomes_the_default(
    app,
    seeded,  # noqa: F811
    signed_in,  # noqa: F811
):
    monday = last_monday()
    shop = seeded["shop"]
    start_test(app, shop, monday.date().isoformat())
    funnel_row(app, shop, monday.date(), 1000, 100, variant="a")
    funnel_row(app, shop, monday.date(), 1000, 130, variant="b")
    funnel_row(app, shop, monday.date() - timedelta(days=1), 5000, 0, variant="a")  # before it
    at = utc(monday.replace(hour=12))
    for n in range(10):
        add_request(app, seeded, created_at=at, variant="a", phone=f"+7916000{n:04d}")
    for n in range(25):
        add_request(app, seeded, created_at=at, variant="b", phone=f"+7916100{n:04d}")
    with app.app_context():
        ab = figures.ab_figures(db.session.get(Widget, shop), datetime.now(DISPLAY_TZ).date())
    a, b = ab.variants["a"], ab.variants["b"]
    assert (a.impressions, a.opens, a.submits) == (1000, 100, 10)
    assert (b.impressions, b.opens, b.submits) == (1000, 130, 25)
    # Submits: P(p_B > p_A) = 0.9947 for Beta(11, 991) against Beta(26, 976).
    assert ab.submits.p_b_better == pytest.approx(beta_probability(10, 1000, 25, 1000), abs=1e-4)

    html = signed_in.get(f"/admin/?widget={shop}").data.decode()
    assert "B лучше A с вероятностью 98\xa0%" in html  # opens: 0.982
    assert "B лучше A с вероятностью больше 99\xa0%" in html  # submits: 0.9947
    page = f"/admin/?widget={shop}"
    response = post_form(
        signed_in, f"/admin/widgets/{shop}/ab-winner", {"variant": "b"}, page_url=page
    )
    assert response.status_code == 302
    with app.app_context():
        widget = db.session.get(Widget, shop)
        assert widget.texts["title"] == "Перезвоним за 30 секунд"
        assert "ab" not in widget.lead_settings
        assert widget.lead_settings["triggers"]["after_seconds"] == 15
    assert "данных пока мало" not in signed_in.get(page).data.decode()
    assert "A/B-тест:" not in signed_in.get(page).data.decode()


def test_a_fresh_test_says_there_is_too_little_data(app, seeded, signed_in):  # noqa: F811
    shop = seeded["shop"]
    start_test(app, shop, datetime.now(DISPLAY_TZ).date().isoformat())
    funnel_row(app, shop, datetime.now(DISPLAY_TZ).date(), 40, 3, variant="a")
    html = signed_in.get(f"/admin/?widget={shop}").data.decode()
    assert html.count("данных пока мало") == 2
