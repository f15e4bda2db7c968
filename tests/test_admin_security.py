"""Cross-cutting protections of /admin: CSRF on every post, headers, error pages, English pages."""

from __future__ import annotations

import logging
import re

import pytest
from werkzeug.routing import IntegerConverter

from widget_server.admin.blueprint import CONTENT_SECURITY_POLICY

from .admin_support import (
    PASSWORD,
    csrf_token,
    cyrillic_in,
    make_owner,
    post_form,
    sign_in,
    switch_language,
)
from .conftest import make_app

# CSRF on, as in production: these tests are about it (the test config has it off).
pytestmark = pytest.mark.csrf

SECURITY_HEADERS = {
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "same-origin",
}


def assert_secure_headers(response):
    for name, value in SECURITY_HEADERS.items():
        assert response.headers.get(name) == value, (response.request.path, name)
    assert "no-store" in response.headers.get("Cache-Control", "")


def admin_post_rules(app):
    return [
        rule
        for rule in app.url_map.iter_rules()
        if rule.rule.startswith("/admin") and "POST" in rule.methods
    ]


def url_for_rule(app, rule) -> str:
    """A URL that this very rule matches, with placeholder arguments."""
    values = {
        name: 1 if isinstance(converter, IntegerConverter) else "x"
        for name, converter in rule._converters.items()
    }
    return app.url_map.bind("localhost").build(rule.endpoint, values, method="POST")


def test_the_csp_forbids_inline_scripts_and_styles_and_framing():
    assert "script-src 'self'" in CONTENT_SECURITY_POLICY
    assert "style-src 'self'" in CONTENT_SECURITY_POLICY
    assert "unsafe-inline" not in CONTENT_SECURITY_POLICY
    assert "frame-ancestors 'none'" in CONTENT_SECURITY_POLICY


def test_every_post_route_under_admin_refuses_a_post_without_a_csrf_token(app, client):
    make_owner(app, admin=True)
    sign_in(client)
    rules = admin_post_rules(app)
    # The walk covers this module's routes and every other section's.
    assert {"admin.sign_in", "admin.sign_out", "admin.change_password", "admin.users_create"} <= {
        r.endpoint for r in rules
    }
    for rule in rules:
        url = url_for_rule(app, rule)
        response = client.post(url, data={"email": "owner@example.com", "password": PASSWORD})
        assert response.status_code == 400, (url, response.status_code)
        assert "Форма устарела. Обновите страницу и отправьте её ещё раз." in response.text, url
        assert_secure_headers(response)
        wrong = client.post(url, data={"csrf_token": "forged"})
        assert wrong.status_code == 400, url
    # Still signed in and nothing happened: the sign-out above was refused too.
    assert client.get("/admin/account").status_code == 200


def test_a_csrf_token_from_another_session_is_refused(app):
    make_owner(app)
    attacker, victim = app.test_client(), app.test_client()
    sign_in(victim)
    foreign = csrf_token(attacker.get("/admin/sign-in").data)
    response = victim.post("/admin/sign-out", data={"csrf_token": foreign})
    assert response.status_code == 400
    assert victim.get("/admin/account").status_code == 200


def test_the_csrf_page_speaks_the_page_language(app, client):
    switch_language(client, "en")
    response = client.post("/admin/sign-in", data={"email": "a@example.com"})
    assert response.status_code == 400
    assert "The form has expired. Reload the page and submit it again." in response.text
    assert cyrillic_in(response.data) == []


def test_csrf_errors_outside_admin_are_not_dressed_as_admin_pages(app, client):
    # The opt-out form is public and exempt; the APIs answer JSON as before.
    response = client.get("/api/v1/widgets/wk_missing/config")
    assert response.is_json
    assert "Content-Security-Policy" not in response.headers or (
        response.headers["Content-Security-Policy"] != CONTENT_SECURITY_POLICY
    )


@pytest.mark.parametrize(
    "path",
    ["/admin/sign-in", "/admin/forgot-password", "/admin/reset/garbage"],
)
def test_public_admin_pages_carry_the_security_headers(client, path):
    assert_secure_headers(client.get(path))


def test_signed_in_pages_carry_the_security_headers(app, client):
    make_owner(app, admin=True)
    sign_in(client)
    for path in ("/admin/", "/admin/account", "/admin/users", "/admin/users/1/delete"):
        response = client.get(path)
        assert response.status_code in (200, 400), path
        assert_secure_headers(response)


def test_an_unknown_admin_address_gets_the_admin_404_page_with_its_headers(client):
    response = client.get("/admin/no/such/page")
    assert response.status_code == 404
    assert "Страница не найдена" in response.text
    assert response.mimetype == "text/html"
    assert_secure_headers(response)


def test_the_404_page_speaks_english_when_english_was_chosen(client):
    switch_language(client, "en")
    response = client.get("/admin/nothing-here")
    assert response.status_code == 404
    assert "Page not found" in response.text
    assert cyrillic_in(response.data) == []


