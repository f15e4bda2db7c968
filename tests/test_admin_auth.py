"""Config page accounts: sign-in and its limits, sessions, password reset links, open sign-up."""

from __future__ import annotations

import logging
import re
import time

import pytest
from click.testing import CliRunner
from itsdangerous.timed import TimestampSigner

from widget_server.admin.access import password_stamp
from widget_server.extensions import db
from widget_server.models import Owner
from widget_server.ops.cli import main

from .admin_support import PASSWORD, csrf_token, make_owner, post_form, sign_in, switch_language
from .conftest import make_app
from .test_notify import SmtpServer, free_port

NEW_PASSWORD = "a brand new passphrase"


def post_sign_in(client, email, password, **kwargs):
    return post_form(client, "/admin/sign-in", {"email": email, "password": password}, **kwargs)


def wait_for(predicate, timeout=10.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.05)
    raise AssertionError("timed out")


# -- sign in and out ------------------------------------------------------------------------
def test_an_owner_signs_in_with_email_and_password_and_lands_on_the_dashboard(app, client):
    make_owner(app)
    response = post_sign_in(client, " Owner@Example.com ", PASSWORD)
    assert response.status_code == 302
    assert response.headers["Location"] == "/admin/"
    assert client.get("/admin/account").status_code == 200


def test_a_wrong_password_is_refused_with_a_message_that_does_not_say_which_part_was_wrong(
    app, client
):
    make_owner(app)
    wrong = post_sign_in(client, "owner@example.com", "not the password")
    unknown = post_sign_in(client, "nobody@example.com", PASSWORD)
    for response in (wrong, unknown):
        assert response.status_code == 401
        assert "Неверная эл. почта или пароль." in response.text
    assert client.get("/admin/account").status_code == 302


def test_empty_sign_in_fields_get_a_message_next_to_each_field(app, client):
    response = post_sign_in(client, "", "")
    assert response.status_code == 400
    assert re.search(r'id="email-error">Заполните это поле\.', response.text)
    assert re.search(r'id="password-error">Заполните это поле\.', response.text)
    assert 'aria-describedby="email-error"' in response.text


def test_after_sign_in_only_a_local_next_address_is_followed(app, client):
    make_owner(app)
    page = client.get("/admin/sign-in")
    token = csrf_token(page.data)
    data = {"email": "owner@example.com", "password": PASSWORD, "csrf_token": token}
    response = client.post("/admin/sign-in?next=//evil.example/x", data=data)
    assert response.headers["Location"] == "/admin/"
    client.post("/admin/sign-out", data={"csrf_token": csrf_token(client.get("/admin/").data)})
    token = csrf_token(client.get("/admin/sign-in").data)
    response = client.post("/admin/sign-in?next=/admin/account", data={**data, "csrf_token": token})
    assert response.headers["Location"] == "/admin/account"


def test_signing_out_ends_the_session(app, client):
    make_owner(app)
    sign_in(client)
    response = post_form(client, "/admin/sign-out", {}, page_url="/admin/")
    assert response.status_code == 302
    assert client.get("/admin/account").status_code == 302
    assert "Вы вышли." in client.get("/admin/sign-in").text


def test_a_copied_session_cookie_stops_working_after_sign_out(app, client):
    make_owner(app)
    sign_in(client)
    copied = client.get_cookie("widget_session").value
    post_form(client, "/admin/sign-out", {}, page_url="/admin/")
    thief = app.test_client()
    thief.set_cookie("widget_session", copied)
    assert thief.get("/admin/account").status_code == 302


def test_a_session_cookie_without_a_session_id_from_before_the_upgrade_is_refused(app):
    owner_id = make_owner(app)
    with app.app_context():
        stamp = password_stamp(db.session.get(Owner, owner_id))
    old = app.session_interface.get_signing_serializer(app).dumps(
        {"owner_id": owner_id, "stamp": stamp}
    )
    client = app.test_client()
    client.set_cookie("widget_session", old)
    assert client.get("/admin/account").status_code == 302


