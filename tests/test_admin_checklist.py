"""The dashboard's setup checklist: each step turns green on what really happened."""

from __future__ import annotations

import re
from datetime import timedelta
from types import SimpleNamespace

import pytest
from sqlalchemy import select

from widget_server.extensions import db
from widget_server.models import CallbackRequest, Owner, PbxAccount, Widget, WidgetGroup, utcnow
from widget_server.pbx.sim import start_sim_thread
from widget_server.visitor import seen

from .admin_support import make_owner, post_form, sign_in
from .conftest import SIM_CLIENT_ID, SIM_SIGN_KEY, make_app

SHOP = "https://shop.example"


@pytest.fixture
def sim():
    server = start_sim_thread({"CLIENT_ID": SIM_CLIENT_ID, "SIGN_KEY": SIM_SIGN_KEY})
    yield server
    server.stop()


@pytest.fixture
def app(tmp_path):
    seen.forget()
    return make_app(tmp_path, PUBLIC_URL="https://callback.example.ru")


@pytest.fixture
def client(app):
    make_owner(app, phone="+79161234567")
    client = app.test_client()
    sign_in(client)
    return client


def states(client) -> dict[str, str]:
    html = client.get("/admin/").data.decode()
    return dict(re.findall(r'data-step="(\w+)" data-state="(\w+)"', html))


def current(client) -> tuple[str, str]:
    """(step, the address its button leads to) of the step marked current."""
    html = client.get("/admin/").data.decode()
    item = re.search(
        r'<li class="step[^"]*"[^>]*data-step="(\w+)"[^>]*aria-current="step"(.*?)</li>', html, re.S
    )
    assert item, "no current step"
    link = re.search(r'<a class="button primary" href="([^"]+)"', item.group(2))
    return item.group(1), link.group(1) if link else ""


def add_pbx(client, sim) -> int:
    form = {
        "api_choice": "custom",
        "custom_url": sim.url,
        "client_id": SIM_CLIENT_ID,
        "sign_key": SIM_SIGN_KEY,
    }
    response = post_form(client, "/admin/pbx/new", form)
    assert response.status_code == 302
    return int(response.headers["Location"].rsplit("/", 1)[1])


def add_widget(app, account_id: int) -> SimpleNamespace:
    with app.app_context():
        account = db.session.get(PbxAccount, account_id)
        widget = Widget(owner_id=account.owner_id, pbx_account_id=account.id, origins=[SHOP])
        widget.offered_groups = [WidgetGroup(group=account.groups[0], label="Продажи")]
        db.session.add(widget)
        db.session.commit()
        return SimpleNamespace(
            id=widget.id, public_key=widget.public_key, group_id=widget.offered_groups[0].id
        )


def hear_of_missed_requests(owner_id: int) -> None:
    """A channel that reaches the owner: the checklist's last step (no SMTP in tests)."""
    db.session.get(Owner, owner_id).bitrix24_url = "https://p.bitrix24.ru/rest/1/abc/"


def test_a_new_owner_is_led_to_the_pbx_step_first(client):
    assert states(client) == dict.fromkeys(
        ["pbx", "webhook", "groups", "widget", "install", "test_call", "notify"], "todo"
    )
    assert current(client) == ("pbx", "/admin/pbx/new")
    # "Создать виджет" before any PBX leads to the PBX step.
    response = client.get("/admin/widgets/new")
    assert response.headers["Location"].endswith("/admin/pbx/new")


def test_the_new_pbx_form_shows_the_webhook_address_the_account_then_gets(app, client, sim):
    html = client.get("/admin/pbx/new").data.decode()
    shown = re.search(r'id="webhook-base"[^>]*>([^<]+)</textarea>', html).group(1)
    assert shown.startswith("https://callback.example.ru/pbx/pbx_")
    assert client.get("/admin/pbx/new").data.decode().count(shown) == 1  # stable while filling
    account_id = add_pbx(client, sim)
    detail = client.get(f"/admin/pbx/{account_id}").data.decode()
    assert f'id="webhook-base" value="{shown}"' in detail
    # The next new account gets another address.
    assert shown not in client.get("/admin/pbx/new").data.decode()


def test_the_steps_turn_green_as_the_owner_does_them(app, client, sim):
    account_id = add_pbx(client, sim)
    got = states(client)
    assert (got["pbx"], got["groups"], got["webhook"]) == ("done", "done", "waiting")
    assert current(client) == ("widget", "/admin/widgets/new")

    widget = add_widget(app, account_id)
    assert states(client)["widget"] == "done"
    step, link = current(client)
    assert (step, link) == ("install", f"/admin/widgets/{widget.id}#snippet")

    config = client.get(f"/api/v1/widgets/{widget.public_key}/config", headers={"Origin": SHOP})
    assert config.status_code == 200
    html = client.get("/admin/").data.decode()
    assert states(client)["install"] == "done"
    assert "Установлен на сайте: shop.example, последний показ только что." in html
    assert current(client) == ("test_call", f"/admin/widgets/{widget.id}#test-call")

    with app.app_context():
        account = db.session.get(PbxAccount, account_id)
        account.last_event_at = utcnow() - timedelta(minutes=2)
        hear_of_missed_requests(account.owner_id)
        req = CallbackRequest(
            widget_id=widget.id,
            widget_group_id=widget.group_id,
            phone="+79161234567",
            origin="https://callback.example.ru",
            consent_text="test",
            status="finished",
            is_test=True,
            connected_at=utcnow(),
        )
        db.session.add(req)
        db.session.commit()
    html = client.get("/admin/").data.decode()
    assert set(states(client).values()) == {"done"}
    assert "Последнее событие от АТС: 2 мин назад." in html
    assert "Всё готово: виджет принимает звонки" in html


def test_a_finished_checklist_leaves_the_dashboard_after_a_day(app, client, sim):
    account_id = add_pbx(client, sim)
    widget = add_widget(app, account_id)
    with app.app_context():
        db.session.get(PbxAccount, account_id).last_event_at = utcnow()
        hear_of_missed_requests(db.session.get(PbxAccount, account_id).owner_id)
        db.session.get(Widget, widget.id).seen_on = {SHOP: utcnow().isoformat()}
        db.session.add(
            CallbackRequest(
                widget_id=widget.id,
                widget_group_id=widget.group_id,
                phone="+79161234567",
                origin=SHOP,
                consent_text="test",
                is_test=True,
                connected_at=utcnow() - timedelta(days=2),
            )
        )
        db.session.commit()
    assert 'id="checklist"' not in client.get("/admin/").data.decode()


def test_the_last_load_is_written_at_most_once_a_minute_per_widget(app, client, sim):
    widget = add_widget(app, add_pbx(client, sim))
    url = f"/api/v1/widgets/{widget.public_key}/config"
    for _ in range(5):
        assert client.get(url, headers={"Origin": SHOP}).status_code == 200
    with app.app_context():
        first = db.session.scalar(select(Widget.seen_on))
        stored = db.session.get(Widget, widget.id)
        # Within the minute nothing more is written for an origin already recorded...
        assert seen.record(stored, SHOP) is False
        assert db.session.scalar(select(Widget.seen_on)) == first
        # ...and the throttle lifts once the minute has passed.
        seen._written[stored.id] -= seen.WRITE_EVERY_SECONDS
        assert seen.record(stored, SHOP) is True
    assert list(first) == [SHOP]
