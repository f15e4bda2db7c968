"""Telegram: linking a chat by the bot's /start deep link, and messages through the outbox,
against a local stand-in of the Bot API (``channel_standins.TelegramApi``)."""

from __future__ import annotations

import logging
from datetime import timedelta
from urllib.parse import parse_qs, urlsplit

import pytest
from sqlalchemy import select

from widget_server.extensions import db
from widget_server.models import CallbackRequest, Notification, Owner, utcnow
from widget_server.notify import outbox, telegram_link
from widget_server.notify.digest import send_daily_digests
from widget_server.notify.reach import someone_will_hear
from widget_server.notify.telegram_rows import TelegramLinkCode, TelegramOffset

from .admin_support import make_owner, post_form, sign_in
from .channel_standins import TelegramApi
from .conftest import make_app
from .test_notify import PHONE, PHONE_SHOWN, add_request, make_site


@pytest.fixture
def bot():
    api = TelegramApi()
    yield api
    api.down()


@pytest.fixture
def app(tmp_path, bot):
    return make_app(
        tmp_path,
        TELEGRAM_BOT_TOKEN=TelegramApi.TOKEN,
        TELEGRAM_API_URL=bot.url,
        CHANNEL_TIMEOUT=2.0,
        PUBLIC_URL="https://callback.example",
    )


def code_of(link: str) -> str:
    parts = urlsplit(link)
    assert (parts.scheme, parts.netloc, parts.path) == ("https", "t.me", f"/{TelegramApi.USERNAME}")
    return parse_qs(parts.query)["start"][0]


def linked_site(chat_id: str = "555", **owner_fields) -> tuple[int, int]:
    return make_site(telegram_chat_id=chat_id, telegram_chat_name="Анна", **owner_fields)


def telegram_rows() -> list[Notification]:
    return db.session.scalars(
        select(Notification).where(Notification.channel == "telegram").order_by(Notification.id)
    ).all()


# -- linking ------------------------------------------------------------------------------------
def test_the_start_deep_link_links_the_chat_that_sends_it_to_the_owner_who_asked(app, bot):
    with app.app_context():
        owner_id, _ = make_site()
        code = code_of(telegram_link.new_link(db.session.get(Owner, owner_id)))
        bot.send_start(555, f"/start {code}", username="anna")

        assert telegram_link.poll_updates() == 1
        owner = db.session.get(Owner, owner_id)
        assert (owner.telegram_chat_id, owner.telegram_chat_name) == ("555", "Анна (@anna)")
        assert bot.sent[-1]["chat_id"] == "555" and "owner@shop.example" in bot.sent[-1]["text"]
        # The offset is kept: the next poll confirms the update and reads nothing again.
        assert db.session.get(TelegramOffset, "123456789").next_offset == 1001
        assert telegram_link.poll_updates() == 0
        assert bot.offsets == [0, 1001] and len(bot.sent) == 1
        # Only the code's hash is stored.
        assert code not in {r.code_hash for r in db.session.scalars(select(TelegramLinkCode))}


def test_a_reused_a_made_up_or_an_expired_code_links_nothing(app, bot):
    with app.app_context():
        owner_id, _ = make_site()
        owner = db.session.get(Owner, owner_id)
        code = code_of(telegram_link.new_link(owner))
        bot.send_start(555, f"/start {code}")
        telegram_link.poll_updates()
        bot.send_start(666, f"/start {code}")  # someone else with the same link
        bot.send_start(777, "/start made-up-code-0123456789")
        late = code_of(telegram_link.new_link(owner, now=utcnow() - timedelta(hours=1)))
        bot.send_start(888, f"/start {late}")

        assert telegram_link.poll_updates() == 0
        assert db.session.get(Owner, owner_id).telegram_chat_id == "555"
        refusals = [m for m in bot.sent if m["chat_id"] in {"666", "777", "888"}]
        assert len(refusals) == 3 and all("устарела" in m["text"] for m in refusals)