def test_signing_out_in_one_browser_keeps_the_owner_signed_in_in_another(app, client):
    make_owner(app)
    sign_in(client)
    other = app.test_client()
    sign_in(other)
    post_form(client, "/admin/sign-out", {}, page_url="/admin/")
    assert other.get("/admin/account").status_code == 200
    assert client.get("/admin/account").status_code == 302


def test_the_session_cookie_is_httponly_samesite_lax_and_secure_outside_development(tmp_path):
    app = make_app(tmp_path, TESTING=False)
    make_owner(app)
    client = app.test_client()
    response = sign_in(client)
    cookie = next(
        c for c in response.headers.getlist("Set-Cookie") if c.startswith("widget_session=")
    )
    assert "HttpOnly" in cookie
    assert "SameSite=Lax" in cookie
    assert "Secure" in cookie


def test_in_local_development_the_cookie_is_not_secure_so_plain_http_works(app, client):
    make_owner(app)
    cookie = next(
        c for c in sign_in(client).headers.getlist("Set-Cookie") if c.startswith("widget_session=")
    )
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie
    assert "Secure" not in cookie


# -- sign-in limits ---------------------------------------------------------------------------
def test_sign_in_posts_are_limited_per_client_ip_with_a_readable_429_and_retry_after(tmp_path):
    app = make_app(tmp_path, RATELIMIT_SIGNIN_IP="3/minute", RATELIMIT_SIGNIN_EMAIL="100/minute")
    make_owner(app)
    client = app.test_client()
    for n in range(3):
        assert post_sign_in(client, f"guess{n}@example.com", "x" * 8).status_code == 401
    blocked = post_sign_in(client, "owner@example.com", PASSWORD)
    assert blocked.status_code == 429
    assert 1 <= int(blocked.headers["Retry-After"]) <= 61
    assert "Слишком много попыток" in blocked.text
    assert blocked.headers["Content-Security-Policy"].startswith("default-src 'self'")
    # Another address (another client IP) is not affected.
    other = post_sign_in(
        client, "owner@example.com", PASSWORD, environ_base={"REMOTE_ADDR": "10.0.0.9"}
    )
    assert other.status_code == 302


def from_address(n: int | str) -> dict:
    return {"environ_base": {"REMOTE_ADDR": n if isinstance(n, str) else f"10.0.1.{n}"}}


def test_an_attacker_hammering_an_email_does_not_lock_out_the_owner_from_another_address(
    tmp_path,
):
    app = make_app(tmp_path, RATELIMIT_SIGNIN_IP="100/minute", RATELIMIT_SIGNIN_EMAIL="3/minute")
    make_owner(app)
    attacker = app.test_client()
    for _n in range(10):
        post_sign_in(attacker, "owner@example.com", "wrong pass", **from_address("10.6.6.6"))
    owner = app.test_client()
    response = post_sign_in(owner, "OWNER@example.com", PASSWORD, **from_address("10.0.2.1"))
    assert response.status_code == 302


def test_the_attackers_own_address_is_slowed_even_with_the_right_password(tmp_path):
    app = make_app(tmp_path, RATELIMIT_SIGNIN_IP="100/minute", RATELIMIT_SIGNIN_EMAIL="3/minute")
    make_owner(app)
    make_owner(app, "second@example.com")
    client = app.test_client()
    for _n in range(3):
        response = post_sign_in(client, "owner@example.com", "wrong pass", **from_address(1))
        assert response.status_code == 401
    # It waits now, whatever it sends: it can't tell a right guess from a wrong one.
    blocked = post_sign_in(client, "owner@example.com", PASSWORD, **from_address(1))
    assert blocked.status_code == 429
    assert 1 <= int(blocked.headers["Retry-After"]) <= 61
    assert "Слишком много попыток" in blocked.text
    # The same address may still sign in to another owner's account.
    assert (
        post_sign_in(client, "second@example.com", PASSWORD, **from_address(1)).status_code == 302
    )


