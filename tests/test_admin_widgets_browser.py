"""The PBX and widget pages in real Chromium, against the simulator over loopback."""

from __future__ import annotations

import threading

import pytest
from werkzeug.serving import make_server

from widget_server import setup
from widget_server.dispatch.queue import start_consumer_threads
from widget_server.extensions import db
from widget_server.models import CallbackRequest, PbxGroup, Widget
from widget_server.pbx import directory
from widget_server.pbx.sim import start_sim_thread

from .admin_support import PASSWORD, make_owner
from .conftest import SIM_CLIENT_ID, SIM_SIGN_KEY, ServerThread, build_stack, make_app

pytestmark = pytest.mark.browser

FAB = "callback-widget .cbw-fab"


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


@pytest.fixture
def live(tmp_path):
    app = make_app(tmp_path)
    server = LiveApp(app)
    app.config["PUBLIC_URL"] = server.url
    make_owner(app)
    yield server
    server.stop()


def sign_in(page, base_url, password=PASSWORD):
    page.goto(f"{base_url}/admin/sign-in")
    page.fill("#email", "owner@example.com")
    page.fill("#password", password)
    page.click("main form button.primary")
    page.wait_for_url(f"{base_url}/admin/**")


def watch_csp(page):
    page.csp_violations = []
    page.on(
        "console",
        lambda m: "Content Security Policy" in m.text and page.csp_violations.append(m.text),
    )


def preview_frame(page):
    page.wait_for_function(
        "() => { const f = document.getElementById('widget-preview');"
        " const d = f && f.contentDocument; const w = d && d.querySelector('callback-widget');"
        " return !!(w && w.shadowRoot && w.shadowRoot.querySelector('.cbw-fab')); }",
        timeout=15000,
    )
    return page.frame(name="widget-preview")


def fab_style(page, prop):
    return page.evaluate(
        """(prop) => {
        const d = document.getElementById('widget-preview').contentDocument;
        const w = d.querySelector('callback-widget');
        if (!w || !w.shadowRoot) return null;
        const fab = w.shadowRoot.querySelector('.cbw-fab');
        return fab ? getComputedStyle(fab)[prop] : null;
    }""",
        prop,
    )


def wait_preview(page, script, arg=None, timeout=15000):
    """Wait for a condition on the previewed widget (the frame reloads on each change)."""
    page.wait_for_function(
        """(arg) => {
        const f = document.getElementById('widget-preview');
        const d = f && f.contentDocument;
        const w = d && d.querySelector('callback-widget');
        if (!w || !w.shadowRoot || !w.shadowRoot.querySelector('.cbw-fab')) return false;
        const root = w.shadowRoot;
        """
        + script
        + "}",
        arg=arg,
        timeout=timeout,
    )


def test_an_owner_connects_the_simulator_and_sees_its_groups_and_members(page, live):
    sim = start_sim_thread({"CLIENT_ID": SIM_CLIENT_ID, "SIGN_KEY": SIM_SIGN_KEY})
    # The check and the refresh run in the queue; the page waits for their answers.
    consumer = live.app.extensions["queue"].consumer(workers=2)
    start_consumer_threads(consumer)
    try:
        watch_csp(page)
        sign_in(page, live.url)
        page.goto(f"{live.url}/admin/pbx/new")
        page.check("input[name=api_choice][value=custom]")
        page.fill("#custom_url", sim.url)
        page.fill("#client_id", SIM_CLIENT_ID)
        page.fill("#sign_key", SIM_SIGN_KEY)
        page.click("details.advanced summary")  # the rarely needed settings are folded
        page.fill("#domain", "demo.cloudpbx.rt.ru")
        page.click("form button.primary")
        page.wait_for_selector("#webhook-base")
        assert page.input_value("#webhook-base").startswith(f"{live.url}/pbx/pbx_")
        page.click("text=Проверить подключение")
        page.wait_for_selector("#check-result.check-ok", timeout=30000)
        assert "Подключение работает" in page.text_content("#check-result")
        page.click("text=Обновить группы и сотрудников")
        page.wait_for_selector("#groups tr[data-pin='101']")
        sales = page.text_content("#groups tr[data-pin='101']")
        assert "Отдел продаж" in sales and "Анна Смирнова (201)" in sales
        assert "Глеб Орлов (204)" in page.text_content("#groups tr[data-pin='102']")
        assert page.csp_violations == [] and page.console_errors == []
    finally:
        consumer.stop(graceful=False)
        sim.stop()


