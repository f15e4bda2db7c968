"""Issue 15: the widget's "Leads" tab (analytics, triggers, A/B test) and the look extras."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from widget_server.extensions import db
from widget_server.models import CallbackRequest, FunnelDay, Owner, Widget, WidgetGroup
from widget_server.visitor.look_extras import look_extras

from .admin_support import cyrillic_in, post_form, sign_in, switch_language
from .test_admin_requests import add_request, seed_owner, seeded, signed_in  # noqa: F401

OFF = {
    "after_seconds": None,
    "scroll_percent": None,
    "exit_intent": False,
    "return_visit": False,
    "paths": [],
    "snooze_days": None,
}


def extras(app, widget_id: int) -> dict:
    with app.app_context():
        return look_extras(db.session.get(Widget, widget_id))


def test_a_widget_never_configured_has_every_trigger_off_and_no_test(app, seeded):  # noqa: F811
    assert extras(app, seeded["shop"]) == {
        "analytics": {"metrica_id": None, "ga4": False},
        "triggers": OFF,
        "variants": None,
    }


def save(client, widget_id: int, **fields):
    url = f"/admin/widgets/{widget_id}/leads"
    return post_form(client, url, fields, page_url=url)


def test_the_tab_saves_counters_triggers_and_a_test_into_the_look(app, seeded, signed_in):  # noqa: F811
    shop = seeded["shop"]
    page = signed_in.get(f"/admin/widgets/{shop}/leads")
    assert page.status_code == 200 and "Номер счётчика Яндекс Метрики" in page.data.decode()
    response = save(
        signed_in,
        shop,
        metrica_id="12345678",
        ga4="y",
        after_seconds="20",
        exit_intent="y",
        paths="/catalog/*\n\n/tv\n",
        snooze_days="7",
        ab_enabled="y",
        weight_a="30",
        a_title="",
        b_title="Перезвоним за 30 секунд",
        b_button="Жду звонка",
        b_after_seconds="10",
    )
    assert response.status_code == 302, response.data.decode()[:2000]
    got = extras(app, shop)
    assert got["analytics"] == {"metrica_id": "12345678", "ga4": True}
    assert got["triggers"] == {
        **OFF,
        "after_seconds": 20,
        "exit_intent": True,
        "paths": ["/catalog/*", "/tv"],
        "snooze_days": 7,
    }
    a, b = got["variants"]
    assert a == {"id": "a", "weight": 30, "texts": {}, "triggers": None}
    assert b["id"] == "b" and b["weight"] == 70
    assert b["texts"] == {"title": "Перезвоним за 30 секунд", "button": "Жду звонка"}
    assert b["triggers"] == {**got["triggers"], "after_seconds": 10}
    # The form shows what was saved; saving again keeps the test's start date.
    html = signed_in.get(f"/admin/widgets/{shop}/leads").data.decode()
    assert 'value="12345678"' in html and "Перезвоним за 30 секунд" in html
    with app.app_context():
        started = db.session.get(Widget, shop).lead_settings["ab"]["started"]
    save(signed_in, shop, ab_enabled="y", b_title="Другой", weight_a="50")
    with app.app_context():
        assert db.session.get(Widget, shop).lead_settings["ab"]["started"] == started
    # Switching the test off ends it; the triggers left empty are off again.
    save(signed_in, shop)
    assert extras(app, shop) == {
        "analytics": {"metrica_id": None, "ga4": False},
        "triggers": OFF,
        "variants": None,
    }


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"metrica_id": "12ab"}, "Номер счётчика — только цифры, например 12345678."),
        ({"after_seconds": "0"}, "От 1 до 3600 секунд."),
        ({"after_seconds": "soon"}, "Введите целое число."),
        ({"scroll_percent": "150"}, "От 1 до 100 процентов."),
        ({"snooze_days": "400"}, "От 1 до 365 дней."),
        ({"paths": "catalog"}, "Каждая строка — путь страницы с «/» в начале"),
        ({"ab_enabled": "y"}, "Варианты A и B одинаковы"),
        ({"ab_enabled": "y", "b_title": "x", "weight_a": "101"}, "От 0 до 100 процентов."),
        ({"b_button": "x" * 61}, "Не длиннее 60 знаков."),
    ],
)
def test_bad_input_is_refused_with_a_message_and_nothing_is_saved(
    app,
    seeded,  # noqa: F811
    signed_in,  # noqa: F811
    fields,
    message,
):
    response = save(signed_in, seeded["shop"], **fields)
    assert response.status_code == 400
    assert message in response.data.decode()
    with app.app_context():
        assert db.session.get(Widget, seeded["shop"]).lead_settings is None


def test_the_messages_are_in_english_on_the_english_page(app, seeded):  # noqa: F811
    client = app.test_client()
    switch_language(client, "en")

    sign_in(client)
    response = save(client, seeded["shop"], metrica_id="12ab", after_seconds="0")
    assert response.status_code == 400
    html = response.data.decode()
    assert "only digits" in html and "1 to 3600 seconds" in html


def test_another_owners_widget_tab_is_not_found(app, seeded, signed_in):  # noqa: F811

    other = seed_owner(app, "other@example.com")
    assert signed_in.get(f"/admin/widgets/{other['shop']}/leads").status_code == 404
    assert save(signed_in, other["shop"], metrica_id="1").status_code == 404


def test_the_leads_pages_have_english_for_every_string(app, seeded):  # noqa: F811
    rid = add_request(app, seeded, source_utm_source="google", variant="a")
    with app.app_context():
        db.session.get(Owner, seeded["owner"]).language = "en"
        widget = db.session.get(Widget, seeded["shop"])
        widget.name = "Shop"  # the owner's and visitor's own words are not ours to translate
        db.session.get(CallbackRequest, rid).consent_text = "I agree"
        for blog in db.session.scalars(select(Widget).where(Widget.id == seeded["blog"])):
            blog.name = "Blog"
        for offered in db.session.scalars(select(WidgetGroup)):
            offered.label = "Sales"
        widget.lead_settings = {
            "ab": {"started": "2026-01-01", "a": {"texts": {}}, "b": {"texts": {"title": "B"}}}
        }
        db.session.add(
            FunnelDay(
                widget_id=widget.id,
                day=db.session.get(CallbackRequest, rid).created_at.date(),
                impressions=3,
                opens=1,
            )
        )
        db.session.commit()
    client = app.test_client()
    sign_in(client)
    pages = {
        "tab": client.get(f"/admin/widgets/{seeded['shop']}/leads"),
        "tab errors": save(client, seeded["shop"], metrica_id="x", paths="bad", ab_enabled="y"),
        "dashboard": client.get("/admin/"),
        "request": client.get(f"/admin/requests/{rid}"),
        "log": client.get("/admin/requests?lead_status=new"),
    }
    for name, response in pages.items():
        assert response.status_code in (200, 400), name
        assert cyrillic_in(response.data) == [], name
    assert "not enough data yet" in pages["dashboard"].data.decode()
    assert "Conversion by source" in pages["dashboard"].data.decode()
