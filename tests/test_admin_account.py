"""The owner's profile page: password, phone, language, notifications, retention, forget a number."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import func, select

from widget_server.extensions import db
from widget_server.models import CallbackRequest, Owner

from .admin_support import PASSWORD, make_owner, make_site_objects, post_form, sign_in


@pytest.fixture
def owner_id(app):
    return make_owner(app)


@pytest.fixture
def signed_in(client, owner_id):
    sign_in(client)
    return client


def post_account(client, path, data):
    return post_form(client, f"/admin/account/{path}", data, page_url="/admin/account")


def error_of(html: str, field_id: str) -> str | None:
    match = re.search(rf'<p class="error" id="{field_id}-error">([^<]*)</p>', html)
    return match.group(1) if match else None


def owner(app, owner_id) -> Owner:
    with app.app_context():
        found = db.session.get(Owner, owner_id)
        db.session.expunge(found)
        return found


NOTIFY_DEFAULTS = {"notify_email": "", "webhook_url": "", "retention_days": "30"}


def test_the_profile_page_needs_a_signed_in_owner(client):
    response = client.get("/admin/account")
    assert response.status_code == 302
    assert response.headers["Location"].startswith("/admin/sign-in?next=/admin/account")


def test_the_profile_page_shows_every_section_with_labelled_fields(signed_in):
    html = signed_in.get("/admin/account").text
    for field_id in (
        "current_password",
        "new_password",
        "confirm_password",
        "phone",
        "language",
        "notify_email",
        "webhook_url",
        "daily_digest",
        "retention_days",
        "number",
    ):
        assert f'for="{field_id}"' in html or f'id="{field_id}"' in html
        assert f'id="{field_id}"' in html
    assert html.count('name="csrf_token"') >= 5


@pytest.mark.parametrize(
    ("data", "field_id", "message"),
    [
        (
            {
                "current_password": "wrong password",
                "new_password": "x" * 10,
                "confirm_password": "x" * 10,
            },
            "current_password",
            "Неверный текущий пароль.",
        ),
        (
            {"current_password": PASSWORD, "new_password": "short", "confirm_password": "short"},
            "new_password",
            "Не короче 8 символов.",
        ),
        (
            {"current_password": PASSWORD, "new_password": "x" * 10, "confirm_password": "y" * 10},
            "confirm_password",
            "Пароли не совпадают.",
        ),
        (
            {"current_password": "", "new_password": "x" * 10, "confirm_password": "x" * 10},
            "current_password",
            "Заполните это поле.",
        ),
    ],
)
def test_a_refused_password_change_says_why_next_to_the_field(
    app, signed_in, owner_id, data, field_id, message
):
    response = post_account(signed_in, "password", data)
    assert response.status_code == 400
    assert error_of(response.text, field_id) == message
    with app.app_context():
        assert db.session.get(Owner, owner_id).password_changed_at is None


def test_the_phone_for_test_calls_is_stored_in_e164(app, signed_in, owner_id):
    response = post_account(signed_in, "profile", {"phone": "8 (916) 123-45-67", "language": "ru"})
    assert response.status_code == 302
    assert owner(app, owner_id).phone == "+79161234567"
    assert 'value="+79161234567"' in signed_in.get("/admin/account").text
    post_account(signed_in, "profile", {"phone": "", "language": "ru"})
    assert owner(app, owner_id).phone is None


@pytest.mark.parametrize(
    ("phone", "message"),
    [
        ("12345", "Введите номер, например +7 916 123-45-67."),
        ("+7 800 555-35-35", "Это не российский мобильный или городской номер."),
        ("+7 701 123 4567", "Это не российский мобильный или городской номер."),
        ("٩١٦١٢٣٤٥٦٧", "Введите номер, например +7 916 123-45-67."),
        ("9" * 40, "Введите номер, например +7 916 123-45-67."),
    ],
)
def test_a_bad_phone_number_gets_a_message_next_to_the_field(
    app, signed_in, owner_id, phone, message
):
    response = post_account(signed_in, "profile", {"phone": phone, "language": "ru"})
    assert response.status_code == 400
    assert error_of(response.text, "phone") == message
    # Still the Profile section in the menu, though the address is /admin/account/profile.
    assert re.search(r'href="/admin/account"\s+aria-current="page"', response.text)
    assert not re.search(r'href="/admin/"\s+aria-current', response.text)
    assert owner(app, owner_id).phone is None


def test_choosing_english_in_the_profile_switches_the_pages_and_is_remembered(
    app, signed_in, owner_id
):
    response = post_account(signed_in, "profile", {"phone": "", "language": "en"})
    assert response.status_code == 302
    assert owner(app, owner_id).language == "en"
    assert "Change password" in signed_in.get("/admin/account").text
    # A new session (another browser) starts in the owner's language.
    other = app.test_client()
    sign_in(other)
    assert "Change password" in other.get("/admin/account").text


def test_an_unknown_language_is_refused_next_to_the_field(signed_in):
    response = post_account(signed_in, "profile", {"phone": "", "language": "de"})
    assert response.status_code == 400
    assert error_of(response.text, "language")


def test_notification_settings_are_saved_like_set_notifications_does(app, signed_in, owner_id):
    response = post_account(
        signed_in,
        "notifications",
        {"notify_email": "alerts@shop.example", "webhook_url": "", "retention_days": "14"},
    )
    assert response.status_code == 302
    saved = owner(app, owner_id)
    assert saved.notify_email == "alerts@shop.example"
    assert saved.daily_digest is False  # an unticked box is "no"
    assert saved.retention_days == 14
    assert saved.webhook_url is None and saved.webhook_secret is None
    post_account(signed_in, "notifications", {**NOTIFY_DEFAULTS, "daily_digest": "y"})
    saved = owner(app, owner_id)
    assert saved.notify_email is None and saved.daily_digest is True


def test_a_new_webhook_gets_a_secret_that_is_shown_exactly_once(app, signed_in, owner_id):
    post_account(
        signed_in,
        "notifications",
        {**NOTIFY_DEFAULTS, "webhook_url": "https://crm.example/hooks/callback"},
    )
    secret = owner(app, owner_id).webhook_secret
    assert secret and len(secret) == 64
    first = signed_in.get("/admin/account").text
    assert secret in first
    assert secret not in signed_in.get("/admin/account").text
    # Saving the same URL again keeps the secret the CRM already has.
    post_account(
        signed_in,
        "notifications",
        {**NOTIFY_DEFAULTS, "webhook_url": "https://crm.example/hooks/callback"},
    )
    assert owner(app, owner_id).webhook_secret == secret
    # Asking for a new one replaces it and shows the new one once.
    response = post_account(signed_in, "webhook-secret", {})
    assert response.status_code == 302
    renewed = owner(app, owner_id).webhook_secret
    assert renewed != secret
    assert renewed in signed_in.get("/admin/account").text
    # Emptying the URL turns the webhook off and forgets the secret.
    post_account(signed_in, "notifications", NOTIFY_DEFAULTS)
    saved = owner(app, owner_id)
    assert saved.webhook_url is None and saved.webhook_secret is None


@pytest.mark.parametrize(
    ("data", "field_id", "message"),
    [
        ({"notify_email": "not-an-address"}, "notify_email", "Введите адрес эл. почты"),
        (
            {"webhook_url": "http://crm.example/h"},
            "webhook_url",
            "Адрес должен начинаться с https://",
        ),
        (
            {"webhook_url": "ftp://crm.example/h"},
            "webhook_url",
            "Адрес должен начинаться с https://",
        ),
        ({"webhook_url": "https://crm.example/" + "a" * 500}, "webhook_url", "Не длиннее 500"),
        (
            {"webhook_url": "https://127.0.0.1/h"},
            "webhook_url",
            "Это адрес внутренней сети",
        ),
        ({"retention_days": "0"}, "retention_days", "От 1 до 3650 дней."),
        ({"retention_days": "9999"}, "retention_days", "От 1 до 3650 дней."),
        ({"retention_days": "abc"}, "retention_days", "Введите целое число дней."),
        ({"retention_days": ""}, "retention_days", "Введите целое число дней."),
    ],
)
def test_bad_notification_settings_get_a_message_next_to_the_field(
    app, signed_in, owner_id, data, field_id, message
):
    app.config["ALLOW_PRIVATE_NETWORKS"] = False  # the policy of a real installation
    response = post_account(signed_in, "notifications", {**NOTIFY_DEFAULTS, **data})
    assert response.status_code == 400
    assert (error_of(response.text, field_id) or "").startswith(message)
    saved = owner(app, owner_id)
    assert saved.retention_days == 30 and saved.webhook_url is None
    assert saved.notify_email == "owner@example.com"  # the sign-in address, unchanged


def test_forgetting_a_number_deletes_only_this_owners_requests_from_it(app, signed_in, owner_id):
    mine = make_site_objects(app, owner_id, phone="+79161234567")
    other_owner = make_owner(app, "other@example.com")
    theirs = make_site_objects(app, other_owner, phone="+79161234567")
    response = post_account(signed_in, "forget-number", {"number": "+7 916 123-45-67"})
    assert response.status_code == 302
    page = signed_in.get("/admin/account").text
    assert "Удалено заявок с номера +7********67: 1." in page
    assert "1234567" not in page
    with app.app_context():
        assert db.session.get(CallbackRequest, mine["request_id"]) is None
        assert db.session.get(CallbackRequest, theirs["request_id"]) is not None
        assert db.session.scalar(select(func.count(CallbackRequest.id))) == 1


@pytest.mark.parametrize("number", ["", "abc", "+7 800 100-00-00"])
def test_forgetting_a_malformed_number_gets_a_message_next_to_the_field(
    app, signed_in, owner_id, number
):
    make_site_objects(app, owner_id)
    response = post_account(signed_in, "forget-number", {"number": number})
    assert response.status_code == 400
    assert error_of(response.text, "number")
    with app.app_context():
        assert db.session.scalar(select(func.count(CallbackRequest.id))) == 1
