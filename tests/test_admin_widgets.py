"""The widget pages: every setting the command line has, bad input next to its field, scoping."""

from __future__ import annotations

import html as html_lib
import json
import re

import pytest

from widget_server import setup
from widget_server.extensions import db
from widget_server.models import CallbackRequest, Owner, PbxAccount, PbxGroup, Widget
from widget_server.pbx import directory
from widget_server.visitor.embed import snippets

from .admin_support import csrf_token, make_owner, sign_in
from .conftest import make_app

PUBLIC_URL = "https://callback.example.ru"


@pytest.fixture
def app(tmp_path):
    return make_app(tmp_path, PUBLIC_URL=PUBLIC_URL)


def add_account(app, email="owner@example.com") -> int:
    """A PBX account with two groups, as sync-groups leaves it (no PBX needed here)."""
    with app.app_context():
        account = directory.add_pbx(
            setup.find_owner(email), "https://api.cloudpbx.rt.ru", "ID", "KEY"
        )
        account.groups.append(PbxGroup(pin="101", name="Отдел продаж", member_pins=["201"]))
        account.groups.append(PbxGroup(pin="102", name="Сервис", member_pins=["202"]))
        db.session.commit()
        return account.id


@pytest.fixture
def client(app):
    make_owner(app)
    client = app.test_client()
    sign_in(client)
    return client


@pytest.fixture
def account_id(app, client):
    return add_account(app)


def good_form(**changes) -> dict:
    data = {
        "name": "Магазин",
        "origins": "https://shop.example\nhttps://www.shop.example",
        "groups": ["101", "102"],
        "label-101": "Продажи",
        "order-101": "2",
        "label-102": "Поддержка",
        "order-102": "1",
        "language": "ru",
        "ring_strategy": "round_robin",
        "ring_timeout": "20",
        "color": "#aa3300",
        "position": "left",
        "privacy_policy_url": "https://shop.example/privacy",
        "ask_name": "y",
        "text_button": "Позвоните мне!",
        "text_consent": "Согласен на звонок.",
        "hours_mode": "custom",
        "day_mon": "09:00-13:00, 14:00-18:00",
        "day_tue": "10:00-19:00",
        "timezone": "Asia/Yekaterinburg",
        "days_off": "2026-12-31",
        "public_holidays": "y",
        # The settings in words: rows that serialise to the stored format.
        "country-code": "KZ",
        "country-cap": "20",
        **limit_row("per_number", 1, "1", "30", "minute"),
        **limit_row("cap", 1, "5", "1", "hour"),
    }
    data.update(changes)
    return {k: v for k, v in data.items() if v is not None}


def limit_row(kind: str, n: int, count: str, span: str, unit: str) -> dict:
    return {f"{kind}-count-{n}": count, f"{kind}-span-{n}": span, f"{kind}-unit-{n}": unit}


def post_widget(client, url="/admin/widgets/new", **changes):
    page = client.get(url)
    return client.post(url, data={"csrf_token": csrf_token(page.data), **good_form(**changes)})


def error_next_to(response, field_id: str) -> str:
    html = response.get_data(as_text=True)
    match = re.search(rf'<p class="error" id="{re.escape(field_id)}-error">([^<]*)</p>', html)
    assert match, f"no error next to {field_id}"
    return html_lib.unescape(match.group(1))


def only_widget(app) -> Widget:
    return db.session.scalar(db.select(Widget))


