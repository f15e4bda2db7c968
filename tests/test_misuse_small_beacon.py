"""Issue 26: the funnel beacon counts only what the widget could have sent.

A variant only while the widget's A/B test runs, a path only when the page is on the
widget's origins (as far as ``Referer`` tells), and only so many distinct paths per client
address. Whatever is folded away, the browser is answered 204 with no body as before.
"""

from __future__ import annotations

import json
from datetime import date

import pytest
from sqlalchemy import select

from widget_server.extensions import db
from widget_server.insight import counter as funnel
from widget_server.models import Widget

from .test_visitor_api import OTHER, SHOP, build_site

RUNNING_TEST = {
    "ab": {
        "started": "2026-12-01",
        "weight_a": 50,
        "a": {"texts": {"title": "Перезвоним за минуту"}, "triggers": None},
        "b": {"texts": {"title": "Позвоните нам бесплатно"}, "triggers": None},
    }
}
DAY = date(2026, 12, 1)


@pytest.fixture
def site(tmp_path):
    return build_site(tmp_path)


def with_test(site) -> None:
    with site.app.app_context():
        widget = db.session.scalar(select(Widget).where(Widget.public_key == site.ru_key))
        widget.lead_settings = RUNNING_TEST
        db.session.commit()


def send(site, body, *, referer=None, address="203.0.113.7"):
    headers = {"Origin": SHOP, "Content-Type": "text/plain;charset=UTF-8"}
    if referer:
        headers["Referer"] = referer
    response = site.client.post(
        f"/api/v1/widgets/{site.ru_key}/beacon",
        data=json.dumps(body),
        headers=headers,
        environ_base={"REMOTE_ADDR": address},
    )
    assert response.status_code == 204 and response.data == b""
    return response


def counted(site) -> dict[tuple[str, str], list[int]]:
    """What the counter holds, by (variant, path), summed over widgets and days."""
    totals: dict[tuple[str, str], list[int]] = {}
    for (_widget, _day, variant, path), pair in funnel.counter_for(site.app).take().items():
        row = totals.setdefault((variant, path), [0, 0])
        row[0] += pair[0]
        row[1] += pair[1]
    return totals


# -- variants ----------------------------------------------------------------------------
def test_a_variant_sent_while_no_test_runs_counts_as_no_variant(site):
    send(site, {"event": "impression", "variant": "b", "path": "/tv"})
    send(site, {"event": "open", "variant": "a", "path": "/tv"})
    assert counted(site) == {("", "/tv"): [1, 1]}


def test_the_variants_of_a_running_test_are_counted_as_sent(site):
    with_test(site)
    send(site, {"event": "impression", "variant": "a", "path": "/tv"})
    send(site, {"event": "impression", "variant": "b", "path": "/tv"})
    send(site, {"event": "open", "variant": None, "path": "/tv"})
    assert counted(site) == {("a", "/tv"): [1, 0], ("b", "/tv"): [1, 0], ("", "/tv"): [0, 1]}


# -- paths -------------------------------------------------------------------------------
def test_a_beacon_from_a_page_on_another_origin_is_counted_under_all_pages(site):
    send(site, {"event": "impression", "path": "/casino"}, referer=f"{OTHER}/casino")
    assert counted(site) == {("", ""): [1, 0]}


def test_a_path_that_is_not_the_pages_own_is_counted_under_all_pages(site):
    send(site, {"event": "impression", "path": "/casino"}, referer=f"{SHOP}/tv?utm_source=x")
    send(site, {"event": "impression", "path": "/tv"}, referer=f"{SHOP}/tv?utm_source=x")
    assert counted(site) == {("", ""): [1, 0], ("", "/tv"): [1, 0]}


def test_a_referer_with_the_origin_alone_leaves_the_path_as_sent(site):
    # Cross-origin, browsers send only the origin (strict-origin-when-cross-origin).
    send(site, {"event": "impression", "path": "/tv"}, referer=f"{SHOP}/")
    send(site, {"event": "impression", "path": "//catalog/tv"})
    assert counted(site) == {("", "/tv"): [1, 0], ("", "//catalog/tv"): [1, 0]}


def test_one_address_tells_apart_only_so_many_paths_and_others_keep_their_own(site, monkeypatch):
    monkeypatch.setattr(funnel, "MAX_PATHS_PER_ADDRESS", 3)
    for n in range(6):
        send(site, {"event": "impression", "path": f"/made-up-{n}"})
    send(site, {"event": "open", "path": "/made-up-1"})  # one it was already counted under
    send(site, {"event": "impression", "path": "/tv"}, address="198.51.100.9")
    assert counted(site) == {
        ("", "/made-up-0"): [1, 0],
        ("", "/made-up-1"): [1, 1],
        ("", "/made-up-2"): [1, 0],
        ("", ""): [3, 0],
        ("", "/tv"): [1, 0],
    }


def test_the_paths_remembered_per_address_stay_within_their_bounds():
    paths = funnel.AddressPaths(per_address=2, addresses=3)
    for n in range(10):
        assert paths.path(f"192.0.2.{n}", 1, DAY, "/tv") == "/tv"
    assert len(paths._seen) == 3
    assert [paths.path("192.0.2.9", 1, DAY, p) for p in ("/a", "/b", "/tv")] == ["/a", "", "/tv"]
    assert all(len(seen) <= 2 for seen in paths._seen.values())
