"""The public widget API: origins and CORS, validation, limits, status, and the embed script."""

from __future__ import annotations

import base64
import hashlib
import json
import re
import threading
from dataclasses import dataclass
from typing import Any

import pytest
import requests
from sqlalchemy import event, func, select

from widget_server import __version__, setup
from widget_server.extensions import db
from widget_server.models import CallAttempt, CallbackRequest, Owner, PbxGroup, Widget
from widget_server.pbx import directory
from widget_server.statuses import Status
from widget_server.visitor.texts import API_ERRORS, STATUS_MESSAGES, status_message

from .conftest import ServerThread, make_app

SHOP = "https://shop.example"
OTHER = "https://evil.example"
CYRILLIC = re.compile(r"[а-яА-ЯёЁ]")


@dataclass
class Site:
    """An app with a Russian and an English widget for SHOP, on a PBX never contacted."""

    app: Any
    client: Any
    ru_key: str
    en_key: str

    def submit(self, body: Any = None, *, key: str | None = None, headers=None, **kwargs):
        if body is None:
            body = {"phone": "+7 916 123-45-67", "consent": True, "group": "101"}
        headers = {"Origin": SHOP} if headers is None else headers
        return self.client.post(
            f"/api/v1/widgets/{key or self.ru_key}/requests", json=body, headers=headers, **kwargs
        )

    def stored(self) -> int:
        with self.app.app_context():
            return db.session.scalar(select(func.count(CallbackRequest.id)))


def build_site(tmp_path, **overrides) -> Site:
    app = make_app(tmp_path, **overrides)
    with app.app_context():
        # Made directly: hashing a password would only slow every test down.
        owner = Owner(email="owner@shop.example", password_hash="not-used-here")
        account = directory.add_pbx(
            owner, "https://api-test.cloudpbx.rt.ru", "CLIENT0001", "KEY0001", "shop.rt.ru"
        )
        db.session.add_all(
            [
                PbxGroup(account=account, pin="101", name="Продажи", member_pins=["201", "202"]),
                PbxGroup(account=account, pin="102", name="Сервис", member_pins=["203"]),
            ]
        )
        db.session.commit()
        ru = setup.add_widget(account, [SHOP], [("101", "Продажи"), ("102", "Сервис")])
        en = setup.add_widget(
            account, [SHOP], [("101", "Sales"), ("102", "Service")], language="en"
        )
        keys = ru.public_key, en.public_key
    return Site(app, app.test_client(), *keys)


@pytest.fixture
def site(tmp_path):
    return build_site(tmp_path)


def _request(site: Site, handle: str) -> CallbackRequest:
    with site.app.app_context():
        req = db.session.scalar(select(CallbackRequest).where(CallbackRequest.handle == handle))
        db.session.expunge(req)
        return req


# -- which pages may use a widget ------------------------------------------------------------
def test_an_unknown_widget_is_a_404_in_json(site):
    response = site.submit(key="wk_does_not_exist")
    assert response.status_code == 404
    assert response.is_json
    assert response.json["error"] == "widget_unknown"
    assert site.client.get("/api/v1/widgets/wk_nope/config", headers={"Origin": SHOP}).json[
        "error"
    ] == ("widget_unknown")
    assert site.stored() == 0


@pytest.mark.parametrize(
    "origin",
    [
        OTHER,
        "http://shop.example",  # another scheme is another origin
        "https://shop.example:8443",
        "https://shop.example.evil.com",
        "https://evilshop.example",
    ],
)
def test_a_disallowed_origin_is_refused_and_nothing_is_stored(site, origin):
    response = site.submit(headers={"Origin": origin, "Referer": f"{SHOP}/page"})
    assert response.status_code == 403
    assert response.json["error"] == "origin_not_allowed"
    assert "Access-Control-Allow-Origin" not in response.headers
    assert site.stored() == 0


@pytest.mark.parametrize(
    "headers",
    [
        {"Origin": "http://["},
        {"Origin": "https://[::1"},
        {"Referer": "https://[shop.example/page"},
        {"Origin": "https://shop.example:99999"},
    ],
)
def test_a_malformed_origin_or_referer_is_refused_not_an_error(site, headers):
    response = site.submit(headers=headers)
    assert response.status_code == 403
    assert response.json["error"] == "origin_not_allowed"
    assert site.stored() == 0