def test_a_widget_made_on_the_page_has_every_setting_the_command_line_has(app, client, account_id):
    response = post_widget(client)
    assert response.status_code == 302, response.get_data(as_text=True)[:2000]
    with app.app_context():
        widget = only_widget(app)
        assert widget.origins == ["https://shop.example", "https://www.shop.example"]
        assert [(wg.group.pin, wg.label) for wg in widget.offered_groups] == [
            ("102", "Поддержка"),
            ("101", "Продажи"),
        ]
        assert (widget.ring_strategy, widget.ring_timeout) == ("round_robin", 20)
        assert (widget.color, widget.position, widget.language) == ("#aa3300", "left", "ru")
        assert widget.privacy_policy_url == "https://shop.example/privacy"
        assert widget.texts == {"button": "Позвоните мне!", "consent": "Согласен на звонок."}
        assert widget.hours["mon"] == [["09:00", "13:00"], ["14:00", "18:00"]]
        assert widget.hours["wed"] == []
        assert widget.timezone == "Asia/Yekaterinburg"
        assert widget.days_off == ["2026-12-31"] and widget.public_holidays is True
        assert widget.countries == {"KZ": 20}
        assert widget.limits == {"per_number": "1/30minute", "cap": "5/hour"}
        widget_id, key = widget.id, widget.public_key
    # The editor shows it all again, and the snippets the command line prints.
    page = client.get(f"/admin/widgets/{widget_id}")
    html = page.get_data(as_text=True)
    assert (
        "Позвоните мне!" in html
        and "Asia/Yekaterinburg" in html
        and '<option value="KZ" selected>Казахстан<' in html
    )
    with app.test_request_context():
        tags = snippets(PUBLIC_URL, key)
    assert snippet_on(html, "snippet-pinned") == tags["pinned"]
    assert 'integrity="sha384-' in tags["pinned"]
    assert snippet_on(html, "snippet-latest") == tags["latest"]
    assert snippet_on(html, "snippet-after-load") == tags["after_load"]


def snippet_on(html: str, element_id: str) -> str:
    match = re.search(rf'<textarea id="{element_id}"[^>]*>(.*?)</textarea>', html, re.S)
    return html_lib.unescape(match.group(1))


def test_round_the_clock_and_default_hours_are_one_choice_away(app, client, account_id):
    post_widget(client, hours_mode="always")
    with app.app_context():
        widget = only_widget(app)
        assert widget.hours["sun"] == [["00:00", "24:00"]]
        widget_id = widget.id
    post_widget(client, f"/admin/widgets/{widget_id}", hours_mode="default")
    with app.app_context():
        assert only_widget(app).hours is None


@pytest.mark.parametrize(
    ("changes", "field", "words"),
    [
        # A page address, a bare domain or http:// is a site (tests/test_refused_origins.py);
        # another scheme or a login is not, in words without "схема".
        ({"origins": "https://shop.example\nftp://shop.example"}, "origins", "Строка 2"),
        ({"origins": "mailto:shop@shop.example"}, "origins", "как в адресной строке браузера"),
        ({"origins": "   "}, "origins", "хотя бы один сайт"),
        ({"origins": "https://my shop.example"}, "origins", "недопустимое имя сайта"),
        ({"origins": "https://*.shop.example"}, "origins", "недопустимое имя сайта"),
        ({"origins": "https://shop..example"}, "origins", "недопустимое имя сайта"),
        ({"color": "red"}, "color", "#0b6bcb"),
        ({"color": "#12345"}, "color", "#0b6bcb"),
        ({"privacy_policy_url": "javascript:alert(1)"}, "privacy_policy_url", "https://"),
        ({"privacy_policy_url": "shop.example/privacy"}, "privacy_policy_url", "https://"),
        ({"ring_timeout": "3"}, "ring_timeout", "От 5 до 120"),
        ({"ring_timeout": "soon"}, "ring_timeout", "целое число"),
        ({"ring_strategy": "loudest"}, "ring_strategy", "из списка"),
        ({"position": "top"}, "position", "из списка"),
        ({"language": "de"}, "language", "из списка"),
        ({"timezone": "Mars/Olympus"}, "timezone", "Europe/Moscow"),
        ({"days_off": "2026-12-31\n31.12.2026"}, "days_off", "Строка 2"),
        ({"days_off": "2026-02-30"}, "days_off", "2026-02-30"),
        ({"country-code": ["KZ", "XX"], "country-cap": ["20", "5"]}, "country-2", "из списка"),
        ({"country-code": "RU", "country-cap": "5"}, "country-1", "из списка"),
        ({"country-code": "KZ", "country-cap": "5000"}, "country-1", "от 1 до 1000"),
        ({"country-code": ["KZ", "KZ"], "country-cap": ["5", "6"]}, "country-2", "уже есть"),
        ({"country-code": "", "country-cap": "5"}, "country-1", "Выберите страну"),
        (limit_row("per_number", 1, "lots", "1", "hour"), "per_number-1", "от 1 до 1000"),
        (limit_row("per_number", 1, "2", "0", "hour"), "per_number-1", "от 1 до 999"),
        (limit_row("per_number", 1, "10", "1", "minute"), "per_number-1", "не строже"),
        (limit_row("cap", 1, "1000", "1", "hour"), "cap-1", "не строже"),
        ({"day_mon": "18:00-09:00"}, "day_mon", "18:00-09:00"),
        ({"day_tue": "9-5"}, "day_tue", "9"),
        ({"text_button": "x" * 501}, "text_button", "500"),
        # A "%" in the input is quoted in the message as it is (no %-formatting on the way).
        ({"origins": "https://shop%.example/"}, "origins", "«https://shop%.example/»"),
        ({"days_off": "50% off"}, "days_off", "«50% off»"),
        ({"day_wed": "50%-60%"}, "day_wed", "«50%-60%»"),
    ],
)
def test_bad_input_gets_a_message_next_to_its_field(app, client, account_id, changes, field, words):
    response = post_widget(client, **changes)
    assert response.status_code == 400
    assert words in error_next_to(response, field)
    assert "aria-invalid" in response.get_data(as_text=True)
    with app.app_context():
        assert only_widget(app) is None