def test_a_code_links_only_its_own_owner_and_a_new_link_voids_the_old_one(app, bot):
    with app.app_context():
        first_id, _ = make_site()
        second_id, _ = make_site("second@shop.example", origin="https://second.example")
        first, second = db.session.get(Owner, first_id), db.session.get(Owner, second_id)
        old = code_of(telegram_link.new_link(first))
        new = code_of(telegram_link.new_link(first))
        theirs = code_of(telegram_link.new_link(second))
        bot.send_start(555, f"/start {old}")
        bot.send_start(556, f"/start {theirs}")
        bot.send_start(557, f"/start {new}")

        assert telegram_link.poll_updates() == 2
        db.session.expire_all()
        assert db.session.get(Owner, first_id).telegram_chat_id == "557"
        assert db.session.get(Owner, second_id).telegram_chat_id == "556"


def test_the_profile_page_gives_the_link_and_the_check_button_links_the_chat(app, bot):
    owner_id = make_owner(app)
    client = app.test_client()
    sign_in(client)
    post_form(client, "/admin/account/telegram/link", {}, page_url="/admin/account")
    page = client.get("/admin/account").text
    link = page.split("data-telegram-link", 1)[0].rsplit('href="', 1)[1].split('"', 1)[0]
    bot.send_start(555, f"/start {code_of(link.replace('&amp;', '&'))}")

    checked = post_form(
        client,
        "/admin/account/telegram/check",
        {},
        page_url="/admin/account",
        follow_redirects=True,
    )
    assert "Telegram привязан: Анна." in checked.text
    assert "data-telegram-linked" in checked.text
    post_form(client, "/admin/account/telegram/unlink", {}, page_url="/admin/account")
    with app.app_context():
        assert db.session.get(Owner, owner_id).telegram_chat_id is None


# -- messages -----------------------------------------------------------------------------------
def test_a_missed_request_reaches_the_chat_with_the_number_department_page_and_link(
    app, bot, caplog
):
    caplog.set_level(logging.DEBUG)
    with app.app_context():
        owner_id, widget_id = linked_site()
        request_id = add_request(widget_id)
        [row] = [
            r
            for r in outbox.record(owner_id, "missed", request_id=request_id)
            if r.channel == "telegram"
        ]
        db.session.commit()
        assert outbox.deliver_notification(row.id) == "sent"

    [message] = bot.sent
    assert message["chat_id"] == "555"
    text = message["text"]
    assert text.startswith("Пропущенная заявка: перезвоните посетителю")
    assert f"Номер: {PHONE_SHOWN}" in text
    assert "Отдел: Отдел продаж" in text
    assert "Страница: https://shop.example/catalog" in text
    assert f"Заявка: https://callback.example/admin/requests/{request_id}" in text
    logged = "\n".join(r.getMessage() for r in caplog.records if r.name != "werkzeug")
    assert PHONE not in logged and PHONE_SHOWN not in logged
    assert TelegramApi.TOKEN not in logged and TelegramApi.TOKEN.split(":")[1] not in logged


def test_the_first_touch_source_is_shown_instead_of_the_page_when_the_request_has_one(app, bot):
    with app.app_context():
        owner_id, widget_id = linked_site()
        owner = db.session.get(Owner, owner_id)
        summary = outbox.request_summary(db.session.get(CallbackRequest, add_request(widget_id)))
        summary["source"] = {"utm_source": "yandex", "utm_medium": "cpc", "utm_campaign": "spring"}
        [row] = outbox.record_payload(owner, "new", "src-1", {"request": summary}, None)
        db.session.commit()
        assert outbox.deliver_notification(row.id) == "sent"
    text = bot.sent[-1]["text"]
    assert text.startswith("Новая заявка на обратный звонок")
    assert "Источник: yandex / cpc / spring" in text and "Страница:" not in text


def test_an_english_owner_reads_english(app, bot):
    with app.app_context():
        owner_id, widget_id = linked_site(language="en")
        [row] = outbox.record(
            owner_id, "failed", request_id=add_request(widget_id, status="pbx_error")
        )
        db.session.commit()
        outbox.deliver_notification(row.id)
    assert bot.sent[-1]["text"].startswith("PBX failure: the request did not reach the operators")
    assert f"Number: {PHONE_SHOWN}" in bot.sent[-1]["text"]


