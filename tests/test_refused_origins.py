"""Issue 28, part 4: a widget on a site missing from its list no longer fails in silence.

The service remembers, per widget key, the few sites it refused recently, in memory (or
Redis), never with a database write per request (``visitor/refused.py``); the widget page
and the checklist name the site and add it with one POST (``admin/widget_sites.py``). The
site field takes an address as the owner sees it and says what it stored.
"""

from __future__ import annotations

import pytest
from sqlalchemy import event

from widget_server.extensions import db
from widget_server.models import Widget
from widget_server.visitor import refused

from .admin_support import PASSWORD, make_owner, make_site_objects, post_form, sign_in
from .conftest import make_app
from .test_abuse_limits import redis_url  # noqa: F401 - a real redis-server for the module

FOREIGN = "https://shop.example"  # where the owner put the code; the widget lists a.example


@pytest.fixture(autouse=True)
def _clean_memory():
    refused.forget()
    yield
    refused.forget()


@pytest.fixture
def site(tmp_path):
    app = make_app(tmp_path)
    owner_id = make_owner(app)
    ids = make_site_objects(app, owner_id)
    return app, ids


def writes_during(app, action) -> list[str]:
    """The INSERT/UPDATE/DELETE statements the database saw while ``action`` ran."""
    seen: list[str] = []

    def note(conn, cursor, statement, *args):
        if statement.lstrip().split(" ", 1)[0].upper() in ("INSERT", "UPDATE", "DELETE"):
            seen.append(statement)

    with app.app_context():
        engine = db.engine
    event.listen(engine, "before_cursor_execute", note)
    try:
        action()
    finally:
        event.remove(engine, "before_cursor_execute", note)
    return seen


def test_a_refused_site_is_remembered_for_its_widget_with_no_database_write(site):
    app, ids = site
    client = app.test_client()
    key = ids["widget_key"]

    def page_views():
        for path in ("look", "session", "config"):
            answer = client.get(f"/api/v1/widgets/{key}/{path}", headers={"Origin": FOREIGN})
            assert answer.status_code == 403

    assert writes_during(app, page_views) == []
    with app.app_context():
        assert [origin for origin, _when in refused.recent(key)] == [FOREIGN]
    # A listed site is no refusal; an unknown key is nobody's to tell.
    client.get(f"/api/v1/widgets/{key}/look", headers={"Origin": "https://a.example"})
    client.get("/api/v1/widgets/wk_nobody/look", headers={"Origin": FOREIGN})
    with app.app_context():
        assert [origin for origin, _when in refused.recent(key)] == [FOREIGN]
        assert refused.recent("wk_nobody") == []


def test_the_memory_is_bounded_per_widget_and_in_widgets(site, monkeypatch):
    app, ids = site
    client = app.test_client()
    for n in range(20):  # a script making up sites
        client.get(
            f"/api/v1/widgets/{ids['widget_key']}/look", headers={"Origin": f"https://x{n}.example"}
        )
    with app.app_context():
        kept = [origin for origin, _when in refused.recent(ids["widget_key"])]
    assert kept == [f"https://x{n}.example" for n in range(19, 14, -1)]  # the latest five
    monkeypatch.setattr(refused, "MAX_KEYS", 3)
    for n in range(10):
        refused.note(f"wk_{n}", FOREIGN)
    assert len(refused._memory) == 3
    assert list(refused._memory) == ["wk_7", "wk_8", "wk_9"]


def test_the_widget_page_names_the_refused_site_and_adds_it_in_one_click(site):
    app, ids = site
    client = app.test_client()
    client.get(f"/api/v1/widgets/{ids['widget_key']}/look", headers={"Origin": FOREIGN})
    sign_in(client)
    page = f"/admin/widgets/{ids['widget_id']}"
    html = client.get(page).text
    assert (
        "Виджет пытались показать на сайте shop.example, которого нет в списке — добавить?" in html
    )
    step = client.get("/admin/").text
    assert "Виджет пытались показать на сайте shop.example" in step
    assert f'href="/admin/widgets/{ids["widget_id"]}#refused-sites"' in step

    response = post_form(
        client,
        f"/admin/widgets/{ids['widget_id']}/sites/add",
        {"origin": FOREIGN},
        page_url=page,
        follow_redirects=True,
    )
    assert "Сайт shop.example добавлен." in response.text
    assert 'id="refused-sites"' not in response.text
    with app.app_context():
        assert db.session.get(Widget, ids["widget_id"]).origins == ["https://a.example", FOREIGN]
    answer = client.get(f"/api/v1/widgets/{ids['widget_key']}/look", headers={"Origin": FOREIGN})
    assert answer.status_code == 200