def test_a_request_without_origin_but_with_a_referer_from_an_allowed_page_is_accepted(site):
    response = site.submit(headers={"Referer": f"{SHOP}/catalog/item?id=7#reviews"})
    assert response.status_code == 202
    req = _request(site, response.json["handle"])
    assert req.origin == SHOP
    assert req.phone == "+79161234567"


@pytest.mark.parametrize(
    "headers",
    [{}, {"Origin": "null"}, {"Referer": "about:blank"}, {"Origin": "null", "Referer": ""}],
)
def test_a_request_with_neither_a_usable_origin_nor_referer_is_refused(site, headers):
    response = site.submit(headers=headers)
    assert response.status_code == 403
    assert site.stored() == 0


def test_an_allowed_origin_written_differently_is_recognised(site):
    response = site.submit(headers={"Origin": "HTTPS://Shop.Example:443"})
    assert response.status_code == 202
    assert response.headers["Access-Control-Allow-Origin"] == SHOP


def test_an_accepted_request_keeps_a_consent_record(site):
    response = site.submit(
        {
            "phone": "8 (916) 123-45-67",
            "consent": True,
            "group": "102",
            "name": "  Мария  ",
            "page_url": f"{SHOP}/contacts",
        }
    )
    assert response.status_code == 202
    assert response.json["status"]["status"] == "queued"
    req = _request(site, response.json["handle"])
    assert req.consent_text.startswith("Я даю согласие")
    assert req.consent_at is not None
    assert (req.origin, req.client_ip, req.name) == (SHOP, "127.0.0.1", "Мария")
    assert req.page_url == f"{SHOP}/contacts"
    assert req.status == "queued"


# -- CORS ---------------------------------------------------------------------------------------
def test_a_preflight_from_an_allowed_origin_names_that_exact_origin(site):
    response = site.client.options(
        f"/api/v1/widgets/{site.ru_key}/requests",
        headers={
            "Origin": SHOP,
            "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "content-type",
        },
    )
    assert response.status_code == 204
    assert response.headers["Access-Control-Allow-Origin"] == SHOP
    assert "Origin" in response.headers.get_all("Vary")
    assert response.headers["Access-Control-Max-Age"] == "600"
    assert "POST" in response.headers["Access-Control-Allow-Methods"]
    assert "content-type" in response.headers["Access-Control-Allow-Headers"].lower()
    assert "Access-Control-Allow-Credentials" not in response.headers


def test_a_preflight_from_another_origin_gets_no_cors_permission(site):
    response = site.client.options(
        f"/api/v1/widgets/{site.ru_key}/requests",
        headers={"Origin": OTHER, "Access-Control-Request-Method": "POST"},
    )
    assert "Access-Control-Allow-Origin" not in response.headers
    assert "Origin" in response.headers.get_all("Vary")
    assert response.status_code == 403


def test_every_widget_response_varies_on_origin_exposes_retry_after_and_sets_no_cookie(site):
    site.client.set_cookie("session", "an-owner-session-cookie")
    site.client.set_cookie("csrf_token", "abc")
    accepted = site.submit()
    handle = accepted.json["handle"]
    responses = {
        "config": site.client.get(
            f"/api/v1/widgets/{site.ru_key}/config", headers={"Origin": SHOP}
        ),
        "accepted": accepted,
        "invalid": site.submit({"phone": "abc", "consent": True, "group": "101"}),
        "limited": site.submit(),
        "status": site.client.get(f"/api/v1/requests/{handle}", headers={"Origin": SHOP}),
        "cancel": site.client.post(f"/api/v1/requests/{handle}/cancel", headers={"Origin": SHOP}),
    }
    assert [r.status_code for r in responses.values()] == [200, 202, 422, 429, 200, 200]
    for name, response in responses.items():
        assert "Origin" in response.headers.get_all("Vary"), name
        assert response.headers["Access-Control-Allow-Origin"] == SHOP, name
        assert "Retry-After" in response.headers["Access-Control-Expose-Headers"], name
        assert response.headers.get_all("Set-Cookie") == [], name
        assert response.headers["Cache-Control"] == "no-store", name
    refused = site.submit(headers={"Origin": OTHER})
    assert "Origin" in refused.headers.get_all("Vary")
    assert refused.headers.get_all("Set-Cookie") == []


