"""Owner-supplied addresses: the server never fetches its own network for an owner (SSRF)."""

from __future__ import annotations

import socket
import threading
from datetime import datetime
from http.server import BaseHTTPRequestHandler, HTTPServer

import pytest
from flask import Flask

from widget_server import outbound, setup
from widget_server.dispatch.recordings import open_link
from widget_server.notify.message import DeliveryError
from widget_server.notify.webhook import send_webhook
from widget_server.pbx.client import PbxClient, PbxCredentials, PbxError

# What an owner might type to reach the service's own machine or network.
INTERNAL = [
    "https://127.0.0.1/hook",
    "https://localhost/hook",  # a name that resolves to 127.0.0.1
    "https://0.0.0.0/hook",
    "https://2130706433/hook",  # 127.0.0.1 written as one decimal number
    "https://0x7f000001/hook",
    "https://[::1]/hook",
    "https://[::ffff:127.0.0.1]/hook",
    "https://10.0.0.1/hook",
    "https://192.168.1.1/hook",
    "https://172.16.0.5/hook",
    "https://169.254.169.254/latest/meta-data/",  # cloud metadata
    "https://100.64.0.1/hook",  # carrier-grade NAT
    "https://[fd00::1]/hook",  # unique local
    "https://[fe80::1]/hook",  # link-local
]


def _app(allow_private: bool) -> Flask:
    app = Flask(__name__)
    app.config["ALLOW_PRIVATE_NETWORKS"] = allow_private
    return app


@pytest.mark.parametrize("url", INTERNAL)
def test_an_internal_address_is_refused_when_saved(url):
    with _app(False).app_context(), pytest.raises(setup.SettingsError, match="not a public"):
        setup.validate_webhook_url(url)


def test_plain_http_is_refused_and_says_what_is_needed():
    with _app(False).app_context(), pytest.raises(setup.SettingsError, match="https://"):
        setup.validate_webhook_url("http://crm.example/hook")


def test_a_public_address_is_accepted():
    # An address literal needs no DNS; a name that does not resolve now is checked at send.
    with _app(False).app_context():
        assert setup.validate_webhook_url(" https://93.184.216.34/h ") == "https://93.184.216.34/h"
        assert setup.validate_webhook_url("https://crm.invalid/h") == "https://crm.invalid/h"


def test_the_installation_setting_lets_owners_use_their_own_network():
    with _app(True).app_context():
        assert setup.validate_webhook_url("http://127.0.0.1:9000/h") == "http://127.0.0.1:9000/h"
        assert setup.validate_webhook_url("https://10.0.0.1/h") == "https://10.0.0.1/h"


class _Receiver:
    """A local HTTP server that records what reaches it and answers ``status``."""

    def __init__(self, status: int = 200, location: str | None = None):
        self.hits: list[str] = []
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):  # noqa: N802 - http.server's name
                receiver.hits.append(self.path)
                self.rfile.read(int(self.headers.get("Content-Length") or 0))
                self.send_response(status)
                if location:
                    self.send_header("Location", location)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args):
                pass

        self.server = HTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self):
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def receiver():
    made: list[_Receiver] = []

    def make(**kwargs) -> _Receiver:
        made.append(_Receiver(**kwargs))
        return made[-1]

    yield make
    for r in made:
        r.close()


def _message(url: str) -> dict:
    return {
        "webhook_url": url,
        "webhook_secret": "s" * 64,
        "kind": "missed",
        "id": 7,
        "created_at": datetime(2026, 12, 1, 9, 0),
        "payload": {"request": {"id": 1}},
    }


def test_a_webhook_to_this_machine_is_never_sent(receiver):
    local = receiver()
    with _app(False).app_context(), pytest.raises(DeliveryError, match="not a public"):
        send_webhook(_message(local.url + "/hook"))
    assert local.hits == []