def test_the_preview_follows_colour_text_and_position_without_saving(page, live):
    with live.app.app_context():
        account = directory.add_pbx(
            setup.find_owner("owner@example.com"), "https://api.cloudpbx.rt.ru", "I", "K"
        )
        account.groups.append(PbxGroup(pin="101", name="Отдел продаж", member_pins=[]))
        account.groups.append(PbxGroup(pin="102", name="Сервис", member_pins=[]))
        db.session.commit()
    watch_csp(page)
    sign_in(page, live.url)
    page.goto(f"{live.url}/admin/widgets/new")
    preview_frame(page)
    # The dialog is shown open in the preview, with the default texts.
    wait_preview(page, "return !root.querySelector('.cbw-dlg').hidden")
    before = fab_style(page, "backgroundColor")
    page.fill("#color", "#aa3300")
    wait_preview(
        page,
        "return getComputedStyle(root.querySelector('.cbw-fab')).backgroundColor === arg",
        "rgb(170, 51, 0)",
    )
    assert before != "rgb(170, 51, 0)"
    assert fab_style(page, "color") == "rgb(255, 255, 255)"  # white on a dark accent
    page.fill("#color", "#ffe14d")
    wait_preview(
        page,
        "return getComputedStyle(root.querySelector('.cbw-fab')).color === arg",
        "rgb(17, 17, 17)",  # dark text on a light one
    )
    page.fill("#color", "#aa3300")
    wait_preview(
        page,
        "return getComputedStyle(root.querySelector('.cbw-fab')).color === arg",
        "rgb(255, 255, 255)",
    )
    page.click("#text_button")
    page.keyboard.type("Жду звонка от вас")
    wait_preview(
        page, "return root.querySelector('.cbw-fab').textContent === arg", "Жду звонка от вас"
    )
    # Typing is never interrupted: the reloaded preview does not take the focus.
    assert page.evaluate("() => document.activeElement.id") == "text_button"
    page.fill("#text_title", "Перезвоним за минуту")
    wait_preview(
        page, "return root.querySelector('.cbw-title').textContent === arg", "Перезвоним за минуту"
    )
    page.select_option("#position", "left")
    wait_preview(page, "return !!root.querySelector('.cbw-left')")
    fab_left = page.evaluate(
        "() => document.getElementById('widget-preview').contentDocument"
        ".querySelector('callback-widget').shadowRoot.querySelector('.cbw-fab')"
        ".getBoundingClientRect().left"
    )
    assert fab_left < 40
    page.uncheck("input[name=groups][value='101']")
    page.check("input[name=groups][value='102']")
    page.fill("#label-102", "Ремонт")
    wait_preview(page, "return !root.querySelector('#cbw-group')")  # one department: no choice
    page.check("input[name=groups][value='101']")
    wait_preview(
        page,
        "return [...root.querySelectorAll('#cbw-group option')].map(o => o.textContent).join('|') === arg",
        "Отдел продаж|Ремонт",
    )
    page.select_option("#language", "en")
    wait_preview(
        page, "return root.querySelector('.cbw-l').textContent === arg", "Your phone number"
    )
    # Sending from the preview places no call: the frame may not connect anywhere.
    frame = page.frame(name="widget-preview")
    frame.fill("#cbw-phone", "9161234567")
    frame.check("#cbw-consent")
    frame.click("callback-widget button[type=submit]")
    frame.wait_for_function(
        "() => document.querySelector('callback-widget').shadowRoot"
        ".querySelector('[role=alert]').textContent.includes('preview')"
    )
    with live.app.app_context():
        assert db.session.scalar(db.select(Widget)) is None
        assert db.session.scalar(db.select(CallbackRequest)) is None
    # The only policy violation is the preview's refused send; the editor itself breaks none.
    blocked = [v for v in page.csp_violations if "/api/v1/widgets/preview/requests" in v]
    assert blocked and len(blocked) == len(page.csp_violations), page.csp_violations


