"""The PBX connection pages: connecting, checking against the real simulator, syncing, scoping."""

from __future__ import annotations

import io
import re
import subprocess

import pytest

from widget_server import setup
from widget_server.extensions import db
from widget_server.models import PbxAccount, Widget
from widget_server.pbx import directory
from widget_server.pbx.sim import start_sim_thread

from .admin_support import make_owner, post_form, sign_in
from .conftest import SIM_CLIENT_ID, SIM_SIGN_KEY, make_app
from .dispatch_support import Jobs


@pytest.fixture
def sim():
    server = start_sim_thread({"CLIENT_ID": SIM_CLIENT_ID, "SIGN_KEY": SIM_SIGN_KEY})
    yield server
    server.stop()


@pytest.fixture
def app(tmp_path):
    return make_app(tmp_path, PUBLIC_URL="https://callback.example.ru")


@pytest.fixture
def client(app):
    make_owner(app)
    client = app.test_client()
    sign_in(client)
    return client


def add_account(app, api_url, *, key=SIM_SIGN_KEY, email="owner@example.com", domain=None):
    with app.app_context():
        owner = setup.find_owner(email)
        account = directory.add_pbx(owner, api_url, SIM_CLIENT_ID, key, domain)
        return account.id


def ask_pbx(app, client, account_id: int, action: str):
    """Click "check" or "refresh groups", let the queue run the job, and show the page."""
    page = f"/admin/pbx/{account_id}"
    booked = post_form(client, f"{page}/{action}", {}, page_url=page)
    assert booked.status_code == 302, booked.status_code
    Jobs(app).run()
    return client.get(page)


def text_of(response) -> str:
    """The page's visible text, tags removed, spaces collapsed."""
    html = response.get_data(as_text=True)
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html))


def error_next_to(response, field_id: str) -> str:
    html = response.get_data(as_text=True)
    match = re.search(rf'<p class="error" id="{field_id}-error">([^<]*)</p>', html)
    assert match, f"no error next to {field_id}"
    return match.group(1)


def self_signed_pem(tmp_path) -> str:
    return make_certificate(tmp_path)[0].read_text()


def make_certificate(tmp_path):
    """A self-signed certificate for 127.0.0.1 (like the Russian Trusted CA: in no trust store)."""
    key, cert = tmp_path / "k.pem", tmp_path / "c.pem"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2"]
        + ["-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1"]
        + ["-keyout", str(key), "-out", str(cert)],
        check=True,
        capture_output=True,
    )
    return cert, key


def upload_ca(client, account_id, pem: bytes):
    from .admin_support import csrf_token

    page = client.get(f"/admin/pbx/{account_id}/edit")
    with client.application.app_context():
        api_url = db.session.get(PbxAccount, account_id).api_url
    return client.post(
        f"/admin/pbx/{account_id}/edit",
        data={
            "csrf_token": csrf_token(page.data),
            "api_choice": "custom",
            "custom_url": api_url,
            "client_id": SIM_CLIENT_ID,
            "sign_key": "",
            "ca_bundle": (io.BytesIO(pem), "rt-ca.pem"),
        },
        content_type="multipart/form-data",
    )


def test_connecting_the_simulator_shows_the_webhook_address_to_paste(app, client, sim):
    response = post_form(
        client,
        "/admin/pbx/new",
        {
            "api_choice": "custom",
            "custom_url": sim.url,
            "client_id": SIM_CLIENT_ID,
            "sign_key": SIM_SIGN_KEY,
            "domain": "demo.cloudpbx.rt.ru",
        },
    )
    assert response.status_code == 302
    with app.app_context():
        account = db.session.scalar(db.select(PbxAccount))
        assert account.api_url == sim.url and account.sign_key == SIM_SIGN_KEY
        public_id = account.public_id
    page = client.get(response.headers["Location"])
    text = text_of(page)
    base = f"https://callback.example.ru/pbx/{public_id}"
    assert f'value="{base}"' in page.get_data(as_text=True)
    for method in ("call_events", "get_number_info", "history_file_completed"):
        assert f"{base}/{method}" in text
    assert "ещё не было" in text  # no signed event yet
    assert SIM_SIGN_KEY not in page.get_data(as_text=True)
    assert "••••" + SIM_SIGN_KEY[-4:] in text