# -- validation -------------------------------------------------------------------------------
VALID = {"phone": "+7 916 123-45-67", "consent": True, "group": "101"}


@pytest.mark.parametrize(
    ("change", "field", "code"),
    [
        ({"phone": "not a number"}, "phone", "phone_invalid"),
        ({"phone": "+7 916 12"}, "phone", "phone_invalid"),
        ({"phone": ""}, "phone", "phone_required"),
        ({"phone": "+7 495 123-45-67 доб. 5"}, "phone", "phone_extension"),
        ({"phone": None}, "phone", "phone_required"),
        ({"phone": "8 800 555-35-35"}, "phone", "phone_not_allowed"),
        ({"phone": "+44 20 7946 0958"}, "phone", "phone_not_allowed"),
        ({"phone": "+7 701 700 00 00"}, "phone", "phone_not_allowed"),
        ({"consent": None}, "consent", "consent_required"),
        ({"consent": False}, "consent", "consent_required"),
        ({"consent": "true"}, "consent", "consent_required"),
        ({"consent": 1}, "consent", "consent_required"),
        ({"group": "999"}, "group", "group_unknown"),
        ({"group": None}, "group", "group_unknown"),  # two groups offered: one must be chosen
        ({"group": ["101"]}, "group", "group_unknown"),
        ({"name": "Я" * 101}, "name", "name_too_long"),
        ({"name": 42}, "name", "name_too_long"),
        # Values of another type than the API document gives are refused, not dropped:
        # a filled trap field of the wrong type would otherwise be accepted, disguised.
        ({"website": True}, "website", "field_invalid"),
        ({"tz": 3}, "tz", "field_invalid"),
        ({"phone": "+7 916 123-45-67" + " " * 20}, "phone", "phone_invalid"),
    ],
)
@pytest.mark.parametrize("language", ["ru", "en"])
def test_an_invalid_field_gets_a_422_with_a_message_in_the_widgets_language(
    site, language, change, field, code
):
    key = site.ru_key if language == "ru" else site.en_key
    body = {k: v for k, v in {**VALID, **change}.items() if v is not None}
    response = site.submit(body, key=key)
    assert response.status_code == 422
    assert response.json["error"] == "validation"
    assert response.json["fields"] == {field: API_ERRORS[language][code]}
    message = response.json["fields"][field]
    assert bool(CYRILLIC.search(message)) is (language == "ru")
    assert site.stored() == 0


def test_all_invalid_fields_are_reported_together(site):
    response = site.submit({"phone": "abc", "group": "999", "name": "x" * 200}, key=site.en_key)
    assert response.status_code == 422
    assert set(response.json["fields"]) == {"phone", "consent", "group", "name"}


def test_a_name_of_exactly_100_characters_is_accepted(site):
    response = site.submit({**VALID, "name": "Я" * 100})
    assert response.status_code == 202


def test_the_lang_parameter_picks_the_language_of_the_messages(site):
    response = site.client.post(
        f"/api/v1/widgets/{site.ru_key}/requests?lang=en",
        json={**VALID, "consent": "true"},
        headers={"Origin": SHOP},
    )
    assert response.json["fields"]["consent"] == API_ERRORS["en"]["consent_required"]


def test_a_body_over_4096_bytes_is_a_413(site):
    body = {**VALID, "name": "x", "padding": "y" * 4100}
    response = site.submit(body)
    assert response.status_code == 413
    assert response.json["error"] == "too_large"
    assert site.stored() == 0


@pytest.mark.parametrize(
    "raw",
    [b'{"phone": "+79161234567", "consent": tr', b"", b"\xff\xfe{}", b"phone=+79161234567"],
    ids=["truncated", "empty", "not utf-8", "form-encoded"],
)
def test_a_malformed_json_body_is_a_400(site, raw):
    response = site.client.post(
        f"/api/v1/widgets/{site.ru_key}/requests",
        data=raw,
        headers={"Origin": SHOP, "Content-Type": "application/json"},
    )
    assert response.status_code == 400
    assert response.json["error"] == "bad_json"
    assert site.stored() == 0


