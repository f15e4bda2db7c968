"""What the visitor reads in the widget (issue 17, items 8, 9 and 11), in real Chromium on the
sample shop against the simulator: the honest countdown, the final screens, small words."""

from __future__ import annotations

import pytest

from .conftest import build_stack

pytestmark = pytest.mark.browser

SHADOW = "document.querySelector('callback-widget').shadowRoot"
COUNTDOWN = f"() => {{ const c = {SHADOW}.querySelector('.cbw-cd'); return c.hidden ? null : c.textContent; }}"
MESSAGE = f"() => {SHADOW}.querySelector('.cbw-msg').textContent"


@pytest.fixture
def slow_stack(tmp_path, owner_heard, monkeypatch):
    # An operator rings 7.5 s here (30 simulated seconds at a quarter speed). The promise is
    # the ring plan's (visitor/promise.py: 92 s here); a 2 s one lets it run out within the test.
    monkeypatch.setattr("widget_server.visitor.status.wait_seconds", lambda req: 2)
    stack, stop = build_stack(tmp_path, time_scale=0.25)
    yield stack
    stop()


def open_form(page, stack):
    page.goto(stack.shop_url + "/")
    page.click("callback-widget .cbw-fab")
    page.wait_for_selector("#cbw-phone")


def test_the_countdown_keeps_counting_past_its_promise_and_says_the_next_operator_is_rung(
    page, slow_stack
):
    open_form(page, slow_stack)
    page.fill("#cbw-phone", "+7 900 000-00-01")  # nobody answers: two operators rung in turn
    page.select_option("#cbw-group", "102")
    page.check("#cbw-consent")
    page.click("callback-widget button[type=submit]")

    first = page.wait_for_function(COUNTDOWN).json_value()
    assert first in {"Позвоним в течение 2 с", "Позвоним в течение 1 с"}
    page.wait_for_function(f"() => ({COUNTDOWN})() === 'Ждём уже 0:03'")
    page.wait_for_function(f"() => ({MESSAGE})() === 'Звоним следующему оператору…'")
    late = page.evaluate(COUNTDOWN)
    assert late.startswith("Ждём уже 0:") and late >= "Ждём уже 0:07"  # still counting, honestly

    page.wait_for_function(
        "() => document.querySelector('callback-widget').dataset.status === 'no_operator'",
        timeout=30000,
    )
    assert page.evaluate(COUNTDOWN) is None  # nothing is being promised any more
    assert "перезвоним" in page.evaluate(MESSAGE)
    assert page.locator("callback-widget .cbw-st button:not([hidden])").text_content() == "Закрыть"


@pytest.fixture
def stack(tmp_path, owner_heard):
    stack, stop = build_stack(tmp_path)
    yield stack
    stop()


def test_a_visitor_not_reached_may_ask_again(page, stack):
    open_form(page, stack)
    page.fill("#cbw-phone", "+7 900 000-00-02")  # the visitor's line is busy
    page.select_option("#cbw-group", "102")
    page.check("#cbw-consent")
    page.click("callback-widget button[type=submit]")
    page.wait_for_function(
        "() => document.querySelector('callback-widget').dataset.status === 'visitor_busy'",
        timeout=20000,
    )
    again = page.locator("callback-widget .cbw-st button:not([hidden])")
    assert again.text_content() == "Заказать звонок ещё раз"
    again.click()
    page.wait_for_function(f"() => !{SHADOW}.querySelector('.cbw-form').hidden")
    assert page.is_visible("#cbw-phone")  # the form again, the dialog still open


def test_the_send_button_is_a_call_to_action_and_says_why_it_is_disabled(page, stack):
    open_form(page, stack)
    submit = page.locator("callback-widget button[type=submit]")
    hint = page.locator("#cbw-submit-hint")

    assert submit.text_content() == "Позвоните мне"
    assert submit.is_disabled()
    assert hint.is_visible() and hint.text_content() == "Отметьте согласие, чтобы отправить номер"
    assert submit.get_attribute("aria-describedby") == "cbw-submit-hint"
    page.check("#cbw-consent")
    assert submit.is_enabled() and not hint.is_visible()
    page.uncheck("#cbw-consent")
    assert hint.is_visible()


def test_a_number_with_an_extension_is_told_that_extensions_cannot_be_dialled(page, stack):
    open_form(page, stack)
    page.locator("#cbw-phone").press_sequentially("+7 495 123-45-67 доб. 5")
    assert page.input_value("#cbw-phone").endswith("доб. 5")  # the mask leaves the words alone
    page.select_option("#cbw-group", "102")
    page.check("#cbw-consent")
    page.click("callback-widget button[type=submit]")

    message = page.text_content("#cbw-phone-e")
    assert message.startswith("Добавочный номер мы набрать не можем.")
    assert "10 цифр" not in message
    assert stack.sim_requests("call_back") == []
