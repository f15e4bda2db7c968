"""The look document and the session: a page view answered from memory, the fresh part on open."""

from __future__ import annotations

import json

import pytest
from prometheus_client import REGISTRY
from sqlalchemy import event, select, update

from widget_server.extensions import db
from widget_server.models import Widget
from widget_server.visitor import look_cache
from widget_server.visitor.accent import text_on

from .conftest import make_app
from .test_abuse_limits import start_redis, stop_redis
from .test_visitor_api import OTHER, SHOP, build_site


@pytest.fixture
def site(tmp_path):
    return build_site(tmp_path)


def look(site, key=None, **headers):
    return site.client.get(
        f"/api/v1/widgets/{key or site.ru_key}/look", headers={"Origin": SHOP, **headers}
    )


class StatementCounter:
    """Counts the SQL statements the app's engine runs while active."""

    def __init__(self, app):
        with app.app_context():
            self.engine = db.engine
        self.count = 0

    def _count(self, *_args):
        self.count += 1

    def __enter__(self):
        event.listen(self.engine, "before_cursor_execute", self._count)
        return self

    def __exit__(self, *_exc):
        event.remove(self.engine, "before_cursor_execute", self._count)


def save(site, change, key=None):
    """The owner saves: ``change(widget)`` in a session of its own, committed."""
    with site.app.app_context():
        widget = db.session.scalar(select(Widget).where(Widget.public_key == (key or site.ru_key)))
        change(widget)
        db.session.commit()


def test_the_look_is_public_short_lived_and_carries_no_token_or_slots(site):
    response = look(site)
    assert response.status_code == 200
    assert response.headers["Cache-Control"] == "public, max-age=60"
    assert response.headers["ETag"]
    assert response.headers["Access-Control-Allow-Origin"] == SHOP
    assert {"Origin", "Accept-Language"} <= set(response.vary)
    body = response.json
    assert body["texts"]["button"] and body["groups"] == [
        {"id": "101", "label": "Продажи"},
        {"id": "102", "label": "Сервис"},
    ]
    assert body["status_stream"] is True  # this server streams statuses (visitor/stream.py)
    assert not {"form_token", "open", "slots"} & set(body)


def test_a_revalidation_with_the_current_etag_is_a_304_without_a_body(site):
    etag = look(site).headers["ETag"]
    again = look(site, **{"If-None-Match": etag})
    assert again.status_code == 304
    assert again.get_data() == b""
    assert again.headers["ETag"] == etag


def test_a_page_view_after_the_first_runs_no_sql_at_all(site):
    assert look(site).status_code == 200
    with StatementCounter(site.app) as statements:
        for _ in range(5):
            assert look(site).status_code == 200
    assert statements.count == 0


def version(site) -> int:
    with site.app.app_context():
        return db.session.scalar(
            select(Widget.look_version).where(Widget.public_key == site.ru_key)
        )


def test_saving_the_widget_changes_the_look_and_its_etag_at_once(site):
    first = look(site)
    before = version(site)
    save(site, lambda widget: setattr(widget, "color", "#aa3300"))
    assert version(site) == before + 1
    second = look(site, **{"If-None-Match": first.headers["ETag"]})
    assert second.status_code == 200
    assert second.json["color"] == "#aa3300"
    assert second.headers["ETag"] != first.headers["ETag"]


def test_relabelling_a_department_changes_the_look(site):
    before = look(site).headers["ETag"]

    def relabel(widget):
        widget.offered_groups[0].label = "Отдел продаж"

    save(site, relabel)
    after = look(site)
    assert after.json["groups"][0]["label"] == "Отдел продаж"
    assert after.headers["ETag"] != before


def test_work_that_does_not_touch_the_look_keeps_its_version(site):
    before = version(site)
    save(site, lambda widget: setattr(widget, "rr_cursor", widget.rr_cursor + 1))  # a dispatch
    assert version(site) == before


def test_taking_a_department_off_the_widget_changes_the_look(site):
    assert len(look(site).json["groups"]) == 2
    before = version(site)
    save(site, lambda widget: widget.offered_groups.pop())
    assert version(site) > before
    assert [g["id"] for g in look(site).json["groups"]] == ["101"]


def test_another_process_saving_is_noticed_after_the_recheck_interval(site, monkeypatch):
    assert look(site).json["color"] != "#112233"
    # Another process saved: the row changed, this process's memory was not told.
    with site.app.app_context():
        db.session.execute(
            update(Widget)
            .where(Widget.public_key == site.ru_key)
            .values(color="#112233", look_version=Widget.look_version + 1)
        )
        db.session.commit()
    assert look(site).json["color"] != "#112233"  # still within the recheck interval
    monkeypatch.setattr(look_cache, "RECHECK_SECONDS", 0.0)
    assert look(site).json["color"] == "#112233"


def test_the_look_refuses_other_sites_and_unknown_or_paused_widgets(site):
    assert look(site, Origin=OTHER).status_code == 403
    assert look(site, key="wk_unknown").status_code == 404
    save(site, lambda widget: setattr(widget, "active", False))
    paused = look(site)
    assert paused.status_code == 403
    assert paused.json["error"] == "widget_paused"
    assert paused.headers["Cache-Control"] == "no-store"