def test_past_the_emails_ceiling_addresses_that_failed_wait_but_a_fresh_address_gets_in(
    tmp_path,
):
    app = make_app(tmp_path, RATELIMIT_SIGNIN_IP="100/minute", RATELIMIT_SIGNIN_EMAIL="2/minute")
    make_owner(app)
    client = app.test_client()
    # 20 failures (the ceiling: 10 times the per-address allowance) from 20 addresses.
    for n in range(20):
        assert (
            post_sign_in(client, "owner@example.com", "wrong", **from_address(n)).status_code == 401
        )
    # An address with one failure (under its own allowance) now waits ...
    assert post_sign_in(client, "owner@example.com", PASSWORD, **from_address(0)).status_code == 429
    # ... while the owner, from an address that has not failed, signs in.
    fresh = post_sign_in(
        app.test_client(), "owner@example.com", PASSWORD, **from_address("10.9.9.9")
    )
    assert fresh.status_code == 302


def test_an_unknown_email_costs_the_same_password_hashing_as_a_known_one(app, client, monkeypatch):
    """Counted, not timed: the unknown e-mail's sign-in verifies one hash of the same cost."""
    from argon2 import PasswordHasher, extract_parameters

    from widget_server import setup

    verified = []

    class CountingHasher(PasswordHasher):
        def verify(self, hash, password):
            verified.append(extract_parameters(hash))
            return super().verify(hash, password)

    hasher = CountingHasher(time_cost=2, memory_cost=64, parallelism=1)
    monkeypatch.setattr(setup, "_hasher", lambda: hasher)
    make_owner(app)  # hashed with the same hasher, so both sides cost the same
    assert post_sign_in(client, "owner@example.com", "wrong password").status_code == 401
    known = list(verified)
    verified.clear()
    assert post_sign_in(client, "nobody@example.com", "wrong password").status_code == 401
    assert len(known) == len(verified) == 1
    assert known == verified  # same time, memory and parallelism costs


def test_successful_sign_ins_do_not_count_against_the_email_limit(tmp_path):
    app = make_app(tmp_path, RATELIMIT_SIGNIN_IP="100/minute", RATELIMIT_SIGNIN_EMAIL="2/minute")
    make_owner(app)
    for _n in range(4):
        client = app.test_client()
        assert post_sign_in(client, "owner@example.com", PASSWORD).status_code == 302


def test_the_429_page_speaks_english_when_english_was_chosen(tmp_path):
    from .admin_support import cyrillic_in, switch_language

    app = make_app(tmp_path, RATELIMIT_SIGNIN_IP="1/minute")
    client = app.test_client()
    switch_language(client)
    post_sign_in(client, "a@example.com", "whatever1")
    blocked = post_sign_in(client, "a@example.com", "whatever1")
    assert blocked.status_code == 429
    assert "Too many attempts" in blocked.text
    assert cyrillic_in(blocked.data) == []


# -- sessions end after a password change ---------------------------------------------------
def test_changing_the_password_ends_every_other_session_but_keeps_this_one(app):
    make_owner(app)
    laptop, phone = app.test_client(), app.test_client()
    sign_in(laptop)
    sign_in(phone)
    response = post_form(
        laptop,
        "/admin/account/password",
        {
            "current_password": PASSWORD,
            "new_password": NEW_PASSWORD,
            "confirm_password": NEW_PASSWORD,
        },
        page_url="/admin/account",
    )
    assert response.status_code == 302
    assert laptop.get("/admin/account").status_code == 200
    gone = phone.get("/admin/account")
    assert gone.status_code == 302 and "/admin/sign-in" in gone.headers["Location"]
    # The old password no longer signs in; the new one does.
    fresh = app.test_client()
    assert post_sign_in(fresh, "owner@example.com", PASSWORD).status_code == 401
    assert post_sign_in(fresh, "owner@example.com", NEW_PASSWORD).status_code == 302


