"""Bitrix24 and amoCRM through the outbox, against local stand-ins of their APIs
(``channel_standins.BitrixPortal`` and ``AmoCrm``): leads, deals on known contacts,
the outcome when the call ends, the vendors' errors, timeouts, and coming back."""

from __future__ import annotations

import logging

import pytest
from sqlalchemy import select

from widget_server.dispatch import state
from widget_server.extensions import db
from widget_server.models import CallbackRequest, Notification, Owner, Widget
from widget_server.notify import outbox
from widget_server.notify.amocrm import call
from widget_server.notify.channel_error import ChannelError
from widget_server.notify.reach import failing
from widget_server.statuses import Status

from .admin_support import make_owner, post_form, sign_in
from .channel_standins import AmoCrm, BitrixPortal
from .conftest import make_app
from .test_notify import PHONE, _cli, add_request, make_site

SOURCE = {"utm_source": "yandex", "utm_medium": "cpc", "utm_campaign": "spring", "gclid": "g1"}


@pytest.fixture
def portal():
    stand_in = BitrixPortal()
    yield stand_in
    stand_in.down()


@pytest.fixture
def amo():
    stand_in = AmoCrm()
    yield stand_in
    stand_in.down()


@pytest.fixture
def app(tmp_path, amo):
    return make_app(
        tmp_path, AMOCRM_API_URL=amo.template, CHANNEL_TIMEOUT=2.0, PUBLIC_URL="https://cb.example"
    )


def crm_site(portal=None, amo=None, **fields) -> tuple[int, int]:
    if portal is not None:
        fields["bitrix24_url"] = portal.webhook
    if amo is not None:
        fields.update(amocrm_subdomain=AmoCrm.SUBDOMAIN, amocrm_token=AmoCrm.TOKEN)
    return make_site(notify_email=None, **fields)


def new_request(owner_id: int, widget_id: int, *, source=None, attempts: int = 0):
    """A request as the intake records it: the ``new`` message built with its summary."""
    request_id = add_request(widget_id, status="calling_operator", attempts=attempts)
    summary = outbox.request_summary(db.session.get(CallbackRequest, request_id))
    summary["source"] = source
    owner = db.session.get(Owner, owner_id)
    rows = outbox.record_payload(owner, "new", str(request_id), {"request": summary}, request_id)
    db.session.commit()
    return request_id, rows


def deliver_all() -> list[str]:
    ids = db.session.scalars(
        select(Notification.id).where(Notification.status == "pending").order_by(Notification.id)
    ).all()
    return [outbox.deliver_notification(i) for i in ids]


def finish(request_id: int, status: Status = Status.FINISHED, talked: int = 0) -> None:
    req = state.lock_request(request_id)
    for attempt in req.attempts:
        attempt.duration = talked
    before = {Status.FINISHED: Status.CONNECTED, Status.NO_OPERATOR: Status.CALLING_OPERATOR}
    req.status = before.get(status, Status.CALLING_VISITOR)
    state.set_status(req, status)
    db.session.commit()


# -- Bitrix24 -----------------------------------------------------------------------------------
def test_a_request_becomes_a_bitrix24_lead_with_the_phone_source_and_utm_fields(app, portal):
    with app.app_context():
        owner_id, widget_id = crm_site(portal)
        request_id, [row] = new_request(owner_id, widget_id, source=SOURCE)
        assert row.channel == "bitrix24"
        assert deliver_all() == ["sent"]
        assert db.session.get(Notification, row.id).payload["result"] == {
            "entity": "lead",
            "id": 101,
        }
    [lead] = portal.leads.values()
    assert lead["PHONE"] == [{"VALUE": PHONE, "VALUE_TYPE": "WORK"}]
    assert lead["SOURCE_ID"] == "CALLBACK" and lead["SOURCE_DESCRIPTION"] == "yandex / cpc / spring"
    assert (lead["UTM_SOURCE"], lead["UTM_MEDIUM"], lead["UTM_CAMPAIGN"]) == (
        "yandex",
        "cpc",
        "spring",
    )
    assert lead["TITLE"] == "Обратный звонок: +7 916 123-45-67" and lead["NAME"] == "Иван"
    assert "Отдел: Отдел продаж" in lead["COMMENTS"]
    assert f"https://cb.example/admin/requests/{request_id}" in lead["COMMENTS"]
    methods = [c["path"].rsplit("/", 1)[1] for c in portal.calls]
    assert methods == ["crm.duplicate.findbycomm.json", "crm.lead.add.json"]
    assert portal.calls[0]["body"] == {"entity_type": "CONTACT", "type": "PHONE", "values": [PHONE]}


