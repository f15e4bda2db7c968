"""The guided first call: the PBX page's button, the findings in words, the CLI, the download.

One stack (our service and the real simulator over loopback) for the module.
"""

from __future__ import annotations

import json
import re
import time

import pytest
import requests
from sqlalchemy import select

from widget_server import setup
from widget_server.extensions import db
from widget_server.models import Owner, PbxAccount, Widget
from widget_server.ops.cli_pbx_check import pbx_check
from widget_server.pbx import directory

from .admin_support import make_owner, post_form, sign_in
from .conftest import SIM_CLIENT_ID, SIM_SIGN_KEY, build_stack, make_app

OWNER_PHONE = "+79161234567"


@pytest.fixture(scope="module")
def stack(tmp_path_factory):
    stack, stop = build_stack(tmp_path_factory.mktemp("first_call_page"))
    with stack.app.app_context():
        db.session.scalar(select(Widget)).ring_timeout = 1
        db.session.scalar(select(PbxAccount)).ring_seconds = 1
        db.session.scalar(select(Owner)).phone = OWNER_PHONE
        db.session.commit()
    yield stack
    stop()


@pytest.fixture
def client(stack):
    client = stack.app.test_client()
    sign_in(client, password="correct horse")
    return client


def speak(stack, dialect: str) -> int:
    """The simulator speaks ``dialect``; the account id, its flags from before cleared."""
    requests.post(f"{stack.sim_url}/_sim/reset", timeout=5).raise_for_status()
    config = {"dialect": dialect, "time_scale": 0.02}
    requests.post(f"{stack.sim_url}/_sim/config", json=config, timeout=5).raise_for_status()
    with stack.app.app_context():
        account = db.session.scalar(select(PbxAccount))
        account.events_expected, account.dialect = True, None
        account.events_missing_at = account.session_mismatch_at = None
        db.session.commit()
        return account.id


def text_of(response) -> str:
    html = response.get_data(as_text=True)
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html))


def first_call_findings(client, account_id: int) -> tuple[str, str]:
    """Press the button and follow the result page until the findings are shown."""
    detail = f"/admin/pbx/{account_id}"
    response = post_form(client, f"{detail}/first-call", {}, page_url=detail)
    assert response.status_code == 302, text_of(response)[:500]
    result_url = response.headers["Location"]
    deadline = time.monotonic() + 40
    while time.monotonic() < deadline:
        page = client.get(result_url)
        assert page.status_code == 200
        if 'id="findings"' in page.get_data(as_text=True):
            return text_of(page), result_url
        assert 'http-equiv="refresh"' in page.get_data(as_text=True)
        time.sleep(0.3)
    raise AssertionError("the first call never ended")


def test_the_pbx_page_offers_the_test_call_and_the_journal_download(stack, client):
    account_id = speak(stack, "a")
    page = text_of(client.get(f"/admin/pbx/{account_id}"))
    assert "Пробный звонок на мой номер" in page
    assert "Скачать журнал обмена" in page


def test_a_domain_with_other_session_ids_is_told_and_set_to_match_by_number(stack, client):
    account_id = speak(stack, "e")
    text, result_url = first_call_findings(client, account_id)
    assert "События приходят: да" in text
    assert "Номер сессии совпадает: нет. Сопоставляем по номеру." in text
    assert "Диалект АТС: (e)" in text
    with stack.app.app_context():
        account = db.session.get(PbxAccount, account_id)
        assert account.dialect == "e" and account.events_expected
        account.events_expected = False  # the owner's own choice afterwards
        db.session.commit()
    assert "Диалект АТС: (e)" in text_of(client.get(result_url))
    with stack.app.app_context():
        assert db.session.get(PbxAccount, account_id).events_expected is False


def test_a_domain_sending_no_events_is_switched_to_polling(stack, client):
    account_id = speak(stack, "g")
    text, _url = first_call_findings(client, account_id)
    assert "События приходят: нет" in text
    with stack.app.app_context():
        account = db.session.get(PbxAccount, account_id)
        assert account.dialect == "g"
        assert account.events_expected is False
    assert "(g)" in text_of(client.get(f"/admin/pbx/{account_id}"))


def test_the_journal_download_holds_no_full_number_and_no_key(stack, client):
    account_id = speak(stack, "a")
    first_call_findings(client, account_id)
    response = client.get(f"/admin/pbx/{account_id}/exchanges.json")
    assert response.status_code == 200
    assert "attachment" in response.headers["Content-Disposition"]
    body = response.get_data(as_text=True)
    kinds = {x["kind"] for x in json.loads(body)["exchanges"]}
    assert {"call_back", "event", "call_info"} <= kinds
    assert "9161234567" not in body
    assert SIM_SIGN_KEY not in body
    assert "x-client-sign" not in body.lower()


def test_without_a_phone_on_the_profile_the_page_says_where_to_set_it(stack, client):
    account_id = speak(stack, "a")
    with stack.app.app_context():
        db.session.scalar(select(Owner)).phone = None
        db.session.commit()
    try:
        page = text_of(client.get(f"/admin/pbx/{account_id}"))
        assert "Укажите свой номер на странице профиля" in page
        assert "Пробный звонок на мой номер" not in page
    finally:
        with stack.app.app_context():
            db.session.scalar(select(Owner)).phone = OWNER_PHONE
            db.session.commit()


def test_pbx_check_on_the_command_line_prints_the_findings_and_sets_the_dialect(stack):
    account_id = speak(stack, "c")
    runner = stack.app.test_cli_runner()
    result = runner.invoke(pbx_check, [str(account_id), "--wait", "40", "--lang", "en"])
    assert result.exit_code == 0, result.output
    assert "Test call ordered" in result.output
    with stack.app.app_context():
        assert db.session.get(PbxAccount, account_id).dialect == "c"
    assert "(c) connected comes when the operator answers" in result.output
    assert "Events arrive: yes." in result.output


@pytest.fixture
def lone_account(tmp_path):
    """An owner with a phone and a PBX account no widget uses; a signed-in client."""
    app = make_app(tmp_path, PUBLIC_URL="https://callback.example.ru")
    make_owner(app, phone=OWNER_PHONE)
    make_owner(app, "other@example.com")
    with app.app_context():
        owner = setup.find_owner("owner@example.com")
        account = directory.add_pbx(owner, "https://api.cloudpbx.rt.ru", SIM_CLIENT_ID, "k" * 32)
        account_id = account.id
    client = app.test_client()
    sign_in(client)
    return app, client, account_id


def test_a_test_call_without_a_widget_on_the_account_says_one_is_needed(lone_account):
    _app, client, account_id = lone_account
    detail = f"/admin/pbx/{account_id}"
    response = post_form(client, f"{detail}/first-call", {}, page_url=detail)
    assert response.status_code == 302
    assert "Для пробного звонка нужен виджет" in text_of(client.get(response.headers["Location"]))


def test_another_owners_first_call_and_journal_are_not_found(lone_account):
    app, _client, account_id = lone_account
    other = app.test_client()
    sign_in(other, "other@example.com")
    assert other.get(f"/admin/pbx/{account_id}/exchanges.json").status_code == 404
    assert other.get(f"/admin/pbx/{account_id}/first-call/1").status_code == 404


def test_a_request_that_is_not_a_test_call_of_the_account_is_not_found(lone_account):
    _app, client, account_id = lone_account
    assert client.get(f"/admin/pbx/{account_id}/first-call/999").status_code == 404
