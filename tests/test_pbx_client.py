"""PbxClient against a real HTTP server on loopback that plays the PBX's answers."""

from __future__ import annotations

import hashlib
import hmac
import json
import shutil
import socket
import ssl
import subprocess
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from flask import Flask, Response, jsonify, request
from werkzeug.serving import make_server

from widget_server.models import PbxAccount
from widget_server.pbx.client import PbxClient, PbxCredentials, PbxError, client_for

from .conftest import make_app

CLIENT_ID = "000003C405E6525C64C184258C44EC99"
SIGN_KEY = "00000716ABDA6D4DFF10F82BCBBFC532"
SLOW_SECONDS = 1.0


@dataclass
class FakePbx:
    """A PBX stand-in on a real port; ``/<mode>/<method>`` picks its answer."""

    url: str
    seen: list[dict[str, Any]] = field(default_factory=list)

    def last(self) -> dict[str, Any]:
        assert self.seen, "the server got no request"
        return self.seen[-1]


def _expected_signature(body: bytes) -> str:
    # Recomputed here from the guide's formula, not with the code under test.
    return hashlib.sha256(CLIENT_ID.encode() + body + SIGN_KEY.encode()).hexdigest()


def _pbx_app(seen: list[dict[str, Any]], stop: threading.Event) -> Flask:
    app = Flask("fake_pbx")

    @app.post("/<mode>/<method>")
    def api(mode: str, method: str):
        raw = request.get_data()
        signature = request.headers.get("X-Client-Sign", "")
        signed_ok = request.headers.get("X-Client-ID") == CLIENT_ID and hmac.compare_digest(
            signature, _expected_signature(raw)
        )
        seen.append(
            {
                "mode": mode,
                "method": method,
                "raw": raw,
                "signed_ok": signed_ok,
                "content_type": request.headers.get("Content-Type", ""),
                "user_agent": request.headers.get("User-Agent", ""),
            }
        )
        if not signed_ok:
            return jsonify(result="-403", resultMessage="Invalid signature"), 403
        if mode == "ok":
            body = json.loads(raw)
            if method == "call_back":
                return jsonify(result="0", resultMessage="ok", session_id="sess-1")
            if method == "call_info":
                return jsonify(result="0", resultMessage="ok", info={"state": 1, "duration": 7})
            if method == "get_record":
                return jsonify(result="0", resultMessage="ok", url="https://rec.example/1")
            return jsonify(result="0", resultMessage="ok", echo=body)
        if mode == "fail20":
            return jsonify(
                result="-20", resultMessage="Ошибка при попытке выполнения обратного вызова"
            )
        if mode == "http503":
            return Response(
                "<h1>503 Service Temporarily Unavailable</h1>", 503, mimetype="text/html"
            )
        if mode == "http403":
            return jsonify(result="-403", resultMessage="Forbidden"), 403
        if mode == "nonjson":
            return Response("<html>maintenance</html>", 200, mimetype="text/html")
        if mode == "jsonlist":
            return jsonify(["not", "an", "object"])
        if mode == "nosession":
            return jsonify(result="0", resultMessage="ok")
        if mode == "slow":
            stop.wait(SLOW_SECONDS)
            return jsonify(result="0", resultMessage="ok", session_id="late")
        return jsonify(result="-404", resultMessage="no such mode"), 404

    return app


def _serve(app, ssl_context=None):
    server = make_server("127.0.0.1", 0, app, threaded=True, ssl_context=ssl_context)
    thread = threading.Thread(
        target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
    )
    thread.start()
    return server, thread


@pytest.fixture
def pbx():
    seen: list[dict[str, Any]] = []
    stop = threading.Event()
    server, thread = _serve(_pbx_app(seen, stop))
    yield FakePbx(f"http://127.0.0.1:{server.server_port}", seen)
    stop.set()
    server.shutdown()
    server.server_close()
    thread.join(timeout=5)


def _client(base: str, mode: str = "ok", **kwargs: Any) -> PbxClient:
    creds = PbxCredentials(
        api_url=f"{base}/{mode}",
        client_id=CLIENT_ID,
        sign_key=SIGN_KEY,
        domain=kwargs.pop("domain", None),
        ca_bundle=kwargs.pop("ca_bundle", None),
    )
    kwargs.setdefault("connect_timeout", 1.0)
    kwargs.setdefault("read_timeout", 2.0)
    return PbxClient(creds, **kwargs)


