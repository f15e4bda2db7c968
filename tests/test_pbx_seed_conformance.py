"""The seed article's own examples, read by the product as the article means them.

A PBX stand-in on a loopback port answers with the article's JSON (``seed_examples``); our
service, also on a loopback port, takes the article's webhooks signed as the PBX signs them.
Where the article is cut off or ambiguous, ``seed_examples`` says which reading was taken
and the tests feed the other readings too.
"""

from __future__ import annotations

import copy
import itertools
import json
from typing import Any

import pytest
import requests
from flask import Flask, Response, jsonify, request

from widget_server import setup
from widget_server.dispatch.ringing import operator_order
from widget_server.dispatch.schedule import ALWAYS_OPEN
from widget_server.extensions import db
from widget_server.models import (
    CallAttempt,
    CallbackRequest,
    PbxAccount,
    PbxGroup,
)
from widget_server.pbx import directory
from widget_server.pbx.client import PbxClient, PbxCredentials
from widget_server.pbx.events import read_call_info
from widget_server.pbx.signing import encode_body, sign, verify
from widget_server.statuses import Outcome, Status

from . import seed_examples as seed
from .conftest import make_app
from .dispatch_support import Jobs, submit_request
from .live_stack import ServerThread

CLIENT_ID = "000003C405E6525C64C184258C44EC99"
SIGN_KEY = "00000716ABDA6D4DFF10F82BCBBFC532"
# Our call_back's session: a reply-style UUID (§2.1), not the article's incoming call's id.
OUR_SESSION = "534dbe28-7e58-4705-89a4-26a308405464"
VISITOR = "+79161234567"


class SeedPbx:
    """The PBX stand-in: the article's answers, and every signed request it was sent."""

    def __init__(self) -> None:
        self.seen: list[tuple[str, dict[str, Any]]] = []
        self.users_info = copy.deepcopy(seed.USERS_INFO_ANSWER)
        self.info: dict[str, Any] = copy.deepcopy(seed.CALL_INFO)
        self.record_result: Any = "0"
        self.app = self._app()
        self.server = ServerThread(self.app)
        self.url = self.server.url

    def bodies(self, method: str) -> list[dict[str, Any]]:
        return [body for name, body in self.seen if name == method]

    def _app(self) -> Flask:
        app = Flask("seed_pbx")
        app.json.ensure_ascii = False  # type: ignore[attr-defined]

        @app.post("/<method>")
        def api(method: str):
            raw = request.get_data()
            if not verify(CLIENT_ID, raw, SIGN_KEY, request.headers.get("X-Client-Sign")):
                return jsonify(result="-403", resultMessage="Invalid signature"), 403
            self.seen.append((method, json.loads(raw)))
            if method == "users_info":
                return jsonify(self.users_info)
            if method == "call_back":
                return jsonify(result="0", resultMessage="ok", session_id=OUR_SESSION)
            if method == "call_info":
                return jsonify(result=0, resultMessage="", info=self.info)
            if method == "get_record":
                answer = seed.get_record_answer(f"{self.url}/records/1")
                return jsonify({**answer, "result": self.record_result})
            return jsonify(result="-404", resultMessage="Метод не найден"), 404

        @app.get("/records/<name>")
        def record(name: str):
            return Response(b"RIFF", mimetype="audio/wav")

        return app


class SeedWorld:
    """Our service on loopback, its PBX account on the stand-in, a widget on group testAPI."""

    def __init__(self, tmp_path) -> None:
        self.pbx = SeedPbx()
        apps: dict[str, Any] = {}
        self.service = ServerThread(lambda env, start: apps["service"](env, start))
        self.app = apps["service"] = make_app(tmp_path, PUBLIC_URL=self.service.url)
        self.jobs = Jobs(self.app)
        self._clock = itertools.count(1)
        with self.app.app_context():
            owner = setup.create_owner("owner@example.com", "correct horse")
            account = directory.add_pbx(owner, self.pbx.url, CLIENT_ID, SIGN_KEY, seed.DOMAIN)
            directory.sync_groups(account)
            widget = setup.add_widget(account, ["https://shop.example"], [("500", None)])
            widget.hours, widget.public_holidays = ALWAYS_OPEN, False
            db.session.commit()
            self.account_id, self.widget_id = account.id, widget.id
            self.public_id = account.public_id

    def stop(self) -> None:
        self.service.stop()
        self.pbx.server.stop()

    def submit(self, phone: str = VISITOR) -> int:
        return submit_request(self.app, self.widget_id, phone)

    def webhook(self, method: str, payload: dict[str, Any]) -> requests.Response:
        """POST a webhook signed as the PBX signs it, over loopback."""
        body = encode_body(payload)
        headers = {
            "Content-Type": "application/json; charset=utf-8",
            "X-Client-ID": CLIENT_ID,
            "X-Client-Sign": sign(CLIENT_ID, body, SIGN_KEY),
        }
        url = f"{self.service.url}/pbx/{self.public_id}/{method}"
        return requests.post(url, data=body, headers=headers, timeout=10)

    def our_event(self, state: str, **fields: Any) -> requests.Response:
        """An event of our own call_back, in the article's shape (type outbound)."""
        payload = {
            "session_id": OUR_SESSION,
            "timestamp": f"2019-12-27 15:35:{next(self._clock):02d}.000",
            "type": "outbound",
            "state": state,
            "from_number": f"sip:admin@{seed.DOMAIN}",
            "from_pin": "666",
            "request_number": VISITOR.lstrip("+"),
            **fields,
        }
        return self.webhook("call_events", payload)

    def request(self, request_id: int) -> tuple[str, list[str | None], bool]:
        with self.app.app_context():
            req = db.session.get(CallbackRequest, request_id)
            return (
                req.status,
                [a.outcome for a in req.attempts],
                any(a.is_record for a in req.attempts),
            )


