"""Issue 28, part 9: the owner's pages on a 390 × 844 phone, in real Chromium.

One owner with a PBX account, two widgets (one running an A/B test) and a month of
requests from several sources and pages, so that every table on the dashboard has the
rows that made it too wide before. ``shoot()`` (used by hand, not by a test) saves a
screenshot of every owner page at phone and desktop size.
"""

from __future__ import annotations

import threading
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from werkzeug.serving import make_server

from widget_server.admin.request_stats import DISPLAY_TZ, day_start_utc
from widget_server.extensions import db
from widget_server.models import CallAttempt, FunnelDay, Owner, PbxAccount, Widget

from .admin_support import PASSWORD
from .conftest import make_app
from .test_admin_requests import add_request, seed_owner

pytestmark = pytest.mark.browser

PHONE = {"width": 390, "height": 844}
DESKTOP = {"width": 1280, "height": 800}
OWNER_PHONE = "+79165550011"
# A long page address and a long widget name: what pushed the tables past the screen.
LONG_PAGE = "https://shop.example/catalog/televizory-i-monitory/samsung-qe55q60c?color=black"


class LiveApp:
    """Our app on a loopback port, served from a thread."""

    def __init__(self, app):
        self.app = app
        self.server = make_server("127.0.0.1", 0, app, threaded=True)
        threading.Thread(
            target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        ).start()
        self.url = f"http://127.0.0.1:{self.server.server_port}"

    def stop(self):
        self.server.shutdown()
        self.server.server_close()


def _funnel(app, widget_id, day, impressions, opens, *, variant="", path=""):
    with app.app_context():
        db.session.add(
            FunnelDay(
                widget_id=widget_id,
                day=day,
                variant=variant,
                path=path,
                impressions=impressions,
                opens=opens,
            )
        )
        db.session.commit()


def seed_world(app) -> dict:
    """The owner's month: requests of every kind, sources, pages, operators, an A/B test."""
    ids = seed_owner(app)
    today = datetime.now(DISPLAY_TZ).date()
    with app.app_context():
        owner = db.session.get(Owner, ids["owner"])
        owner.phone = OWNER_PHONE
        account = db.session.get(PbxAccount, ids["account"])
        account.domain = "shop-example.20.rt.ru"
        shop = db.session.get(Widget, ids["shop"])
        shop.name = "Интернет-магазин бытовой техники «Электроника»"
        shop.origins = ["https://shop.example"]
        shop.lead_settings = {
            "ab": {
                "started": (today - timedelta(days=20)).isoformat(),
                "weight_a": 50,
                "a": {"texts": {}, "triggers": None},
                "b": {"texts": {"title": "Перезвоним за 30 секунд"}, "triggers": None},
            }
        }
        db.session.commit()
    sources = [
        {"source_utm_source": "yandex", "page_url": LONG_PAGE},
        {"source_referrer": "https://www.google.com/search?q=tv", "page_url": LONG_PAGE},
        {"page_url": "https://shop.example/cart"},  # no source: "прямой заход или неизвестно"
        {"source_utm_source": "vk", "page_url": "https://shop.example/"},
    ]
    statuses = ["finished", "finished", "no_operator", "visitor_no_answer", "finished"]
    for n in range(24):
        day = today - timedelta(days=n % 12)
        created = day_start_utc(day) + timedelta(hours=9 + n % 9, minutes=7 * n % 60)
        status = statuses[n % len(statuses)]
        rid = add_request(
            app,
            ids,
            "shop" if n % 3 else "blog",
            phone=f"+7916{n:07d}",
            status=status,
            created_at=created,
            connect_after=20 + 7 * n if status == "finished" else None,
            variant="ab"[n % 2] if n % 3 else None,
            **sources[n % len(sources)],
        )
        with app.app_context():
            outcome = "completed" if status == "finished" else "operator_no_answer"
            db.session.add(CallAttempt(request_id=rid, seq=1, operator_pin="201", outcome=outcome))
            db.session.commit()
    # Two still in progress, so the arithmetic line has its "ещё в работе" part.
    for n in range(2):
        add_request(app, ids, "shop", phone=f"+7903000000{n}", status="calling_operator")
    ids["request"] = rid
    for n in range(12):
        day = today - timedelta(days=n)
        _funnel(app, ids["shop"], day, 130, 21, variant="a", path="/catalog/televizory-i-monitory")
        _funnel(app, ids["shop"], day, 128, 29, variant="b", path="/cart")
        _funnel(app, ids["blog"], day, 40, 3, path="/")
    return ids


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    app = make_app(tmp_path_factory.mktemp("owner-pages"))
    server = LiveApp(app)
    app.config["PUBLIC_URL"] = server.url
    ids = seed_world(app)
    yield server, ids
    server.stop()