# -- what goes on the wire ----------------------------------------------------------
def test_it_sends_exactly_the_bytes_it_signs(pbx):
    data = _client(pbx.url).call(
        "users_info", {"domain": "пример.cloudpbx.rt.ru", "note": 'quote " and \\'}
    )
    seen = pbx.last()
    assert seen["signed_ok"] is True
    assert json.loads(seen["raw"]) == {"domain": "пример.cloudpbx.rt.ru", "note": 'quote " and \\'}
    assert "пример".encode() in seen["raw"]  # UTF-8 on the wire, not \u escapes
    assert seen["content_type"].startswith("application/json")
    assert seen["user_agent"].startswith("widget-server/")
    assert data["echo"]["domain"] == "пример.cloudpbx.rt.ru"


def test_users_info_names_the_domain_when_one_is_configured(pbx):
    _client(pbx.url, domain="demo.cloudpbx.rt.ru").users_info()
    assert json.loads(pbx.last()["raw"]) == {"domain": "demo.cloudpbx.rt.ru"}


def test_a_successful_call_back_returns_the_session_id(pbx):
    session_id = _client(pbx.url).call_back("+79161234567", from_pin="201")
    assert session_id == "sess-1"
    seen = pbx.last()
    assert seen["method"] == "call_back" and seen["signed_ok"]
    assert json.loads(seen["raw"]) == {"request_number": "+79161234567", "from_pin": "201"}


def test_call_back_insists_on_exactly_one_originator(pbx):
    client = _client(pbx.url)
    with pytest.raises(ValueError):
        client.call_back("+79161234567")
    with pytest.raises(ValueError):
        client.call_back("+79161234567", from_pin="201", from_sipuri="anna@demo")
    assert pbx.seen == []


def test_call_info_returns_the_info_object(pbx):
    assert _client(pbx.url).call_info("sess-1") == {"state": 1, "duration": 7}
    assert json.loads(pbx.last()["raw"]) == {"session_id": "sess-1"}


def test_get_record_sends_the_apis_own_ip_adress_spelling(pbx):
    url = _client(pbx.url).get_record("sess-1", ip_address="203.0.113.5")
    assert url == "https://rec.example/1"
    body = json.loads(pbx.last()["raw"])
    assert body == {"session_id": "sess-1", "ip_adress": "203.0.113.5"}
    assert "ip_address" not in body


def test_a_wrong_signing_key_is_refused_by_the_server_and_not_retryable(pbx):
    creds = PbxCredentials(api_url=f"{pbx.url}/ok", client_id=CLIENT_ID, sign_key="WRONG")
    with pytest.raises(PbxError) as caught:
        PbxClient(creds).users_info()
    assert pbx.last()["signed_ok"] is False
    assert caught.value.result == "http-403"
    assert caught.value.retryable is False


# -- failures ------------------------------------------------------------------------
def test_result_minus_20_is_a_pbx_error_that_is_not_retryable(pbx):
    with pytest.raises(PbxError) as caught:
        _client(pbx.url, "fail20").call_back("+79161234567", from_pin="201")
    error = caught.value
    assert error.result == "-20"
    assert error.retryable is False
    assert error.ambiguous is False
    assert "обратного вызова" in error.message


def test_http_503_is_retryable(pbx):
    with pytest.raises(PbxError) as caught:
        _client(pbx.url, "http503").call_back("+79161234567", from_pin="201")
    assert caught.value.result == "http-503"
    assert caught.value.http_status == 503
    assert caught.value.retryable is True
    assert caught.value.ambiguous is False


def test_http_403_is_not_retryable_and_says_to_check_the_credentials(pbx):
    with pytest.raises(PbxError) as caught:
        _client(pbx.url, "http403").users_info()
    assert caught.value.result == "http-403"
    assert caught.value.retryable is False
    assert "signing key" in caught.value.message


def test_a_200_answer_that_is_not_json_is_a_bad_response(pbx):
    with pytest.raises(PbxError) as caught:
        _client(pbx.url, "nonjson").users_info()
    assert caught.value.result == "bad-response"
    assert caught.value.retryable is False


def test_a_json_answer_that_is_not_an_object_is_a_bad_response(pbx):
    with pytest.raises(PbxError) as caught:
        _client(pbx.url, "jsonlist").users_info()
    assert caught.value.result == "bad-response"