@pytest.mark.parametrize("raw", [json.dumps([VALID]), '"a string"', "42", "null", "true"])
def test_json_that_is_not_an_object_is_a_400(site, raw):
    response = site.client.post(
        f"/api/v1/widgets/{site.ru_key}/requests",
        data=raw,
        headers={"Origin": SHOP, "Content-Type": "application/json"},
    )
    assert response.status_code == 400
    assert response.json["error"] == "bad_json"
    assert site.stored() == 0


@pytest.mark.parametrize("raw", ["[" * 3000, '{"":' * 1020], ids=["arrays", "objects"])
def test_deeply_nested_json_within_the_size_limit_is_a_400_not_an_error(site, raw):
    assert len(raw) <= 4096
    response = site.client.post(
        f"/api/v1/widgets/{site.ru_key}/requests",
        data=raw,
        headers={"Origin": SHOP, "Content-Type": "application/json"},
    )
    assert response.status_code == 400
    assert response.json["error"] == "bad_json"


def test_a_paused_widget_refuses_requests_readably_and_stores_nothing(site):
    with site.app.app_context():
        widget = db.session.scalar(select(Widget).where(Widget.public_key == site.ru_key))
        widget.active = False
        db.session.commit()
    response = site.submit()
    assert response.status_code == 403
    assert response.json["error"] == "widget_paused"
    assert response.headers["Access-Control-Allow-Origin"] == SHOP
    assert site.stored() == 0


def test_a_text_plain_body_is_read_as_json_so_no_preflight_is_needed(site):
    response = site.client.post(
        f"/api/v1/widgets/{site.ru_key}/requests",
        data=json.dumps(VALID),
        headers={"Origin": SHOP, "Content-Type": "text/plain;charset=UTF-8"},
    )
    assert response.status_code == 202