@pytest.fixture
def world(tmp_path):
    world = SeedWorld(tmp_path)
    yield world
    world.stop()


def _client(world: SeedWorld) -> PbxClient:
    creds = PbxCredentials(world.pbx.url, CLIENT_ID, SIGN_KEY, domain=seed.DOMAIN)
    return PbxClient(creds, connect_timeout=1.0, read_timeout=2.0)


# -- users_info ---------------------------------------------------------------------------
def test_users_info_is_asked_with_the_domain_as_the_article_shows(world):
    assert world.pbx.bodies("users_info")[-1] == seed.USERS_INFO_REQUEST


def test_the_articles_users_and_group_fill_the_directory_with_their_pins_and_flags(world):
    with world.app.app_context():
        account = db.session.get(PbxAccount, world.account_id)
        users = {u.pin: u for u in account.users}
        group = db.session.scalar(db.select(PbxGroup).where(PbxGroup.pin == "500"))

        assert set(users) == {"666", "703"}
        assert (users["666"].name, users["666"].display_name) == ("admin", "test_user_1")
        assert users["666"].email == "test_user_1@mail.gov" and users["703"].email is None
        assert all(u.is_supervisor and not u.is_operator and u.recording for u in users.values())
        assert (group.name, group.email, group.distribution) == ("testAPI", "Ivanov@mail.gov", 1)
        assert group.member_pins == ["666", "703"]


def test_a_member_of_the_group_is_rung_though_the_article_marks_neither_as_an_operator(world):
    # The article's group testAPI holds two users, both is_operator false: group membership is
    # what the PBX routes by, so the widget's group rings them both.
    request_id = world.submit()
    world.jobs.run()
    with world.app.app_context():
        req = db.session.get(CallbackRequest, request_id)
        assert operator_order(req) == ["666", "703"]
    assert world.pbx.bodies("call_back") == [{"request_number": VISITOR, "from_pin": "666"}]


def test_pins_and_flags_given_as_numbers_and_strings_read_the_same(world):
    answer = copy.deepcopy(seed.USERS_INFO_ANSWER)
    answer["result"] = "0"
    for user in answer["users"]:
        user["pin"] = int(user["pin"])
        user["is_operator"], user["is_supervisor"] = "false", "true"
    answer["groups"][0]["pin"] = 500
    answer["groups"][0]["users_list"] = [666, 703]
    world.pbx.users_info = answer
    with world.app.app_context():
        account = db.session.get(PbxAccount, world.account_id)
        assert directory.sync_groups(account) == (2, 1)
        users = {u.pin: u for u in account.users}
        group = db.session.scalar(db.select(PbxGroup).where(PbxGroup.pin == "500"))
        assert set(users) == {"666", "703"}
        assert all(u.is_supervisor and not u.is_operator for u in users.values())
        assert group.member_pins == ["666", "703"]


# -- call_events of a call that is not ours -------------------------------------------------
def test_the_articles_incoming_call_event_is_answered_and_touches_no_request_of_ours(world):
    request_id = world.submit()
    world.jobs.run()
    before = world.request(request_id)

    response = world.webhook("call_events", seed.INCOMING_NEW_EVENT)

    assert response.status_code == 200
    assert str(response.json()["result"]) == "0"
    assert world.jobs.run() == []
    assert world.request(request_id) == before


def test_the_articles_end_event_of_an_incoming_call_is_answered_and_ignored(world):
    request_id = world.submit()
    world.jobs.run()
    before = world.request(request_id)

    response = world.webhook("call_events", seed.INCOMING_END_EVENT)

    assert response.status_code == 200
    assert world.jobs.run() == []
    assert world.request(request_id) == before
    assert world.pbx.bodies("call_info") == [] and world.pbx.bodies("get_record") == []


