"""Issue 15 on the visitor's side, in real Chromium on the sample shop against the simulator:
goals in the page's own analytics, the source and variant sent with the request, the funnel
beacons, and the behavioural triggers.

The look's contract-2 extras (analytics, triggers, variants) are served by patching the look
document in the test app, so these tests do not depend on the owner's page that sets them.
"""

from __future__ import annotations

import json

import pytest

from widget_server.visitor import look_cache

from .conftest import build_stack

pytestmark = pytest.mark.browser

OFF = {
    "after_seconds": None,
    "scroll_percent": None,
    "exit_intent": False,
    "return_visit": False,
    "paths": [],
    "snooze_days": None,
}
NO_EXTRAS = {"analytics": {"metrica_id": None, "ga4": False}, "triggers": OFF, "variants": None}
STUB_ANALYTICS = """
window.calls = [];
window.ym = (...a) => calls.push(['ym', ...a]);
window.gtag = (...a) => calls.push(['gtag', ...a]);
window.heard = [];
for (const n of ['opened', 'submitted', 'connected', 'missed'])
    addEventListener('callback-widget:' + n, (e) => heard.push([n, e.detail]));
"""
DIALOG_SHOWN = (
    "() => { const d = document.querySelector('callback-widget')"
    ".shadowRoot.querySelector('.cbw-dlg'); return !!d && !d.hidden; }"
)
# The panel has run (its triggers are live), not only been asked for.
PANEL_LOADED = "() => !!document.querySelector('callback-widget[data-ready]')"


@pytest.fixture
def serve_extras(monkeypatch):
    """Serve a look carrying ``extras`` (contract 2) on top of the real look document."""
    real = look_cache.look_document

    def use(extras):
        merged = {**NO_EXTRAS, **extras}
        monkeypatch.setattr(
            look_cache, "look_document", lambda w, lang: {**real(w, lang), **merged}
        )

    return use


@pytest.fixture
def stack(tmp_path, serve_extras, owner_heard):
    stack, stop = build_stack(tmp_path)
    yield stack
    stop()


def watch_network(page, stack):
    """The beacons (answered here, 204) and the submit bodies, as the browser sent them."""
    page.beacons, page.submits = [], []

    def beacon(route):
        page.beacons.append(json.loads(route.request.post_data))
        route.fulfill(status=204)

    page.route(f"{stack.service_url}/api/v1/widgets/*/beacon", beacon)
    page.on(
        "request",
        lambda r: (
            r.method == "POST"
            and r.url.split("?")[0].endswith("/requests")
            and page.submits.append(json.loads(r.post_data))
        ),
    )


def heard(page, name):
    page.wait_for_function(f"() => heard.some(h => h[0] === {json.dumps(name)})", timeout=20000)


def send(page, phone, group="102"):
    page.fill("#cbw-phone", phone)
    page.select_option("#cbw-group", group)
    page.check("#cbw-consent")
    page.click("callback-widget button[type=submit]")


# -- goals, source, variant, beacons ------------------------------------------------------------
def test_a_visitor_from_an_ad_is_reported_to_the_sites_analytics_and_sends_the_source(
    page, stack, serve_extras
):
    variant_b = {
        "id": "b",
        "weight": 100,
        "texts": {"title": "Перезвоним за минуту"},
        "triggers": None,
    }
    serve_extras(
        {
            "analytics": {"metrica_id": "12345", "ga4": True},
            "variants": [{"id": "a", "weight": 0, "texts": {}, "triggers": None}, variant_b],
        }
    )
    page.add_init_script(STUB_ANALYTICS)
    watch_network(page, stack)
    landing = f"{stack.shop_url}/?utm_source=yandex&utm_medium=cpc&utm_campaign=tea&yclid=777"
    page.goto(landing, referer="https://yandex.ru/search/?text=чай")
    page.wait_for_selector("callback-widget .cbw-fab")

    page.click("callback-widget .cbw-fab")
    heard(page, "opened")
    assert page.text_content("callback-widget .cbw-title") == "Перезвоним за минуту"
    send(page, "9161234567")
    heard(page, "connected")

    calls = page.evaluate("() => calls")
    goals = [c[3] for c in calls if c[0] == "ym"]
    assert goals == ["callback_opened", "callback_submitted", "callback_connected"]
    assert [c[2] for c in calls if c[0] == "gtag"] == goals
    assert all(c[1] == "12345" and c[2] == "reachGoal" for c in calls if c[0] == "ym")
    submitted = next(c for c in calls if c[0] == "ym" and c[3] == "callback_submitted")[4]
    assert submitted == {"widget": stack.widget_key, "department": "Сервис", "status": "queued"}
    events = dict((name, detail) for name, detail in page.evaluate("() => heard"))
    assert events["submitted"]["handle"] and events["submitted"]["department"] == "Сервис"
    assert "9161234567" not in json.dumps(calls) + json.dumps(events)
    assert page.submits[0]["source"] == {
        "utm_source": "yandex",
        "utm_medium": "cpc",
        "utm_campaign": "tea",
        "yclid": "777",
        "referrer": "https://yandex.ru/search/",
        "landing_page": landing,
    }
    assert page.submits[0]["variant"] == "b"
    assert page.beacons == [
        {"event": "impression", "variant": "b", "path": "/"},
        {"event": "open", "variant": "b", "path": "/"},
    ]
    assert page.console_errors == []