def test_a_password_set_from_the_command_line_also_ends_open_sessions(app, client):
    owner_id = make_owner(app)
    sign_in(client)
    with app.app_context():
        from widget_server.setup import set_password

        set_password(db.session.get(Owner, owner_id), NEW_PASSWORD)
    assert client.get("/admin/account").status_code == 302


# -- password reset ----------------------------------------------------------------------------
@pytest.fixture
def smtp():
    server = SmtpServer(free_port())
    server.start()
    yield server
    server.stop()


@pytest.fixture
def mail_app(tmp_path, smtp):
    return make_app(
        tmp_path,
        SMTP_HOST="127.0.0.1",
        SMTP_PORT=smtp.port,
        SMTP_SECURITY="none",
        SMTP_FROM="widget@shop.example",
        SMTP_TIMEOUT=5.0,
        PUBLIC_URL="https://callback.example.ru",
    )


def ask_for_link(client, email):
    return post_form(client, "/admin/forgot-password", {"email": email})


def mailed_link(smtp, count=1) -> str:
    wait_for(lambda: len(smtp.mailbox.messages) >= count)
    body = smtp.mailbox.messages[count - 1].get_content()
    match = re.search(r"https://callback\.example\.ru(/admin/reset/\S+)", body)
    assert match, body
    return match.group(1)


def set_new_password(client, path, password=NEW_PASSWORD):
    return post_form(
        client, path, {"new_password": password, "confirm_password": password}, page_url=path
    )


def test_a_forgotten_password_is_reset_by_an_emailed_link_that_works_once(mail_app, smtp, caplog):
    make_owner(mail_app)
    client = mail_app.test_client()
    caplog.set_level(logging.DEBUG)
    answer = ask_for_link(client, "owner@example.com")
    assert answer.status_code == 200
    path = mailed_link(smtp)
    message = smtp.mailbox.messages[0]
    assert message["To"] == "owner@example.com"
    assert message["From"] == "widget@shop.example"
    assert client.get(path).status_code == 200
    assert set_new_password(client, path).status_code == 302
    assert post_sign_in(client, "owner@example.com", NEW_PASSWORD).status_code == 302
    # Used once: the same link is dead now.
    again = mail_app.test_client().get(path)
    assert again.status_code == 400
    assert "Ссылка устарела или уже использована" in again.text
    refused = mail_app.test_client().post(path, data={"new_password": "x" * 12})
    assert refused.status_code == 400
    # With SMTP set up the link (a credential for an hour) never reaches the log.
    token = path.rsplit("/", 1)[1]
    assert token not in caplog.text
    assert NEW_PASSWORD not in caplog.text


@pytest.mark.parametrize(
    ("language", "subject", "opening"),
    [
        ("ru", "Сброс пароля", "Кто-то (надеемся, вы) попросил сменить пароль"),
        ("en", "Password reset", "Someone (hopefully you) asked to reset the password"),
    ],
)
def test_the_reset_mail_is_written_in_the_owners_language_whatever_the_page_language(
    mail_app, smtp, language, subject, opening
):
    make_owner(mail_app, language=language)
    client = mail_app.test_client()
    # The page is in the other language: the mail follows the owner, not the page.
    switch_language(client, "ru" if language == "en" else "en")
    ask_for_link(client, "owner@example.com")
    mailed_link(smtp)
    message = smtp.mailbox.messages[0]
    assert message["Subject"] == subject
    body = message.get_content()
    assert body.startswith(opening)
    assert "owner@example.com" in body
    assert "%(" not in body


