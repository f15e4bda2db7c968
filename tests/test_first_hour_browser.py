"""Issue 28's yardstick: a brand-new owner of `widget-server demo`, from sign-in to a connected
call, on the demo's own shop, with no page of their own, in at most 20 actions.

The demo runs as a user starts it (real processes on free ports); an installation admin
makes the owner with `widget-server create-owner`, as the README says. Then Chromium, at
1280×800 and at 390×844: sign in, connect the PBX (the simulator and its panel), make a
widget, open it on the demo shop with the widget page's button, order a call there as a
visitor with a number the simulator connects, and read the checklist: every step green.
Each click, fill, tick and address typed counts as one action. The pages this issue
changed are saved under /tmp/shots-first-hour/ for a person to look at.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import threading
from pathlib import Path

import pytest
import requests

from .admin_support import PASSWORD as OWNER_PASSWORD
from .admin_support import make_owner
from .conftest import make_app
from .live_stack import ServerThread
from .real_service import free_port, start_demo

pytestmark = [pytest.mark.browser, pytest.mark.stack]

SHOTS = Path("/tmp/shots-first-hour")
SIZES = {"desktop": (1280, 800), "phone": (390, 844)}
STEPS = ["pbx", "webhook", "groups", "widget", "install", "test_call", "notify"]
PASSWORD = "first-hour-password"
# Not on the simulator's test list: they connect. One per size, as the number limits are.
VISITORS = {"desktop": "+7 916 555-12-34", "phone": "+7 926 555-43-21"}
MAX_ACTIONS = 20


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    """`widget-server demo` on free ports; its console lines as they come."""
    instance = tmp_path_factory.mktemp("first-hour-demo")
    env = {k: v for k, v in os.environ.items() if not k.startswith("WIDGET_")}
    # A call plays in about a second instead of twelve; nothing else differs from `make demo`.
    env.update(WIDGET_INSTANCE_PATH=str(instance), WIDGET_SIM_TIME_SCALE="0.05")
    # Both sizes ring the simulator's "PBX down" number (for a screenshot) within a minute:
    # the first request must have given up (20 s) and the number's limits let the second in.
    env.update(WIDGET_RATELIMIT_NUMBER="10/minute", WIDGET_DISPATCH_DEADLINE="20")
    ports = (free_port(), free_port(), free_port())
    running, banner = start_demo(env, ports)
    console: list[str] = [banner]
    # Read the console as it comes: a full pipe would stall the demo (and shows its mail).
    reader = threading.Thread(
        target=lambda: console.extend(iter(running.process.stdout.readline, "")), daemon=True
    )
    reader.start()
    try:
        shop, sim = (f"http://127.0.0.1:{port}" for port in ports[1:])
        yield running, shop, sim, env, console
    finally:
        running.kill()


def create_owner(env: dict, email: str) -> None:
    """As an installation admin would: `widget-server create-owner`, the password on stdin."""
    subprocess.run(
        [sys.executable, "-m", "widget_server.ops.cli", "create-owner", email],
        input=PASSWORD + "\n",
        env=env,
        check=True,
        capture_output=True,
        text=True,
        timeout=60,
    )


class Walk:
    """The owner's browser: counts every action, saves the pages this issue changed."""

    def __init__(self, page, size: str):
        self.page, self.size, self.actions, self.shots = page, size, 0, 0

    def goto(self, page, url: str) -> None:
        self.actions += 1
        page.goto(url)

    def click(self, selector: str, page=None) -> None:
        self.actions += 1
        (page or self.page).click(selector)

    def fill(self, selector: str, value: str, page=None) -> None:
        self.actions += 1
        (page or self.page).fill(selector, value)

    def check(self, selector: str, page=None) -> None:
        self.actions += 1
        (page or self.page).check(selector)

    def shot(self, name: str, page=None) -> None:
        self.shots += 1
        SHOTS.mkdir(parents=True, exist_ok=True)
        path = SHOTS / f"{self.size}-{self.shots:02d}-{name}.png"
        (page or self.page).screenshot(path=str(path), full_page=True)

    def part(self, name: str, selector: str, page=None) -> None:
        """One part of a long page, at a size a person can read."""
        self.shots += 1
        SHOTS.mkdir(parents=True, exist_ok=True)
        path = SHOTS / f"{self.size}-{self.shots:02d}-{name}.png"
        (page or self.page).locator(selector).first.screenshot(path=str(path))

    def checklist(self) -> dict[str, str]:
        self.page.wait_for_selector("#checklist")
        found = self.page.eval_on_selector_all(
            "#checklist [data-step]", "els => els.map(e => [e.dataset.step, e.dataset.state])"
        )
        return dict(found)