@pytest.mark.csrf
def test_the_add_is_a_csrf_checked_post_of_the_owners_own_widget(tmp_path):
    app = make_app(tmp_path)
    ids = make_site_objects(app, make_owner(app))
    make_owner(app, "other@example.com")
    url = f"/admin/widgets/{ids['widget_id']}/sites/add"
    owner = app.test_client()
    sign_in(owner)
    assert owner.post(url, data={"origin": FOREIGN}).status_code == 400  # no token
    other = app.test_client()
    sign_in(other, "other@example.com", PASSWORD)
    response = post_form(
        other, url, {"origin": FOREIGN}, page_url=f"/admin/widgets/{ids['widget_id']}"
    )
    assert response.status_code == 404
    with app.app_context():
        assert db.session.get(Widget, ids["widget_id"]).origins == ["https://a.example"]


@pytest.mark.redis
def test_with_redis_a_refusal_seen_by_one_process_is_shown_by_another(tmp_path, redis_url):  # noqa: F811
    import redis

    redis.Redis.from_url(redis_url).flushdb()
    app = make_app(tmp_path, REDIS_URL=redis_url)
    ids = make_site_objects(app, make_owner(app))
    client = app.test_client()
    client.get(f"/api/v1/widgets/{ids['widget_key']}/look", headers={"Origin": FOREIGN})
    refused._memory.clear()  # the page is served by another process
    with app.app_context():
        assert [origin for origin, _when in refused.recent(ids["widget_key"])] == [FOREIGN]
    # Written once a minute per site, whatever the page views.
    for _ in range(5):
        client.get(f"/api/v1/widgets/{ids['widget_key']}/look", headers={"Origin": FOREIGN})
    assert len(refused._key_writes[ids["widget_key"]]) == 1


# -- the site field -----------------------------------------------------------------------
def test_the_site_field_takes_an_address_as_the_owner_sees_it_and_says_what_it_stored(site):
    app, ids = site
    client = app.test_client()
    sign_in(client)
    page = f"/admin/widgets/{ids['widget_id']}"
    form = {
        "origins": "chai-shop.ru\nwww.chai-shop.ru/catalog/\nhttp://old.chai-shop.ru",
        "groups": "101",
        "label-101": "Продажи",
        "order-101": "1",
        "color": "#0b6bcb",
        "position": "right",
        "language": "ru",
        "ring_strategy": "sequential",
        "ring_timeout": "25",
        "hours_mode": "default",
        "timezone": "Europe/Moscow",
    }
    response = post_form(client, page, form, follow_redirects=True)
    assert response.status_code == 200, response.text[:2000]
    with app.app_context():
        assert db.session.get(Widget, ids["widget_id"]).origins == [
            "http://old.chai-shop.ru",
            "https://chai-shop.ru",
            "https://www.chai-shop.ru",
        ]
    assert "chai-shop.ru → https://chai-shop.ru" in response.text
    assert "www.chai-shop.ru/catalog/ → https://www.chai-shop.ru" in response.text
    assert "http://old.chai-shop.ru →" not in response.text  # typed as stored: nothing to say
    assert "схем" not in response.text


def test_a_site_that_is_no_address_gets_words_without_jargon(site):
    app, ids = site
    client = app.test_client()
    sign_in(client)
    response = post_form(
        client,
        f"/admin/widgets/{ids['widget_id']}",
        {"origins": "ftp://chai-shop.ru", "groups": "101", "hours_mode": "default"},
    )
    assert response.status_code == 400
    assert "как в адресной строке браузера, например chai-shop.ru" in response.text
    assert "схем" not in response.text