def test_the_production_address_is_the_default_choice(app, client):
    response = post_form(
        client,
        "/admin/pbx/new",
        {"api_choice": "production", "client_id": "ABC", "sign_key": "KEY1", "save_unchecked": "y"},
    )
    assert response.status_code == 302
    with app.app_context():
        assert db.session.scalar(db.select(PbxAccount.api_url)) == "https://api.cloudpbx.rt.ru"


def test_empty_required_fields_get_messages_next_to_them(client):
    response = post_form(
        client, "/admin/pbx/new", {"api_choice": "custom", "custom_url": "", "client_id": ""}
    )
    assert response.status_code == 400
    assert "Укажите адрес API" in error_next_to(response, "custom_url")
    assert "Заполните" in error_next_to(response, "client_id")
    assert "Заполните" in error_next_to(response, "sign_key")


def test_an_address_without_https_is_refused_next_to_the_field(client):
    response = post_form(
        client,
        "/admin/pbx/new",
        {"api_choice": "custom", "custom_url": "ftp://pbx", "client_id": "A", "sign_key": "B"},
    )
    assert response.status_code == 400
    assert "https://" in error_next_to(response, "custom_url")


def test_a_file_that_is_not_a_certificate_is_refused_as_the_ca_bundle(app, client):
    page = client.get("/admin/pbx/new")
    from .admin_support import csrf_token

    data = {
        "csrf_token": csrf_token(page.data),
        "api_choice": "production",
        "client_id": "A",
        "sign_key": "B",
        "ca_bundle": (io.BytesIO(b"hello, not a certificate"), "ca.pem"),
    }
    response = client.post("/admin/pbx/new", data=data, content_type="multipart/form-data")
    assert response.status_code == 400
    assert "PEM" in error_next_to(response, "ca_bundle")
    broken = b"-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n"
    data["ca_bundle"] = (io.BytesIO(broken), "ca.pem")
    data["csrf_token"] = csrf_token(client.get("/admin/pbx/new").data)
    response = client.post("/admin/pbx/new", data=data, content_type="multipart/form-data")
    assert response.status_code == 400
    assert "не читается" in error_next_to(response, "ca_bundle")
    with app.app_context():
        assert db.session.scalar(db.select(PbxAccount)) is None


@pytest.mark.openssl
def test_a_real_pem_certificate_is_stored_as_the_ca_bundle(app, client, tmp_path):
    pem = self_signed_pem(tmp_path)
    page = client.get("/admin/pbx/new")
    from .admin_support import csrf_token

    response = client.post(
        "/admin/pbx/new",
        data={
            "csrf_token": csrf_token(page.data),
            "api_choice": "test",
            "client_id": "A",
            "sign_key": "B",
            "save_unchecked": "y",
            "ca_bundle": (io.BytesIO(pem.encode()), "rt-ca.pem"),
        },
        content_type="multipart/form-data",
    )
    assert response.status_code == 302
    with app.app_context():
        account = db.session.scalar(db.select(PbxAccount))
        assert account.api_url == "https://api-test.cloudpbx.rt.ru"
        assert "BEGIN CERTIFICATE" in account.ca_bundle


def test_checking_the_connection_shows_the_groups_the_simulator_has(app, client, sim):
    account_id = add_account(app, sim.url)
    response = ask_pbx(app, client, account_id, "check")
    assert response.status_code == 200
    text = text_of(response)
    assert "Подключение работает" in text
    assert "101 Отдел продаж" in text and "102 Сервис" in text
    assert "Анна Смирнова" in text
    assert sim.url in str(sim.url)  # the check asked the simulator itself:
    assert any(r["method"] == "users_info" for r in _sim_requests(sim))


def _sim_requests(sim):
    import requests

    return requests.get(f"{sim.url}/_sim/requests", timeout=5).json()


def test_checking_with_a_wrong_key_says_so_in_words(app, client, sim):
    account_id = add_account(app, sim.url, key="WRONGKEY")
    response = ask_pbx(app, client, account_id, "check")
    text = text_of(response)
    assert "Подключение не работает" in text
    assert "отклонила код идентификации или подпись" in text


