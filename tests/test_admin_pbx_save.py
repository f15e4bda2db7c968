"""Saving a PBX account asks the PBX first: groups come with it, a refusal keeps the form."""

from __future__ import annotations

from datetime import datetime

import pytest

from widget_server.extensions import db
from widget_server.models import PbxAccount, PbxGroup
from widget_server.pbx.sim import start_sim_thread

from .admin_support import make_owner, post_form, sign_in
from .conftest import SIM_CLIENT_ID, SIM_SIGN_KEY, make_app
from .test_admin_pbx import add_account, text_of


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


def _sim_form(sim_url: str, **changes) -> dict:
    return {
        "api_choice": "custom",
        "custom_url": sim_url,
        "client_id": SIM_CLIENT_ID,
        "sign_key": SIM_SIGN_KEY,
        **changes,
    }


def test_saving_a_working_connection_syncs_the_groups_and_says_what_came(app, client, sim):
    response = post_form(client, "/admin/pbx/new", _sim_form(sim.url))
    assert response.status_code == 302
    page = text_of(client.get(response.headers["Location"]))
    assert "АТС ответила: сотрудников 5, групп 2." in page
    assert "АТС подключена" not in page
    with app.app_context():
        pins = sorted(db.session.scalars(db.select(PbxGroup.pin)))
        assert pins == ["101", "102"]
        assert db.session.scalar(db.select(PbxAccount.synced_at)) is not None


def test_a_refused_key_keeps_the_form_says_why_and_stores_nothing(app, client, sim):
    response = post_form(client, "/admin/pbx/new", _sim_form(sim.url, sign_key="WRONGKEY"))
    assert response.status_code == 400
    text = text_of(response)
    assert "Подключение не сохранено" in text
    assert "отклонила код идентификации или подпись" in text
    html = response.get_data(as_text=True)
    assert f'value="{sim.url}"' in html and f'value="{SIM_CLIENT_ID}"' in html
    assert 'name="save_unchecked"' in html
    with app.app_context():
        assert db.session.scalar(db.select(PbxAccount)) is None


def test_saving_without_checking_stores_the_account_and_says_it_was_not_checked(app, client):
    form = _sim_form("http://127.0.0.1:9", save_unchecked="y")
    response = post_form(client, "/admin/pbx/new", form)
    assert response.status_code == 302
    assert "Сохранено без проверки" in text_of(client.get(response.headers["Location"]))
    with app.app_context():
        assert db.session.scalar(db.select(PbxAccount.api_url)) == "http://127.0.0.1:9"


def test_an_edit_the_pbx_refuses_leaves_the_stored_connection_as_it_was(app, client, sim):
    account_id = add_account(app, sim.url)
    url = f"/admin/pbx/{account_id}/edit"
    response = post_form(client, url, _sim_form(sim.url, client_id="OTHER", sign_key="X"))
    assert response.status_code == 400
    assert "Подключение не сохранено" in text_of(response)
    with app.app_context():
        account = db.session.get(PbxAccount, account_id)
        assert account.client_id == SIM_CLIENT_ID and account.sign_key == SIM_SIGN_KEY


@pytest.mark.parametrize("ticked", [True, False])
def test_routing_returning_callers_is_off_unless_the_owner_ticks_it(app, client, sim, ticked):
    form = _sim_form(sim.url, **({"route_inbound": "y"} if ticked else {}))
    assert post_form(client, "/admin/pbx/new", form).status_code == 302
    with app.app_context():
        assert db.session.scalar(db.select(PbxAccount.route_inbound)) is ticked


# -- the journal reconciliation on the PBX page ------------------------------------------
class _GarbledJournalPbx:
    """A PBX whose journal download is a broken ZIP."""

    def __init__(self, _account):
        pass

    def domain_call_history(self, start, end):
        return "order-1"

    def download_call_history(self, order_id):
        return b"PK\x03\x04 not a zip at all"