def test_a_404_from_a_view_such_as_another_owners_object_is_the_admin_page_too(app, client):
    make_owner(app)
    sign_in(client)
    response = client.get("/admin/users")  # not an admin: 404
    assert response.status_code == 404
    assert "Страница не найдена" in response.text
    assert_secure_headers(response)


@pytest.mark.parametrize(
    "path",
    [
        "/admin/widgets/99999999999999999999999",
        "/admin/widgets/2147483648",
        "/admin/pbx/99999999999999999999999",
        "/admin/requests/99999999999999999999999",
        "/admin/requests/1/calls/99999999999999999999999/recording",
    ],
)
def test_an_id_too_large_for_the_database_is_a_plain_404(app, client, path):
    make_owner(app)
    sign_in(client)
    response = client.get(path)
    assert response.status_code == 404
    assert "Страница не найдена" in response.text


def test_unknown_addresses_outside_admin_keep_their_own_answers(client):
    api = client.get("/api/v1/nothing")
    assert api.status_code == 404 and api.is_json
    other = client.get("/no-such-page")
    assert other.status_code == 404
    assert "Страница не найдена" not in other.text


def test_the_429_page_carries_the_security_headers(tmp_path):
    app = make_app(tmp_path, RATELIMIT_SIGNIN_IP="1/minute")
    client = app.test_client()
    post_form(client, "/admin/sign-in", {"email": "a@example.com", "password": "x" * 9})
    blocked = post_form(client, "/admin/sign-in", {"email": "a@example.com", "password": "x" * 9})
    assert blocked.status_code == 429
    assert "Retry-After" in blocked.headers
    assert_secure_headers(blocked)


def test_admin_pages_have_no_inline_scripts_styles_or_handlers(app, client):
    make_owner(app, admin=True)
    sign_in(client)
    for path in ("/admin/sign-in", "/admin/account", "/admin/users", "/admin/missing"):
        html = client.get(path).text
        assert not re.search(r"<script(?![^>]*\bsrc=)[^>]*>", html), path
        assert "<style" not in html, path
        assert not re.search(r"\sstyle=", html), path
        assert not re.search(r"\son[a-z]+=", html), path


def test_passwords_and_reset_tokens_of_signed_in_owners_are_not_logged(app, client, caplog):
    make_owner(app)
    with caplog.at_level(logging.DEBUG):
        sign_in(client)
        post_form(
            client,
            "/admin/account/password",
            {
                "current_password": PASSWORD,
                "new_password": "another long one",
                "confirm_password": "another long one",
            },
            page_url="/admin/account",
        )
    assert PASSWORD not in caplog.text
    assert "another long one" not in caplog.text


def test_phone_numbers_in_logs_from_the_profile_page_are_masked(app, client, caplog):
    make_owner(app)
    sign_in(client)
    with caplog.at_level(logging.DEBUG):
        post_form(
            client,
            "/admin/account/forget-number",
            {"number": "+7 916 123-45-67"},
            page_url="/admin/account",
        )
    assert "79161234567" not in caplog.text
    assert "+7********67" in caplog.text