@pytest.mark.parametrize("size", list(SIZES))
def test_a_new_owner_reaches_a_connected_call_on_the_demo_shop_in_twenty_actions(
    browser, demo, size
):
    running, shop_url, sim_url, env, console = demo
    service = running.url
    email = f"owner-{size}@example.com"
    create_owner(env, email)
    width, height = SIZES[size]
    context = browser.new_context(viewport={"width": width, "height": height})
    page = context.new_page()
    errors: list[str] = []
    page.on("console", lambda m: m.type == "error" and errors.append(m.text))
    walk = Walk(page, size)
    try:
        walk.goto(page, f"{service}/admin/sign-in")
        walk.fill("#email", email)
        walk.fill("#password", PASSWORD)
        walk.click("main form button.primary")
        page.wait_for_url(f"{service}/admin/")
        # No banner on every page: the notification step, green as the demo's mailbox works.
        assert page.locator("[data-nobody-hears]").count() == 0
        assert walk.checklist() == {**dict.fromkeys(STEPS, "todo"), "notify": "done"}
        walk.shot("dashboard-new")
        walk.part("dashboard-new-checklist", "#checklist")

        # The PBX: the simulator's address is filled in, its panel a click away.
        walk.click("#checklist .step-current a.button")
        page.wait_for_url("**/admin/pbx/new")
        assert page.input_value("#custom_url") == sim_url
        walk.shot("pbx-new")
        with context.expect_page() as opened:
            walk.click("#open-simulator-panel")
        panel = opened.value
        panel.wait_for_load_state()
        assert panel.input_value("input[name=webhook_base]") == page.input_value("#webhook-base")
        walk.click("button", page=panel)
        panel.wait_for_selector("#client-id")
        client_id = panel.text_content("#client-id").strip()
        sign_key = panel.text_content("#sign-key").strip()
        panel.close()
        walk.fill("#client_id", client_id)
        walk.fill("#sign_key", sign_key)
        walk.click("main form button.primary")
        page.wait_for_url(re.compile(r".*/admin/pbx/\d+$"))
        assert "АТС ответила" in page.inner_text(".flashes")
        walk.click("a.brand")
        states = walk.checklist()
        assert (states["pbx"], states["webhook"], states["groups"]) == ("done", "waiting", "done")

        # The widget: it starts on the demo shop, nothing to type.
        walk.click("#checklist .step-current a.button")
        page.wait_for_url("**/admin/widgets/new")
        assert page.input_value("#origins") == shop_url
        walk.shot("widget-new")
        walk.click("#widget-form .actions button.primary")
        page.wait_for_url(re.compile(r".*/admin/widgets/\d+#snippet$"))
        widget_page = page.url.split("#", 1)[0]
        assert page.locator("#privacy-warning").count() == 1  # the widget has no policy link
        assert "Это демо-установка" in page.inner_text("#cap")
        walk.shot("widget-edit")
        for part in ("#privacy-warning", "#cap", "#snippet"):
            walk.part(f"widget-edit-{part[1:]}", part)

        # On the demo shop, as a visitor: the widget page's button, no page of one's own.
        with context.expect_page() as opened:
            walk.click("#open-demo-shop")
        shop = opened.value
        shop.wait_for_selector("callback-widget .cbw-fab")
        walk.click("callback-widget .cbw-fab", page=shop)
        walk.fill("#cbw-phone", VISITORS[size], page=shop)
        walk.check("#cbw-consent", page=shop)
        walk.click("callback-widget button[type=submit]", page=shop)
        shop.wait_for_function(
            "() => document.querySelector('callback-widget').dataset.status === 'finished'",
            timeout=30000,
        )
        walk.shot("shop-call-finished", page=shop)
        shop.close()

        # The dashboard: every step green.
        walk.goto(page, f"{service}/admin/")
        assert walk.checklist() == dict.fromkeys(STEPS, "done")
        assert "Всё готово: виджет принимает звонки" in page.inner_text("#checklist")
        walk.shot("dashboard-all-done")
        walk.part("dashboard-all-done-checklist", "#checklist")
        actions = walk.actions

        # Not counted: the other pages this issue changed, for the screenshots.
        _refused_site_notice(walk, page, service, widget_page)
        _a_try_the_pbx_refused(walk, context, page, service, widget_page)
    finally:
        context.close()
    assert not errors, errors
    print(f"\n{size}: {actions} actions from sign-in to every checklist step green")
    assert actions <= MAX_ACTIONS


