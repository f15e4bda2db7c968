"""The widget's feature modules (embed/src/features/) in real Chromium, on a host page.

Each module is loaded as the browser loads it (an ES module from the page's origin);
time is Playwright's clock, scroll and the mouse are real input events.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

pytestmark = pytest.mark.browser

FEATURES = Path(__file__).resolve().parent.parent / "embed" / "src" / "features"
SHOP = "https://shop.test"
HOST_PAGE = """<!doctype html><html><head><meta charset="utf-8"></head>
<body style="margin:0"><div style="height:4000px">shop</div>
<script type="module">
import * as goals from '/features/goals.js';
import * as source from '/features/source.js';
import * as triggers from '/features/triggers.js';
import * as variant from '/features/variant.js';
import * as beacon from '/features/beacon.js';
import * as countdown from '/features/countdown.js';
window.F = {...goals, ...source, ...triggers, ...variant, ...beacon, ...countdown};
window.opened = 0;
window.ready = true;
</script></body></html>"""


def serve_shop(context, beacons=None):
    """The host page on every path of SHOP, the modules under /features/, beacons captured."""

    def handle(route):
        url = route.request.url
        if "/features/" in url:
            name = url.split("/features/", 1)[1].split("?")[0]
            body = (FEATURES / name).read_text()
            return route.fulfill(body=body, content_type="text/javascript")
        if "/beacon" in url and beacons is not None:
            beacons.append(
                {
                    "url": url,
                    "type": route.request.headers.get("content-type"),
                    "body": json.loads(route.request.post_data),
                }
            )
            return route.fulfill(status=204)
        if url.startswith(SHOP):
            return route.fulfill(body=HOST_PAGE, content_type="text/html")
        return route.abort()

    context.route("**/*", handle)


@pytest.fixture
def shop(browser):
    context = browser.new_context(viewport={"width": 1280, "height": 800})
    context.beacons = []
    serve_shop(context, context.beacons)
    yield context
    context.close()


def visit(context, path="/", **goto):
    page = context.new_page()
    page.errors = []
    page.on("pageerror", lambda e: page.errors.append(str(e)))
    page.goto(SHOP + path, **goto)
    page.wait_for_function("() => window.ready === true")
    return page


# -- source: the first touch of the session ------------------------------------------------
def test_the_first_touch_of_a_session_is_kept_across_the_visitors_pages(shop):
    landing = "/promo?utm_source=yandex&utm_medium=cpc&utm_campaign=winter&yclid=42&x=1"
    page = visit(shop, landing, referer="https://yandex.ru/search/?text=callback")

    page.evaluate("() => F.touch()")  # the loader, on every page
    first = page.evaluate("() => F.source()")
    page.goto(SHOP + "/cart?utm_source=email")
    page.wait_for_function("() => window.ready === true")
    page.evaluate("() => F.touch()")
    later = page.evaluate("() => F.source()")

    assert first == {
        "utm_source": "yandex",
        "utm_medium": "cpc",
        "utm_campaign": "winter",
        "yclid": "42",
        "referrer": "https://yandex.ru/search/",  # without the query: personal words stay out
        "landing_page": SHOP + landing,
    }
    assert later == first
    assert page.evaluate("() => document.cookie") == ""


def test_a_move_inside_the_shop_is_not_a_referrer_and_a_new_session_is_a_new_touch(shop):
    page = visit(shop, "/catalog")
    # A page without the widget came first (no touch yet), then a link inside the shop.
    with page.expect_navigation():
        page.evaluate("() => { location.href = '/item?gclid=abc'; }")
    page.wait_for_function("() => window.ready === true")
    page.evaluate("() => F.touch()")
    assert page.evaluate("() => document.referrer") == SHOP + "/catalog"
    # Reached from the shop itself: not the session's start, so nothing is kept for it.
    assert page.evaluate("() => sessionStorage.getItem('cbw-touch')") is None
    assert page.evaluate("() => F.source()") == {
        "gclid": "abc",
        "landing_page": SHOP + "/item?gclid=abc",
    }
    fresh = visit(shop, "/?utm_source=vk")  # another tab: another browser session
    fresh.evaluate("() => F.touch()")
    assert fresh.evaluate("() => F.source().utm_source") == "vk"


def test_without_storage_the_source_is_the_page_the_request_is_sent_from(shop):
    page = visit(shop, "/p?utm_medium=cpc")
    page.evaluate("() => { Storage.prototype.getItem = () => { throw new Error('blocked'); }; }")
    page.evaluate("() => F.touch()")
    assert page.evaluate("() => F.source()") == {
        "utm_medium": "cpc",
        "landing_page": SHOP + "/p?utm_medium=cpc",
    }


# -- goals in the site's own analytics -------------------------------------------------------
STUBS = """() => {
    window.calls = [];
    window.ym = (...a) => calls.push(['ym', ...a]);
    window.gtag = (...a) => calls.push(['gtag', ...a]);
    window.dataLayer = {push: (o) => calls.push(['dataLayer', o])};
    window.heard = [];
    for (const n of ['opened', 'submitted', 'connected', 'missed'])
        addEventListener('callback-widget:' + n, (e) => heard.push([n, e.detail]));
}"""


def test_goals_reach_metrica_and_gtag_with_the_documented_names(shop):
    page = visit(shop)
    page.evaluate(STUBS)
    detail = {"widget": "wk_1", "handle": "h1", "department": "Продажи"}
    for name in ("callback_opened", "callback_submitted", "callback_connected", "callback_missed"):
        page.evaluate("([n, d]) => F.goal(n, d, {metrica_id: '98765', ga4: true})", [name, detail])

    calls = page.evaluate("() => calls")
    params = {"widget": "wk_1", "department": "Продажи"}  # the handle stays out of analytics
    assert calls[:2] == [
        ["ym", "98765", "reachGoal", "callback_opened", params],
        ["gtag", "event", "callback_opened", params],
    ]
    assert [c[3] for c in calls if c[0] == "ym"] == [
        "callback_opened",
        "callback_submitted",
        "callback_connected",
        "callback_missed",
    ]
    assert not [c for c in calls if c[0] == "dataLayer"]  # gtag feeds dataLayer itself
    heard = page.evaluate("() => heard")
    assert [h[0] for h in heard] == ["opened", "submitted", "connected", "missed"]
    assert heard[1][1] == detail


def test_a_gtm_page_gets_a_data_layer_push_and_a_page_without_analytics_only_the_event(shop):
    page = visit(shop)
    page.evaluate(STUBS)
    page.evaluate("() => { delete window.gtag; }")
    page.evaluate("() => F.goal('callback_submitted', {widget: 'wk_1'}, {ga4: true})")
    assert page.evaluate("() => calls") == [
        ["dataLayer", {"event": "callback_submitted", "widget": "wk_1"}]
    ]

    bare = visit(shop)
    bare.evaluate(
        "() => { window.heard = []; addEventListener('callback-widget:missed', "
        "e => heard.push(e.detail)); }"
    )
    bare.evaluate(
        "() => F.goal('callback_missed', {widget: 'wk_1', status: 'no_operator'}, "
        "{metrica_id: '1', ga4: true})"
    )
    assert bare.evaluate("() => heard") == [{"widget": "wk_1", "status": "no_operator"}]
    assert bare.errors == []
    scripts = bare.evaluate("() => [...document.scripts].map(s => s.src).filter(Boolean)")
    assert scripts == []  # no analytics script was loaded


def test_goals_are_not_sent_to_analytics_the_owner_did_not_turn_on(shop):
    page = visit(shop)
    page.evaluate(STUBS)
    page.evaluate(
        "() => F.goal('callback_opened', {widget: 'wk_1'}, {metrica_id: null, ga4: false})"
    )
    assert page.evaluate("() => calls") == []
    assert page.evaluate("() => heard.length") == 1


# -- behavioural triggers ---------------------------------------------------------------------
def watch(page, triggers, key="wk_1", busy="false"):
    page.evaluate(
        f"(t) => {{ window.stop = F.watch({json.dumps(key)}, t, () => opened++, () => {busy}); }}",
        triggers,
    )


OFF = {
    "after_seconds": None,
    "scroll_percent": None,
    "exit_intent": False,
    "return_visit": False,
    "paths": [],
    "snooze_days": None,
}


def opened(page) -> int:
    return page.evaluate("() => opened")


def test_the_widget_opens_after_the_seconds_set_counted_from_the_pages_start(shop):
    page = shop.new_page()
    page.clock.install()
    page.goto(SHOP + "/")
    page.wait_for_function("() => window.ready === true")
    page.clock.run_for(10_000)  # the panel, and the triggers with it, load later than the page
    watch(page, {**OFF, "after_seconds": 30})
    page.clock.run_for(19_000)
    assert opened(page) == 0
    page.clock.run_for(1_500)
    assert opened(page) == 1
    page.clock.run_for(60_000)
    assert opened(page) == 1  # once


def test_no_trigger_set_never_opens_the_widget(shop):
    page = shop.new_page()
    page.clock.install()
    page.goto(SHOP + "/")
    page.wait_for_function("() => window.ready === true")
    watch(page, OFF)
    page.mouse.wheel(0, 3000)
    page.mouse.move(600, 300)
    page.mouse.move(600, -5)
    page.clock.run_for(600_000)
    assert opened(page) == 0


def test_the_widget_opens_at_the_scroll_depth_set(shop):
    page = visit(shop)
    watch(page, {**OFF, "scroll_percent": 50})
    page.mouse.wheel(0, 1000)  # 1000 of 3200 scrollable pixels: 31 %
    page.wait_for_function("() => scrollY >= 1000")
    assert opened(page) == 0
    page.mouse.wheel(0, 800)
    page.wait_for_function("() => opened === 1")


def test_a_mouse_leaving_at_the_top_opens_it_on_a_desktop(shop):
    page = visit(shop)
    watch(page, {**OFF, "exit_intent": True})
    page.mouse.move(600, 400)
    page.mouse.move(1300, 400)  # leaving at the side is not leaving the page
    page.mouse.move(600, 400)
    assert opened(page) == 0
    page.mouse.move(600, 10)
    page.mouse.move(600, -10)
    page.wait_for_function("() => opened === 1")


def test_exit_intent_is_not_watched_on_a_phone(browser):
    phone = browser.new_context(
        viewport={"width": 390, "height": 844}, is_mobile=True, has_touch=True
    )
    serve_shop(phone)
    try:
        page = visit(phone)
        assert (
            page.evaluate("() => matchMedia('(hover: hover) and (pointer: fine)').matches") is False
        )
        watch(page, {**OFF, "exit_intent": True})
        page.mouse.move(200, 300)
        page.mouse.move(200, -10)
        page.evaluate(
            "() => document.dispatchEvent(new MouseEvent('mouseout', {clientY: -1, bubbles: true}))"
        )
        assert opened(page) == 0
    finally:
        phone.close()


def test_a_return_visit_trigger_waits_for_a_later_session(shop):
    first = visit(shop)
    watch(first, {**OFF, "return_visit": True})
    assert opened(first) == 0
    first.goto(SHOP + "/other")  # the same session, another page
    first.wait_for_function("() => window.ready === true")
    watch(first, {**OFF, "return_visit": True})
    assert opened(first) == 0

    later = visit(shop)  # another tab: a later browser session, the same localStorage
    watch(later, {**OFF, "return_visit": True})
    assert opened(later) == 1


def test_a_visitor_who_closed_it_is_left_alone_for_the_days_set(shop):
    page = shop.new_page()
    page.clock.install()
    page.goto(SHOP + "/")
    page.wait_for_function("() => window.ready === true")
    page.evaluate("() => F.snooze('wk_1')")
    trigger = {**OFF, "after_seconds": 5, "snooze_days": 3}
    watch(page, trigger)
    page.clock.run_for(10_000)
    assert opened(page) == 0
    page.clock.fast_forward(3 * 86_400_000)
    page.evaluate("() => sessionStorage.clear()")
    watch(page, trigger)
    page.clock.run_for(6_000)
    assert opened(page) == 1


def test_another_widgets_close_does_not_snooze_this_one(shop):
    page = shop.new_page()
    page.clock.install()
    page.goto(SHOP + "/")
    page.wait_for_function("() => window.ready === true")
    page.evaluate("() => F.snooze('wk_other')")
    watch(page, {**OFF, "after_seconds": 1, "snooze_days": 3})
    page.clock.run_for(2_000)
    assert opened(page) == 1


@pytest.mark.parametrize(
    ("path", "opens"),
    [("/catalog/phones/1", True), ("/catalog", False), ("/cart", True), ("/cart/x", False)],
)
def test_only_the_chosen_paths_open_it(shop, path, opens):
    page = visit(shop, path)
    watch(page, {**OFF, "after_seconds": 0, "paths": ["/catalog/*", "/cart"]})
    page.evaluate("() => new Promise(r => setTimeout(r, 10))")  # after the 0 s timer
    assert opened(page) == int(opens)


def test_a_visitor_with_a_request_going_is_never_opened_at(shop):
    page = visit(shop)
    watch(page, {**OFF, "after_seconds": 0}, busy="true")
    page.evaluate("() => new Promise(r => setTimeout(r, 10))")
    assert opened(page) == 0


def test_a_trigger_opens_it_once_a_session_not_on_every_page(shop):
    page = visit(shop)
    watch(page, {**OFF, "after_seconds": 0})
    page.wait_for_function("() => opened === 1")
    page.goto(SHOP + "/next")
    page.wait_for_function("() => window.ready === true")
    watch(page, {**OFF, "after_seconds": 0})
    page.evaluate("() => new Promise(r => setTimeout(r, 10))")
    assert opened(page) == 0


# -- the A/B split --------------------------------------------------------------------------
VARIANTS = [
    {"id": "a", "weight": 50, "texts": {"title": "A"}, "triggers": None},
    {"id": "b", "weight": 50, "texts": {"title": "B"}, "triggers": {**OFF, "after_seconds": 9}},
]


def test_a_visitor_sees_the_same_variant_on_every_visit(shop):
    page = visit(shop)
    first = page.evaluate("(v) => F.variant(v).id", VARIANTS)
    draw = page.evaluate("() => localStorage.getItem('cbw-ab')")
    again = [visit(shop).evaluate("(v) => F.variant(v).id", VARIANTS) for _ in range(3)]
    assert again == [first] * 3
    assert 0 <= float(draw) < 1
    assert first == ("a" if float(draw) < 0.5 else "b")


@pytest.mark.parametrize(
    ("draw", "weights", "expected"),
    [
        ("0.1", (50, 50), "a"),
        ("0.7", (50, 50), "b"),
        ("0.95", (90, 10), "b"),
        ("0.5", (100, 0), "a"),
    ],
)
def test_the_split_follows_the_weights(shop, draw, weights, expected):
    page = visit(shop)
    page.evaluate("(d) => localStorage.setItem('cbw-ab', d)", draw)
    variants = [{**v, "weight": w} for v, w in zip(VARIANTS, weights, strict=True)]
    assert page.evaluate("(v) => F.variant(v).id", variants) == expected


def test_a_variant_brings_its_texts_and_triggers_and_no_test_means_no_variant(shop):
    page = visit(shop)
    page.evaluate("() => localStorage.setItem('cbw-ab', '0.9')")
    look = {"texts": {"title": "T", "intro": "I"}, "triggers": OFF}
    shown = page.evaluate("([l, v]) => F.withVariant(l, F.variant(v))", [look, VARIANTS])
    assert shown["texts"] == {"title": "B", "intro": "I"}
    assert shown["triggers"]["after_seconds"] == 9
    assert page.evaluate("() => F.variant(null)") is None
    assert page.evaluate("([l]) => F.withVariant(l, null)", [look]) == look


# -- the funnel's beacon ------------------------------------------------------------------------
def test_the_beacon_is_a_text_plain_post_with_the_event_variant_and_path(shop):
    page = visit(shop, "/catalog/phones?utm_source=x")
    page.evaluate("() => F.beacon('https://cb.test', 'wk_1', 'impression', 'b')")
    page.evaluate("() => F.beacon('https://cb.test', 'wk_1', 'open', null)")
    deadline = 50
    while len(shop.beacons) < 2 and deadline:
        page.wait_for_timeout(20)  # the beacon is sent by the browser, not awaited by the page
        deadline -= 1
    assert shop.beacons == [
        {
            "url": "https://cb.test/api/v1/widgets/wk_1/beacon",
            "type": "text/plain;charset=UTF-8",
            "body": {"event": "impression", "variant": "b", "path": "/catalog/phones"},
        },
        {
            "url": "https://cb.test/api/v1/widgets/wk_1/beacon",
            "type": "text/plain;charset=UTF-8",
            "body": {"event": "open", "variant": None, "path": "/catalog/phones"},
        },
    ]


# -- the honest countdown ---------------------------------------------
def test_the_countdown_counts_the_wait_up_once_its_promise_runs_out(shop):
    page = visit(shop)
    texts = {"countdown": "Позвоним в течение {seconds} с", "waited": "Ждём уже {time}"}
    at = "([t, s]) => F.countdownText(t, 30, 0, s * 1000)"
    assert page.evaluate(at, [texts, 0]) == "Позвоним в течение 30 с"
    assert page.evaluate(at, [texts, 29.5]) == "Позвоним в течение 1 с"
    assert page.evaluate(at, [texts, 30]) == "Ждём уже 0:30"
    assert page.evaluate(at, [texts, 62]) == "Ждём уже 1:02"
    assert page.evaluate("() => [F.waitWords('ru', 551), F.waitWords('en', 30)]") == [
        "10 мин",
        "30 s",
    ]