def test_reconciling_with_the_simulators_journal_reports_the_counts(app, client, sim):
    account_id = add_account(app, sim.url)
    page = f"/admin/pbx/{account_id}"
    response = post_form(client, f"{page}/journal", {}, page_url=page)
    assert response.status_code == 302
    shown = client.get(page)
    assert "Журнал сверен: звонков 0, наших 0, досчитано 0, неизвестных нам 0." in text_of(shown)
    assert 'data-status="done"' in shown.get_data(as_text=True)
    assert any(r["method"] == "download_call_history" for r in _requests_seen(sim))


def _requests_seen(sim):
    import requests

    return requests.get(f"{sim.url}/_sim/requests", timeout=5).json()


def test_a_malformed_journal_is_explained_in_words_on_the_page(app, client, sim):
    account_id = add_account(app, sim.url)
    app.extensions["pbx_client_factory"] = _GarbledJournalPbx
    page = f"/admin/pbx/{account_id}"
    post_form(client, f"{page}/journal", {}, page_url=page)
    text = text_of(client.get(page))
    assert "Сверка не удалась. Файл журнала повреждён: он не открывается как архив." in text
    assert "не удалось" in text


def test_a_day_in_the_future_is_not_ordered(app, client, sim):
    account_id = add_account(app, sim.url)
    page = f"/admin/pbx/{account_id}"
    post_form(client, f"{page}/journal", {"day": "2999-01-01"}, page_url=page)
    assert "Выберите день не позже сегодняшнего" in text_of(client.get(page))
    assert not any(r["method"] == "domain_call_history" for r in _requests_seen(sim))


def test_the_pbx_page_says_how_to_set_up_the_panel(app, client, sim):
    text = text_of(client.get(f"/admin/pbx/{add_account(app, sim.url)}"))
    for needed in ("call_events", "get_number_info", "history_file_completed"):
        assert needed in text
    assert "режим без событий" in text and "WIDGET_EGRESS_IP" in text
    assert "заглушка" in text and "разрешённых IP-адресов" in text


def test_the_pbx_page_says_where_a_customers_return_call_goes(app, client, sim):
    account_id = add_account(app, sim.url)
    assert "идёт по правилам домена" in text_of(client.get(f"/admin/pbx/{account_id}"))
    with app.app_context():
        db.session.get(PbxAccount, account_id).route_inbound = True
        db.session.commit()
    assert "направляем его оператору" in text_of(client.get(f"/admin/pbx/{account_id}"))


def test_the_owner_sets_no_events_mode_and_the_pbx_ring_time_and_the_page_says_so(app, client, sim):
    response = post_form(
        client, "/admin/pbx/new", _sim_form(sim.url, no_events="y", ring_seconds="60")
    )
    assert response.status_code == 302
    page = text_of(client.get(response.headers["Location"]))
    assert "не ждём: звонки отслеживаются опросом АТС" in page
    assert "до 60 с" in page
    with app.app_context():
        account = db.session.scalar(db.select(PbxAccount))
        assert (account.events_expected, account.ring_seconds) == (False, 60)


def test_a_ring_time_out_of_range_is_refused_next_to_the_field(app, client, sim):
    response = post_form(client, "/admin/pbx/new", _sim_form(sim.url, ring_seconds="5"))
    assert response.status_code == 400
    assert 'id="ring_seconds-error"' in response.get_data(as_text=True)


def test_events_that_stopped_coming_are_shown_on_the_pbx_page(app, client, sim):
    account_id = add_account(app, sim.url)
    with app.app_context():
        account = db.session.get(PbxAccount, account_id)
        account.events_missing_at = datetime(2026, 12, 1, 9, 30)
        account.session_mismatch_at = datetime(2026, 12, 1, 9, 31)
        db.session.commit()
    page = text_of(client.get(f"/admin/pbx/{account_id}"))
    assert "не приходят с 01.12.2026 12:30 (MSK) — звонки отслеживаются опросом АТС" in page
    assert "сопоставляем звонки по оператору, номеру и времени" in page