def test_the_copied_snippet_places_a_call_from_another_site(page, tmp_path):
    stack, stop = build_stack(tmp_path, app_overrides={"FORM_TOKENS": True})
    site = None
    try:
        with stack.app.app_context():
            owner = setup.find_owner("owner@example.com")
            owner.phone = "+79165550011"
            db.session.commit()
        sign_in(page, stack.service_url, password="correct horse")
        page.goto(f"{stack.service_url}/admin/widgets/new")
        page.wait_for_selector("#origins")
        holder = {}
        site = ServerThread(lambda env, start: holder["app"](env, start))
        page.fill("#origins", site.url)
        page.check("input[name=groups][value='101']")
        page.fill("#text_button", "Позвоните мне")
        page.click("#widget-form button.primary")
        page.wait_for_selector("#snippet-pinned")
        snippet = page.input_value("#snippet-pinned")
        assert 'integrity="sha384-' in snippet and site.url not in snippet

        def site_app(environ, start_response):
            body = (
                "<!doctype html><html><head><meta charset=utf-8><title>Shop</title></head>"
                f"<body><h1>Another site</h1>{snippet}</body></html>"
            ).encode()
            start_response("200 OK", [("Content-Type", "text/html; charset=utf-8")])
            return [body]

        holder["app"] = site_app
        visitor = page.context.new_page()
        visitor.goto(site.url)
        visitor.wait_for_selector(FAB)
        assert visitor.text_content(FAB).strip() == "Позвоните мне"
        visitor.click(FAB)
        visitor.fill("#cbw-phone", "9161234567")
        visitor.check("#cbw-consent")
        visitor.click("callback-widget button[type=submit]")
        visitor.wait_for_function(
            "() => document.querySelector('callback-widget').getAttribute('data-status') === 'finished'",
            timeout=30000,
        )
        assert stack.sim_requests("call_back")[-1]["body"]["request_number"] == "+79161234567"
        with stack.app.app_context():
            req = db.session.scalar(
                db.select(CallbackRequest).where(CallbackRequest.origin == site.url)
            )
            assert req.status == "finished" and not req.is_test
        # The test call from the widget page rings the owner's own number, and its status shows.
        page.click("#test-call button[type=submit]")
        page.wait_for_selector("#test-call-status")
        page.wait_for_function(
            "() => document.getElementById('test-call-status').dataset.status === 'finished'",
            timeout=30000,
        )
        assert "завершён" in page.text_content("#test-call-status")
        assert stack.sim_requests("call_back")[-1]["body"]["request_number"] == "+79165550011"
        assert page.console_errors == []
    finally:
        if site is not None:
            site.stop()
        stop()


def test_the_widget_editor_is_usable_on_a_phone(browser, live):
    with live.app.app_context():
        account = directory.add_pbx(
            setup.find_owner("owner@example.com"), "https://api.cloudpbx.rt.ru", "I", "K"
        )
        account.groups.append(PbxGroup(pin="101", name="Отдел продаж", member_pins=[]))
        db.session.commit()
    context = browser.new_context(viewport={"width": 390, "height": 844}, is_mobile=True)
    page = context.new_page()
    try:
        sign_in(page, live.url)
        page.goto(f"{live.url}/admin/widgets/new")
        preview_frame(page)
        overflow = page.evaluate(
            "() => document.documentElement.scrollWidth - document.documentElement.clientWidth"
        )
        assert overflow <= 0
        assert page.locator("#origins").bounding_box()["width"] > 300
    finally:
        context.close()