def test_a_known_contact_gets_a_deal_and_the_call_outcome_lands_on_its_timeline(app, portal):
    portal.contacts[PHONE] = 42
    with app.app_context():
        owner_id, widget_id = crm_site(portal)
        request_id, _ = new_request(owner_id, widget_id, attempts=1)
        deliver_all()
        finish(request_id, Status.FINISHED, talked=95)
        [ended] = db.session.scalars(select(Notification).where(Notification.kind == "ended")).all()
        assert ended.channel == "bitrix24"
        assert deliver_all() == ["sent"]
    [deal] = portal.deals.values()
    assert deal["CONTACT_ID"] == 42 and deal["SOURCE_ID"] == "CALLBACK" and "PHONE" not in deal
    [comment] = portal.comments
    assert (comment["ENTITY_TYPE"], comment["ENTITY_ID"]) == ("deal", 101)
    assert "Итог звонка: разговор состоялся" in comment["COMMENT"]
    assert "Разговор: 95 с" in comment["COMMENT"]


def test_the_outcome_waits_for_its_lead_and_then_follows_it(app, portal):
    with app.app_context():
        owner_id, widget_id = crm_site(portal)
        request_id, [new] = new_request(owner_id, widget_id)
        finish(request_id, Status.NO_OPERATOR)
        [ended] = db.session.scalars(select(Notification).where(Notification.kind == "ended")).all()
        assert outbox.deliver_notification(ended.id) == "retry"
        assert "waiting for the request's lead" in db.session.get(Notification, ended.id).last_error
        assert outbox.deliver_notification(new.id) == "sent"
        due = outbox.next_try_at(db.session.get(Notification, ended.id))
        assert outbox.deliver_notification(ended.id, now=due) == "sent"
    assert len(portal.leads) == 1
    [comment] = portal.comments
    assert comment["ENTITY_TYPE"] == "lead" and "операторы не ответили" in comment["COMMENT"]


def test_a_wrong_webhook_code_is_bitrix24s_own_words_and_never_the_code(app, portal, caplog):
    caplog.set_level(logging.DEBUG)
    with app.app_context():
        owner_id, widget_id = crm_site()
        owner = db.session.get(Owner, owner_id)
        owner.bitrix24_url = f"{portal.url}/rest/1/wrongcode000000/"
        db.session.commit()
        _, [row] = new_request(owner_id, widget_id)
        assert deliver_all() == ["retry"]
        error = db.session.get(Notification, row.id).last_error
    assert "refused the token (HTTP 401): Invalid request credentials" in error
    ours = "\n".join(r.getMessage() for r in caplog.records if r.name != "werkzeug")
    assert "wrongcode" not in error and "wrongcode" not in ours
    assert BitrixPortal.CODE not in ours


def test_bitrix24_too_slow_is_a_timeout_and_bitrix24_back_gets_the_lead(app, portal):
    with app.app_context():
        owner_id, widget_id = crm_site(portal)
        _, [row] = new_request(owner_id, widget_id)
        portal.delay = 4.0
        assert outbox.deliver_notification(row.id) == "retry"
        assert "did not answer in time" in db.session.get(Notification, row.id).last_error
        portal.delay = 0
        portal.down()
        due = outbox.next_try_at(db.session.get(Notification, row.id))
        assert outbox.deliver_notification(row.id, now=due) == "retry"
        assert "could not connect" in db.session.get(Notification, row.id).last_error
        portal.up()
        due = outbox.next_try_at(db.session.get(Notification, row.id))
        assert outbox.deliver_notification(row.id, now=due) == "sent"
    assert len(portal.leads) >= 1