def test_the_forgot_password_answer_is_the_same_whether_or_not_the_address_has_an_account(
    mail_app, smtp
):
    make_owner(mail_app)
    known = ask_for_link(mail_app.test_client(), "owner@example.com")
    unknown = ask_for_link(mail_app.test_client(), "nobody@example.com")
    assert known.status_code == unknown.status_code == 200

    def body(response):
        return re.sub(r'value="[^"]*"', "", response.text)

    assert body(known) == body(unknown)
    wait_for(lambda: smtp.mailbox.messages)
    time.sleep(0.3)  # a mail to the unknown address would have arrived by now too
    assert [m["To"] for m in smtp.mailbox.messages] == ["owner@example.com"]


def test_a_reset_link_expires_after_an_hour(mail_app, monkeypatch):
    owner_id = make_owner(mail_app)
    from widget_server.admin.password_reset import make_token

    real = TimestampSigner.get_timestamp
    with mail_app.test_request_context():
        owner = db.session.get(Owner, owner_id)
        monkeypatch.setattr(TimestampSigner, "get_timestamp", lambda self: real(self) - 3590)
        fresh_enough = make_token(owner)
        monkeypatch.setattr(TimestampSigner, "get_timestamp", lambda self: real(self) - 3610)
        expired = make_token(owner)
        monkeypatch.setattr(TimestampSigner, "get_timestamp", real)
    client = mail_app.test_client()
    assert client.get(f"/admin/reset/{expired}").status_code == 400
    assert client.get(f"/admin/reset/{fresh_enough}").status_code == 200


def test_a_reset_link_dies_when_the_password_is_changed_another_way(mail_app, smtp):
    make_owner(mail_app)
    client = mail_app.test_client()
    ask_for_link(client, "owner@example.com")
    path = mailed_link(smtp)
    sign_in(client)
    post_form(
        client,
        "/admin/account/password",
        {
            "current_password": PASSWORD,
            "new_password": NEW_PASSWORD,
            "confirm_password": NEW_PASSWORD,
        },
        page_url="/admin/account",
    )
    assert mail_app.test_client().get(path).status_code == 400


def test_a_newer_link_used_first_kills_the_older_one(mail_app, smtp):
    make_owner(mail_app)
    client = mail_app.test_client()
    ask_for_link(client, "owner@example.com")
    first = mailed_link(smtp, 1)
    ask_for_link(client, "owner@example.com")
    second = mailed_link(smtp, 2)
    assert set_new_password(client, second).status_code == 302
    assert mail_app.test_client().get(first).status_code == 400


def test_a_tampered_or_garbage_reset_token_is_refused(mail_app, smtp):
    make_owner(mail_app)
    client = mail_app.test_client()
    ask_for_link(client, "owner@example.com")
    path = mailed_link(smtp)
    assert client.get(path[:-2] + ("AA" if not path.endswith("AA") else "BB")).status_code == 400
    assert client.get("/admin/reset/not-a-token").status_code == 400


def test_the_reset_form_shows_its_errors_next_to_the_fields(mail_app, smtp):
    make_owner(mail_app)
    client = mail_app.test_client()
    ask_for_link(client, "owner@example.com")
    path = mailed_link(smtp)
    short = set_new_password(client, path, "short")
    assert short.status_code == 400
    assert re.search(r'id="new_password-error">Не короче 8 символов\.', short.text)
    mismatch = post_form(
        client, path, {"new_password": NEW_PASSWORD, "confirm_password": "something else"}
    )
    assert mismatch.status_code == 400
    assert re.search(r'id="confirm_password-error">Пароли не совпадают\.', mismatch.text)
    # The link still works after a failed attempt.
    assert set_new_password(client, path).status_code == 302


def test_a_malformed_address_on_the_forgot_page_gets_a_message_next_to_the_field(app, client):
    response = ask_for_link(client, "not an address")
    assert response.status_code == 400
    assert re.search(r'id="email-error">Введите адрес эл\. почты', response.text)


