"""Missed-call alerts on by default, and honesty when nobody can be told: the sign-in
address as the notification address, ``someone_will_hear``, the setup checklist's step (and
the banner on every config page once a linked channel fails), the visitor's status text,
and the new request reaching Telegram from the intake."""

from __future__ import annotations

import sqlite3
from datetime import UTC, datetime, timedelta

import pytest
from alembic import command
from sqlalchemy import select

from widget_server import setup
from widget_server.config import ConfigError, load_settings
from widget_server.database import alembic_config
from widget_server.dispatch import state
from widget_server.extensions import db
from widget_server.models import CallbackRequest, Notification, Owner
from widget_server.notify.reach import someone_will_hear
from widget_server.statuses import Status
from widget_server.visitor.status import status_view
from widget_server.visitor.texts import STATUS_MESSAGES, UNHEARD_MESSAGES

from .admin_support import make_owner, sign_in
from .channel_standins import TelegramApi
from .conftest import make_app
from .test_notify import add_request, make_site
from .test_visitor_api import SHOP, build_site


@pytest.fixture
def bot():
    api = TelegramApi()
    yield api
    api.down()


def test_a_new_owner_hears_of_missed_calls_at_the_sign_in_address(app):
    with app.app_context():
        owner = setup.create_owner("Boss@Shop.example", "long enough password")
        assert owner.notify_email == "boss@shop.example"


def test_the_migration_gives_owners_without_an_address_their_sign_in_one(tmp_path):
    url = f"sqlite:///{tmp_path / 'old.sqlite3'}"
    config = alembic_config(url)
    command.upgrade(config, "0012")
    with sqlite3.connect(tmp_path / "old.sqlite3") as conn:
        for email, notify in [
            ("a@x.example", None),
            ("b@x.example", ""),
            ("c@x.example", "crm@x.example"),
        ]:
            conn.execute(
                "INSERT INTO owners (email, password_hash, created_at, notify_email, daily_digest,"
                " retention_days, is_admin, language) VALUES (?, '-', '2026-01-01', ?, 1, 30, 0, 'ru')",
                (email, notify),
            )
    command.upgrade(config, "0013")
    with sqlite3.connect(tmp_path / "old.sqlite3") as conn:
        rows = dict(conn.execute("SELECT email, notify_email FROM owners").fetchall())
    assert rows == {
        "a@x.example": "a@x.example",
        "b@x.example": "b@x.example",
        "c@x.example": "crm@x.example",
    }
    command.downgrade(config, "0012")  # the downgrade runs too


@pytest.mark.parametrize(
    ("settings", "fields", "hears"),
    [
        ({}, {"notify_email": "boss@shop.example"}, False),  # no SMTP: the e-mail never leaves
        ({"SMTP_HOST": "mail.example"}, {"notify_email": "boss@shop.example"}, True),
        ({}, {"webhook_url": "https://crm.example/h", "webhook_secret": "s" * 64}, True),
        ({}, {"telegram_chat_id": "555"}, False),  # a chat but no bot on this server
        ({"TELEGRAM_BOT_TOKEN": TelegramApi.TOKEN}, {"telegram_chat_id": "555"}, True),
        ({}, {"bitrix24_url": "https://p.bitrix24.ru/rest/1/abc/"}, True),
        ({}, {"amocrm_subdomain": "shop"}, False),  # no token yet
        ({}, {"amocrm_subdomain": "shop", "amocrm_token": "t"}, True),
        ({}, {}, False),
    ],
)
def test_someone_will_hear_only_when_a_channel_can_deliver(tmp_path, settings, fields, hears):
    app = make_app(tmp_path, **settings)
    with app.app_context():
        owner = Owner(email="owner@shop.example", password_hash="-", **fields)
        assert someone_will_hear(owner) is hears


def test_a_fresh_install_with_no_channel_gets_a_checklist_step_not_a_banner_on_every_page(app):
    # Issue 28: the red banner on every page of a fresh install became the checklist's last
    # step; a channel that stopped delivering still gets the banner (below).
    owner_id = make_owner(app)  # an e-mail address, but no SMTP on this server
    client = app.test_client()
    sign_in(client)
    for page in ("/admin/", "/admin/requests", "/admin/widgets", "/admin/account"):
        html = client.get(page, follow_redirects=True).text
        assert "data-nobody-hears" not in html, page
        assert "Вы не узнаете о пропущенных заявках." not in html, page
    step = _notify_step(client.get("/admin/").text)
    assert 'data-state="todo"' in step
    assert "Ни один канал уведомлений не подключён" in step
    assert "на сервере не настроена отправка почты" in step
    assert 'href="/admin/account#channels-title"' in step
    with app.app_context():
        db.session.get(Owner, owner_id).bitrix24_url = "https://p.bitrix24.ru/rest/1/abc/"
        db.session.commit()
    step = _notify_step(client.get("/admin/").text)
    assert 'data-state="done"' in step
    assert "О пропущенных заявках сообщим: Битрикс24." in step


def _notify_step(html: str) -> str:
    start = html.index('data-step="notify"')
    return html[start : html.index("</li>", start)]


def test_the_notification_step_reads_in_english_for_an_english_owner(app):
    make_owner(app, language="en")
    client = app.test_client()
    sign_in(client)
    assert "You will hear about missed requests" in _notify_step(client.get("/admin/").text)