def test_a_name_that_resolves_to_this_machine_when_sending_is_refused(receiver, monkeypatch):
    """DNS rebinding: public when saved, loopback when sent. The address is checked when
    connecting, and the connection goes to the address that was checked."""
    local = receiver()
    port = local.server.server_port
    real = socket.getaddrinfo
    answers = iter(["93.184.216.34", "127.0.0.1", "127.0.0.1", "127.0.0.1"])

    def rebinding(host, *args, **kwargs):
        if host == "rebind.example":
            return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", (next(answers), port))]
        return real(host, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", rebinding)
    url = f"https://rebind.example:{port}/hook"
    with _app(False).app_context():
        assert setup.validate_webhook_url(url) == url
        with pytest.raises(DeliveryError, match="not a public"):
            send_webhook(_message(url))
    assert local.hits == []


def test_a_redirect_is_never_followed(receiver):
    target = receiver()
    redirecting = receiver(status=302, location=target.url + "/internal")
    with _app(True).app_context(), pytest.raises(DeliveryError, match="HTTP 302"):
        send_webhook(_message(redirecting.url + "/hook"))
    assert redirecting.hits == ["/hook"] and target.hits == []


def test_with_the_setting_on_a_local_relay_gets_the_webhook(receiver):
    relay = receiver()
    with _app(True).app_context():
        send_webhook(_message(relay.url + "/hook"))
    assert relay.hits == ["/hook"]


def test_is_public_knows_the_ranges():
    assert outbound.is_public("93.184.216.34") and outbound.is_public("2a00:1450:4010::65")
    for address in ["127.0.0.1", "10.1.2.3", "::1", "fd00::1", "169.254.1.1", "224.0.0.1"]:
        assert not outbound.is_public(address), address


# -- the PBX API and its recording links ----------------------------------------------
class _FileServer(_Receiver):
    """Answers every GET with ``body`` of type ``kind``."""

    def __init__(self, kind: str, body: bytes = b"RIFF....WAVE"):
        super().__init__()
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self):  # noqa: N802 - http.server's name
                outer.hits.append(self.path)
                self.send_response(200)
                self.send_header("Content-Type", kind)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args):
                pass

        self.server.RequestHandlerClass = Handler


def _client(api_url: str) -> PbxClient:
    return PbxClient(PbxCredentials(api_url=api_url, client_id="id", sign_key="k" * 32))


def test_a_recording_link_away_from_the_pbx_api_is_never_fetched(receiver):
    local = receiver()
    with _app(True).app_context():
        client = _client("https://api.cloudpbx.rt.ru")
        for link in (local.url + "/readyz", "http://169.254.169.254/latest/meta-data/"):
            with pytest.raises(PbxError, match="points away from the PBX API"):
                open_link(client, link)
    assert local.hits == []


def test_a_recording_link_must_answer_audio():
    page = _FileServer("text/html", b"<h1>the simulator's call list</h1>")
    wav = _FileServer("audio/wav")
    try:
        with _app(True).app_context():
            client = _client(page.url)
            with pytest.raises(PbxError, match="not audio"):
                open_link(client, page.url + "/calls")
            answer = open_link(_client(wav.url), wav.url + "/rec.wav")
            assert answer.content == b"RIFF....WAVE"
            answer.close()
    finally:
        page.close()
        wav.close()


def test_a_pbx_api_address_on_this_machine_is_refused_before_anything_is_sent(receiver):
    local = receiver()
    with (
        _app(False).app_context(),
        pytest.raises(PbxError, match="not a public internet address") as refused,
    ):
        _client(local.url).users_info()
    assert refused.value.result == "forbidden-address" and not refused.value.retryable
    assert local.hits == []


def test_recording_links_may_come_from_a_sibling_host_of_the_api():
    assert outbound.same_site("https://records.cloudpbx.rt.ru/x", "https://api.cloudpbx.rt.ru")
    assert outbound.same_site("https://api.cloudpbx.rt.ru/x", "https://api.cloudpbx.rt.ru")
    assert not outbound.same_site("https://evil.example/x", "https://api.cloudpbx.rt.ru")
    assert not outbound.same_site(
        "https://cloudpbx.rt.ru.evil.example/", "https://api.cloudpbx.rt.ru"
    )
    assert not outbound.same_site("http://10.0.0.1/x", "http://127.0.0.1:8002")