def test_the_look_speaks_the_language_asked_for(site):
    english = site.client.get(
        f"/api/v1/widgets/{site.ru_key}/look?lang=en", headers={"Origin": SHOP}
    )
    assert english.json["language"] == "en"
    assert english.json["texts"]["button"] != look(site).json["texts"]["button"]


def test_the_session_is_fresh_and_origin_checked(site):
    response = site.client.get(f"/api/v1/widgets/{site.ru_key}/session", headers={"Origin": SHOP})
    assert response.status_code == 200
    assert response.headers["Cache-Control"] == "no-store"
    assert set(response.json) == {"form_token", "open", "slots"}
    assert response.json["open"] is True
    other = site.client.get(f"/api/v1/widgets/{site.ru_key}/session", headers={"Origin": OTHER})
    assert other.status_code == 403


def test_the_old_config_still_answers_look_and_session_in_one(site):
    response = site.client.get(f"/api/v1/widgets/{site.ru_key}/config", headers={"Origin": SHOP})
    assert response.status_code == 200
    assert response.headers["Cache-Control"] == "no-store"
    assert {"form_token", "open", "slots", "texts", "groups", "color"} <= set(response.json)


@pytest.mark.redis
def test_with_redis_a_save_in_one_process_reaches_another_at_once(tmp_path):
    server, url = start_redis()
    try:
        one = build_site(tmp_path / "one", REDIS_URL=url)
        # A second process of the same installation: same database, same Redis, its own memory.
        database = one.app.config["SQLALCHEMY_DATABASE_URI"]
        two_app = make_app(tmp_path / "two", REDIS_URL=url, SQLALCHEMY_DATABASE_URI=database)
        two = type(one)(two_app, two_app.test_client(), one.ru_key, one.en_key)
        assert look(two).json["color"] != "#334455"
        with StatementCounter(one.app) as statements:
            assert look(one).status_code == 200  # what process two put in Redis
        assert statements.count == 0
        save(one, lambda widget: setattr(widget, "color", "#334455"))
        assert look(two).json["color"] == "#334455"
    finally:
        stop_redis(server)


def test_the_redis_copy_of_a_look_is_the_same_document(tmp_path):
    site = build_site(tmp_path)
    with site.app.test_request_context():
        built = look_cache.cached_look(site.ru_key, "~")
    assert json.loads(built.body)["key"] == site.ru_key
    assert look_cache.Look(**look_cache.look_fields(built)) == built


def comparable(response) -> tuple[int, dict[str, str], bytes]:
    headers = {k: v for k, v in response.headers.items() if k not in {"X-Request-ID", "Date"}}
    return response.status_code, headers, response.get_data()


def test_the_look_from_memory_is_the_answer_the_app_gives(site, monkeypatch):
    from_app = look(site)  # the first asks the app, which fills the cache
    etag = from_app.headers["ETag"]
    from_memory = look(site)
    assert comparable(from_memory) == comparable(from_app)
    assert comparable(look(site, **{"If-None-Match": etag}))[:2] == (
        304,
        {
            k: v
            for k, v in comparable(from_app)[1].items()
            if k not in {"Content-Type", "Content-Length"}
        },
    )
    # Past the recheck interval the app answers again, and the same.
    monkeypatch.setattr(look_cache, "RECHECK_SECONDS", 0.0)
    assert comparable(look(site)) == comparable(from_app)


def test_a_look_answered_from_memory_still_counts_in_the_metrics(site):
    labels = {"route": "/api/v1/widgets/<key>/look", "method": "GET", "status": "200"}

    def counted() -> float:
        return REGISTRY.get_sample_value("widget_http_requests_total", labels) or 0.0

    look(site)  # the app answers, and counts it
    before = counted()
    look(site)  # from memory
    look(site)
    assert counted() == before + 2


def test_a_page_view_marks_the_widget_seen_on_its_site_at_most_once_a_minute(site):
    from widget_server.visitor import seen

    seen.forget()

    def seen_on():
        with site.app.app_context():
            widget = db.session.scalar(select(Widget).filter_by(public_key=site.ru_key))
            return dict(widget.seen_on or {})

    look(site)  # from the app
    assert set(seen_on()) == {SHOP}
    with site.app.app_context():
        db.session.execute(
            update(Widget).where(Widget.public_key == site.ru_key).values(seen_on={})
        )
        db.session.commit()
    look(site)  # from memory, within the minute: nothing written
    assert seen_on() == {}
    seen.forget()  # a minute later, as far as the throttle knows
    look(site)
    assert set(seen_on()) == {SHOP}


def test_the_look_names_the_text_colour_on_the_owners_accent_dark_on_light(site):
    save(site, lambda widget: setattr(widget, "color", "#ffe14d"))
    assert look(site).json["on_color"] == "#111"
    save(site, lambda widget: setattr(widget, "color", "#123"))
    assert look(site).json["on_color"] == "#fff"


def test_the_text_colour_follows_the_luminance_and_refuses_what_is_not_a_colour():
    assert text_on("#ffffff") == "#111" and text_on("#FFF") == "#111"
    assert text_on("#0b6bcb") == "#fff" and text_on("#000") == "#fff"
    assert text_on("#7f7f7f") == "#fff"  # luminance 0.21: still white
    assert text_on("#aaaaaa") == "#111"  # 0.40
    assert text_on("red") is None and text_on("#12345") is None and text_on(None) is None