@pytest.mark.parametrize("status", [Status.NO_OPERATOR, Status.PBX_ERROR, Status.HELD])
def test_the_visitor_is_promised_a_call_back_only_when_someone_will_hear(app, status):
    with app.app_context():
        _, widget_id = make_site()  # e-mail only, and no SMTP
        req = db.session.get(CallbackRequest, add_request(widget_id, status=status))
        for language in ("ru", "en"):
            view = status_view(req, language)
            assert view["message"] == UNHEARD_MESSAGES[language][status]
            assert "перезвон" not in view["message"] and "call you back" not in view["message"]
        req.widget.owner.webhook_url, req.widget.owner.webhook_secret = "https://crm.example/h", "s"
        assert status_view(req, "ru")["message"] == STATUS_MESSAGES["ru"][status]


def _told(owner_id, channel, status, *, minutes_ago, error=None, sent_minutes_ago=None):
    now = datetime.now(UTC).replace(tzinfo=None)
    db.session.add(
        Notification(
            owner_id=owner_id,
            kind="new",
            channel=channel,
            dedupe_key=f"{channel}-{minutes_ago}-{status}",
            payload={},
            status=status,
            tries=1,
            last_error=error,
            created_at=now - timedelta(minutes=minutes_ago),
            sent_at=None if sent_minutes_ago is None else now - timedelta(minutes=sent_minutes_ago),
        )
    )
    db.session.commit()


def test_a_channel_that_stopped_delivering_promises_nothing_until_a_message_gets_through(app):
    with app.app_context():
        owner_id, widget_id = make_site(bitrix24_url="https://p.bitrix24.ru/rest/1/abc/")
        req = db.session.get(CallbackRequest, add_request(widget_id, status=Status.NO_OPERATOR))
        promise = STATUS_MESSAGES["ru"][Status.NO_OPERATOR]
        _told(owner_id, "bitrix24", "sent", minutes_ago=60, sent_minutes_ago=60)
        assert status_view(req, "ru")["message"] == promise
        # The portal's webhook was deleted: the newest lead is refused, kept for another try.
        _told(owner_id, "bitrix24", "pending", minutes_ago=5, error="ChannelError: refused")
        assert status_view(req, "ru")["message"] == UNHEARD_MESSAGES["ru"][Status.NO_OPERATOR]
        # Another channel that works is enough.
        owner = db.session.get(Owner, owner_id)
        owner.webhook_url, owner.webhook_secret = "https://crm.example/h", "s" * 64
        assert status_view(req, "ru")["message"] == promise
        owner.webhook_url = None
        # The retry got through (or a newer message did): the promise is back.
        _told(owner_id, "bitrix24", "sent", minutes_ago=4, sent_minutes_ago=1)
        assert status_view(req, "ru")["message"] == promise


def test_the_banner_names_the_channels_that_stopped_delivering(app):
    owner_id = make_owner(app, notify_email=None, bitrix24_url="https://p.bitrix24.ru/rest/1/a/")
    client = app.test_client()
    sign_in(client)
    assert "data-nobody-hears" not in client.get("/admin/").text
    with app.app_context():
        _told(owner_id, "bitrix24", "failed", minutes_ago=5, error="ChannelError: bad_token")
    html = client.get("/admin/").text
    assert "data-nobody-hears" in html
    assert "Подключённые каналы (Битрикс24) не приняли последнее уведомление" in html
    assert "Ни один канал уведомлений не подключён" not in html  # that would be untrue


def test_the_honest_text_reaches_the_visitor_through_the_public_api(tmp_path):
    site = build_site(tmp_path)
    handle = site.submit().json["handle"]
    with site.app.app_context():
        req = db.session.scalar(select(CallbackRequest).where(CallbackRequest.handle == handle))
        req.status = Status.CALLING_OPERATOR
        state.set_status(req, Status.NO_OPERATOR)
        db.session.commit()
    answer = site.client.get(f"/api/v1/requests/{handle}", headers={"Origin": SHOP}).json
    assert answer["message"] == UNHEARD_MESSAGES["ru"][Status.NO_OPERATOR]


def test_a_request_taken_by_the_widget_is_told_to_the_linked_telegram_chat(tmp_path, bot):
    site = build_site(tmp_path, TELEGRAM_BOT_TOKEN=TelegramApi.TOKEN, TELEGRAM_API_URL=bot.url)
    with site.app.app_context():
        owner = db.session.scalar(select(Owner))
        owner.telegram_chat_id = "555"
        db.session.commit()
    assert site.submit().status_code == 202
    with site.app.app_context():
        [row] = db.session.scalars(select(Notification)).all()
        assert (row.kind, row.channel) == ("new", "telegram")
        assert row.payload["request"]["department"] == "Продажи"


def test_channel_settings_fail_loudly_and_never_echo_the_bot_token():
    with pytest.raises(ConfigError) as bad_token:
        load_settings({"WIDGET_TELEGRAM_BOT_TOKEN": "secret-but-malformed"})
    assert "secret-but-malformed" not in str(bad_token.value)
    assert "WIDGET_TELEGRAM_BOT_TOKEN" in str(bad_token.value)
    with pytest.raises(ConfigError, match="subdomain"):
        load_settings({"WIDGET_AMOCRM_API_URL": "https://amocrm.example"})
    settings = load_settings({"WIDGET_TELEGRAM_BOT_TOKEN": TelegramApi.TOKEN})
    assert settings["TELEGRAM_BOT_TOKEN"] == TelegramApi.TOKEN
    assert settings["TELEGRAM_API_URL"] == "https://api.telegram.org"


def test_the_failing_channels_banner_reads_in_english_for_an_english_owner(app):
    owner_id = make_owner(
        app, language="en", notify_email=None, bitrix24_url="https://p.bitrix24.ru/rest/1/a/"
    )
    with app.app_context():
        _told(owner_id, "bitrix24", "failed", minutes_ago=5, error="ChannelError: bad_token")
    client = app.test_client()
    sign_in(client)
    html = client.get("/admin/").text
    assert "The connected channels (Bitrix24) did not accept the latest notification" in html