def test_a_cyrillic_site_is_stored_as_browsers_send_it_and_shown_in_cyrillic(
    app, client, account_id
):
    response = post_widget(client, origins="https://Магазин.РФ\nhttps://www.shop.example")
    assert response.status_code == 302, response.get_data(as_text=True)[:2000]
    with app.app_context():
        widget = only_widget(app)
        assert widget.origins == ["https://www.shop.example", "https://xn--80aairftm.xn--p1ai"]
        widget_id = widget.id
    listing = client.get("/admin/widgets").get_data(as_text=True)
    assert "https://магазин.рф" in listing and "xn--" not in listing
    editor = client.get(f"/admin/widgets/{widget_id}").get_data(as_text=True)
    assert "https://магазин.рф" in editor and "xn--" not in editor


def test_an_invalid_site_name_is_explained_in_english_on_an_english_page(app, client, account_id):
    with app.app_context():
        db.session.scalar(db.select(Owner)).language = "en"
        db.session.commit()
    response = post_widget(client, origins="https://*.shop.example")
    assert response.status_code == 400
    assert "invalid site name" in error_next_to(response, "origins")


def test_a_stricter_own_limit_is_taken_and_a_looser_one_is_refused(app, client, account_id):
    # The installation's per-number limit through one widget is 1/5minute.
    response = post_widget(client, **limit_row("per_number", 1, "1", "5", "minute"))
    assert response.status_code == 400
    # The server's limits in words, not as 1/5minute.
    message = error_next_to(response, "per_number-1")
    assert (
        "не строже ограничений сервера (1 за 5 минут, 1 за 2 минуты, 3 в час, 5 в день)" in message
    )
    stricter = {
        **limit_row("per_number", 1, "1", "1", "hour"),
        **limit_row("per_number", 2, "2", "1", "day"),
    }
    assert post_widget(client, **stricter).status_code == 302
    with app.app_context():
        assert only_widget(app).limits["per_number"] == "1/hour;2/day"


def test_a_group_not_on_this_pbx_is_refused_by_name(app, client, account_id):
    response = post_widget(client, groups=["101", "999"])
    assert response.status_code == 400
    assert "999" in error_next_to(response, "groups")


def test_a_widget_must_offer_at_least_one_department(app, client, account_id):
    response = post_widget(client, groups=[])
    assert response.status_code == 400
    assert "хотя бы один отдел" in error_next_to(response, "groups")


def test_a_bad_department_order_is_shown_on_that_departments_row(app, client, account_id):
    response = post_widget(client, **{"order-101": "first"})
    assert response.status_code == 400
    assert "от 1 до 99" in error_next_to(response, "group-101")


def test_a_group_with_requests_stays_offered_so_the_log_keeps_it(app, client, account_id):
    post_widget(client)
    with app.app_context():
        widget = only_widget(app)
        wg = widget.offered_groups[0]
        db.session.add(
            CallbackRequest(
                widget=widget, widget_group=wg, phone="+79161234567", origin="x", consent_text="c"
            )
        )
        db.session.commit()
        widget_id, used_pin = widget.id, wg.group.pin
    other = "101" if used_pin == "102" else "102"
    response = post_widget(client, f"/admin/widgets/{widget_id}", groups=[other])
    assert response.status_code == 400
    assert "журнале заявок" in error_next_to(response, "groups")