def test_checking_an_address_nobody_listens_on_says_it_cannot_connect(app, client):
    account_id = add_account(app, "http://127.0.0.1:9")
    response = ask_pbx(app, client, account_id, "check")
    assert "По этому адресу API Ростелекома не отвечает" in text_of(response)


def test_a_closed_port_and_another_services_http_status_read_the_same(app, client):
    """The form is no port scanner: at an address other than Rostelecom's, only an answer
    shaped like the API's gets words of its own."""
    import threading
    from http.server import BaseHTTPRequestHandler, HTTPServer

    class Teapot(BaseHTTPRequestHandler):
        def do_POST(self):  # noqa: N802 - http.server's name
            self.send_response(418)
            self.send_header("Content-Length", "5")
            self.end_headers()
            self.wfile.write(b"hello")

        def log_message(self, *args):
            pass

    server = HTTPServer(("127.0.0.1", 0), Teapot)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        texts = []
        for url in ("http://127.0.0.1:9", f"http://127.0.0.1:{server.server_port}"):
            account_id = add_account(app, url)
            response = ask_pbx(app, client, account_id, "check")
            found = re.search(
                r'id="check-result">(.*?)</div>', response.get_data(as_text=True), re.S
            )
            # The words, without the time of the answer (the two checks may straddle a second).
            words = re.sub(r'<span class="hint">[^<]*</span>', "", found.group(1))
            texts.append(re.sub(r"\s+", " ", words).strip())
    finally:
        server.shutdown()
        server.server_close()
    assert texts[0] == texts[1] and "API Ростелекома не отвечает" in texts[0]


def test_checking_a_wrong_domain_names_the_domain(app, client, sim):
    account_id = add_account(app, sim.url, domain="other.rt.ru")
    response = ask_pbx(app, client, account_id, "check")
    assert "не знает этот домен" in text_of(response)


def test_refreshing_groups_shows_each_groups_members_by_name(app, client, sim):
    account_id = add_account(app, sim.url)
    page = ask_pbx(app, client, account_id, "sync")
    html = page.get_data(as_text=True)
    sales = re.search(r'<tr data-pin="101">(.*?)</tr>', html, re.S).group(1)
    assert "Анна Смирнова (201)" in sales and "Борис Петров (202)" in sales
    assert "Получено от АТС: сотрудников 5, групп 2." in text_of(page)


def test_refreshing_with_a_wrong_key_keeps_the_old_groups_and_explains(app, client, sim):
    account_id = add_account(app, sim.url)
    with app.app_context():
        directory.sync_groups(db.session.get(PbxAccount, account_id))
        db.session.get(PbxAccount, account_id).sign_key = "WRONG"
        db.session.commit()
    ask_pbx(app, client, account_id, "sync")
    text = text_of(client.get(f"/admin/pbx/{account_id}"))
    assert "не обновлены" in text and "подпись" in text
    assert "Отдел продаж" in text


def test_editing_with_an_empty_key_keeps_the_old_key(app, client, sim):
    account_id = add_account(app, sim.url)
    page = client.get(f"/admin/pbx/{account_id}/edit")
    assert SIM_SIGN_KEY not in page.get_data(as_text=True)
    assert SIM_SIGN_KEY[-4:] in text_of(page)
    response = post_form(
        client,
        f"/admin/pbx/{account_id}/edit",
        {
            "api_choice": "custom",
            "custom_url": sim.url,
            "client_id": "NEWID",
            "sign_key": "",
            "save_unchecked": "y",  # the simulator knows only its own id
        },
    )
    assert response.status_code == 302
    with app.app_context():
        account = db.session.get(PbxAccount, account_id)
        assert account.sign_key == SIM_SIGN_KEY and account.client_id == "NEWID"


def test_another_owners_pbx_account_is_not_found(app, client, sim):
    make_owner(app, "other@example.com")
    theirs = add_account(app, sim.url, email="other@example.com")
    for path in ("", "/edit"):
        assert client.get(f"/admin/pbx/{theirs}{path}").status_code == 404
    mine = add_account(app, sim.url)
    token_page = f"/admin/pbx/{mine}"
    for action in ("check", "sync", "delete"):
        response = post_form(client, f"/admin/pbx/{theirs}/{action}", {}, page_url=token_page)
        assert response.status_code == 404
    with app.app_context():
        assert db.session.get(PbxAccount, theirs) is not None
    assert f"/admin/pbx/{theirs}" not in client.get("/admin/pbx").get_data(as_text=True)


