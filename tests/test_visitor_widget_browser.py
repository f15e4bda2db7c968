"""The widget in real Chromium, on the sample shop (another origin), against the simulator."""

from __future__ import annotations

import time

import pytest
from sqlalchemy import select

from widget_server.extensions import db
from widget_server.models import WidgetGroup

from .conftest import build_stack

pytestmark = pytest.mark.browser

RECORD_STATUSES = """() => {
    window.__statuses = [];
    const host = document.querySelector('callback-widget');
    new MutationObserver(() => window.__statuses.push(host.getAttribute('data-status')))
        .observe(host, {attributes: true, attributeFilter: ['data-status']});
}"""


@pytest.fixture
def slow_stack(tmp_path):
    # Slow enough that every live status stays on screen for a few polls.
    stack, stop = build_stack(tmp_path, time_scale=0.25)
    yield stack
    stop()


PHONE_FOCUSED = "() => document.activeElement.shadowRoot?.activeElement?.id === 'cbw-phone'"


def wait_open(page):
    """The dialog opens once its part of the widget has loaded (on first intent) and the session."""
    page.wait_for_selector("callback-widget .cbw-dlg", state="visible")


def open_shop(page, stack, path="/"):
    page.goto(f"{stack.shop_url}{path}")
    page.wait_for_selector("callback-widget .cbw-fab")
    page.evaluate(RECORD_STATUSES)


def test_a_visitor_on_the_shop_page_sees_connected_then_finished(page, slow_stack):
    open_shop(page, slow_stack)
    page.click("callback-widget .cbw-fab")
    page.fill("#cbw-phone", "9161234567")
    page.select_option("#cbw-group", "102")
    page.fill("#cbw-name", "Анна")
    page.check("#cbw-consent")
    page.click("callback-widget button[type=submit]")
    page.wait_for_function("() => window.__statuses.includes('finished')", timeout=20000)
    statuses = page.evaluate("() => window.__statuses")
    assert statuses.index("connected") < statuses.index("finished")
    assert "calling_visitor" in statuses
    assert "завершён" in page.text_content("callback-widget .cbw-msg")
    callbacks = slow_stack.sim_requests("call_back")
    assert callbacks[0]["body"] == {"request_number": "+79161234567", "from_pin": "204"}
    assert page.console_errors == []
    # A finished request is not brought back on the next page view.
    page.reload()
    page.wait_for_selector("callback-widget .cbw-fab")
    time.sleep(0.5)
    assert page.get_attribute("callback-widget", "data-status") == "idle"
    assert page.evaluate("() => Object.keys(localStorage).filter(k => k.startsWith('cbw:'))") == []


def test_an_invalid_number_shows_a_message_under_the_field_and_sends_nothing(page, stack):
    open_shop(page, stack)
    page.click("callback-widget .cbw-fab")
    page.fill("#cbw-phone", "916123")
    page.check("#cbw-consent")
    page.click("callback-widget button[type=submit]")
    message = page.text_content("#cbw-phone-e")
    assert "10 цифр" in message
    assert page.get_attribute("#cbw-phone", "aria-invalid") == "true"
    assert stack.sim_requests("call_back") == []


def test_a_number_the_server_refuses_shows_the_servers_message_under_the_field(page, stack):
    open_shop(page, stack)
    page.click("callback-widget .cbw-fab")
    page.fill("#cbw-phone", "+7 800 123-45-67")  # 8-800: toll-free, never called
    page.select_option("#cbw-group", "101")
    page.check("#cbw-consent")
    page.click("callback-widget button[type=submit]")
    page.wait_for_function(
        "() => document.querySelector('callback-widget').shadowRoot"
        ".querySelector('#cbw-phone-e').textContent.length > 0"
    )
    assert "позвонить не можем" in page.text_content("#cbw-phone-e")
    assert stack.sim_requests("call_back") == []


def test_the_send_button_stays_disabled_until_consent_is_ticked(page, stack):
    open_shop(page, stack)
    page.click("callback-widget .cbw-fab")
    page.fill("#cbw-phone", "9161234567")
    assert page.is_disabled("callback-widget button[type=submit]")
    assert not page.is_checked("#cbw-consent")
    page.check("#cbw-consent")
    assert page.is_enabled("callback-widget button[type=submit]")


def test_the_whole_flow_works_with_the_keyboard_alone(page, slow_stack):
    open_shop(page, slow_stack)
    for _ in range(10):
        page.keyboard.press("Tab")
        if page.evaluate(
            "() => document.activeElement.tagName === 'CALLBACK-WIDGET' && "
            "document.activeElement.shadowRoot.activeElement.classList.contains('cbw-fab')"
        ):
            break
    else:
        pytest.fail("the floating button is not reachable with Tab")
    page.keyboard.press("Enter")
    page.wait_for_function(PHONE_FOCUSED)
    page.keyboard.type("9161112233")
    page.keyboard.press("Tab")  # department
    page.keyboard.press("ArrowDown")
    for _ in range(6):
        page.keyboard.press("Tab")
        if (
            page.evaluate("() => document.activeElement.shadowRoot.activeElement.id")
            == "cbw-consent"
        ):
            break
    page.keyboard.press("Space")
    for _ in range(6):
        page.keyboard.press("Tab")
        if page.evaluate("() => document.activeElement.shadowRoot.activeElement.type") == "submit":
            break
    page.keyboard.press("Enter")
    page.wait_for_function("() => window.__statuses.includes('finished')", timeout=20000)
    assert slow_stack.sim_requests("call_back")[0]["body"]["request_number"] == "+79161112233"
    page.keyboard.press("Escape")
    assert page.is_hidden("callback-widget .cbw-dlg")
    assert page.evaluate(
        "() => document.activeElement.shadowRoot.activeElement.classList.contains('cbw-fab')"
    )