# -- every page of this module in English ---------------------------------------------------------
def english_pages(tmp_path, caplog):
    """(path, response) for every page accounts/profile/users/errors render, in English."""
    app = make_app(tmp_path, OPEN_SIGNUP=True, RATELIMIT_SIGNIN_IP="30/minute")
    make_owner(app, admin=True)
    target = make_owner(app, "shop@example.com")
    pages = []
    visitor = app.test_client()
    switch_language(visitor)
    pages.append(("sign-in", visitor.get("/admin/sign-in")))
    pages.append(
        ("sign-in errors", post_form(visitor, "/admin/sign-in", {"email": "", "password": ""}))
    )
    pages.append(
        (
            "sign-in wrong",
            post_form(visitor, "/admin/sign-in", {"email": "a@b.example", "password": "x"}),
        )
    )
    pages.append(("sign-up", visitor.get("/admin/sign-up")))
    pages.append(
        (
            "sign-up errors",
            post_form(
                visitor,
                "/admin/sign-up",
                {"email": "owner@example.com", "new_password": "short", "confirm_password": "x"},
            ),
        )
    )
    pages.append(
        (
            "sign-up taken",
            post_form(
                visitor,
                "/admin/sign-up",
                {
                    "email": "owner@example.com",
                    "new_password": PASSWORD,
                    "confirm_password": PASSWORD,
                },
            ),
        )
    )
    pages.append(("forgot", visitor.get("/admin/forgot-password")))
    pages.append(("forgot error", post_form(visitor, "/admin/forgot-password", {"email": "nope"})))
    with caplog.at_level(logging.WARNING):
        pages.append(
            (
                "forgot sent",
                post_form(visitor, "/admin/forgot-password", {"email": "shop@example.com"}),
            )
        )
    link = re.search(r"(/admin/reset/\S+)", caplog.text).group(1)
    pages.append(("reset", visitor.get(link)))
    pages.append(
        (
            "reset errors",
            post_form(visitor, link, {"new_password": "short", "confirm_password": "x"}),
        )
    )
    pages.append(("reset dead", visitor.get("/admin/reset/garbage")))
    pages.append(("404", visitor.get("/admin/missing")))
    pages.append(("csrf", visitor.post("/admin/sign-in", data={})))

    admin = app.test_client()
    switch_language(admin)
    sign_in(admin)
    pages.append(("sign-in flash", admin.get("/admin/account")))
    for path, data in [
        (
            "password",
            {"current_password": "wrong", "new_password": "short", "confirm_password": "x"},
        ),
        ("profile", {"phone": "12345", "language": "xx"}),
        ("profile", {"phone": "+7 800 555-35-35", "language": "en"}),
        (
            "notifications",
            {"notify_email": "bad", "webhook_url": "http://x.example", "retention_days": "0"},
        ),
        ("notifications", {"retention_days": "abc"}),
        ("forget-number", {"number": "abc"}),
        ("forget-number", {"number": "+7 800 100-00-00"}),
    ]:
        pages.append(
            (
                f"account {path} errors",
                post_form(admin, f"/admin/account/{path}", data, page_url="/admin/account"),
            )
        )
    post_form(
        admin,
        "/admin/account/notifications",
        {
            "notify_email": "a@shop.example",
            "webhook_url": "https://crm.example/h",
            "retention_days": "30",
        },
        page_url="/admin/account",
    )
    pages.append(("account with secret", admin.get("/admin/account")))
    post_form(
        admin, "/admin/account/forget-number", {"number": "+79161234567"}, page_url="/admin/account"
    )
    pages.append(("account after forget", admin.get("/admin/account")))
    post_form(
        admin,
        "/admin/account/profile",
        {"phone": "+79161234567", "language": "en"},
        page_url="/admin/account",
    )
    pages.append(("account saved", admin.get("/admin/account")))
    pages.append(("users", admin.get("/admin/users")))
    pages.append(
        ("users errors", post_form(admin, "/admin/users", {"email": "bad", "password": "short"}))
    )
    pages.append(
        ("users self", post_form(admin, "/admin/users/1/admin", {}, page_url="/admin/users"))
    )
    post_form(admin, f"/admin/users/{target}/admin", {}, page_url="/admin/users")
    pages.append(("users promoted", admin.get("/admin/users")))
    with caplog.at_level(logging.WARNING):
        post_form(admin, f"/admin/users/{target}/reset", {}, page_url="/admin/users")
        pages.append(("users reset", admin.get("/admin/users")))
        post_form(admin, "/admin/users", {"email": "invite@example.com"})
    pages.append(("users invited", admin.get("/admin/users")))
    pages.append(("delete", admin.get(f"/admin/users/{target}/delete")))
    pages.append(
        (
            "delete errors",
            post_form(
                admin, f"/admin/users/{target}/delete", {"confirm_email": "wrong@example.com"}
            ),
        )
    )
    post_form(admin, f"/admin/users/{target}/delete", {"confirm_email": "shop@example.com"})
    pages.append(("deleted", admin.get("/admin/users")))
    post_form(
        admin,
        "/admin/account/password",
        {"current_password": PASSWORD, "new_password": "x" * 12, "confirm_password": "x" * 12},
        page_url="/admin/account",
    )
    pages.append(("password changed", admin.get("/admin/account")))
    post_form(admin, "/admin/sign-out", {}, page_url="/admin/account")
    pages.append(("signed out", admin.get("/admin/sign-in")))
    return pages


def test_every_page_of_accounts_profile_and_users_has_no_russian_left_in_english(tmp_path, caplog):
    pages = english_pages(tmp_path, caplog)
    assert len(pages) > 30
    for name, response in pages:
        assert response.status_code < 500, name
        assert response.mimetype == "text/html", name
        assert '<html lang="en">' in response.text, name
        assert cyrillic_in(response.data) == [], name


def test_the_cyrillic_check_finds_russian_text_so_it_can_fail(app, client):
    # The same pages in Russian are full of it; the language button's own name is exempt.
    response = client.get("/admin/sign-in")
    assert "Вход" in " ".join(cyrillic_in(response.data))
    assert cyrillic_in('<button lang="ru">Русский</button>') == []


@pytest.mark.parametrize(
    "target",
    ["//evil.example/x", "https://evil.example/", "/\\evil.example", "javascript:alert(1)"],
)
def test_the_language_switch_and_sign_in_only_return_to_local_pages(client, target):
    token = csrf_token(client.get("/admin/sign-in").data)
    response = client.post(
        "/admin/language", data={"lang": "en", "next": target, "csrf_token": token}
    )
    assert response.status_code == 302
    assert response.headers["Location"] == "/admin/"
    local = client.post(
        "/admin/language", data={"lang": "ru", "next": "/admin/sign-in", "csrf_token": token}
    )
    assert local.headers["Location"] == "/admin/sign-in"
