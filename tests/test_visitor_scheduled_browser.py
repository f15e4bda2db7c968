"""A closed widget in real Chromium: the visitor picks a time and is told when we will call."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select

from widget_server.dispatch.schedule import ALWAYS_OPEN
from widget_server.extensions import db
from widget_server.models import CallbackRequest, Widget

from .conftest import build_stack
from .test_visitor_widget_browser import RECORD_STATUSES

pytestmark = pytest.mark.browser

SHADOW = "document.querySelector('callback-widget').shadowRoot"


@pytest.fixture
def closed_stack(tmp_path):
    """The live stack, night guard on, its widget closed today and tomorrow whatever the hour."""
    stack, stop = build_stack(tmp_path, app_overrides={"NIGHT_GUARD": True})
    today = datetime.now(UTC).astimezone(ZoneInfo("Europe/Moscow")).date()
    with stack.app.app_context():
        widget = db.session.scalar(select(Widget))
        widget.hours, widget.public_holidays = ALWAYS_OPEN, False
        widget.days_off = [(today + timedelta(days=n)).isoformat() for n in (-1, 0, 1)]
        db.session.commit()
    yield stack
    stop()


def test_a_closed_widget_lets_the_visitor_pick_a_time_and_rings_nobody_now(browser, closed_stack):
    stack = closed_stack
    context = browser.new_context(timezone_id="Asia/Yekaterinburg", locale="ru-RU")
    page = context.new_page()
    errors = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    try:
        page.goto(f"{stack.shop_url}/")
        page.wait_for_selector("callback-widget .cbw-fab")
        page.evaluate(RECORD_STATUSES)
        page.click("callback-widget .cbw-fab")

        assert page.text_content("callback-widget .cbw-title") == "Сейчас мы не работаем"
        assert "Выберите удобное время" in page.text_content("callback-widget .cbw-intro")
        assert page.text_content("callback-widget label[for=cbw-slot]") == "Когда позвонить"
        assert page.get_attribute("#cbw-slot", "required") is not None
        options = page.evaluate(
            f"() => [...{SHADOW}.querySelectorAll('#cbw-slot option')]"
            ".map(o => [o.value, o.textContent])"
        )
        assert len(options) == 6
        # Two days closed, then 09:00 in the visitor's own zone (the night guard).
        first = datetime.fromisoformat(options[0][0]).astimezone(ZoneInfo("Asia/Yekaterinburg"))
        assert first.strftime("%H:%M") == "09:00"
        assert options[0][1].endswith("в 09:00")
        chosen_at, chosen_label = options[2]

        page.fill("#cbw-phone", "9161234567")
        page.select_option("#cbw-group", "101")
        page.select_option("#cbw-slot", chosen_at)
        page.check("#cbw-consent")
        page.click("callback-widget button[type=submit]")

        page.wait_for_function("() => window.__statuses.includes('scheduled')", timeout=10000)
        assert page.get_attribute("callback-widget", "data-status") == "scheduled"
        assert page.text_content("callback-widget .cbw-msg") == f"Позвоним {chosen_label}."
        assert page.is_visible("callback-widget .cbw-sec")  # cancel stays available

        with stack.app.app_context():
            req = db.session.scalar(select(CallbackRequest))
            assert req.status == "scheduled"
            assert req.visitor_tz == "Asia/Yekaterinburg"
            assert req.scheduled_for.replace(tzinfo=UTC) == datetime.fromisoformat(chosen_at)
        time.sleep(1.5)  # the queue consumer is running: it must not dial now
        assert stack.sim_requests("call_back") == []
        assert page.get_attribute("callback-widget", "data-status") == "scheduled"

        # Coming back later, the visitor still sees when we will call.
        page.reload()
        page.wait_for_selector("callback-widget .cbw-fab")
        page.wait_for_function(
            "() => document.querySelector('callback-widget').getAttribute('data-status')"
            " === 'scheduled'",
            timeout=10000,
        )
        page.evaluate(RECORD_STATUSES)
        page.click("callback-widget .cbw-fab")
        assert page.text_content("callback-widget .cbw-msg") == f"Позвоним {chosen_label}."

        page.click("callback-widget .cbw-sec")
        page.wait_for_function("() => window.__statuses.includes('cancelled')", timeout=10000)
        assert stack.sim_requests("call_back") == []
        assert errors == []
    finally:
        context.close()


def test_an_open_widget_shows_no_slot_choice(browser, tmp_path):
    stack, stop = build_stack(tmp_path)
    context = browser.new_context()
    page = context.new_page()
    try:
        page.goto(f"{stack.shop_url}/")
        page.wait_for_selector("callback-widget .cbw-fab")
        page.click("callback-widget .cbw-fab")
        assert page.text_content("callback-widget .cbw-title") == "Мы перезвоним вам"
        assert page.evaluate(f"() => {SHADOW}.querySelector('#cbw-slot')") is None
    finally:
        context.close()
        stop()