def test_a_bitrix24_address_on_the_internal_network_or_not_a_webhook_is_refused(tmp_path, portal):
    app = make_app(tmp_path, ALLOW_PRIVATE_NETWORKS=False)
    owner_id = make_owner(app)
    client = app.test_client()
    sign_in(client)
    for url, words in [
        ("https://127.0.0.1/rest/1/abc123/", "Адрес не в интернете"),
        ("https://portal.bitrix24.ru/crm/lead/", "Нужен адрес входящего вебхука"),
    ]:
        page = post_form(
            client,
            "/admin/account/bitrix24",
            {"bitrix24_url": url},
            page_url="/admin/account",
            follow_redirects=True,
        ).text
        assert words in page
    with app.app_context():
        assert db.session.get(Owner, owner_id).bitrix24_url is None


def test_a_saved_webhook_is_shown_masked_and_its_test_lead_is_made(app, portal):
    owner_id = make_owner(app)
    client = app.test_client()
    sign_in(client)
    page = post_form(
        client,
        "/admin/account/bitrix24",
        {"bitrix24_url": portal.webhook},
        page_url="/admin/account",
        follow_redirects=True,
    ).text
    assert "Битрикс24 подключён." in page and "•••• " + BitrixPortal.CODE[-4:] in page
    assert BitrixPortal.CODE not in page
    page = post_form(
        client,
        "/admin/account/channels/bitrix24/test",
        {},
        page_url="/admin/account",
        follow_redirects=True,
    ).text
    assert "Тестовое сообщение отправлено в Битрикс24." in page
    [lead] = portal.leads.values()
    assert lead["TITLE"].startswith("Проверка связи") and lead["PHONE"] == []
    portal.down()
    page = post_form(
        client,
        "/admin/account/channels/bitrix24/test",
        {},
        page_url="/admin/account",
        follow_redirects=True,
    ).text
    assert "Нет связи с сервисом Битрикс24." in page
    with app.app_context():
        assert db.session.get(Owner, owner_id).bitrix24_url == portal.webhook


# -- amoCRM -------------------------------------------------------------------------------------
def test_a_request_becomes_an_amocrm_lead_with_its_contact_and_a_note(app, amo):
    with app.app_context():
        owner_id, widget_id = crm_site(amo=amo)
        request_id, [row] = new_request(owner_id, widget_id, source=SOURCE)
        assert row.channel == "amocrm" and deliver_all() == ["sent"]
        finish(request_id, Status.VISITOR_NO_ANSWER)
        assert deliver_all() == ["sent"]
    [lead] = amo.leads.values()
    [contact] = lead["_embedded"]["contacts"]
    assert contact["first_name"] == "Иван"
    assert contact["custom_fields_values"] == [
        {"field_code": "PHONE", "values": [{"value": PHONE, "enum_code": "WORK"}]}
    ]
    assert {"field_code": "UTM_SOURCE", "values": [{"value": "yandex"}]} in lead[
        "custom_fields_values"
    ]
    facts, outcome = amo.notes
    assert facts["lead_id"] == outcome["lead_id"] == 5001
    assert "Источник: yandex / cpc / spring" in facts["text"]
    assert "Итог звонка: посетитель не ответил" in outcome["text"]
    assert all(c["headers"]["Authorization"] == f"Bearer {AmoCrm.TOKEN}" for c in amo.calls)


def test_a_refused_amocrm_token_is_named_and_a_bad_request_shows_its_validation_errors(app, amo):
    with app.app_context():
        owner_id, widget_id = crm_site(amo=amo)
        owner = db.session.get(Owner, owner_id)
        owner.amocrm_token = "expired-token"
        db.session.commit()
        _, [row] = new_request(owner_id, widget_id)
        assert deliver_all() == ["retry"]
        error = db.session.get(Notification, row.id).last_error
        assert (
            "refused the token (HTTP 401): Unauthorized" in error and "expired-token" not in error
        )
        owner = db.session.get(Owner, owner_id)
        owner.amocrm_token = AmoCrm.TOKEN
        db.session.commit()
        message = {
            "channel": "amocrm",
            "kind": "new",
            "payload": {"request": {}},
            "owner_id": owner_id,
            "amocrm_subdomain": AmoCrm.SUBDOMAIN,
            "amocrm_token": AmoCrm.TOKEN,
            "language": "ru",
        }
        with pytest.raises(ChannelError) as refused:
            call(message, "/api/v4/leads/complex", [{"_embedded": {}}])
        assert (
            refused.value.status == 400 and "This value should not be blank" in refused.value.detail
        )


