"""Issue 15: a request's source is stored, validated, shown, filtered, exported and sent."""

from __future__ import annotations

import json
from datetime import datetime

from sqlalchemy import select

from widget_server.extensions import db
from widget_server.insight.source import clean_source, clean_variant
from widget_server.models import CallbackRequest
from widget_server.notify.outbox import request_summary
from widget_server.notify.webhook import webhook_body

from .admin_support import post_form
from .test_admin_requests import add_request, listed_ids, read_csv, seeded, signed_in  # noqa: F401
from .test_visitor_api import build_site

FULL_SOURCE = {
    "utm_source": "yandex",
    "utm_medium": "cpc",
    "utm_campaign": "winter-sale",
    "utm_term": "телевизор купить",
    "utm_content": "ad-7",
    "yclid": "1234567890",
    "gclid": "EAIaIQobChMI",
    "referrer": "https://yandex.ru/search/?text=tv",
    "landing_page": "https://shop.example/tv?utm_source=yandex",
}


def _stored(site, handle: str) -> CallbackRequest:
    with site.app.app_context():
        req = db.session.scalar(select(CallbackRequest).where(CallbackRequest.handle == handle))
        db.session.expunge(req)
        return req


def test_a_visitor_arriving_with_utm_tags_has_them_all_stored_with_the_request(tmp_path):
    site = build_site(tmp_path)
    body = {
        "phone": "+7 916 123-45-67",
        "consent": True,
        "group": "101",
        "page_url": "https://shop.example/cart",
        "source": FULL_SOURCE,
        "variant": "b",
    }
    response = site.submit(body)
    assert response.status_code == 202, response.json
    req = _stored(site, response.json["handle"])
    assert req.source_utm_source == "yandex" and req.source_utm_medium == "cpc"
    assert req.source_utm_campaign == "winter-sale"
    assert req.source_utm_term == "телевизор купить" and req.source_utm_content == "ad-7"
    assert req.source_yclid == "1234567890" and req.source_gclid == "EAIaIQobChMI"
    assert req.source_referrer == "https://yandex.ru/search/?text=tv"
    assert req.source_landing_page == "https://shop.example/tv?utm_source=yandex"
    assert req.page_url == "https://shop.example/cart"  # the page of the request, as before
    assert req.variant == "b" and req.lead_status == "new"


def test_a_malformed_source_never_costs_the_visitor_the_call_and_is_not_kept(tmp_path):
    site = build_site(tmp_path)
    body = {
        "phone": "+7 916 123-45-67",
        "consent": True,
        "group": "101",
        "source": {
            "utm_source": ["not", "a", "string"],
            "utm_campaign": "x" * 300,
            "referrer": "javascript:alert(1)",
            "landing_page": "/relative/path",
            "utm_medium": "   ",
            "unknown_field": "ignored",
        },
        "variant": "c",
    }
    response = site.submit(body)
    assert response.status_code == 202
    req = _stored(site, response.json["handle"])
    assert req.source_utm_source is None and req.source_utm_medium is None
    assert req.source_utm_campaign == "x" * 200  # capped, not refused
    assert req.source_referrer is None and req.source_landing_page is None
    assert req.variant is None
    # A body with no source at all (an old embed) is taken as before.
    old = site.submit({"phone": "+7 916 123-45-68", "consent": True, "group": "101"})
    assert old.status_code == 202 and _stored(site, old.json["handle"]).source_utm_source is None


def test_source_cleaning_keeps_only_printable_strings_and_web_urls():
    assert clean_source("yandex") == {}
    assert clean_source({"utm_source": " Yandex\n\x00 "}) == {"source_utm_source": "Yandex"}
    assert clean_source({"referrer": "ftp://files.example/x"}) == {}
    assert clean_source({"referrer": "https://"}) == {}
    assert clean_source({"landing_page": "http://shop.example/"}) == {
        "source_landing_page": "http://shop.example/"
    }
    assert [clean_variant(v) for v in ("a", "b", "A", 1, None)] == ["a", "b", None, None, None]


def test_the_webhook_payload_carries_the_source_variant_and_lead_status(app, seeded):  # noqa: F811
    rid = add_request(
        app,
        seeded,
        source_utm_source="google",
        source_utm_campaign="brand",
        source_gclid="G-1",
        variant="a",
    )
    with app.app_context():
        summary = request_summary(db.session.get(CallbackRequest, rid))
    body = json.loads(
        webhook_body(
            {
                "kind": "missed",
                "id": 7,
                "created_at": datetime(2026, 12, 1, 10, 0),
                "payload": {"request": summary},
            }
        )
    )
    source = body["request"]["source"]
    assert source["utm_source"] == "google" and source["utm_campaign"] == "brand"
    assert source["gclid"] == "G-1" and source["yclid"] is None
    assert set(source) == set(FULL_SOURCE)
    assert body["request"]["variant"] == "a" and body["request"]["lead_status"] == "new"