def test_a_call_back_answer_without_a_session_id_is_ambiguous(pbx):
    with pytest.raises(PbxError) as caught:
        _client(pbx.url, "nosession").call_back("+79161234567", from_pin="201")
    assert caught.value.result == "bad-response"
    assert caught.value.ambiguous is True


def test_a_read_timeout_is_ambiguous_because_the_pbx_may_have_acted(pbx):
    started = time.monotonic()
    with pytest.raises(PbxError) as caught:
        _client(pbx.url, "slow", read_timeout=0.3).call_back("+79161234567", from_pin="201")
    assert time.monotonic() - started < SLOW_SECONDS
    assert caught.value.result == "timeout"
    assert caught.value.ambiguous is True
    assert caught.value.retryable is True
    assert pbx.last()["method"] == "call_back"  # the request did reach the PBX


def test_a_refused_connection_is_not_ambiguous():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    # Nothing listens on the port any more: the connection is refused.
    with pytest.raises(PbxError) as caught:
        _client(f"http://127.0.0.1:{port}").call_back("+79161234567", from_pin="201")
    assert caught.value.result == "connection"
    assert caught.value.ambiguous is False
    assert caught.value.retryable is True


def test_the_credentials_repr_never_shows_the_signing_key():
    creds = PbxCredentials(
        api_url="https://api.cloudpbx.rt.ru", client_id=CLIENT_ID, sign_key=SIGN_KEY
    )
    assert SIGN_KEY not in repr(creds)
    assert SIGN_KEY not in str(creds)
    assert CLIENT_ID in repr(creds)


# -- TLS ---------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def self_signed_cert(tmp_path_factory) -> tuple[Path, Path]:
    openssl = shutil.which("openssl")
    assert openssl, "the TLS tests need the openssl command"
    folder = tmp_path_factory.mktemp("tls")
    cert, key = folder / "cert.pem", folder / "key.pem"
    subprocess.run(
        [
            openssl,
            "req",
            "-x509",
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:prime256v1",
            "-nodes",
            "-subj",
            "/CN=127.0.0.1",
            "-addext",
            "subjectAltName=IP:127.0.0.1",
            "-days",
            "2",
            "-keyout",
            str(key),
            "-out",
            str(cert),
        ],
        check=True,
        capture_output=True,
    )
    return cert, key


@pytest.fixture
def tls_pbx(self_signed_cert):
    cert, key = self_signed_cert
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)
    seen: list[dict[str, Any]] = []
    stop = threading.Event()
    server, thread = _serve(_pbx_app(seen, stop), ssl_context=context)
    yield FakePbx(f"https://127.0.0.1:{server.server_port}", seen)
    stop.set()
    server.shutdown()
    server.server_close()
    thread.join(timeout=5)


@pytest.mark.openssl
def test_a_tls_server_with_an_unknown_ca_fails_with_a_tls_error(tls_pbx):
    with pytest.raises(PbxError) as caught:
        _client(tls_pbx.url).users_info()
    assert caught.value.result == "tls"
    assert caught.value.retryable is False
    assert "CA bundle" in caught.value.message
    assert tls_pbx.seen == []


@pytest.mark.openssl
def test_the_accounts_ca_bundle_makes_that_tls_server_trusted(tls_pbx, self_signed_cert):
    cert, _key = self_signed_cert
    data = _client(tls_pbx.url, ca_bundle=cert.read_text()).users_info()
    assert data["result"] == "0"
    assert tls_pbx.last()["signed_ok"] is True


def test_client_for_an_account_carries_its_credentials_and_the_apps_timeouts(tmp_path):
    app = make_app(tmp_path, PBX_CONNECT_TIMEOUT=1.5, PBX_TIMEOUT=7.0, PBX_DEADLINE=12.0)
    account = PbxAccount(
        api_url="https://pbx.example", client_id=CLIENT_ID, sign_key=SIGN_KEY, domain="d.rt.ru"
    )
    with app.app_context():
        client = client_for(account)

    assert isinstance(client, PbxClient)
    assert client.timeout == (1.5, 7.0)
    assert client.deadline == 12.0
    assert (client.credentials.api_url, client.credentials.domain) == (
        "https://pbx.example",
        "d.rt.ru",
    )


def test_client_for_hands_out_the_factory_a_test_installed(tmp_path):
    app = make_app(tmp_path)
    fake = object()
    app.extensions["pbx_client_factory"] = lambda account: fake
    with app.app_context():
        assert client_for(PbxAccount()) is fake