def test_amocrm_down_then_back_gets_the_lead_once(app, amo):
    with app.app_context():
        owner_id, widget_id = crm_site(amo=amo)
        _, [row] = new_request(owner_id, widget_id)
        amo.down()
        assert deliver_all() == ["retry"]
        amo.up()
        due = outbox.next_try_at(db.session.get(Notification, row.id))
        assert outbox.deliver_notification(row.id, now=due) == "sent"
    assert len(amo.leads) == 1


def test_amocrm_too_slow_is_a_timeout_in_the_owners_words(app, amo):
    make_owner(app, amocrm_subdomain=AmoCrm.SUBDOMAIN, amocrm_token=AmoCrm.TOKEN)
    client = app.test_client()
    sign_in(client)
    amo.delay = 4.0
    page = post_form(
        client,
        "/admin/account/channels/amocrm/test",
        {},
        page_url="/admin/account",
        follow_redirects=True,
    ).text
    assert "amoCRM не ответил вовремя." in page


def test_the_amocrm_form_keeps_a_saved_token_it_never_shows(app, amo):
    owner_id = make_owner(app)
    client = app.test_client()
    sign_in(client)
    data = {"amocrm_subdomain": "https://Shop.amocrm.ru/", "amocrm_token": AmoCrm.TOKEN}
    page = post_form(
        client, "/admin/account/amocrm", data, page_url="/admin/account", follow_redirects=True
    ).text
    assert "amoCRM подключён." in page and AmoCrm.TOKEN not in page
    assert "•••• " + AmoCrm.TOKEN[-4:] in page
    page = post_form(
        client,
        "/admin/account/amocrm",
        {"amocrm_subdomain": "shop", "amocrm_token": ""},
        page_url="/admin/account",
        follow_redirects=True,
    ).text
    assert "amoCRM подключён." in page
    with app.app_context():
        owner = db.session.get(Owner, owner_id)
        assert (owner.amocrm_subdomain, owner.amocrm_token) == ("shop", AmoCrm.TOKEN)


def test_the_requests_timeline_shows_what_each_channel_was_told_and_why_it_failed(app, portal):
    owner_id = make_owner(app, bitrix24_url=f"{portal.url}/rest/1/wrongcode000000/")
    with app.app_context():
        widget_id = make_site("other@shop.example")[1]
        widget = db.session.get(Widget, widget_id)
        widget.owner_id = owner_id
        db.session.commit()
        request_id, _ = new_request(owner_id, widget_id)
        deliver_all()
    client = app.test_client()
    sign_in(client)
    html = client.get(f"/admin/requests/{request_id}").text
    assert "Битрикс24, о новой заявке:" in html and "повторим попытку" in html
    assert "refused the token (HTTP 401): Invalid request credentials" in html
    assert "wrongcode" not in html


def test_set_notifications_names_the_linked_channels_but_prints_no_secret(app, tmp_path, portal):
    with app.app_context():
        crm_site(portal, amo=True, telegram_chat_id="555", telegram_chat_name="Анна")
    result = _cli(tmp_path, "set-notifications", "--owner", "owner@shop.example")
    assert result.exit_code == 0, result.output
    assert "telegram: linked to Анна" in result.output
    assert "bitrix24: 127.0.0.1" in result.output and "amocrm: shop" in result.output
    assert BitrixPortal.CODE not in result.output and AmoCrm.TOKEN not in result.output


def test_a_test_lead_that_gets_through_puts_a_repaired_portal_back_at_once(app, portal):
    owner_id = make_owner(app, notify_email=None, bitrix24_url=portal.webhook)
    with app.app_context():
        db.session.add(
            Notification(
                owner_id=owner_id,
                kind="new",
                channel="bitrix24",
                dedupe_key="1",
                payload={},
                tries=1,
                last_error="ChannelError: refused",
            )
        )
        db.session.commit()
        assert failing(db.session.get(Owner, owner_id)) == {"bitrix24"}
    client = app.test_client()
    sign_in(client)
    assert "data-nobody-hears" in client.get("/admin/").text
    post_form(client, "/admin/account/channels/bitrix24/test", {}, page_url="/admin/account")
    with app.app_context():
        assert failing(db.session.get(Owner, owner_id)) == set()
    assert "data-nobody-hears" not in client.get("/admin/").text