def test_without_smtp_the_reset_link_goes_to_the_server_log_with_a_warning(app, client, caplog):
    make_owner(app)
    with caplog.at_level(logging.WARNING, logger="widget_server.admin.password_reset"):
        ask_for_link(client, "owner@example.com")
    warnings = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 1
    match = re.search(r"http://127\.0\.0\.1:8000(/admin/reset/\S+)", warnings[0].getMessage())
    assert match
    assert set_new_password(client, match.group(1)).status_code == 302


def test_reset_mails_are_limited_per_address(tmp_path, smtp):
    app = make_app(
        tmp_path,
        SMTP_HOST="127.0.0.1",
        SMTP_PORT=smtp.port,
        SMTP_SECURITY="none",
        RATELIMIT_SIGNIN_EMAIL="2/hour",
    )
    make_owner(app)
    client = app.test_client()
    assert ask_for_link(client, "owner@example.com").status_code == 200
    assert ask_for_link(client, "owner@example.com").status_code == 200
    assert ask_for_link(client, "owner@example.com").status_code == 429
    wait_for(lambda: len(smtp.mailbox.messages) == 2)


# -- open sign-up -------------------------------------------------------------------------------
def test_open_sign_up_is_off_by_default_and_its_page_answers_404(app, client):
    assert client.get("/admin/sign-up").status_code == 404
    assert "sign-up" not in client.get("/admin/sign-in").text
    response = post_form(
        client,
        "/admin/sign-up",
        {"email": "new@example.com", "new_password": PASSWORD, "confirm_password": PASSWORD},
        page_url="/admin/sign-in",
    )
    assert response.status_code == 404
    with app.app_context():
        assert db.session.query(Owner).count() == 0


def test_with_open_sign_up_on_anyone_creates_an_account_and_is_signed_in(tmp_path):
    app = make_app(tmp_path, OPEN_SIGNUP=True)
    client = app.test_client()
    assert "/admin/sign-up" in client.get("/admin/sign-in").text
    response = post_form(
        client,
        "/admin/sign-up",
        {"email": "New@Example.com", "new_password": PASSWORD, "confirm_password": PASSWORD},
    )
    assert response.status_code == 302
    assert client.get("/admin/account").status_code == 200
    with app.app_context():
        owner = db.session.query(Owner).one()
        assert owner.email == "new@example.com" and not owner.is_admin


def test_sign_up_errors_are_shown_next_to_their_fields(tmp_path):
    app = make_app(tmp_path, OPEN_SIGNUP=True)
    make_owner(app, "taken@example.com")
    client = app.test_client()
    taken = post_form(
        client,
        "/admin/sign-up",
        {"email": "taken@example.com", "new_password": PASSWORD, "confirm_password": PASSWORD},
    )
    assert taken.status_code == 400
    assert re.search(r'id="email-error">Аккаунт с этой эл\. почтой уже есть\.', taken.text)
    bad = post_form(
        client,
        "/admin/sign-up",
        {"email": "nope", "new_password": "short", "confirm_password": "other"},
    )
    assert bad.status_code == 400
    assert 'id="email-error"' in bad.text
    assert 'id="new_password-error"' in bad.text
    assert 'id="confirm_password-error"' in bad.text


# -- the command line -----------------------------------------------------------------------
def test_create_owner_with_admin_makes_an_installation_admin(tmp_path, monkeypatch):
    app = make_app(tmp_path)
    monkeypatch.setenv("WIDGET_DATABASE_URL", app.config["SQLALCHEMY_DATABASE_URI"])
    monkeypatch.setenv("WIDGET_SECRET_KEY", app.config["SECRET_KEY"])
    runner = CliRunner()
    result = runner.invoke(main, ["create-owner", "--admin", "boss@example.com"], input=PASSWORD)
    assert result.exit_code == 0, result.output
    assert "admin" in result.output
    result = runner.invoke(main, ["create-owner", "plain@example.com"], input=PASSWORD)
    assert result.exit_code == 0, result.output
    with app.app_context():
        admins = {o.email: o.is_admin for o in db.session.query(Owner)}
    assert admins == {"boss@example.com": True, "plain@example.com": False}