def test_pausing_stops_the_widget_and_resuming_brings_it_back(app, client, account_id):
    post_widget(client)
    with app.app_context():
        widget = only_widget(app)
        widget_id, key = widget.id, widget.public_key
    config = f"/api/v1/widgets/{key}/config"
    headers = {"Origin": "https://shop.example"}
    assert client.get(config, headers=headers).status_code == 200
    page = client.get(f"/admin/widgets/{widget_id}")
    client.post(f"/admin/widgets/{widget_id}/pause", data={"csrf_token": csrf_token(page.data)})
    paused = client.get(config, headers=headers)
    assert paused.status_code == 403 and paused.get_json()["error"] == "widget_paused"
    assert "на паузе" in client.get("/admin/widgets").get_data(as_text=True)
    client.post(f"/admin/widgets/{widget_id}/pause", data={"csrf_token": csrf_token(page.data)})
    assert client.get(config, headers=headers).status_code == 200


def test_a_widget_with_requests_is_not_deleted_and_one_without_is(app, client, account_id):
    post_widget(client)
    with app.app_context():
        widget = only_widget(app)
        db.session.add(
            CallbackRequest(
                widget=widget,
                widget_group=widget.offered_groups[0],
                phone="+79161234567",
                origin="https://shop.example",
                consent_text="c",
            )
        )
        db.session.commit()
        widget_id = widget.id
    token = csrf_token(client.get(f"/admin/widgets/{widget_id}").data)
    response = client.post(f"/admin/widgets/{widget_id}/delete", data={"csrf_token": token})
    assert response.status_code == 302
    assert "есть заявки (1)" in client.get(response.headers["Location"]).get_data(as_text=True)
    with app.app_context():
        assert db.session.get(Widget, widget_id) is not None
        db.session.execute(db.delete(CallbackRequest))
        db.session.commit()
    client.post(f"/admin/widgets/{widget_id}/delete", data={"csrf_token": token})
    with app.app_context():
        assert db.session.get(Widget, widget_id) is None


def test_another_owners_widget_is_not_found(app, client, account_id):
    make_owner(app, "other@example.com")
    theirs_account = add_account(app, "other@example.com")
    with app.app_context():
        account = db.session.get(PbxAccount, theirs_account)
        theirs = setup.add_widget(account, ["https://other.example"], [("101", None)]).id
    token = csrf_token(client.get("/admin/widgets").data)
    assert client.get(f"/admin/widgets/{theirs}").status_code == 404
    assert client.get(f"/admin/widgets/preview?widget={theirs}").status_code == 404
    assert client.get(f"/admin/widgets/preview?pbx={theirs_account}").status_code == 404
    assert client.get(f"/admin/widgets/new?pbx={theirs_account}").status_code == 404
    for action in ("pause", "delete", "test-call"):
        response = client.post(f"/admin/widgets/{theirs}/{action}", data={"csrf_token": token})
        assert response.status_code == 404, action
    with app.app_context():
        widget = db.session.get(Widget, theirs)
        assert widget is not None and widget.active
    assert "other.example" not in client.get("/admin/widgets").get_data(as_text=True)


def test_the_preview_is_the_real_widget_fed_the_unsaved_fields_and_cannot_connect(
    app, client, account_id
):
    page = client.get("/admin/widgets/new")
    data = {"csrf_token": csrf_token(page.data), "pbx": str(account_id), **good_form()}
    data["groups"] = ["102"]
    response = client.post("/admin/widgets/preview", data=data)
    assert response.status_code == 200
    csp = response.headers["Content-Security-Policy"]
    assert "connect-src 'none'" in csp and "frame-ancestors 'self'" in csp
    assert response.headers["X-Frame-Options"] == "SAMEORIGIN"
    html = response.get_data(as_text=True)
    assert 'src="/embed.js"' in html
    config = json.loads(html_lib.unescape(re.search(r'data-preview="([^"]*)"', html).group(1)))
    assert config["color"] == "#aa3300" and config["position"] == "left"
    assert config["texts"]["button"] == "Позвоните мне!"
    assert config["groups"] == [{"id": "102", "label": "Поддержка"}]
    assert "style=" not in html and "<script>" not in html
    # Every other config page stays unframeable.
    assert "frame-ancestors 'none'" in page.headers["Content-Security-Policy"]
    assert page.headers["X-Frame-Options"] == "DENY"


