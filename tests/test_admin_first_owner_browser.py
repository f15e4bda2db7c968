"""A brand-new owner from sign-in to a connected test call, using only what the pages say.

Real Chromium at 1280×800 and 390×844; our service, the PBX simulator (its panel gives the
credentials, as the ВАТС panel does) and a shop page that carries the snippet the owner
copied. After each step the dashboard's checklist is read: the steps turn green in turn.
Every page is saved under test-artifacts/screens/ (looked at by a person, not asserted).
"""

from __future__ import annotations

import re
import time
from pathlib import Path

import pytest

from widget_server.dev.mail import start_mailbox
from widget_server.dispatch.queue import start_consumer_threads
from widget_server.pbx.sim import start_sim_thread

from .admin_support import PASSWORD, make_owner
from .conftest import STACK_CONFIG, make_app
from .live_stack import ServerThread

pytestmark = pytest.mark.browser

SCREENS = Path(__file__).resolve().parent.parent / "test-artifacts" / "screens"
SIZES = {"desktop": (1280, 800), "phone": (390, 844)}
OWNER_PHONE = "+7 916 555-12-34"  # the simulator connects any number not on its test list
STEPS = ["pbx", "webhook", "groups", "widget", "install", "test_call", "notify"]


class Walk:
    """The browser page, counting what the owner does and saving what they see."""

    def __init__(self, page, size: str):
        self.page, self.size, self.actions, self.shots = page, size, 0, 0

    def click(self, selector: str) -> None:
        self.actions += 1
        self.page.click(selector)

    def fill(self, selector: str, value: str) -> None:
        self.actions += 1
        self.page.fill(selector, value)

    def check(self, selector: str) -> None:
        self.actions += 1
        self.page.check(selector)

    def shot(self, name: str) -> None:
        self.shots += 1
        SCREENS.mkdir(parents=True, exist_ok=True)
        path = SCREENS / f"{self.size}-{self.shots:02d}-{name}.png"
        self.page.screenshot(path=str(path), full_page=True)

    def checklist(self) -> dict[str, str]:
        self.page.wait_for_selector("#checklist")
        found = self.page.eval_on_selector_all(
            "#checklist [data-step]", "els => els.map(e => [e.dataset.step, e.dataset.state])"
        )
        return dict(found)

    def follow_current_step(self) -> None:
        """Press the highlighted button of the step the checklist says is next."""
        self.click("#checklist .step-current a.button")


@pytest.fixture
def world(tmp_path):
    sim = start_sim_thread({"TIME_SCALE": 0.02})
    apps: dict = {}
    service = ServerThread(lambda env, start: apps["service"](env, start))
    shop_page = {"html": "<!doctype html><title>Магазин</title><p>Пусто"}

    def shop(environ, start_response):
        start_response("200 OK", [("Content-Type", "text/html; charset=utf-8")])
        return [shop_page["html"].encode()]

    shop_server = ServerThread(shop)
    # An installation with e-mail set up: the sign-in address hears of missed requests, so
    # the checklist's notification step is green from the start (its own tests: test_notify_reach).
    mailbox = start_mailbox(on_message=lambda *message: None)
    config = {**STACK_CONFIG, "PUBLIC_URL": service.url, "SMTP_SECURITY": "none"}
    config.update(SMTP_HOST="127.0.0.1", SMTP_PORT=mailbox.server_address[1])
    for name in ("NEW_WIDGET_CAP", "RATELIMIT_NUMBER", "RATELIMIT_WIDGET_NUMBER"):
        config.pop(name)  # the shipped limits: a new owner meets them as they are
    app = make_app(tmp_path, **config)
    make_owner(app)  # signed up, nothing else: no PBX, no widget, no phone
    apps["service"] = app
    consumer = app.extensions["queue"].consumer(workers=2)
    start_consumer_threads(consumer)
    yield app, sim, service.url, shop_server.url, shop_page
    consumer.stop(graceful=False)
    sim.stop()
    service.stop()
    shop_server.stop()
    mailbox.shutdown()