def test_a_missed_call_is_reported_and_its_screen_closes_instead_of_asking_again(
    page, stack, serve_extras
):
    serve_extras({"analytics": {"metrica_id": "12345", "ga4": False}})
    page.add_init_script(STUB_ANALYTICS)
    watch_network(page, stack)
    page.goto(stack.shop_url + "/")
    page.click("callback-widget .cbw-fab")
    send(page, "+7 900 000-00-01")  # nobody answers

    heard(page, "missed")

    assert [c[3] for c in page.evaluate("() => calls")][-1] == "callback_missed"
    assert page.get_attribute("callback-widget", "data-status") == "no_operator"
    main = page.locator("callback-widget .cbw-st button:not([hidden])")
    assert main.text_content() == "Закрыть"
    main.click()
    page.wait_for_function(f"() => !({DIALOG_SHOWN})()")
    page.click("callback-widget .cbw-fab")  # opened again: a new form, not the old screen
    page.wait_for_function(DIALOG_SHOWN)
    assert page.is_visible("#cbw-phone")


def test_a_server_without_the_funnel_is_sent_no_beacons(page, stack, monkeypatch):
    real = look_cache.look_document
    extras = set(NO_EXTRAS)
    monkeypatch.setattr(  # an older server: its look has none of contract 2's keys
        look_cache,
        "look_document",
        lambda w, lang: {k: v for k, v in real(w, lang).items() if k not in extras},
    )
    watch_network(page, stack)
    page.goto(stack.shop_url + "/")
    page.click("callback-widget .cbw-fab")
    page.wait_for_function(DIALOG_SHOWN)
    assert page.beacons == []  # the look has no extras: this server counts no funnel
    assert page.console_errors == []


# -- behavioural triggers ------------------------------------------------------------------------
def shop_with_clock(page, stack, path="/"):
    page.clock.install()
    page.goto(stack.shop_url + path)
    page.wait_for_selector("callback-widget .cbw-fab")
    page.clock.run_for(4000)  # the page is idle: the panel, and the triggers with it, load
    page.wait_for_function(PANEL_LOADED)


def test_the_widget_opens_by_itself_after_the_seconds_set(page, stack, serve_extras):
    serve_extras({"triggers": {**OFF, "after_seconds": 30}})
    shop_with_clock(page, stack)
    page.clock.run_for(20_000)
    assert not page.evaluate(DIALOG_SHOWN)
    page.clock.run_for(10_000)
    page.wait_for_function(DIALOG_SHOWN)
    # The visitor closes it: it stays closed on the next pages of the session.
    page.keyboard.press("Escape")
    page.reload()
    page.wait_for_selector("callback-widget .cbw-fab")
    page.clock.run_for(40_000)
    page.wait_for_function(PANEL_LOADED)
    assert not page.evaluate(DIALOG_SHOWN)


def test_exit_intent_opens_it_and_a_closed_widget_waits_the_days_set(page, stack, serve_extras):
    serve_extras({"triggers": {**OFF, "exit_intent": True, "snooze_days": 2}})
    shop_with_clock(page, stack)
    page.mouse.move(600, 400)
    page.mouse.move(600, 5)
    page.mouse.move(600, -10)  # out through the top: towards the tabs and the address bar
    page.wait_for_function(DIALOG_SHOWN)
    page.click("callback-widget .cbw-x")

    page.evaluate("() => sessionStorage.clear()")  # a later session, the next day
    page.clock.fast_forward(86_400_000)
    page.reload()
    page.wait_for_selector("callback-widget .cbw-fab")
    page.clock.run_for(4000)
    page.wait_for_function(PANEL_LOADED)
    page.mouse.move(600, 400)
    page.mouse.move(600, -10)
    page.evaluate("() => new Promise(r => setTimeout(r, 100))")
    assert not page.evaluate(DIALOG_SHOWN)

    page.evaluate("() => sessionStorage.clear()")  # two days after the close
    page.clock.fast_forward(86_400_000 + 60_000)
    page.reload()
    page.wait_for_selector("callback-widget .cbw-fab")
    page.clock.run_for(4000)
    page.wait_for_function(PANEL_LOADED)
    page.mouse.move(600, 400)
    page.mouse.move(600, -10)
    page.wait_for_function(DIALOG_SHOWN)


def test_the_scroll_depth_opens_it(page, stack, serve_extras):
    serve_extras({"triggers": {**OFF, "scroll_percent": 60}})
    page.add_init_script(
        "addEventListener('DOMContentLoaded', () => document.body.style.minHeight = '5000px')"
    )
    shop_with_clock(page, stack)
    page.mouse.move(400, 300)
    page.mouse.wheel(0, 1000)  # (1000 + 800) of 5000+ px seen: about 35 %
    page.wait_for_function("() => scrollY >= 1000")
    assert not page.evaluate(DIALOG_SHOWN)
    page.mouse.wheel(0, 2000)
    page.wait_for_function(DIALOG_SHOWN)


@pytest.mark.parametrize(("path", "opens"), [("/csp", True), ("/", False)])
def test_only_the_chosen_paths_open_it(page, stack, serve_extras, path, opens):
    serve_extras({"triggers": {**OFF, "after_seconds": 5, "paths": ["/cs*"]}})
    shop_with_clock(page, stack, path)
    page.clock.run_for(5000)
    if opens:
        page.wait_for_function(DIALOG_SHOWN)
    else:
        page.evaluate("() => new Promise(r => setTimeout(r, 100))")
        assert not page.evaluate(DIALOG_SHOWN)