def _refused_site_notice(walk: Walk, page, service: str, widget_page: str) -> None:
    """The code on a site missing from the list: the widget page says so and adds it."""
    page.goto(widget_page)
    key = page.get_attribute("#open-demo-shop", "href").rsplit("key=", 1)[1]
    answer = requests.get(
        f"{service}/api/v1/widgets/{key}/look",
        headers={"Origin": "https://chai-shop.ru"},
        timeout=10,
    )
    assert answer.status_code == 403
    page.goto(widget_page)
    notice = page.inner_text("#refused-sites")
    assert "Виджет пытались показать на сайте chai-shop.ru, которого нет в списке" in notice
    walk.shot("widget-refused-site")
    walk.part("widget-refused-site-notice", "#refused-sites")
    page.click("#refused-sites button")
    assert "Сайт chai-shop.ru добавлен." in page.inner_text(".flashes")
    walk.shot("widget-site-added")


def _a_try_the_pbx_refused(walk: Walk, context, page, service: str, widget_page: str) -> None:
    """The simulator's "PBX down" number: its request's page lists tries, not calls."""
    with context.expect_page() as opened:
        page.click("#open-demo-shop")
    shop = opened.value
    shop.wait_for_selector("callback-widget .cbw-fab")
    shop.click("callback-widget .cbw-fab")
    shop.fill("#cbw-phone", "+7 900 000-00-06")
    shop.check("#cbw-consent")
    from playwright.sync_api import TimeoutError as PlaywrightTimeout  # browser tests only

    # The other size's request for this number is still retrying (the demo's one active
    # request per number) until its 20 s deadline: the visitor sends again until taken.
    retrying = "() => document.querySelector('callback-widget').dataset.status === 'retrying'"
    for _ in range(12):
        shop.click("callback-widget button[type=submit]")
        try:
            shop.wait_for_function(retrying, timeout=5000)
            break
        except PlaywrightTimeout:
            continue
    else:
        raise AssertionError("the PBX-down request was never taken")
    shop.close()
    page.goto(f"{service}/admin/requests")
    page.click("main table a[href*='/admin/requests/']")  # the newest request
    page.wait_for_url(re.compile(r".*/admin/requests/\d+$"))
    assert "Попытка 1: АТС не ответила (HTTP 503)" in page.inner_text("main")
    walk.shot("request-pbx-down")
    walk.part("request-pbx-down-try", "li.attempt")


@pytest.mark.parametrize("size", list(SIZES))
def test_a_fresh_install_without_mail_shows_the_notification_step_and_no_red_banner(
    browser, tmp_path, size
):
    # Outside the demo, with no e-mail set up: the dashboard's last step says what to do;
    # no other page carries a warning (it used to be a red banner on every page).
    app = make_app(tmp_path)
    make_owner(app, "fresh@example.com")
    server = ServerThread(app)
    width, height = SIZES[size]
    context = browser.new_context(viewport={"width": width, "height": height})
    page = context.new_page()
    walk = Walk(page, f"{size}-fresh")
    try:
        page.goto(f"{server.url}/admin/sign-in")
        page.fill("#email", "fresh@example.com")
        page.fill("#password", OWNER_PASSWORD)
        page.click("main form button.primary")
        page.wait_for_url(f"{server.url}/admin/")
        assert walk.checklist()["notify"] == "todo"
        walk.part("dashboard-checklist", "#checklist")
        for path in ("/admin/widgets", "/admin/requests", "/admin/account"):
            page.goto(f"{server.url}{path}")
            assert page.locator("[data-nobody-hears]").count() == 0, path
    finally:
        context.close()
        server.stop()
