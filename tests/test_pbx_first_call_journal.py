"""The raw exchange journal: what it keeps, what it drops, how it downloads; the TLS probe."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from widget_server import setup
from widget_server.extensions import db
from widget_server.models import PbxAccount, PbxExchange, utcnow
from widget_server.pbx import directory, exchanges, tls_probe
from widget_server.pbx.client import PbxCredentials
from widget_server.pbx.dialect_check import Findings
from widget_server.pbx.dialect_words import tls_words
from widget_server.retention import forget_number

from .admin_support import make_owner
from .conftest import SIM_CLIENT_ID, SIM_SIGN_KEY, make_app
from .test_pbx_tls import chain, rt_pbx  # noqa: F401  (fixtures)

API = "https://api.cloudpbx.rt.ru"
NUMBER = "+79161234567"


@pytest.fixture
def app(tmp_path):
    app = make_app(tmp_path)
    make_owner(app)
    return app


@pytest.fixture
def account(app):
    with app.app_context():
        owner = setup.find_owner("owner@example.com")
        account = directory.add_pbx(owner, API, SIM_CLIENT_ID, SIM_SIGN_KEY, "demo.cloudpbx.rt.ru")
        db.session.commit()
        yield db.session.get(PbxAccount, account.id)


CREDENTIALS = PbxCredentials(api_url=API, client_id=SIM_CLIENT_ID, sign_key=SIM_SIGN_KEY)


def _count(kind: str | None = None) -> int:
    query = select(func.count(PbxExchange.id))
    if kind:
        query = query.where(PbxExchange.kind == kind)
    return db.session.scalar(query)


def test_an_events_signature_header_is_never_kept(account):
    headers = {"X-Client-ID": SIM_CLIENT_ID, "X-Client-Sign": "abc123", "Content-Type": "json"}
    exchanges.note_event(account, headers, {"session_id": "S1", "state": "new"})
    db.session.commit()
    row = db.session.scalar(select(PbxExchange))
    assert row.kind == "event" and row.session_id == "S1"
    assert row.headers == {"X-Client-ID": SIM_CLIENT_ID, "Content-Type": "json"}


def test_a_reply_is_kept_under_its_session_id_for_the_account_with_those_credentials(account):
    payload = {"request_number": NUMBER, "from_pin": "201"}
    exchanges.note_reply(CREDENTIALS, "call_back", payload, {"result": "0", "session_id": "U1"})
    other = PbxCredentials(api_url=API, client_id="someone-else", sign_key="k")
    exchanges.note_reply(other, "call_back", payload, {"result": "0", "session_id": "U2"})
    db.session.commit()
    rows = db.session.scalars(select(PbxExchange)).all()
    assert [(r.pbx_account_id, r.session_id) for r in rows] == [(account.id, "U1")]


def test_only_the_last_calls_exchanges_are_kept(account):
    for n in range(exchanges.KEEP_CALLS + 3):
        reply = {"result": "0", "session_id": f"U{n}"}
        exchanges.note_reply(CREDENTIALS, "call_back", {"request_number": NUMBER}, reply)
        db.session.flush()
        exchanges.note_reply(CREDENTIALS, "call_info", {"session_id": f"U{n}"}, {"info": {}})
    db.session.commit()
    assert _count("call_back") == exchanges.KEEP_CALLS
    assert _count("call_info") == exchanges.KEEP_CALLS
    kept = db.session.scalars(select(PbxExchange.session_id).order_by(PbxExchange.id)).first()
    assert kept == f"U{3}"


def test_exchanges_older_than_the_owners_retention_are_dropped(account):
    account.owner.retention_days = 3
    now = utcnow()
    for days in (1, 5):
        db.session.add(
            PbxExchange(
                pbx_account_id=account.id,
                kind="event",
                session_id=f"D{days}",
                created_at=now - timedelta(days=days),
            )
        )
    db.session.commit()
    exchanges.purge_expired(now=now)
    assert db.session.scalars(select(PbxExchange.session_id)).all() == ["D1"]


def test_forgetting_a_number_drops_every_exchange_that_mentions_it(account):
    exchanges.note_event(account, {}, {"session_id": "S", "request_number": "sip:79161234567@d"})
    exchanges.note_event(account, {}, {"session_id": "S", "request_number": "201@d"})
    info = {"info": {"session_log": "0:ct:201;3:ct:79161234567;"}}
    exchanges.note_reply(CREDENTIALS, "call_info", {"session_id": "S"}, info)
    db.session.commit()
    assert exchanges.forget_number(account.owner_id, "+7 916 123-45-67") == 2
    assert _count() == 1


def test_the_download_masks_numbers_written_any_way_and_never_holds_the_key(account):
    exchanges.note_event(
        account,
        {"X-Client-Sign": "abc"},
        {"session_id": "S", "request_number": "sip:79161234567@d", "from_number": "89161234567"},
    )
    info = {"info": {"session_log": "0:ct:201;3:ct:79161234567;", "note": SIM_SIGN_KEY}}
    exchanges.note_reply(CREDENTIALS, "call_info", {"session_id": "S"}, info)
    db.session.commit()
    text = exchanges.masked_download(account)
    assert json.loads(text)["exchanges"][0]["kind"] == "event"
    assert "9161234567" not in text
    assert SIM_SIGN_KEY not in text
    assert "abc" not in text
    assert "201" in text  # an operator's PIN is no one's phone number


def test_a_plain_http_address_is_reported_as_not_checked(app):
    seen = tls_probe.probe("http://127.0.0.1:9/")
    assert seen["verified"] is None and seen["error"] == "not https"
    with app.test_request_context():
        assert "not https" in tls_words(Findings(tls=seen, tls_verified=None))


@pytest.mark.openssl
def test_an_untrusted_chain_is_reported_with_the_openssl_command_to_see_it(rt_pbx, monkeypatch):  # noqa: F811
    monkeypatch.setenv("WIDGET_ALLOW_PRIVATE_NETWORKS", "1")
    seen = tls_probe.probe(rt_pbx)
    assert seen["verified"] is False
    port = rt_pbx.rsplit(":", 1)[1]
    assert seen["advice"].startswith(f"openssl s_client -connect 127.0.0.1:{port}")


@pytest.mark.openssl
def test_a_trusted_chain_names_the_leaf_and_its_issuer(rt_pbx, chain, monkeypatch):  # noqa: F811
    monkeypatch.setenv("WIDGET_ALLOW_PRIVATE_NETWORKS", "1")
    seen = tls_probe.probe(rt_pbx, chain["root"].read_text())
    assert seen["verified"] is True
    assert seen["subject"] == "commonName=leaf"
    assert seen["issuer"] == "commonName=Test Trusted Sub CA"


def test_an_event_of_another_call_on_the_domain_is_not_kept(account):
    exchanges.note_event(account, {}, {"session_id": "IN1", "state": "new"}, "ignored")
    exchanges.note_event(account, {}, {"session_id": "OUT1", "state": "new"}, "adopted")
    exchanges.note_event(account, {}, {"session_id": "OUT2", "state": "new"}, "not_ours")
    exchanges.note_event(account, {}, {"session_id": "OUT3", "state": "new"}, "applied")
    assert db.session.scalars(select(PbxExchange.session_id)).all() == ["OUT1", "OUT3"]


def test_forgetting_a_number_and_the_retention_job_reach_the_exchange_journal(tmp_path):
    app = make_app(tmp_path)
    with app.app_context():
        owner = setup.create_owner("keep@example.com", "correct horse")
        account = directory.add_pbx(owner, "https://api.example", "ID", "K" * 32)
        db.session.add(
            PbxExchange(
                pbx_account_id=account.id,
                kind="event",
                reply={"request_number": "+79161234567"},
            )
        )
        db.session.commit()
        forget_number(owner.id, "+79161234567")
        assert db.session.scalars(db.select(PbxExchange)).all() == []