def test_an_account_that_widgets_use_is_not_deleted(app, client, sim):
    account_id = add_account(app, sim.url)
    with app.app_context():
        account = db.session.get(PbxAccount, account_id)
        directory.sync_groups(account)
        setup.add_widget(account, ["https://shop.example"], [("101", None)])
    response = post_form(
        client, f"/admin/pbx/{account_id}/delete", {}, page_url=f"/admin/pbx/{account_id}"
    )
    assert response.status_code == 302
    assert "используют виджеты (1)" in text_of(client.get(response.headers["Location"]))
    with app.app_context():
        assert db.session.get(PbxAccount, account_id) is not None
        db.session.delete(db.session.scalar(db.select(Widget)))
        db.session.commit()
    post_form(client, f"/admin/pbx/{account_id}/delete", {}, page_url=f"/admin/pbx/{account_id}")
    with app.app_context():
        assert db.session.get(PbxAccount, account_id) is None


def test_the_pbx_pages_have_english_for_every_string(app, client, sim):
    account_id = add_account(app, sim.url)
    client.post(
        "/admin/language",
        data={"lang": "en", "csrf_token": _token(client)},
    )
    for path in ("/admin/pbx", "/admin/pbx/new", f"/admin/pbx/{account_id}"):
        text = text_of(client.get(path))
        cyrillic = re.findall(r"[А-Яа-яЁё][А-Яа-яЁё ,.:«»()-]*", text)
        # The ВАТС brand names stay Russian, like in the panel itself.
        left = [c for c in cyrillic if c.strip() and not _is_brand(c)]
        assert left == [], f"{path}: {left}"


def _token(client):
    from .admin_support import csrf_token

    return csrf_token(client.get("/admin/pbx").data)


def _is_brand(text: str) -> bool:
    # The panel's own labels are quoted as the owner sees them there.
    brands = (
        "ВАТС",
        "Интеграционный",
        "Уникальный",
        "Сертификат",
        "Настройки",
        "Подключение",
        "Адрес",
    )
    return any(text.strip().startswith(b) for b in brands) or text.strip() == "Русский"


@pytest.mark.openssl
def test_a_pbx_behind_an_unknown_ca_fails_the_tls_check_until_its_certificate_is_uploaded(
    app, client, tmp_path
):
    import threading

    from werkzeug.serving import make_server

    from widget_server.pbx.sim import create_sim_app

    cert, key = make_certificate(tmp_path)
    sim_app = create_sim_app({"CLIENT_ID": SIM_CLIENT_ID, "SIGN_KEY": SIM_SIGN_KEY})
    server = make_server("127.0.0.1", 0, sim_app, threaded=True, ssl_context=(str(cert), str(key)))
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        account_id = add_account(app, f"https://127.0.0.1:{server.server_port}")
        response = ask_pbx(app, client, account_id, "check")
        assert "API Ростелекома не отвечает" in text_of(response)
        assert upload_ca(client, account_id, cert.read_bytes()).status_code == 302
        response = ask_pbx(app, client, account_id, "check")
        assert "Подключение работает" in text_of(response)
        assert "101 Отдел продаж" in text_of(response)
    finally:
        server.shutdown()
        server.server_close()


def test_the_signing_key_never_reaches_the_logs(app, client, sim, caplog):
    caplog.set_level("DEBUG")
    key = "SECRETKEY-DO-NOT-LOG-0001"
    post_form(
        client,
        "/admin/pbx/new",
        {
            "api_choice": "custom",
            "custom_url": sim.url,
            "client_id": SIM_CLIENT_ID,
            "sign_key": key,
            "save_unchecked": "y",
        },
    )
    with app.app_context():
        account_id = db.session.scalar(db.select(PbxAccount.id))
    page = f"/admin/pbx/{account_id}"
    for action in ("check", "sync"):
        ask_pbx(app, client, account_id, action)
    assert "Подключение не работает" in text_of(ask_pbx(app, client, account_id, "check"))
    assert key not in caplog.text
    assert key not in client.get(f"{page}/edit").get_data(as_text=True)