def test_tab_keeps_focus_inside_the_open_dialog(page, stack):
    open_shop(page, stack)
    page.click("callback-widget .cbw-fab")
    page.wait_for_function(PHONE_FOCUSED)
    for _ in range(15):
        page.keyboard.press("Tab")
        inside = page.evaluate("""() => {
            const a = document.activeElement;
            return a.tagName === 'CALLBACK-WIDGET' && !!a.shadowRoot.activeElement.closest('.cbw-dlg');
        }""")
        assert inside


def test_the_widget_works_under_a_strict_content_security_policy(page, slow_stack):
    violations = []
    page.on("console", lambda m: "Content Security Policy" in m.text and violations.append(m.text))
    page.goto(f"{slow_stack.shop_url}/csp")
    page.evaluate(
        "() => document.addEventListener('securitypolicyviolation', "
        "e => (window.__csp = window.__csp || []).push(e.violatedDirective))"
    )
    page.wait_for_selector("callback-widget .cbw-fab")
    page.evaluate(RECORD_STATUSES)
    page.click("callback-widget .cbw-fab")
    page.fill("#cbw-phone", "9162223344")
    page.select_option("#cbw-group", "101")
    page.check("#cbw-consent")
    page.click("callback-widget button[type=submit]")
    page.wait_for_function("() => window.__statuses.includes('finished')", timeout=20000)
    assert page.evaluate("() => window.__csp || []") == []
    assert violations == []
    # The widget's styles applied: the floating button is positioned, not in the page flow.
    assert (
        page.evaluate("""() => getComputedStyle(document.querySelector('callback-widget')
        .shadowRoot.querySelector('.cbw-fab')).position""")
        == "fixed"
    )


def test_the_owners_own_button_opens_the_widget(page, stack):
    open_shop(page, stack)
    page.click("button[data-callback-widget]")
    wait_open(page)
    assert page.is_visible("callback-widget .cbw-dlg")


LOADER_TIMING = """() => {
    const page = performance.getEntriesByType('navigation')[0];
    const loader = performance.getEntriesByType('resource').find(e => e.name.endsWith('/embed.js'));
    return {loaded: page.loadEventEnd, requested: loader.startTime};
}"""


def test_the_after_load_snippet_asks_for_the_widget_only_after_the_page_has_loaded(page, stack):
    open_shop(page, stack, "/after-load")
    timing = page.evaluate(LOADER_TIMING)
    assert timing["requested"] >= timing["loaded"] > 0
    # The widget it brings is the whole widget: the page's own button opens it, a call is placed.
    page.click("button[data-callback-widget]")
    wait_open(page)
    page.fill("#cbw-phone", "9163334455")
    page.select_option("#cbw-group", "101")
    page.check("#cbw-consent")
    page.click("callback-widget button[type=submit]")
    page.wait_for_function("() => window.__statuses.includes('finished')", timeout=20000)
    assert stack.sim_requests("call_back")[0]["body"]["request_number"] == "+79163334455"
    assert page.console_errors == []


def test_the_plain_tag_asks_for_the_widget_while_the_page_loads(page, stack):
    # What the after-load snippet changes: the async tag's request starts before the load event.
    open_shop(page, stack)
    timing = page.evaluate(LOADER_TIMING)
    assert 0 < timing["requested"] < timing["loaded"]


def test_on_a_phone_the_dialog_is_a_full_width_sheet(browser, stack):
    context = browser.new_context(
        viewport={"width": 375, "height": 700}, is_mobile=True, has_touch=True
    )
    page = context.new_page()
    try:
        open_shop(page, stack)
        page.click("callback-widget .cbw-fab")
        wait_open(page)
        box = page.locator("callback-widget .cbw-dlg").bounding_box()
        assert box["width"] >= 374
    finally:
        context.close()


def test_owner_texts_are_shown_as_text_never_as_markup(page, stack):
    with stack.app.app_context():
        group = db.session.scalar(select(WidgetGroup).order_by(WidgetGroup.position))
        group.label = '<img src=x onerror="window.__xss=1">Продажи'
        db.session.commit()
    open_shop(page, stack)
    page.click("callback-widget .cbw-fab")
    wait_open(page)
    options = page.evaluate("""() => [...document.querySelector('callback-widget').shadowRoot
        .querySelectorAll('#cbw-group option')].map(o => o.textContent)""")
    assert '<img src=x onerror="window.__xss=1">Продажи' in options
    assert (
        page.evaluate(
            "() => document.querySelector('callback-widget').shadowRoot"
            ".querySelectorAll('img').length"
        )
        == 0
    )
    assert page.evaluate("() => window.__xss") is None


def test_a_rate_limited_request_tells_the_visitor_when_to_try_again(page, tmp_path):
    stack, stop = build_stack(tmp_path, app_overrides={"RATELIMIT_NUMBER": "1/2minute"})
    try:
        assert stack.submit("+7 916 555-66-77").status_code == 202
        open_shop(page, stack)
        page.click("callback-widget .cbw-fab")
        page.fill("#cbw-phone", "9165556677")
        page.select_option("#cbw-group", "101")
        page.check("#cbw-consent")
        page.click("callback-widget button[type=submit]")
        page.wait_for_function(
            "() => document.querySelector('callback-widget').shadowRoot"
            ".querySelector('[role=alert]').textContent.length > 0"
        )
        alert = page.text_content("callback-widget [role=alert]")
        assert "Слишком много запросов" in alert
        assert any(ch.isdigit() for ch in alert)
    finally:
        stop()
