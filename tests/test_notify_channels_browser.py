"""The profile page's channel forms in a real Chromium: the banner until a channel is
linked, a Bitrix24 webhook saved and shown masked, its test button's words, Telegram's
deep link, and amoCRM's token kept but never shown."""

from __future__ import annotations

import pytest

from .admin_support import PASSWORD, make_owner
from .channel_standins import AmoCrm, BitrixPortal, TelegramApi
from .conftest import ServerThread, make_app
from .test_admin_auth_browser import UNLABELLED, labelled

pytestmark = pytest.mark.browser


@pytest.fixture
def stand_ins():
    found = BitrixPortal(), AmoCrm(), TelegramApi()
    yield found
    for stand_in in found:
        stand_in.down()


@pytest.fixture
def server(tmp_path, stand_ins):
    _, amo, bot = stand_ins
    app = make_app(
        tmp_path,
        AMOCRM_API_URL=amo.template,
        TELEGRAM_BOT_TOKEN=TelegramApi.TOKEN,
        TELEGRAM_API_URL=bot.url,
        CHANNEL_TIMEOUT=1.0,
    )

    make_owner(app)
    running = ServerThread(app)
    yield running
    running.stop()


def sign_in(page, url):
    page.context.set_extra_http_headers({"Accept-Language": "ru-RU,ru;q=0.9"})
    page.goto(f"{url}/admin/sign-in")
    labelled(page, "Эл. почта").fill("owner@example.com")
    labelled(page, "Пароль").fill(PASSWORD)
    page.get_by_role("button", name="Войти").click()
    page.wait_for_url(f"{url}/admin/")


def test_an_owner_links_bitrix24_amocrm_and_telegram_from_the_profile_page(server, page, stand_ins):
    portal, amo, bot = stand_ins
    sign_in(page, server.url)
    # No channel yet: the dashboard's checklist says so in its last step (issue 28: no longer
    # a red banner on every page) and leads to the channels.
    assert page.locator("[data-nobody-hears]").count() == 0
    step = page.locator('#checklist [data-step="notify"]')
    assert "Ни один канал уведомлений не подключён" in step.text_content()
    step.get_by_role("link").click()
    page.wait_for_url(f"{server.url}/admin/account#channels-title")
    assert page.evaluate(UNLABELLED) == []

    labelled(page, "Адрес входящего вебхука Битрикс24").fill(portal.webhook)
    page.locator("form[action$='/account/bitrix24'] button[type=submit]").click()
    page.wait_for_selector("text=Битрикс24 подключён.")
    assert page.locator("[data-nobody-hears]").count() == 0
    html = page.content()
    assert BitrixPortal.CODE not in html and "•••• " + BitrixPortal.CODE[-4:] in html
    page.locator("form[action$='/channels/bitrix24/test'] button").click()
    page.wait_for_selector("text=Тестовое сообщение отправлено в Битрикс24.")
    assert len(portal.leads) == 1

    labelled(page, "Поддомен amoCRM").fill("shop")
    labelled(page, "Долгосрочный токен amoCRM").fill("not-the-right-token")
    page.locator("form[action$='/account/amocrm'] button[type=submit]").click()
    page.wait_for_selector("text=amoCRM подключён.")
    assert labelled(page, "Долгосрочный токен amoCRM").input_value() == ""
    page.locator("form[action$='/channels/amocrm/test'] button").click()
    page.wait_for_selector("text=amoCRM не принял ключ доступа (HTTP 401): «Unauthorized».")

    page.get_by_role("button", name="Привязать Telegram").click()
    link = page.locator("[data-telegram-link]").get_attribute("href")
    assert link.startswith(f"https://t.me/{TelegramApi.USERNAME}?start=")
    bot.send_start(555, "/start " + link.split("start=", 1)[1])
    page.get_by_role("button", name="Я нажал «Start» — проверить").click()
    page.wait_for_selector("text=Telegram привязан: Анна.")
    page.locator("form[action$='/channels/telegram/test'] button").click()
    page.wait_for_selector("text=Тестовое сообщение отправлено в Telegram.")
    assert bot.sent[-1]["chat_id"] == "555"