# -- rate limits -----------------------------------------------------------------------------
def test_the_same_number_twice_within_two_minutes_is_a_429_with_retry_after(tmp_path):
    site = build_site(tmp_path, RATELIMIT_NUMBER="1/2minute;3/hour;5/day")
    first = site.submit({**VALID, "phone": "+7 916 123-45-67"})
    assert first.status_code == 202
    # The same number written another way, on another widget of the same owner.
    again = site.submit({**VALID, "phone": "8 916 123 45 67"}, key=site.en_key)
    assert again.status_code == 429
    retry_after = again.headers["Retry-After"]
    assert retry_after.isdigit()
    assert 1 <= int(retry_after) <= 120
    assert again.json["retry_after"] == int(retry_after)
    assert again.json["error"] == "rate_limited"
    minutes = -(-int(retry_after) // 60)  # said in whole minutes up, never "551 s"
    wait = f"{minutes} min" if int(retry_after) >= 60 else f"{retry_after} s"
    assert f"Try again in {wait}." in again.json["message"]
    assert site.stored() == 1
    another_number = site.submit({**VALID, "phone": "+7 916 765-43-21"})
    assert another_number.status_code == 202


def test_refused_submissions_do_not_use_up_the_number_limit(tmp_path):
    site = build_site(tmp_path, RATELIMIT_NUMBER="1/2minute;3/hour;5/day")
    assert site.submit({**VALID, "consent": False}).status_code == 422
    assert site.submit(VALID).status_code == 202


def test_too_many_requests_from_one_ip_get_a_429_with_retry_after(tmp_path):
    site = build_site(tmp_path, RATELIMIT_IP="3/10minute;10/hour")
    for n in range(3):
        assert site.submit({**VALID, "phone": f"+7 916 000-00-1{n}"}).status_code == 202
    limited = site.submit({**VALID, "phone": "+7 916 000-00-19"})
    assert limited.status_code == 429
    assert limited.headers["Retry-After"].isdigit()
    # Rounded up, so a client that waits this long is never refused again.
    assert 1 <= int(limited.headers["Retry-After"]) <= 601
    assert limited.json["retry_after"] == int(limited.headers["Retry-After"])
    assert limited.headers["Access-Control-Allow-Origin"] == SHOP
    assert site.stored() == 3


def test_a_forged_x_forwarded_for_does_not_escape_the_ip_limit(tmp_path):
    site = build_site(tmp_path, RATELIMIT_IP="2/10minute")
    for n in range(2):
        headers = {"Origin": SHOP, "X-Forwarded-For": f"198.51.100.{n}"}
        assert (
            site.submit({**VALID, "phone": f"+7 916 000-00-2{n}"}, headers=headers).status_code
            == 202
        )
    headers = {"Origin": SHOP, "X-Forwarded-For": "203.0.113.99"}
    assert site.submit({**VALID, "phone": "+7 916 000-00-29"}, headers=headers).status_code == 429


def test_concurrent_submits_for_one_number_are_accepted_only_once(tmp_path):
    site = build_site(
        tmp_path,
        RATELIMIT_NUMBER="1/2minute;3/hour;5/day",
        RATELIMIT_IP="1000/minute",
        RATELIMIT_IP_GLOBAL="1000/minute",
    )
    server = ServerThread(site.app)
    try:
        for round_ in range(4):  # the race is timing-dependent: several rounds expose it
            phone = f"+7 916 555-00-{round_:02d}"
            barrier = threading.Barrier(20)
            codes: list[int] = []

            def submit(phone=phone, barrier=barrier, codes=codes):
                with requests.Session() as session:
                    barrier.wait()
                    response = session.post(
                        f"{server.url}/api/v1/widgets/{site.ru_key}/requests",
                        json={**VALID, "phone": phone},
                        headers={"Origin": SHOP},
                        timeout=30,
                    )
                    codes.append(response.status_code)

            threads = [threading.Thread(target=submit) for _ in range(20)]
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join(timeout=30)
            assert sorted(codes) == [202] + [429] * 19, f"round {round_}"
        assert site.stored() == 4
    finally:
        server.stop()


# -- status and cancel ----------------------------------------------------------------------------
def test_the_status_shows_only_coarse_fields_and_never_the_number(site):
    handle = site.submit({**VALID, "name": "Мария"}).json["handle"]
    response = site.client.get(f"/api/v1/requests/{handle}", headers={"Origin": SHOP})
    assert response.status_code == 200
    assert set(response.json) == {
        "status",
        "final",
        "cancellable",
        "message",
        "updated_at",
        "scheduled_for",
        "stage",
        "retry_at",
        "final_action",
        "title",
        "wait_seconds",
    }
    assert response.json["status"] == "queued"
    assert response.json["cancellable"] is True
    text = response.get_data(as_text=True)
    for secret in ("916", "4567", "Мария", "127.0.0.1"):
        assert secret not in text


def test_a_poll_reads_the_request_its_widget_and_its_calls_in_one_statement(site):
    handle = site.submit().json["handle"]
    with site.app.app_context():
        req = db.session.scalar(select(CallbackRequest).where(CallbackRequest.handle == handle))
        req.status = Status.CALLING_OPERATOR
        for seq, pin, outcome in ((1, "201", "no_answer"), (2, "202", None)):
            db.session.add(
                CallAttempt(
                    request=req, seq=seq, operator_pin=pin, stage="sent", round=1, outcome=outcome
                )
            )
        db.session.commit()

    response, statements = _with_statements(
        site, lambda: site.client.get(f"/api/v1/requests/{handle}", headers={"Origin": SHOP})
    )

    assert response.json["stage"] == "next_operator"  # the first operator did not answer
    assert response.json["cancellable"] is False  # the second is being rung
    assert len(statements) == 1, statements


def test_a_submit_reads_the_widget_with_its_departments_and_owner_in_one_statement(site):
    site.submit()  # the first of the process: nothing is warm

    response, statements = _with_statements(
        site, lambda: site.submit({**VALID, "phone": "+7 916 123-45-68"})
    )

    assert response.status_code == 202
    # The widget with its departments and owner, the block list, the one-active-call
    # check, the insert: each table read once.
    assert [s.split()[0] for s in statements] == ["SELECT", "SELECT", "SELECT", "INSERT"]
    assert "widget_groups" in statements[0] and "owners" in statements[0]


def _with_statements(site: Site, call):
    """What ``call()`` returns, and the SQL statements it ran."""
    statements = []

    def count(_conn, _cursor, statement, *_args):
        statements.append(statement)

    with site.app.app_context():
        engine = db.engine
    event.listen(engine, "before_cursor_execute", count)
    try:
        return call(), statements
    finally:
        event.remove(engine, "before_cursor_execute", count)


def test_the_status_is_refused_to_another_origin(site):
    handle = site.submit().json["handle"]
    response = site.client.get(f"/api/v1/requests/{handle}", headers={"Origin": OTHER})
    assert response.status_code == 403
    assert "status" not in response.json


def test_an_unknown_handle_is_a_404(site):
    response = site.client.get("/api/v1/requests/no-such-handle", headers={"Origin": SHOP})
    assert response.status_code == 404


def test_a_queued_request_can_be_cancelled(site):
    handle = site.submit().json["handle"]
    response = site.client.post(f"/api/v1/requests/{handle}/cancel", headers={"Origin": SHOP})
    assert response.status_code == 200
    assert response.json["status"] == "cancelled"
    assert response.json["final"] is True
    assert response.json["cancellable"] is False
    assert _request(site, handle).status == "cancelled"


def test_cancelling_after_a_call_attempt_exists_is_a_409(site):
    handle = site.submit().json["handle"]
    with site.app.app_context():
        req = db.session.scalar(select(CallbackRequest).where(CallbackRequest.handle == handle))
        db.session.add(CallAttempt(request=req, seq=1, operator_pin="201", stage="sent"))
        db.session.commit()
    response = site.client.post(f"/api/v1/requests/{handle}/cancel", headers={"Origin": SHOP})
    assert response.status_code == 409
    assert response.json["error"] == "too_late"
    assert _request(site, handle).status == "queued"
    status = site.client.get(f"/api/v1/requests/{handle}", headers={"Origin": SHOP})
    assert status.json["cancellable"] is False


# -- documents and the embed script ------------------------------------------------------------
def test_the_openapi_document_describes_the_widget_paths(site):
    response = site.client.get("/api/v1/openapi.json")
    assert response.status_code == 200
    spec = response.json
    assert spec["openapi"] == "3.1.0"
    assert spec["info"]["version"] == __version__
    assert set(spec["paths"]) == {
        "/api/v1/widgets/{key}/config",
        "/api/v1/widgets/{key}/look",
        "/api/v1/widgets/{key}/session",
        "/api/v1/widgets/{key}/requests",
        "/api/v1/requests/{handle}",
        "/api/v1/requests/{handle}/cancel",
        "/api/v1/requests/{handle}/events",
        "/api/v1/widgets/{key}/beacon",
    }
    for refs in re.findall(r'"#/components/schemas/(\w+)"', response.get_data(as_text=True)):
        assert refs in spec["components"]["schemas"]


def test_the_openapi_status_enum_is_every_status_there_is(site):
    spec = site.client.get("/api/v1/openapi.json").json
    documented = spec["components"]["schemas"]["Status"]["properties"]["status"]["enum"]
    assert documented == [status.value for status in Status]


@pytest.mark.parametrize("language", ["ru", "en"])
def test_every_status_has_a_visitor_message_in_russian_and_english(language):
    assert set(STATUS_MESSAGES[language]) == set(Status)
    for status in Status:
        message = status_message(language, status)
        assert message.strip() and message != status.value


def test_the_latest_embed_script_is_javascript_any_site_may_load(site):
    response = site.client.get("/embed.js")
    assert response.status_code == 200
    assert response.mimetype == "text/javascript"
    assert response.headers["Access-Control-Allow-Origin"] == "*"
    assert "immutable" not in response.headers["Cache-Control"]
    assert response.headers.get_all("Set-Cookie") == []


def test_the_pinned_embed_script_is_immutable_and_its_integrity_hash_matches_its_bytes(site):
    response = site.client.get(f"/embed/{__version__}/embed.js")
    assert response.status_code == 200
    assert response.mimetype == "text/javascript"
    assert "immutable" in response.headers["Cache-Control"]
    assert "max-age=31536000" in response.headers["Cache-Control"]
    digest = base64.b64encode(hashlib.sha384(response.get_data()).digest()).decode()
    assert response.headers["X-Widget-Integrity"] == f"sha384-{digest}"
    assert response.get_data() == site.client.get("/embed.js").get_data()


def test_the_widget_config_lists_the_offered_groups_in_order(site):
    response = site.client.get(f"/api/v1/widgets/{site.en_key}/config", headers={"Origin": SHOP})
    assert response.status_code == 200
    assert response.json["language"] == "en"
    assert response.json["groups"] == [
        {"id": "101", "label": "Sales"},
        {"id": "102", "label": "Service"},
    ]
    assert "sign_key" not in response.get_data(as_text=True)
