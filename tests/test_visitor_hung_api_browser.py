"""The widget in Chromium while its API hangs: the owner's own links keep working."""

from __future__ import annotations

import socket
import threading
from pathlib import Path

import pytest

from .conftest import ServerThread

pytestmark = pytest.mark.browser

WIDGET_DIST = Path(__file__).resolve().parents[1] / "embed" / "dist"
KEY = "wk_0123456789abcdef01234567"


class HungServer:
    """Accepts connections and never answers a byte (an API that hangs)."""

    def __init__(self) -> None:
        self.sock = socket.create_server(("127.0.0.1", 0))
        self.held: list[socket.socket] = []
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            self.held.append(conn)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.sock.getsockname()[1]}"

    def stop(self) -> None:
        self.sock.close()
        for conn in self.held:
            conn.close()


@pytest.fixture
def hung_site():
    """A shop page whose widget script's API (data-api) never answers."""
    api = HungServer()

    def shop(environ, start_response):
        path = environ["PATH_INFO"]
        if path == "/embed.js" or path.startswith("/embed/"):
            start_response("200 OK", [("Content-Type", "text/javascript")])
            return [(WIDGET_DIST / path.rsplit("/", 1)[1]).read_bytes()]
        if path == "/contacts":
            body = "<!doctype html><title>Contacts</title><p>Call us</p>"
        else:
            body = (
                "<!doctype html><title>Shop</title>"
                '<a id="tel" href="tel:+74950000000" data-callback-widget>Call us</a> '
                '<a id="contacts" href="/contacts" data-callback-widget>Contacts</a> '
                '<button id="own" type="button" data-callback-widget>Call me back</button>'
                f'<script async src="/embed.js" data-widget="{KEY}" data-api="{api.url}"></script>'
            )
        start_response("200 OK", [("Content-Type", "text/html; charset=utf-8")])
        return [body.encode()]

    server = ServerThread(shop)
    yield server
    server.stop()
    api.stop()


RECORD_CLICKS = """() => {
    window.__prevented = [];
    // On window, so it runs after the widget's listener on document.
    window.addEventListener('click', (e) => {
        window.__prevented.push(e.defaultPrevented);
        if (e.target.id === 'tel') e.preventDefault();  // headless Chromium has no dialer
    });
}"""


def test_while_the_api_hangs_a_click_on_the_owners_tel_link_is_not_cancelled(page, hung_site):
    page.goto(hung_site.url + "/")
    page.wait_for_function("() => window.CallbackWidget")  # the widget runs, its config pending
    page.evaluate(RECORD_CLICKS)
    page.click("#tel")
    assert page.evaluate("() => window.__prevented") == [False]


def test_while_the_api_hangs_the_owners_link_to_a_page_still_navigates(page, hung_site):
    page.goto(hung_site.url + "/")
    page.wait_for_function("() => window.CallbackWidget")
    page.click("#contacts")
    page.wait_for_url(hung_site.url + "/contacts", timeout=5000)


def test_the_config_request_gives_up_and_the_widget_stays_out_of_the_way(page, hung_site):
    warnings = []
    page.on("console", lambda m: m.type == "warning" and warnings.append(m.text))
    page.goto(hung_site.url + "/")
    page.wait_for_function("() => window.CallbackWidget")
    page.wait_for_timeout(9000)  # past the widget's 8-second config timeout
    assert any("config not loaded" in w for w in warnings), warnings
    assert page.query_selector("callback-widget .cbw-fab") is None
    page.evaluate(RECORD_CLICKS)
    page.click("#own")
    page.click("#tel")
    assert page.evaluate("() => window.__prevented") == [False, False]
