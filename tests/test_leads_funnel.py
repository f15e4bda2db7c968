"""Issue 15: the funnel beacon is counted in memory or Redis and flushed into funnel_days."""

from __future__ import annotations

import json
from datetime import date

import pytest
from sqlalchemy import func, select
from sqlalchemy.exc import OperationalError

from widget_server.extensions import db
from widget_server.insight import counter as funnel
from widget_server.insight.tasks import flush_funnel
from widget_server.models import FunnelDay, Widget

from .test_abuse_limits import redis_url, start_redis, stop_redis  # noqa: F401
from .test_visitor_api import OTHER, SHOP, build_site

DAY = date(2026, 12, 1)


def beacon(site, body, *, origin=SHOP, key=None, raw=None):
    data = raw if raw is not None else json.dumps(body)
    return site.client.post(
        f"/api/v1/widgets/{key or site.ru_key}/beacon",
        data=data,
        headers={"Origin": origin, "Content-Type": "text/plain;charset=UTF-8"} if origin else {},
    )


def rows(app) -> dict[tuple, tuple[int, int]]:
    with app.app_context():
        return {
            (r.variant, r.path): (r.impressions, r.opens)
            for r in db.session.scalars(select(FunnelDay))
        }


def widget_id(site) -> int:
    with site.app.app_context():
        return db.session.scalar(select(Widget.id).where(Widget.public_key == site.ru_key))


# -- the counters ------------------------------------------------------------------------
def test_the_memory_counter_adds_up_by_widget_day_variant_and_path():
    counter = funnel.MemoryCounter()
    for _ in range(3):
        counter.count(1, "impression", "a", "/tv", DAY)
    counter.count(1, "open", "a", "/tv", DAY)
    counter.count(1, "impression", "", "/", DAY)
    counter.count(2, "impression", "b", "/tv", DAY)
    taken = counter.take()
    assert taken == {
        (1, "2026-12-01", "a", "/tv"): [3, 1],
        (1, "2026-12-01", "", "/"): [1, 0],
        (2, "2026-12-01", "b", "/tv"): [1, 0],
    }
    assert counter.take() == {}  # taken once


def test_the_memory_counter_folds_paths_past_its_limit_into_all_pages(monkeypatch):
    monkeypatch.setattr(funnel, "MAX_PATHS", 2)
    counter = funnel.MemoryCounter()
    for path in ("/a", "/b", "/c", "/d", "/a"):
        counter.count(1, "impression", "", path, DAY)
    assert counter.take() == {
        (1, "2026-12-01", "", "/a"): [2, 0],
        (1, "2026-12-01", "", "/b"): [1, 0],
        (1, "2026-12-01", "", ""): [2, 0],
    }


def test_flushing_twice_adds_to_the_same_daily_row(tmp_path):
    site = build_site(tmp_path)
    wid = widget_id(site)
    counter = funnel.MemoryCounter()
    with site.app.app_context():
        for _ in range(4):
            counter.count(wid, "impression", "a", "/tv", DAY)
        assert funnel.flush(counter) == 1
        counter.count(wid, "impression", "a", "/tv", DAY)
        counter.count(wid, "open", "a", "/tv", DAY)
        assert funnel.flush(counter) == 1
        assert funnel.flush(counter) == 0  # nothing new: no write at all
    assert rows(site.app) == {("a", "/tv"): (5, 1)}


@pytest.mark.redis
def test_the_redis_counter_is_shared_and_flushed_by_the_queue_job(tmp_path, redis_url):  # noqa: F811
    import redis

    redis.Redis.from_url(redis_url).flushdb()
    site = build_site(tmp_path, REDIS_URL=redis_url, RATELIMIT_STORAGE_URI="memory://")
    wid = widget_id(site)
    with site.app.app_context():  # variant "b" is counted as such only while a test runs
        db.session.get(Widget, wid).lead_settings = {"ab": {"a": {}, "b": {}}}
        db.session.commit()
    for event in ("impression", "impression", "open"):
        assert beacon(site, {"event": event, "variant": "b", "path": "/tv"}).status_code == 204
    # A second process: another client of the same Redis counts into the same hash.
    other = funnel.RedisCounter(redis.Redis.from_url(redis_url))
    other.count(wid, "impression", "b", "/tv", funnel.today())
    assert rows(site.app) == {}  # no database write per beacon
    fields = redis.Redis.from_url(redis_url).hgetall(funnel.REDIS_KEY)
    assert sorted(int(v) for v in fields.values()) == [1, 3]
    with site.app.app_context():
        assert flush_funnel() == 1
        assert flush_funnel() == 0
    assert rows(site.app) == {("b", "/tv"): (3, 1)}
    assert redis.Redis.from_url(redis_url).exists(funnel.REDIS_KEY) == 0


@pytest.mark.redis
def test_redis_counts_go_back_when_the_database_refuses_them(tmp_path, redis_url):  # noqa: F811
    import redis

    client = redis.Redis.from_url(redis_url)
    client.flushdb()
    counter = funnel.RedisCounter(client)
    counter.count(999_999, "open", "", "/", DAY)  # a widget that does not exist
    taken = counter.take()
    counter.put_back(taken)
    assert counter.take() == {(999_999, "2026-12-01", "", "/"): [0, 1]}


