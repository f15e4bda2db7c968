"""Taking a request in without HTTP: visitor.intake.submit and the order of abuse/decide.py."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy import select

from widget_server.abuse import blocklist, bots
from widget_server.dispatch import hours, state
from widget_server.extensions import db
from widget_server.models import CallbackRequest, Widget
from widget_server.visitor import intake
from widget_server.visitor.texts import API_ERRORS

from .test_visitor_api import SHOP, build_site

BODY = {"phone": "+7 916 123-45-67", "consent": True, "group": "101"}
FRIDAY_EVENING = datetime(2026, 11, 27, 17, 0, tzinfo=UTC)  # 20:00 MSK, closed


def submit(site, body, **kwargs):
    """``intake.submit`` for the Russian widget, as a visitor from SHOP would call it."""
    with site.app.test_request_context():
        widget = db.session.scalar(select(Widget).where(Widget.public_key == site.ru_key))
        kwargs = {"origin": SHOP, "client_ip": "198.51.100.7", "origin_header": SHOP, **kwargs}
        return intake.submit(widget, body, **kwargs)


def only_request(site) -> CallbackRequest:
    with site.app.app_context():
        [req] = db.session.scalars(select(CallbackRequest)).all()
        db.session.expunge(req)
        return req


@pytest.fixture
def site(tmp_path):
    return build_site(tmp_path)


@pytest.fixture
def queued(site, monkeypatch):
    """The request ids handed to the queue to dial now."""
    calls = []
    queue = site.app.extensions["queue"]
    monkeypatch.setattr(queue, "place_next_call", lambda request_id: calls.append(request_id))
    return calls


@pytest.fixture
def moves(monkeypatch):
    """Every (status before, status after) that goes through the status setter."""
    seen = []
    real = state.set_status

    def recording(req, status):
        seen.append((req.status, status))
        real(req, status)

    monkeypatch.setattr(state, "set_status", recording)
    return seen


def test_wrong_fields_are_refused_by_error_code_and_nothing_is_stored(site):
    result = submit(site, {"phone": "12", "group": "999"})
    assert isinstance(result, intake.Refused)
    assert (result.status, result.code) == (422, "validation")
    assert result.fields == {
        "phone": "phone_invalid",
        "consent": "consent_required",
        "group": "group_unknown",
    }
    assert result.field_messages("en")["consent"] == API_ERRORS["en"]["consent_required"]
    assert site.stored() == 0


def test_an_accepted_request_is_stored_queued_and_handed_to_the_queue(site, queued, moves):
    result = submit(site, BODY)
    assert isinstance(result, intake.Accepted)
    assert not result.held and result.scheduled_for is None
    req = only_request(site)
    assert (req.id, req.handle, req.status) == (result.request_id, result.handle, "queued")
    assert queued == [result.request_id]
    assert moves == [(None, "queued")]  # the first status goes through the setter too


def test_a_held_request_goes_through_the_status_setter_and_is_never_queued(site, queued, moves):
    result = submit(site, {**BODY, "website": "https://spam.example"})
    assert isinstance(result, intake.Accepted) and result.held
    req = only_request(site)
    assert (req.status, req.held_reason) == ("held", "bot trap")
    assert req.finished_at is not None and req.next_dispatch_at is None
    assert moves == [(None, "held")]
    assert queued == []


def test_a_request_outside_hours_is_scheduled_through_the_status_setter(
    tmp_path, moves, monkeypatch
):
    site = build_site(tmp_path, NIGHT_GUARD=True)
    monkeypatch.setattr(hours, "utc_now", lambda: FRIDAY_EVENING)
    result = submit(site, BODY, lang="en")
    assert isinstance(result, intake.Accepted)
    assert result.scheduled_for == datetime(2026, 11, 30, 6, 0, tzinfo=UTC)
    assert result.when and "09:00" in result.when
    assert only_request(site).status == "scheduled"
    assert moves == [(None, "scheduled")]


def test_a_trapped_request_from_a_blocked_number_is_held_as_a_bot_trap(site):
    with site.app.app_context():
        blocklist.block("+79161234567", owner_id=None, source="opt_out")
    submit(site, {**BODY, "website": "x"})
    assert only_request(site).held_reason == "bot trap"


def test_a_blocked_number_is_held_and_the_owner_is_not_told(site, queued):
    with site.app.app_context():
        blocklist.block("+79161234567", owner_id=None, source="opt_out")
    result = submit(site, BODY)
    assert isinstance(result, intake.Accepted) and result.held
    assert only_request(site).held_reason == "number blocked"
    assert queued == []


def test_a_missing_form_token_is_refused_before_the_fields_are_read(tmp_path):
    site = build_site(tmp_path, FORM_TOKENS=True)
    result = submit(site, {"phone": "12"})
    assert isinstance(result, intake.Refused)
    assert (result.status, result.code, result.fields) == (403, "bad_token", {})


def test_the_config_pages_test_call_skips_the_bot_defences_and_only_them(tmp_path):
    site = build_site(tmp_path, FORM_TOKENS=True, BOT_CHALLENGE_ALWAYS=True)
    visitor = submit(site, BODY)
    assert isinstance(visitor, intake.Refused) and visitor.code == "bad_token"
    test_call = submit(site, BODY, consent_text="Тестовый звонок", is_test=True)
    assert isinstance(test_call, intake.Accepted)
    req = only_request(site)
    assert req.is_test and req.consent_text == "Тестовый звонок"
    # The dial limits still apply: one active call per number.
    again = submit(site, BODY, is_test=True)
    assert isinstance(again, intake.Refused) and (again.status, again.code) == (429, "rate_limited")
    assert again.retry_after == 60 and "Try again in 1 min." in again.message("en")


def test_a_challenge_is_asked_with_a_valid_token_and_nothing_is_stored(tmp_path):
    site = build_site(tmp_path, FORM_TOKENS=True, BOT_CHALLENGE_ALWAYS=True, BOT_POW_BITS=4)
    with site.app.app_context():
        raw = bots.issue_token(site.ru_key, SHOP)
    result = submit(site, {**BODY, "token": raw})
    assert isinstance(result, intake.Refused)
    assert (result.status, result.code) == (428, "challenge")
    assert result.challenge["bits"] == 4 and result.challenge["algorithm"] == "SHA-256"
    assert site.stored() == 0


def test_a_referer_without_an_origin_is_a_bot_signal_and_an_origin_is_not(site):
    with site.app.app_context():
        page = f"{SHOP}/catalog"
        assert bots.signals(None, False, origin=None, referer=page) == ["no origin"]
        assert bots.signals(None, False, origin=SHOP, referer=page) == []
        assert bots.signals(None, True, origin=SHOP, referer=None) == ["limits under pressure"]