# -- get_number_info ------------------------------------------------------------------------
def _routing_on(world: SeedWorld) -> None:
    with world.app.app_context():
        db.session.get(PbxAccount, world.account_id).route_inbound = True
        db.session.commit()


@pytest.mark.parametrize("caller", [f"sip:79161234567@{seed.DOMAIN}", "79161234567"])
def test_get_number_info_shaped_like_the_articles_event_names_a_recent_requester(world, caller):
    _routing_on(world)
    world.submit()
    asked = {**seed.NUMBER_INFO_REQUEST, "from_number": caller}

    answer = world.webhook("get_number_info", asked).json()

    assert int(answer["result"]) == 0  # the article's handler answers 0; we answer "0"
    assert answer["resultMessage"]
    assert answer["displayName"] == "+79161234567 · Обратный звонок: shop.example"


def test_the_articles_unknown_caller_is_left_to_the_domains_own_routing(world):
    _routing_on(world)
    answer = world.webhook("get_number_info", seed.NUMBER_INFO_REQUEST).json()
    assert int(answer["result"]) == 0
    assert "displayName" not in answer and "PIN" not in answer


# -- get_record -----------------------------------------------------------------------------
@pytest.mark.parametrize("result", ["0", 0])
def test_get_record_asks_with_the_session_id_as_the_article_shows(world, result):
    world.pbx.record_result = result
    url = _client(world).get_record(seed.SESSION_ID)
    assert world.pbx.bodies("get_record")[-1] == seed.GET_RECORD_REQUEST
    assert url == f"{world.pbx.url}/records/1"


def test_get_record_adds_only_the_apis_ip_adress_when_our_address_is_known(world):
    _client(world).get_record(seed.SESSION_ID, ip_address="203.0.113.5")
    assert world.pbx.bodies("get_record")[-1] == {
        **seed.GET_RECORD_REQUEST,
        "ip_adress": "203.0.113.5",
    }


# -- call_info ------------------------------------------------------------------------------
def test_call_info_asks_with_the_session_id_and_returns_the_articles_info(world):
    assert _client(world).call_info(seed.SESSION_ID) == seed.CALL_INFO
    assert world.pbx.bodies("call_info")[-1] == seed.CALL_INFO_REQUEST


def test_the_articles_session_log_shows_the_internal_user_answer_and_nothing_of_the_caller():
    seen = read_call_info(seed.CALL_INFO, "+7 123456789")
    assert seen.operator_answered and seen.over
    assert not (seen.visitor_named or seen.visitor_rung or seen.visitor_answered)


def _our_call(world: SeedWorld, *states: tuple[str, dict[str, Any]]) -> int:
    request_id = world.submit()
    world.jobs.run()
    for state, fields in states:
        assert world.our_event(state, **fields).status_code == 200
    world.jobs.run()
    return request_id


OPERATOR_RINGS = [("new", {}), ("calling", {"request_number": f"admin@{seed.DOMAIN}"})]
VISITOR_RINGS = [*OPERATOR_RINGS, ("calling", {})]


@pytest.mark.parametrize("is_record", [True, "true"])
def test_a_visitor_who_talked_is_finished_when_call_info_has_the_articles_shape(world, is_record):
    world.pbx.info = seed.call_info_for("79161234567", "admin", is_record=is_record)
    request_id = _our_call(
        world,
        *VISITOR_RINGS,
        ("connected", {}),
        ("disconnected", {"disconnect_reason": "5"}),
        ("end", {"is_record": is_record}),
    )

    status, outcomes, recorded = world.request(request_id)
    assert (status, outcomes) == (Status.FINISHED, [Outcome.COMPLETED])
    assert len(world.pbx.bodies("call_back")) == 1
    assert recorded  # the article's is_record flag, as a bool or as "true"
    assert world.pbx.bodies("get_record")[-1]["session_id"] == OUR_SESSION


def test_a_call_the_articles_call_info_says_nothing_of_is_unconfirmed_and_not_rung_again(world):
    world.pbx.info = seed.call_info_for("79161234567", "admin")
    request_id = _our_call(world, *OPERATOR_RINGS, ("end", {"is_record": "false"}))

    status, outcomes, _recorded = world.request(request_id)
    assert (status, outcomes) == (Status.FINISHED, [Outcome.UNCONFIRMED])
    assert len(world.pbx.bodies("call_back")) == 1
    with world.app.app_context():
        attempt = db.session.scalar(db.select(CallAttempt))
        assert (attempt.answered, attempt.duration) == (True, 14)