def test_a_test_call_without_the_owners_number_points_to_the_profile(app, client, account_id):
    post_widget(client)
    with app.app_context():
        widget_id = only_widget(app).id
    token = csrf_token(client.get(f"/admin/widgets/{widget_id}").data)
    response = client.post(
        f"/admin/widgets/{widget_id}/test-call", data={"csrf_token": token}, follow_redirects=True
    )
    html = response.get_data(as_text=True)
    assert "Укажите свой номер в профиле" in html and 'href="/admin/account"' in html
    with app.app_context():
        assert db.session.scalar(db.select(CallbackRequest)) is None


def test_a_test_call_goes_the_visitors_way_and_is_marked_as_a_test(app, client, account_id):
    with app.app_context():
        owner = setup.find_owner("owner@example.com")
        owner.phone = "+79161234567"
        db.session.commit()
    post_widget(client, hours_mode="always")
    with app.app_context():
        widget_id = only_widget(app).id
    token = csrf_token(client.get(f"/admin/widgets/{widget_id}").data)
    response = client.post(
        f"/admin/widgets/{widget_id}/test-call",
        data={"csrf_token": token, "group": "101"},
        follow_redirects=True,
    )
    assert "Тестовый звонок заказан" in response.get_data(as_text=True)
    with app.app_context():
        req = db.session.scalar(db.select(CallbackRequest))
        assert req.is_test and req.phone == "+79161234567"
        assert req.widget_group.group.pin == "101"
        assert "owner@example.com" in req.consent_text
        assert req.status == "queued" and req.next_dispatch_at is not None
        request_id = req.id
    status = client.get(f"/admin/widgets/{widget_id}/test-call/{request_id}").get_json()
    assert status["status"] == "queued" and status["final"] is False
    # The same limits as a visitor's: one active call per number.
    again = client.post(
        f"/admin/widgets/{widget_id}/test-call",
        data={"csrf_token": token},
        follow_redirects=True,
    )
    refused = again.get_data(as_text=True)
    assert "Тестовый звонок не заказан: Слишком много запросов. Попробуйте через 1 мин." in refused
    with app.app_context():
        assert db.session.scalar(db.select(db.func.count(CallbackRequest.id))) == 1


def test_new_widget_without_a_pbx_sends_the_owner_to_connect_one(client):
    response = client.get("/admin/widgets/new")
    assert response.status_code == 302 and response.headers["Location"].endswith("/admin/pbx/new")


def test_the_widget_pages_have_english_for_every_string(app, client, account_id):
    post_widget(client)
    with app.app_context():
        widget_id = only_widget(app).id
    client.post(
        "/admin/language",
        data={"lang": "en", "csrf_token": csrf_token(client.get("/admin/widgets").data)},
    )
    for path in ("/admin/widgets", "/admin/widgets/new", f"/admin/widgets/{widget_id}"):
        html = client.get(path).get_data(as_text=True)
        # Only the owner's own data may be Russian: strip inputs, textareas and placeholders.
        html = re.sub(r"<textarea[^>]*>.*?</textarea>", " ", html, flags=re.S)
        html = re.sub(r'(value|placeholder)="[^"]*"', " ", html)
        text = re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html))
        for own in ("Магазин", "Продажи", "Поддержка", "Отдел продаж", "Сервис", "Русский"):
            text = text.replace(own, "")
        assert re.findall(r"[А-Яа-яЁё]+", text) == [], path


def test_pbx_and_widget_pages_have_no_inline_scripts_styles_or_handlers(app, client, account_id):
    post_widget(client)
    with app.app_context():
        widget_id = only_widget(app).id
    paths = [
        "/admin/pbx",
        "/admin/pbx/new",
        f"/admin/pbx/{account_id}",
        f"/admin/pbx/{account_id}/edit",
        "/admin/widgets",
        "/admin/widgets/new",
        f"/admin/widgets/{widget_id}",
        f"/admin/widgets/preview?widget={widget_id}",
    ]
    for path in paths:
        response = client.get(path)
        assert response.status_code == 200, path
        html = response.get_data(as_text=True)
        assert not re.search(r"<script(?![^>]*\bsrc=)[^>]*>", html), path
        assert "<style" not in html, path
        assert not re.search(r"\sstyle=", html), path
        assert not re.search(r"\son[a-z]+=", html), path