def owner_pages(ids: dict) -> dict[str, str]:
    """Every page an owner opens, by a short name."""
    return {
        "dashboard": "/admin/",
        "dashboard-ab": f"/admin/?widget={ids['shop']}",
        "requests": "/admin/requests",
        "request": f"/admin/requests/{ids['request']}",
        "widgets": "/admin/widgets",
        "widget": f"/admin/widgets/{ids['shop']}",
        "widget-new": "/admin/widgets/new",
        "widget-leads": f"/admin/widgets/{ids['shop']}/leads",
        "pbx-list": "/admin/pbx",
        "pbx": f"/admin/pbx/{ids['account']}",
        "pbx-edit": f"/admin/pbx/{ids['account']}/edit",
        "pbx-new": "/admin/pbx/new",
        "account": "/admin/account",
    }


def signed_in_page(browser, base_url: str, viewport: dict):
    context = browser.new_context(viewport=viewport, is_mobile=viewport["width"] < 500)
    page = context.new_page()
    page.console_errors = []
    page.on("console", lambda m: m.type == "error" and page.console_errors.append(m.text))
    page.goto(f"{base_url}/admin/sign-in")
    page.fill("#email", "owner@example.com")
    page.fill("#password", PASSWORD)
    page.click("main form button.primary")
    page.wait_for_url(f"{base_url}/admin/")
    return context, page


@pytest.fixture
def phone(browser, world):
    server, _ids = world
    context, page = signed_in_page(browser, server.url, PHONE)
    yield page
    context.close()


def open_page(page, url: str) -> None:
    page.goto(url)
    page.wait_for_load_state("load")


def horizontal_overflow(page) -> int:
    return page.evaluate(
        "() => document.documentElement.scrollWidth - document.documentElement.clientWidth"
    )


def test_no_owner_page_is_wider_than_a_phone(phone, world):
    server, ids = world
    wide = {}
    for name, path in owner_pages(ids).items():
        open_page(phone, server.url + path)
        if horizontal_overflow(phone) > 0:
            wide[name] = horizontal_overflow(phone)
    assert wide == {}


# Every element that scrolls sideways, with what a keyboard and a screen reader get of it:
# axe's scrollable-region-focusable wants it focusable (or holding something focusable),
# and a focusable region needs a name to be announced by.
SCROLLERS = """() => [...document.querySelectorAll('main *')].filter(el => {
    const s = getComputedStyle(el);
    return ['auto', 'scroll'].includes(s.overflowX) && el.scrollWidth > el.clientWidth + 1
        && el.getClientRects().length > 0;
}).map(el => {
    const named = (el.getAttribute('aria-labelledby') || '').split(/\\s+/).filter(Boolean)
        .map(id => (document.getElementById(id) || {}).textContent || '').join(' ').trim();
    return {
        what: el.querySelector('table, svg') ? (el.querySelector('table, svg').getAttribute('class')
            || el.querySelector('table, svg').tagName) : el.className,
        focusable: el.tabIndex >= 0 || !!el.querySelector('a[href], button, input, select, textarea, [tabindex]'),
        name: (el.getAttribute('aria-label') || named).trim(),
    };
})"""


@pytest.mark.parametrize("which", ["dashboard", "dashboard-ab"])
def test_tables_too_wide_for_a_phone_scroll_in_a_focusable_named_region(phone, world, which):
    server, ids = world
    open_page(phone, server.url + owner_pages(ids)[which])
    # The details that hold tables are opened, so their tables are measured too.
    phone.evaluate("() => document.querySelectorAll('main details').forEach(d => d.open = true)")
    scrollers = phone.evaluate(SCROLLERS)
    assert scrollers, "nothing scrolls sideways: the check would prove nothing"
    unfocusable = [s["what"] for s in scrollers if not s["focusable"]]
    unnamed = [s["what"] for s in scrollers if not s["name"]]
    assert unfocusable == [] and unnamed == []