def test_the_csv_has_the_source_columns_at_the_end(app, seeded, signed_in):  # noqa: F811
    add_request(
        app,
        seeded,
        source_utm_source="yandex",
        source_utm_campaign="=cmd",  # a formula in a campaign tag is defused like any cell
        source_referrer="https://ya.ru/",
        variant="b",
        lead_status="in_work",
        lead_comment="перезвонить вечером",
    )
    rows = read_csv(signed_in.get("/admin/requests/export.csv"))
    header = rows[0]
    assert header[:13][-1] == "test"  # the old columns keep their places
    record = dict(zip(header, rows[1], strict=True))
    assert record["utm_source"] == "yandex" and record["utm_campaign"] == "'=cmd"
    assert record["referrer"] == "https://ya.ru/" and record["gclid"] == ""
    assert record["variant"] == "b" and record["lead_status"] == "in_work"
    assert record["lead_comment"] == "перезвонить вечером"


def test_the_log_filters_by_source_campaign_and_lead_status(app, seeded, signed_in):  # noqa: F811
    ya = add_request(app, seeded, source_utm_source="Yandex", source_utm_campaign="winter")
    google = add_request(app, seeded, source_utm_source="google", source_utm_campaign="winter")
    direct = add_request(app, seeded, lead_status="done")
    assert listed_ids(signed_in.get("/admin/requests?source=yandex").data) == [ya]
    assert listed_ids(signed_in.get("/admin/requests?campaign=WINTER").data) == [google, ya]
    assert listed_ids(signed_in.get("/admin/requests?lead_status=done").data) == [direct]
    assert listed_ids(signed_in.get("/admin/requests?lead_status=new").data) == [google, ya]
    bad = signed_in.get("/admin/requests?lead_status=maybe")
    assert bad.status_code == 400 and "Выберите значение из списка." in bad.data.decode()
    csv_rows = read_csv(signed_in.get("/admin/requests/export.csv?source=google"))
    assert [r[0] for r in csv_rows[1:]] == [str(google)]


def test_the_timeline_shows_where_the_visitor_came_from(app, seeded, signed_in):  # noqa: F811
    rid = add_request(
        app,
        seeded,
        source_utm_source="yandex",
        source_utm_campaign="winter",
        source_landing_page="https://shop.example/tv",
        variant="a",
    )
    html = signed_in.get(f"/admin/requests/{rid}").data.decode()
    assert 'data-source-field="utm_source">yandex<' in html
    assert 'data-source-field="utm_campaign">winter<' in html
    assert 'data-source-field="landing_page">https://shop.example/tv<' in html
    assert "data-variant>A<" in html
    unknown = add_request(app, seeded)
    assert "неизвестен" in signed_in.get(f"/admin/requests/{unknown}").data.decode()


def test_a_lead_status_and_comment_are_saved_and_shown_on_the_page_and_list(
    app,
    seeded,  # noqa: F811
    signed_in,  # noqa: F811
):
    rid = add_request(app, seeded)
    url = f"/admin/requests/{rid}/lead"
    page = f"/admin/requests/{rid}"
    response = post_form(
        signed_in, url, {"lead_status": "in_work", "lead_comment": " ждёт КП "}, page_url=page
    )
    assert response.status_code == 302 and response.headers["Location"].endswith(page)
    with app.app_context():
        req = db.session.get(CallbackRequest, rid)
        assert (req.lead_status, req.lead_comment) == ("in_work", "ждёт КП")
    html = signed_in.get(page).data.decode()
    assert '<option selected value="in_work">' in html and "ждёт КП</textarea>" in html
    assert 'data-lead-status="in_work">В работе<' in signed_in.get("/admin/requests").data.decode()
    # A status not on the list, or an overlong comment, changes nothing and says why.
    refused = post_form(signed_in, url, {"lead_status": "won", "lead_comment": "x"}, page_url=page)
    assert refused.status_code == 302
    assert "Выберите значение из списка." in signed_in.get(page).data.decode()
    post_form(signed_in, url, {"lead_status": "done", "lead_comment": "y" * 2001}, page_url=page)
    assert "Не длиннее 2000 знаков." in signed_in.get(page).data.decode()
    with app.app_context():
        assert db.session.get(CallbackRequest, rid).lead_status == "in_work"
