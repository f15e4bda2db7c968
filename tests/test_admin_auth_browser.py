"""Accounts in a real Chromium: sign in, switch to English, change password, sign out, sign in."""

from __future__ import annotations

import re

import pytest

from .admin_support import PASSWORD, make_owner
from .conftest import ServerThread, make_app

NEW_PASSWORD = "a new browser passphrase"

pytestmark = pytest.mark.browser


@pytest.fixture
def server(tmp_path):
    app = make_app(tmp_path)
    make_owner(app, admin=True)
    make_owner(app, "a-rather-long-address-of-a-shop@example-shop.ru")  # a row with buttons
    running = ServerThread(app)
    yield running
    running.stop()


# Every visible form control must have an accessible name from a <label> (or aria-label).
UNLABELLED = """() => Array.from(document.querySelectorAll('input, select, textarea'))
  .filter(el => el.type !== 'hidden' && !el.hidden && el.offsetParent !== null)
  .filter(el => !(el.labels && el.labels.length) && !el.getAttribute('aria-label'))
  .map(el => el.name || el.id)"""

FOCUS_RING = """() => {
  const el = document.activeElement;
  const style = getComputedStyle(el);
  return {tag: el.tagName, id: el.id, text: el.textContent.trim().slice(0, 40),
          outline: style.outlineStyle, width: parseFloat(style.outlineWidth)};
}"""


def labelled(page, label):
    """The control whose label reads ``label`` (a required field's label ends with "*")."""
    return page.get_by_label(re.compile(rf"^\s*{re.escape(label)}( \*)?\s*$"))


def assert_focus_visible(page):
    ring = page.evaluate(FOCUS_RING)
    assert ring["outline"] not in ("none", "") and ring["width"] >= 2, ring
    return ring


def test_an_owner_signs_in_switches_to_english_changes_the_password_and_signs_in_again(
    server, page
):
    # A Russian browser: the pages start in Russian (English would follow Accept-Language).
    page.context.set_extra_http_headers({"Accept-Language": "ru-RU,ru;q=0.9"})
    page.goto(f"{server.url}/admin/sign-in")
    assert page.locator("html").get_attribute("lang") == "ru"
    assert page.evaluate(UNLABELLED) == []
    # The e-mail field has the focus; the keyboard moves on with a visible focus ring.
    assert assert_focus_visible(page)["id"] == "email"
    page.keyboard.press("Tab")
    assert assert_focus_visible(page)["id"] == "password"
    page.keyboard.press("Tab")
    assert assert_focus_visible(page)["text"] == "Войти"
    page.keyboard.press("Shift+Tab")
    page.get_by_label("Эл. почта").fill("owner@example.com")
    page.get_by_label("Пароль").fill(PASSWORD)
    page.get_by_role("button", name="Войти").click()
    page.wait_for_url(f"{server.url}/admin/")

    page.get_by_role("button", name="English").click()
    page.wait_for_selector("html[lang=en]")
    page.get_by_role("link", name="Account").click()
    page.wait_for_url(f"{server.url}/admin/account")
    assert page.evaluate(UNLABELLED) == []
    for label in (
        "Current password",
        "New password",
        "Repeat the new password",
        "Your phone for test calls",
        "Language of the settings pages",
        "Email for notifications",
        "Webhook URL (CRM)",
        "Daily summary at 08:00 Moscow time",
        "Keep requests for (days)",
        "Visitor's number",
    ):
        assert labelled(page, label).count() == 1, label

    # A mistake first: the message appears next to the field and names it for screen readers.
    page.get_by_label("Current password").fill("not my password")
    labelled(page, "New password").fill(NEW_PASSWORD)
    page.get_by_label("Repeat the new password").fill(NEW_PASSWORD)
    page.get_by_role("button", name="Change password").click()
    error = page.locator("#current_password-error")
    error.wait_for()
    assert error.text_content() == "The current password is wrong."
    described = page.get_by_label("Current password").get_attribute("aria-describedby")
    assert "current_password-error" in described

    page.get_by_label("Current password").fill(PASSWORD)
    labelled(page, "New password").fill(NEW_PASSWORD)
    page.get_by_label("Repeat the new password").fill(NEW_PASSWORD)
    page.get_by_role("button", name="Change password").click()
    page.get_by_text("Password changed. All other sessions have been signed out.").wait_for()

    page.get_by_role("button", name="Sign out").click()
    page.get_by_text("You have signed out.").wait_for()
    page.get_by_label("Email").fill("owner@example.com")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.get_by_text("Wrong email or password.").wait_for()
    page.get_by_label("Password").fill(NEW_PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(f"{server.url}/admin/")
    # The refused forms answered 400 and 401 on purpose; nothing else may fail.
    expected = ("status of 400", "status of 401")
    assert [e for e in page.console_errors if not any(x in e for x in expected)] == []


def test_account_and_users_pages_fit_a_phone_screen_without_sideways_scrolling(server, browser):
    context = browser.new_context(viewport={"width": 390, "height": 844}, locale="ru-RU")
    page = context.new_page()
    try:
        page.goto(f"{server.url}/admin/sign-in")
        page.get_by_label("Эл. почта").fill("owner@example.com")
        page.get_by_label("Пароль").fill(PASSWORD)
        page.get_by_role("button", name="Войти").click()
        page.wait_for_url(f"{server.url}/admin/")
        for path in ("/admin/account", "/admin/users", "/admin/sign-in", "/admin/missing"):
            page.goto(f"{server.url}{path}")
            overflow = page.evaluate(
                "() => document.documentElement.scrollWidth - window.innerWidth"
            )
            assert overflow <= 0, (path, overflow)
    finally:
        context.close()