@pytest.mark.parametrize("size", list(SIZES))
def test_a_new_owner_gets_a_connected_test_call_by_following_the_checklist(browser, world, size):
    app, sim, service, shop, shop_page = world
    width, height = SIZES[size]
    context = browser.new_context(viewport={"width": width, "height": height})
    page = context.new_page()
    errors: list[str] = []
    page.on("console", lambda m: m.type == "error" and errors.append(m.text))
    walk = Walk(page, size)
    try:
        page.goto(f"{service}/admin/sign-in")
        walk.shot("sign-in")
        walk.fill("#email", "owner@example.com")
        walk.fill("#password", PASSWORD)
        started = time.monotonic()
        walk.click("main form button.primary")
        page.wait_for_url(f"{service}/admin/")
        assert walk.checklist() == {**dict.fromkeys(STEPS, "todo"), "notify": "done"}
        walk.shot("dashboard-new")

        # 1. The PBX: the form shows the address the ВАТС panel asks for.
        walk.follow_current_step()
        page.wait_for_url("**/admin/pbx/new")
        webhook = page.input_value("#webhook-base")
        walk.shot("pbx-new")
        panel = context.new_page()
        panel.goto(f"{sim.url}/_sim/panel")
        walk.actions += 1  # the owner opens their ВАТС panel
        panel.fill("input[name=webhook_base]", webhook)
        panel.click("button")
        walk.actions += 2
        # The panel speaks Russian as the real one does; its results carry ids.
        api = panel.text_content("#api-url").strip().rstrip("/")
        client_id = panel.text_content("#client-id").strip()
        sign_key = panel.text_content("#sign-key").strip()
        panel.close()
        walk.check("input[name=api_choice][value=custom]")
        walk.fill("#custom_url", api)
        walk.fill("#client_id", client_id)
        walk.fill("#sign_key", sign_key)
        walk.click("main form button.primary")
        page.wait_for_url(re.compile(r".*/admin/pbx/\d+$"))
        assert "АТС ответила" in page.inner_text(".flashes")
        walk.shot("pbx-detail")
        walk.click("a.brand")
        states = walk.checklist()
        assert (states["pbx"], states["groups"], states["webhook"]) == ("done", "done", "waiting")
        assert states["widget"] == "todo"
        walk.shot("dashboard-pbx-done")

        # 2. The widget: the site and the departments.
        walk.follow_current_step()
        page.wait_for_url("**/admin/widgets/new")
        walk.shot("widget-new")
        walk.fill("#origins", shop)
        walk.click("#widget-form .actions button.primary")
        page.wait_for_url(re.compile(r".*/admin/widgets/\d+#snippet$"))
        snippet = page.input_value("#snippet-latest")
        walk.shot("widget-edit")
        walk.click("a.brand")
        assert walk.checklist()["widget"] == "done"
        assert walk.checklist()["install"] == "todo"

        # 3. The code on the site: the owner pastes it into a page and opens it.
        walk.follow_current_step()
        page.wait_for_url(re.compile(r".*/admin/widgets/\d+#snippet$"))
        walk.actions += 1  # copies the code (the page's "Копировать" button)
        shop_page["html"] = f"<!doctype html><title>Магазин</title><h1>Магазин</h1>{snippet}"
        site = context.new_page()
        site.goto(shop)
        walk.actions += 1
        site.wait_for_selector("callback-widget", state="attached")
        site.wait_for_function(
            "() => { const w = document.querySelector('callback-widget');"
            " return !!(w && w.shadowRoot && w.shadowRoot.querySelector('.cbw-fab')); }"
        )
        site.screenshot(path=str(SCREENS / f"{size}-shop-with-widget.png"))
        site.close()
        walk.click("a.brand")
        assert walk.checklist()["install"] == "done"
        host = shop.split("://", 1)[1]
        assert f"Установлен на сайте: {host}, последний показ только что." in page.inner_text(
            "#checklist"
        )
        walk.shot("dashboard-installed")

        # 4. The test call: first the owner's own number, then the call.
        walk.follow_current_step()
        page.wait_for_url("**/admin/account#profile-title")
        walk.shot("account")
        walk.fill("#phone", OWNER_PHONE)
        walk.click("form[action$='/account/profile'] button.primary")
        page.wait_for_url("**/admin/account**")
        walk.click("a.brand")
        walk.follow_current_step()
        page.wait_for_url(re.compile(r".*/admin/widgets/\d+#test-call$"))
        walk.click("#test-call form button.primary")
        page.wait_for_url(re.compile(r".*/admin/widgets/\d+#test-call$"))
        page.wait_for_function(
            "() => { const s = document.getElementById('test-call-status');"
            " return s && ['connected', 'finished'].includes(s.dataset.status); }",
            timeout=30000,
        )
        connected_after = time.monotonic() - started
        walk.shot("test-call-connected")
        walk.click("a.brand")
        assert walk.checklist() == dict.fromkeys(STEPS, "done")
        assert "Всё готово: виджет принимает звонки" in page.inner_text("#checklist")
        walk.shot("dashboard-all-done")
        # Every other page the owner may open, for the screenshots.
        for name, path in (
            ("widgets", "/admin/widgets"),
            ("pbx-list", "/admin/pbx"),
            ("requests", "/admin/requests"),
        ):
            page.goto(f"{service}{path}")
            walk.shot(name)
        page.click("main table a[href*='/admin/requests/']")  # the test call in the log
        page.wait_for_url(re.compile(r".*/admin/requests/\d+$"))
        walk.shot("request-detail")
    finally:
        context.close()
    assert not errors, errors
    print(
        f"\n{size}: {walk.actions} actions, sign-in to connected test call {connected_after:.1f} s"
    )
    assert walk.actions <= 30  # the issue counted about 50 before the checklist