def test_a_blocked_bot_unlinks_the_chat_with_telegrams_words_and_without_the_token(app, bot):
    bot.blocked.add("555")
    with app.app_context():
        owner_id, widget_id = linked_site()
        [row] = outbox.record(owner_id, "missed", request_id=add_request(widget_id))
        db.session.commit()
        assert outbox.deliver_notification(row.id) == "retry"
        saved = db.session.get(Notification, row.id)
        assert saved.status == "pending"
        assert "HTTP 403" in saved.last_error and "bot was blocked by the user" in saved.last_error
        assert TelegramApi.TOKEN not in saved.last_error
        # Nobody reads that chat any more: unlinked, so nobody is promised a call back.
        owner = db.session.get(Owner, owner_id)
        assert owner.telegram_chat_id is None and not someone_will_hear(owner)
        # Linked again, the message waiting in the outbox is delivered.
        bot.blocked.clear()
        owner.telegram_chat_id = "555"
        db.session.commit()
        due = outbox.next_try_at(db.session.get(Notification, row.id))
        assert outbox.deliver_notification(row.id, now=due) == "sent"


def test_a_bot_api_that_does_not_answer_in_time_is_a_timeout_and_retried(app, bot):
    bot.delay = 4.0
    with app.app_context():
        owner_id, widget_id = linked_site()
        [row] = outbox.record(owner_id, "missed", request_id=add_request(widget_id))
        db.session.commit()
        assert outbox.deliver_notification(row.id) == "retry"
        assert "did not answer in time" in db.session.get(Notification, row.id).last_error


def test_telegram_down_then_back_gets_the_message_on_the_next_try(app, bot):
    with app.app_context():
        owner_id, widget_id = linked_site()
        [row] = outbox.record(owner_id, "missed", request_id=add_request(widget_id))
        db.session.commit()
        bot.down()
        assert outbox.deliver_notification(row.id) == "retry"
        assert "could not connect" in db.session.get(Notification, row.id).last_error
        bot.up()
        due = outbox.next_try_at(db.session.get(Notification, row.id))
        assert outbox.deliver_notification(row.id, now=due) == "sent"
        assert db.session.get(Notification, row.id).status == "sent"
    assert len(bot.sent) == 1


def test_a_chat_linked_without_a_bot_token_records_nothing(tmp_path, bot):
    app = make_app(tmp_path, TELEGRAM_API_URL=bot.url)
    with app.app_context():
        owner_id, widget_id = linked_site()
        assert outbox.record(owner_id, "missed", request_id=add_request(widget_id)) == []


def test_the_daily_digest_goes_to_telegram_only_when_the_owner_asked(app, bot):
    with app.app_context():
        owner_id, widget_id = linked_site(notify_email=None)
        add_request(widget_id, created_at=utcnow() - timedelta(days=1))
        assert send_daily_digests() == 0
        db.session.get(Owner, owner_id).telegram_digest = True
        db.session.commit()
        assert send_daily_digests() == 1
        [row] = [r for r in telegram_rows() if r.kind == "digest"]
        assert outbox.deliver_notification(row.id) == "sent"
    assert bot.sent[-1]["text"].startswith("Сводка за ")
    assert "Всего заявок: 1" in bot.sent[-1]["text"]


# -- the test button ----------------------------------------------------------------------------
def test_the_test_button_says_the_chat_is_not_linked_then_that_the_message_went(app, bot):
    owner_id = make_owner(app)
    client = app.test_client()
    sign_in(client)
    url = "/admin/account/channels/telegram/test"
    page = post_form(client, url, {}, page_url="/admin/account", follow_redirects=True).text
    assert "Чат Telegram не привязан" in page
    with app.app_context():
        db.session.get(Owner, owner_id).telegram_chat_id = "555"
        db.session.commit()
    page = post_form(client, url, {}, page_url="/admin/account", follow_redirects=True).text
    assert "Тестовое сообщение отправлено в Telegram." in page
    assert bot.sent[-1]["text"].startswith("Проверка связи")


def test_the_test_button_names_a_refused_token(tmp_path, bot):
    app = make_app(
        tmp_path,
        TELEGRAM_BOT_TOKEN="987654321:AAwrong-token-000000000000",
        TELEGRAM_API_URL=bot.url,
    )
    make_owner(app, telegram_chat_id="555")
    client = app.test_client()
    sign_in(client)
    page = post_form(
        client,
        "/admin/account/channels/telegram/test",
        {},
        page_url="/admin/account",
        follow_redirects=True,
    ).text
    assert "Telegram не принял ключ доступа (HTTP 401): «Unauthorized»." in page
    assert "AAwrong-token" not in page