# -- the beacon endpoint -----------------------------------------------------------------
def test_beacons_are_counted_in_memory_and_written_once_a_minute_not_per_beacon(tmp_path):
    site = build_site(tmp_path)
    for _ in range(5):
        assert (
            beacon(site, {"event": "impression", "variant": None, "path": "/tv?x=1#y"}).status_code
            == 204
        )
    assert beacon(site, {"event": "open", "variant": None, "path": "/tv"}).status_code == 204
    assert rows(site.app) == {}
    counter = funnel.counter_for(site.app)
    counter._last_flush -= funnel.FLUSH_SECONDS  # a minute later, the next beacon flushes
    assert beacon(site, {"event": "open", "path": "/cart"}).status_code == 204
    assert rows(site.app) == {("", "/tv"): (5, 1), ("", "/cart"): (0, 1)}


@pytest.mark.parametrize(
    "body",
    [
        {"event": "click"},
        {"event": "impression", "variant": "c"},
        {"event": "impression", "path": "https://shop.example/"},
        {"event": "open", "path": 7},
        ["impression"],
    ],
)
def test_a_body_that_is_not_a_beacon_is_a_400_and_counts_nothing(tmp_path, body):
    site = build_site(tmp_path)
    response = beacon(site, body)
    assert response.status_code == 400 and response.json["error"] == "bad_json"
    assert funnel.counter_for(site.app).take() == {}


def test_broken_json_and_an_oversized_body_are_refused(tmp_path):
    site = build_site(tmp_path)
    assert beacon(site, None, raw="{not json").status_code == 400
    assert beacon(site, None, raw="[" * 4000).status_code == 413
    assert funnel.counter_for(site.app).take() == {}


def test_a_foreign_origin_or_an_unknown_widget_is_refused(tmp_path):
    site = build_site(tmp_path)
    foreign = beacon(site, {"event": "impression"}, origin=OTHER)
    assert foreign.status_code == 403 and foreign.json["error"] == "origin_not_allowed"
    assert "Access-Control-Allow-Origin" not in foreign.headers
    assert beacon(site, {"event": "impression"}, origin=None).status_code == 403
    assert beacon(site, {"event": "impression"}, key="wk_nope").status_code == 404
    assert funnel.counter_for(site.app).take() == {}
    ok = beacon(site, {"event": "impression"})
    assert ok.status_code == 204 and ok.headers["Access-Control-Allow-Origin"] == SHOP


def test_beacons_are_rate_limited_per_address_and_widget(tmp_path):
    site = build_site(tmp_path, RATELIMIT_BEACON="3/minute")
    codes = [beacon(site, {"event": "impression"}).status_code for _ in range(4)]
    assert codes == [204, 204, 204, 429]


def test_a_database_outage_drops_the_beacon_with_a_204_never_a_500(tmp_path, monkeypatch):
    site = build_site(tmp_path)
    counter = funnel.counter_for(site.app)
    counter._last_flush -= funnel.FLUSH_SECONDS

    def refuse(*_args, **_kwargs):
        raise OperationalError("UPDATE funnel_days", {}, Exception("database gone"))

    monkeypatch.setattr(funnel, "_add", refuse)
    assert beacon(site, {"event": "open", "path": "/"}).status_code == 204
    monkeypatch.undo()
    with site.app.app_context():
        # Kept by the failed flush: nothing counted is lost.
        assert funnel.flush(counter) == 1
    assert rows(site.app) == {("", "/"): (0, 1)}
    with site.app.app_context():
        assert db.session.scalar(select(func.count(FunnelDay.id))) == 1


def test_deleting_a_widget_takes_its_funnel_rows_with_it(tmp_path):
    site = build_site(tmp_path)
    wid = widget_id(site)
    with site.app.app_context():
        counter = funnel.MemoryCounter()
        counter.count(wid, "impression", "", "/", DAY)
        funnel.flush(counter)
        db.session.delete(db.session.get(Widget, wid))
        db.session.commit()
        assert db.session.scalar(select(func.count(FunnelDay.id))) == 0


def test_a_beacon_sent_as_json_with_fetch_gets_its_preflight_answered(tmp_path):
    site = build_site(tmp_path)
    preflight = site.client.options(
        f"/api/v1/widgets/{site.ru_key}/beacon",
        headers={"Origin": SHOP, "Access-Control-Request-Method": "POST"},
    )
    assert preflight.status_code == 204
    assert preflight.headers["Access-Control-Allow-Origin"] == SHOP
    assert "Content-Type" in preflight.headers["Access-Control-Allow-Headers"]
    sent = site.client.post(
        f"/api/v1/widgets/{site.ru_key}/beacon", json={"event": "open"}, headers={"Origin": SHOP}
    )
    assert sent.status_code == 204
    assert funnel.counter_for(site.app).take() == {
        (widget_id(site), funnel.today().isoformat(), "", ""): [0, 1]
    }