# A word split over two lines has two boxes: one per line.
BROKEN_WORDS = """(selector) => {
    const broken = [];
    for (const cell of document.querySelectorAll(selector)) {
        const walker = document.createTreeWalker(cell, NodeFilter.SHOW_TEXT);
        for (let node = walker.nextNode(); node; node = walker.nextNode()) {
            for (const m of node.data.matchAll(/[A-Za-z\\u0400-\\u04FF]+/g)) {
                const range = document.createRange();
                range.setStart(node, m.index);
                range.setEnd(node, m.index + m[0].length);
                const lines = new Set([...range.getClientRects()].map(r => Math.round(r.top)));
                if (lines.size > 1) broken.push(m[0]);
            }
        }
    }
    return broken;
}"""


def test_no_word_in_the_dashboard_tables_is_broken_mid_word(phone, world):
    server, ids = world
    cells = "main table th, main table td, .tile, .arithmetic"
    broken = {}
    for which in ("dashboard", "dashboard-ab"):
        open_page(phone, server.url + owner_pages(ids)[which])
        phone.evaluate(
            "() => document.querySelectorAll('main details').forEach(d => d.open = true)"
        )
        words = phone.evaluate(BROKEN_WORDS, cells)
        if words:
            broken[which] = words
    # "неизвестно" of "прямой заход или неизвестно" was shown as "неизвест/но".
    assert broken == {}


HINTS_UNDER = """() => {
    const jump = document.querySelector('.preview-jump');
    if (!jump || !jump.getClientRects().length) return [];
    const b = jump.getBoundingClientRect();
    const hit = r => r.left < b.right && b.left < r.right && r.top < b.bottom && b.top < r.bottom;
    return [...document.querySelectorAll('main .hint, main label, main legend')]
        .filter(el => el.getClientRects().length && [...el.getClientRects()].some(hit))
        .map(el => el.textContent.trim().slice(0, 40));
}"""


@pytest.mark.parametrize("which", ["widget", "widget-new"])
def test_the_preview_button_covers_no_label_or_help_text(phone, world, which):
    server, ids = world
    open_page(phone, server.url + owner_pages(ids)[which])
    covered = set()
    count = phone.evaluate("() => document.querySelectorAll('main .hint').length")
    # Each help text at the bottom of the screen, where a floating button sits.
    for n in range(count):
        phone.evaluate(
            "(n) => document.querySelectorAll('main .hint')[n].scrollIntoView({block: 'end'})", n
        )
        covered.update(phone.evaluate(HINTS_UNDER))
    assert covered == set()
    assert phone.locator("a[href='#preview-title']").count() == 1  # the preview is still a tap away


def test_a_refused_test_calls_message_is_on_screen_after_the_click(phone, world):
    server, ids = world
    # A call already under way for the owner's number: the next test call is refused.
    add_request(server.app, ids, "shop", phone=OWNER_PHONE, status="calling_operator", is_test=True)
    open_page(phone, f"{server.url}/admin/widgets/{ids['shop']}")
    # The click's own navigation (the post, then the page it redirects to), not the
    # page already open: its address would match "#test-call" at once.
    with phone.expect_navigation(url="**#test-call", wait_until="load"):
        phone.click("#test-call form button.primary")
    message = phone.locator("text=Тестовый звонок не заказан")
    assert message.count() == 1
    box = message.bounding_box()
    assert box is not None and box["y"] >= 0 and box["y"] + box["height"] <= PHONE["height"]


def shoot(browser, base_url: str, ids: dict, folder: Path) -> list[Path]:
    """Every owner page at phone and desktop size, for a person to look at: the whole
    length in pieces of two screens (a very tall image is shrunk to illegible)."""
    folder.mkdir(parents=True, exist_ok=True)
    saved = []
    for size, viewport in (("390", PHONE), ("1280", DESKTOP)):
        context, page = signed_in_page(browser, base_url, viewport)
        try:
            for name, path in owner_pages(ids).items():
                open_page(page, base_url + path)
                height = page.evaluate("() => document.documentElement.scrollHeight")
                piece = viewport["height"] * 2
                for n, top in enumerate(range(0, height, piece), 1):
                    target = folder / f"{size}-{name}-{n}.png"
                    clip = {
                        "x": 0,
                        "y": top,
                        "width": viewport["width"],
                        "height": min(piece, height - top),
                    }
                    page.screenshot(path=str(target), full_page=True, clip=clip)
                    saved.append(target)
        finally:
            context.close()
    return saved
