"""The PBX simulator over real loopback HTTP: protocol, scenarios, recordings, controls."""

from __future__ import annotations

import io
import logging
import re
import threading
import time
import wave
from collections.abc import Callable, Iterator
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

import pytest
import requests
from flask import Flask, jsonify, request
from werkzeug.serving import make_server

from widget_server.pbx.signing import encode_body, signed_headers, verify
from widget_server.pbx.sim import RunningSim, sim_config_from_env, start_sim_thread
from widget_server.pbx.sim.phones import mask_phone

CLIENT_ID = "TEST00000000000000000000000000AA"
SIGN_KEY = "TESTKEY-never-in-logs-0000000001"
DOMAIN = "test.cloudpbx.rt.ru"
SCALE = 0.02
POLL = 0.01  # server loop poll; it bounds each fixture's shutdown time
VISITOR = "+79161234567"
EVENT_KEYS = {
    "session_id",
    "timestamp",
    "type",
    "state",
    "from_number",
    "from_pin",
    "request_number",
    "request_pin",
    "disconnect_reason",
    "is_record",
}


def wait_until(predicate: Callable[[], Any], timeout: float = 5.0) -> Any:
    """Poll until ``predicate`` returns something truthy."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.01)
    raise AssertionError("condition not met in time")


class Receiver:
    """Our side of the webhook: records call_events and checks their signatures."""

    def __init__(self) -> None:
        self.events: list[dict[str, Any]] = []
        self.lock = threading.Lock()
        self.slow_on: dict[str, float] = {}  # state → seconds to take answering it
        app = Flask("test_receiver")

        @app.post("/call_events")
        def call_events():
            raw = request.get_data()
            time.sleep(self.slow_on.get(request.get_json().get("state"), 0.0))
            ok = request.headers.get("X-Client-ID") == CLIENT_ID and verify(
                CLIENT_ID, raw, SIGN_KEY, request.headers.get("X-Client-Sign")
            )
            with self.lock:
                self.events.append({"payload": request.get_json(), "signature_ok": ok})
            return jsonify(result="0", resultMessage="ok")

        self.server = make_server("127.0.0.1", 0, app, threaded=True)
        self.thread = threading.Thread(
            target=self.server.serve_forever, kwargs={"poll_interval": POLL}, daemon=True
        )
        self.thread.start()
        self.url = f"http://127.0.0.1:{self.server.server_port}"

    def events_for(self, session_id: str) -> list[dict[str, Any]]:
        with self.lock:
            return [e for e in self.events if e["payload"]["session_id"] == session_id]

    def wait_for_end(self, session_id: str, timeout: float = 5.0) -> list[dict[str, Any]]:
        def ended():
            events = self.events_for(session_id)
            return events if events and events[-1]["payload"]["state"] == "end" else None

        return wait_until(ended, timeout)

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    receiver = Receiver()
    yield receiver
    receiver.stop()


@pytest.fixture
def make_sim(receiver: Receiver) -> Iterator[Callable[..., RunningSim]]:
    started: list[RunningSim] = []

    def make(**overrides: Any) -> RunningSim:
        config = {
            "CLIENT_ID": CLIENT_ID,
            "SIGN_KEY": SIGN_KEY,
            "DOMAIN": DOMAIN,
            "WEBHOOK_BASE": receiver.url,
            "TIME_SCALE": SCALE,
            **overrides,
        }
        sim = start_sim_thread(config, poll_interval=POLL)
        started.append(sim)
        return sim

    yield make
    for sim in started:
        sim.stop()


@pytest.fixture
def sim(make_sim: Callable[..., RunningSim]) -> RunningSim:
    return make_sim()


def api(
    sim: RunningSim,
    method: str,
    payload: dict[str, Any],
    *,
    client_id: str = CLIENT_ID,
    key: str = SIGN_KEY,
    timeout: float = 5.0,
) -> requests.Response:
    body = encode_body(payload)
    return requests.post(
        f"{sim.url}/{method}",
        data=body,
        headers=signed_headers(client_id, body, key),
        timeout=timeout,
    )


def place_call(sim: RunningSim, number: str = VISITOR, **originator: str) -> str:
    payload = {"request_number": number, **(originator or {"from_pin": "201"})}
    answer = api(sim, "call_back", payload).json()
    assert answer["result"] == "0", answer
    return answer["session_id"]


def states(events: list[dict[str, Any]]) -> list[str]:
    return [e["payload"]["state"] for e in events]


def sim_call(sim: RunningSim, session_id: str) -> dict[str, Any]:
    calls = requests.get(f"{sim.url}/_sim/calls", timeout=5).json()
    return next(call for call in calls if call["session_id"] == session_id)


# -- signature and request format -------------------------------------------------
@pytest.mark.parametrize(
    "headers",
    [
        pytest.param(lambda body: signed_headers(CLIENT_ID, body, "wrong-key"), id="wrong key"),
        pytest.param(lambda body: signed_headers("OTHER", body, SIGN_KEY), id="unknown client id"),
        pytest.param(
            lambda body: signed_headers(CLIENT_ID, body + b" ", SIGN_KEY), id="other bytes signed"
        ),
        pytest.param(lambda body: {"Content-Type": "application/json"}, id="no headers"),
    ],
)
def test_it_refuses_a_request_with_a_wrong_signature(sim: RunningSim, headers) -> None:
    body = encode_body({"request_number": VISITOR, "from_pin": "201"})
    response = requests.post(f"{sim.url}/call_back", data=body, headers=headers(body), timeout=5)

    assert response.status_code == 403
    assert response.json() == {"result": "-403", "resultMessage": "Invalid signature"}
    logged = requests.get(f"{sim.url}/_sim/requests", timeout=5).json()
    assert [(r["method"], r["signature_ok"]) for r in logged] == [("call_back", False)]
    assert requests.get(f"{sim.url}/_sim/calls", timeout=5).json() == []


def test_it_answers_malformed_json_with_400_and_a_result_code(sim: RunningSim) -> None:
    body = b'{"session_id": '
    headers = signed_headers(CLIENT_ID, body, SIGN_KEY)
    response = requests.post(f"{sim.url}/call_info", data=body, headers=headers, timeout=5)

    assert response.status_code == 400
    assert response.json()["result"] == "-400"


def test_it_signs_webhooks_over_the_exact_bytes_with_the_configured_credentials(
    sim: RunningSim, receiver: Receiver
) -> None:
    session_id = place_call(sim)

    events = receiver.wait_for_end(session_id)

    assert events and all(e["signature_ok"] for e in events)


# -- users_info ------------------------------------------------------------------
def test_users_info_returns_the_demo_users_and_groups(sim: RunningSim) -> None:
    answer = api(sim, "users_info", {"domain": DOMAIN}).json()

    assert answer["result"] == "0"
    assert answer["resultMessage"] == "Операция выполнена успешно"
    users = {user["pin"]: user for user in answer["users"]}
    assert set(users) == {"200", "201", "202", "203", "204"}
    assert users["201"]["display_name"] == "Анна Смирнова"
    assert users["201"]["name"] == "anna"
    assert users["200"]["is_operator"] is False
    assert set(users["202"]) >= {"is_supervisor", "email", "recording"}
    groups = {group["pin"]: group for group in answer["groups"]}
    assert groups["101"]["name"] == "Отдел продаж"
    assert groups["101"]["users_list"] == ["201", "202", "203"]
    assert groups["102"]["users_list"] == ["204", "203"]
    assert "distribution" in groups["102"]


def test_users_info_with_a_user_pin_returns_only_that_user(sim: RunningSim) -> None:
    answer = api(sim, "users_info", {"domain": DOMAIN, "user_pin": "204"}).json()

    assert [user["name"] for user in answer["users"]] == ["gleb"]


# -- the normal call -------------------------------------------------------------
def test_a_normal_call_plays_the_full_sequence_and_call_info_says_answered(
    sim: RunningSim, receiver: Receiver
) -> None:
    session_id = place_call(sim, "+7 (916) 123-45-67")

    events = receiver.wait_for_end(session_id)

    payloads = [e["payload"] for e in events]
    assert states(events) == ["new", "calling", "calling", "connected", "disconnected", "end"]
    assert [p["request_number"] for p in payloads] == [
        "79161234567",
        f"anna@{DOMAIN}",
        f"sip:79161234567@{DOMAIN}",
        "79161234567",
        "79161234567",
        "79161234567",
    ]
    assert all(set(p) == EVENT_KEYS for p in payloads)
    assert all(p["type"] == "outbound" for p in payloads)
    assert all(
        p["from_number"] == f"sip:anna@{DOMAIN}" and p["from_pin"] == "201" for p in payloads
    )
    assert payloads[4]["disconnect_reason"] == "5"
    assert [p["is_record"] for p in payloads] == ["", "", "", "", "", "true"]
    assert all(e["signature_ok"] for e in events)

    info = api(sim, "call_info", {"session_id": session_id}).json()
    assert info["result"] == "0"
    assert info["info"]["state"] == 1
    assert info["info"]["call_type"] == 3
    assert info["info"]["direction"] == 2
    assert info["info"]["orig_pin"] == "201"
    assert info["info"]["dest_number"] == "79161234567"
    # answering_* is the first party to answer: in a callback, the operator.
    assert info["info"]["answering_sipuri"] == f"sip:anna@{DOMAIN}"
    assert info["info"]["is_record"] is True
    assert 4 <= info["info"]["duration"] <= 8  # TALK_SECONDS 6 in simulated seconds
    assert info["info"]["start_call_date"].isdigit()
    assert re.fullmatch(
        r"0:ct:201;\d+:cc:201;\d+:ct:79161234567;\d+:cc:79161234567;\d+:cd:79161234567;",
        info["info"]["session_log"],
    )
    assert (info["info"]["status_code"], info["info"]["status_string"]) == ("0", "")


def test_events_carry_moscow_timestamps_and_keep_the_scaled_pace(
    sim: RunningSim, receiver: Receiver
) -> None:
    session_id = place_call(sim)
    events = receiver.wait_for_end(session_id)

    stamp = events[0]["payload"]["timestamp"]
    assert re.fullmatch(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{3}", stamp)
    moscow = ZoneInfo("Europe/Moscow")
    sent = datetime.strptime(stamp, "%Y-%m-%d %H:%M:%S.%f").replace(tzinfo=moscow)
    assert abs((datetime.now(moscow) - sent).total_seconds()) < 5
    times = {e["state"]: e["time"] for e in sim_call(sim, session_id)["events"]}
    # The talk lasts TALK_SECONDS (6) x TIME_SCALE.
    assert times["disconnected"] - times["connected"] >= 6 * SCALE * 0.9
    assert all(e["status"] == 200 for e in sim_call(sim, session_id)["events"])


def test_a_slow_webhook_receiver_delays_the_events_but_does_not_stretch_the_call(
    sim: RunningSim, receiver: Receiver
) -> None:
    # A loaded machine answering `connected` late (here 30 simulated seconds) used to
    # push the hang-up back by as much: call_info's talk grew past what was played.
    receiver.slow_on["connected"] = 30 * SCALE
    session_id = place_call(sim, VISITOR)

    events = receiver.wait_for_end(session_id)

    assert states(events)[-3:] == ["connected", "disconnected", "end"]
    info = api(sim, "call_info", {"session_id": session_id}).json()["info"]
    assert 5 <= info["duration"] <= 7  # TALK_SECONDS 6 in simulated seconds


def test_call_back_accepts_a_sip_uri_as_the_originator(sim: RunningSim, receiver: Receiver) -> None:
    session_id = place_call(sim, from_sipuri=f"vera@{DOMAIN}", domain=DOMAIN)

    events = receiver.wait_for_end(session_id)

    assert events[0]["payload"]["from_pin"] == "203"
    assert events[1]["payload"]["request_number"] == f"vera@{DOMAIN}"


def test_call_back_with_a_group_pin_rings_the_group_and_its_first_member_answers(
    sim: RunningSim, receiver: Receiver
) -> None:
    session_id = place_call(sim, from_pin="102")

    events = receiver.wait_for_end(session_id)

    assert "connected" in states(events)
    assert events[0]["payload"]["from_pin"] == "204"
    assert sim_call(sim, session_id)["group_pin"] == "102"


@pytest.mark.parametrize(
    "originator",
    [
        {"from_pin": "999"},
        {"from_sipuri": f"nobody@{DOMAIN}"},
        {"from_sipuri": "anna@other.domain.ru"},
        {"from_pin": "201", "domain": "other.domain.ru"},
        {},
    ],
)
def test_call_back_from_an_unknown_originator_is_refused_with_minus_20(
    sim: RunningSim, originator: dict[str, str]
) -> None:
    answer = api(sim, "call_back", {"request_number": VISITOR, **originator}).json()

    assert answer == {
        "result": "-20",
        "resultMessage": "Ошибка при попытке выполнения обратного вызова",
    }


# -- scenarios -------------------------------------------------------------------
@pytest.mark.parametrize(
    ("number", "expected_states", "reason", "disconnected_number", "ring_seconds"),
    [
        (
            "+79000000001",
            ["new", "calling", "disconnected", "end"],
            "",
            f"anna@{DOMAIN}",
            30,  # OPERATOR_RING_SECONDS
        ),
        (
            "8 900 000-00-02",
            ["new", "calling", "calling", "disconnected", "end"],
            "3",
            f"sip:79000000002@{DOMAIN}",
            1,
        ),
        (
            "79000000003",
            ["new", "calling", "calling", "disconnected", "end"],
            "",
            f"sip:79000000003@{DOMAIN}",
            25,  # VISITOR_RING_SECONDS
        ),
    ],
    ids=["operator never answers", "visitor busy", "visitor does not answer"],
)
def test_a_call_that_never_connects_plays_its_documented_sequence(
    sim: RunningSim,
    receiver: Receiver,
    number: str,
    expected_states: list[str],
    reason: str,
    disconnected_number: str,
    ring_seconds: float,
) -> None:
    session_id = place_call(sim, number)

    events = receiver.wait_for_end(session_id)

    assert states(events) == expected_states
    disconnected = events[-2]["payload"]
    assert disconnected["disconnect_reason"] == reason
    assert disconnected["request_number"] == disconnected_number
    assert events[-1]["payload"]["is_record"] == "false"
    info = api(sim, "call_info", {"session_id": session_id}).json()["info"]
    assert (info["state"], info["duration"]) == (2, 0)
    # The visitor never answered: no cc with their digits in the session log.
    assert ":cc:79" not in info["session_log"]
    assert (info["answering_sipuri"] is None) == number.endswith("0001")
    # The last leg rings (or reports busy) for its documented simulated time.
    times = [e["time"] for e in sim_call(sim, session_id)["events"]]
    assert times[-2] - times[-3] >= ring_seconds * SCALE * 0.9


def test_number_0004_is_refused_without_a_session(sim: RunningSim) -> None:
    answer = api(sim, "call_back", {"request_number": "+79000000004", "from_pin": "201"}).json()

    assert answer["result"] == "-20"
    assert "session_id" not in answer
    assert requests.get(f"{sim.url}/_sim/calls", timeout=5).json() == []


def test_number_0006_answers_503_with_an_html_page(sim: RunningSim) -> None:
    response = api(sim, "call_back", {"request_number": "+79000000006", "from_pin": "201"})

    assert response.status_code == 503
    assert response.headers["Content-Type"].startswith("text/html")
    assert "503 Service Temporarily Unavailable" in response.text


def test_number_0005_stalls_longer_than_a_half_second_client_timeout(
    make_sim: Callable[..., RunningSim], receiver: Receiver
) -> None:
    sim = make_sim(SLOW_SECONDS=1.0)
    started = time.monotonic()

    with pytest.raises(requests.Timeout):
        api(sim, "call_back", {"request_number": "+79000000005", "from_pin": "201"}, timeout=0.5)

    assert time.monotonic() - started >= 0.5
    # The PBX answers late and, since the caller gave up, places no call.
    slow = wait_until(lambda: requests.get(f"{sim.url}/_sim/calls", timeout=5).json(), 3)
    assert slow[0]["scenario"] == "pbx_slow"
    time.sleep(0.2)
    assert sim_call(sim, slow[0]["session_id"])["events"] == []
    assert receiver.events == []


def test_shutdown_cuts_a_stalled_call_back_short(make_sim: Callable[..., RunningSim]) -> None:
    sim = make_sim(SLOW_SECONDS=30.0)
    answers: list[requests.Response] = []
    caller = threading.Thread(
        target=lambda: answers.append(
            api(sim, "call_back", {"request_number": "79000000005", "from_pin": "201"})
        )
    )
    caller.start()
    wait_until(lambda: requests.get(f"{sim.url}/_sim/requests", timeout=5).json())
    started = time.monotonic()

    sim.state.shutdown()
    caller.join(timeout=5)

    assert time.monotonic() - started < 2
    assert answers and answers[0].json()["result"] == "0"


def test_number_0007_fails_the_first_operator_then_connects_the_next(
    make_sim: Callable[..., RunningSim], receiver: Receiver
) -> None:
    sim = make_sim(OPERATOR_RING_SECONDS=5)
    first = place_call(sim, "+79000000007", from_pin="201")
    first_events = receiver.wait_for_end(first)
    second = place_call(sim, "+79000000007", from_pin="202")
    second_events = receiver.wait_for_end(second)

    assert states(first_events) == ["new", "calling", "disconnected", "end"]
    assert states(second_events) == [
        "new",
        "calling",
        "calling",
        "connected",
        "disconnected",
        "end",
    ]
    assert second_events[1]["payload"]["request_number"] == f"boris@{DOMAIN}"


# -- call_info -------------------------------------------------------------------
def test_call_info_for_an_unknown_session_is_minus_1_with_null_info(sim: RunningSim) -> None:
    answer = api(sim, "call_info", {"session_id": "no-such-session"}).json()

    assert answer == {"result": "-1", "resultMessage": "Сессия не найдена", "info": None}


def test_call_info_during_a_call_reports_it_not_answered_yet(
    make_sim: Callable[..., RunningSim],
) -> None:
    sim = make_sim(TIME_SCALE=1.0)
    session_id = place_call(sim)

    info = api(sim, "call_info", {"session_id": session_id}).json()["info"]

    assert info["state"] == 2
    assert info["duration"] == 0
    assert info["is_record"] is False


# -- get_record ------------------------------------------------------------------
def test_get_record_gives_a_one_time_link_to_a_wav(sim: RunningSim, receiver: Receiver) -> None:
    session_id = place_call(sim)
    receiver.wait_for_end(session_id)

    answer = api(sim, "get_record", {"session_id": session_id, "ip_adress": "127.0.0.1"}).json()

    assert answer["result"] == "0"
    assert re.fullmatch(
        re.escape(sim.url) + r"/records_new_scheme/record/download/[0-9a-f]{32}/\d+", answer["url"]
    )
    first = requests.get(answer["url"], timeout=5)
    assert first.status_code == 200
    assert first.headers["Content-Type"] == "audio/wav"
    with wave.open(io.BytesIO(first.content)) as audio:
        assert (audio.getnchannels(), audio.getframerate()) == (1, 8000)
        assert 1.0 <= audio.getnframes() / audio.getframerate() <= 2.0
    assert requests.get(answer["url"], timeout=5).status_code == 404


def test_a_record_link_expires_after_record_ttl_seconds(
    make_sim: Callable[..., RunningSim], receiver: Receiver
) -> None:
    sim = make_sim(RECORD_TTL_SECONDS=0.2)
    session_id = place_call(sim)
    receiver.wait_for_end(session_id)
    url = api(sim, "get_record", {"session_id": session_id}).json()["url"]

    time.sleep(0.3)

    assert requests.get(url, timeout=5).status_code == 404


def test_a_record_link_refuses_a_download_from_another_ip(
    sim: RunningSim, receiver: Receiver
) -> None:
    session_id = place_call(sim)
    receiver.wait_for_end(session_id)
    payload = {"session_id": session_id, "ip_adress": "203.0.113.10"}
    url = api(sim, "get_record", payload).json()["url"]

    assert requests.get(url, timeout=5).status_code == 403


def test_get_record_for_an_unrecorded_or_unknown_call_has_no_url(
    sim: RunningSim, receiver: Receiver
) -> None:
    session_id = place_call(sim, "79000000002")
    receiver.wait_for_end(session_id)

    unrecorded = api(sim, "get_record", {"session_id": session_id}).json()
    unknown = api(sim, "get_record", {"session_id": "no-such-session"}).json()

    assert (unrecorded["result"], unrecorded["url"]) == ("-1", None)
    assert (unknown["result"], unknown["url"]) == ("-1", None)


# -- control endpoints, config, logging ----------------------------------------
def test_without_a_webhook_base_events_are_only_recorded(
    make_sim: Callable[..., RunningSim], receiver: Receiver
) -> None:
    sim = make_sim(WEBHOOK_BASE=None)
    session_id = place_call(sim)

    call = wait_until(lambda: (c := sim_call(sim, session_id))["ended"] and c)

    assert [e["state"] for e in call["events"]][-1] == "end"
    assert all(e["status"] is None for e in call["events"])
    assert receiver.events == []


def test_an_unreachable_webhook_is_noted_and_the_call_still_plays_out(
    make_sim: Callable[..., RunningSim],
) -> None:
    closed = make_server("127.0.0.1", 0, Flask("closed"))
    closed_url = f"http://127.0.0.1:{closed.server_port}"
    closed.server_close()  # nothing listens there any more
    sim = make_sim(WEBHOOK_BASE=closed_url)
    session_id = place_call(sim)

    # `ended` is set before the last event is posted: wait for every post's outcome too.
    call = wait_until(
        lambda: (
            (c := sim_call(sim, session_id))["ended"]
            and len(c["events"]) == 6
            and all(e.get("error") for e in c["events"])
            and c
        )
    )

    assert all(e["status"] is None and e["error"] == "ConnectionError" for e in call["events"])


def test_the_webhook_base_can_be_set_at_run_time(
    make_sim: Callable[..., RunningSim], receiver: Receiver
) -> None:
    sim = make_sim(WEBHOOK_BASE=None)

    changed = requests.post(
        f"{sim.url}/_sim/config", json={"webhook_base": receiver.url}, timeout=5
    ).json()
    session_id = place_call(sim)

    assert changed["config"]["WEBHOOK_BASE"] == receiver.url
    assert "SIGN_KEY" not in changed["config"]
    assert states(receiver.wait_for_end(session_id))[0] == "new"


def test_the_index_page_lists_the_scenario_numbers(sim: RunningSim) -> None:
    index = requests.get(f"{sim.url}/", timeout=5).json()

    assert index["scenarios"]["79000000002"]["name"] == "visitor_busy"
    assert index["domain"] == DOMAIN


def test_sim_requests_lists_api_requests_and_reset_clears_everything(sim: RunningSim) -> None:
    before = time.time()
    api(sim, "users_info", {"domain": DOMAIN})
    place_call(sim)

    logged = requests.get(f"{sim.url}/_sim/requests", timeout=5).json()
    requests.post(f"{sim.url}/_sim/reset", timeout=5)

    assert [r["method"] for r in logged] == ["users_info", "call_back"]
    assert logged[0]["body"] == {"domain": DOMAIN}
    assert logged[1]["signature_ok"] is True
    assert logged[0]["time"] >= before
    assert requests.get(f"{sim.url}/_sim/requests", timeout=5).json() == []
    assert requests.get(f"{sim.url}/_sim/calls", timeout=5).json() == []


def test_logs_mask_visitor_numbers_and_never_show_the_sign_key(
    sim: RunningSim, receiver: Receiver, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="widget_server.pbx.sim")
    session_id = place_call(sim)
    receiver.wait_for_end(session_id)
    api(sim, "users_info", {}, key="wrong")

    text = "\n".join(record.getMessage() for record in caplog.records)

    assert "7916*****67" in text
    assert "79161234567" not in text
    assert SIGN_KEY not in text
    assert "invalid signature" in text


def test_mask_phone_keeps_four_leading_and_two_trailing_digits() -> None:
    assert mask_phone("+79161234567") == "+7916*****67"
    assert mask_phone(f"sip:79161234567@{DOMAIN}") == f"sip:7916*****67@{DOMAIN}"
    assert mask_phone('"8 (900) 000-00-02"') == '"8900*****02"'
    # Session ids, timestamps, IPs and PINs stay readable.
    for text in ("1f64e5b0-0196-4807-9e46-f8331366b8a2", "2026-11-27 05:29:19.096", "127.0.0.1"):
        assert mask_phone(text) == text
    assert mask_phone("from_pin 201") == "from_pin 201"


def test_sim_config_from_env_reads_prefixed_variables() -> None:
    config = sim_config_from_env(
        {
            "WIDGET_SIM_CLIENT_ID": "ENVCLIENT",
            "WIDGET_SIM_TIME_SCALE": "0.05",
            "WIDGET_SIM_WEBHOOK_BASE": "http://127.0.0.1:5000/pbx/",
            "WIDGET_SIM_GROUPS": '[{"name": "G", "pin": "300", "users_list": ["201"]}]',
            "UNRELATED": "x",
        }
    )

    assert config["CLIENT_ID"] == "ENVCLIENT"
    assert config["TIME_SCALE"] == 0.05
    assert config["WEBHOOK_BASE"] == "http://127.0.0.1:5000/pbx"
    assert config["GROUPS"][0]["pin"] == "300"
    assert config["SIGN_KEY"] == "DEMOKEY0000000000000000000000001"
    assert config["DOMAIN"] == "demo.cloudpbx.rt.ru"
    assert config["OPERATOR_RING_SECONDS"] == 30.0


# -- dialects (docs/pbx-dialects.md) ---------------------------------------------
def _call_back(sim: RunningSim, number: str = VISITOR, **auth: str) -> dict[str, Any]:
    return api(sim, "call_back", {"request_number": number, "from_pin": "201"}, **auth).json()


def _events_of(receiver: Receiver, sim: RunningSim, session_id: str) -> list[dict[str, Any]]:
    events_id = sim_call(sim, session_id)["event_session_id"]
    return [e["payload"] for e in receiver.wait_for_end(events_id)]


def test_dialect_b_sends_no_visitor_leg_calling_and_the_visitor_number_on_every_event(
    make_sim, receiver
):
    sim = make_sim(DIALECT="b")
    session_id = _call_back(sim)["session_id"]
    payloads = _events_of(receiver, sim, session_id)

    assert [p["state"] for p in payloads] == ["new", "calling", "connected", "disconnected", "end"]
    assert {p["request_number"] for p in payloads} == {"79161234567"}


@pytest.mark.parametrize("dialect", ["c", "d"])
def test_dialects_c_and_d_fire_connected_when_the_operator_answers(make_sim, receiver, dialect):
    sim = make_sim(DIALECT=dialect)
    session_id = _call_back(sim)["session_id"]
    payloads = _events_of(receiver, sim, session_id)
    info = api(sim, "call_info", {"session_id": session_id}).json()["info"]

    assert [p["state"] for p in payloads] == ["new", "calling", "connected", "disconnected", "end"]
    assert payloads[2]["request_number"] == f"anna@{DOMAIN}"
    if dialect == "c":
        assert info["state"] == 1 and ":cc:79161234567;" in info["session_log"]
    else:  # (d): the visitor never answers
        assert info["state"] == 2 and ":cc:79161234567;" not in info["session_log"]
        assert info["session_log"].startswith("0:ct:201;")


def test_dialect_e_sends_events_under_another_session_id_than_the_reply(make_sim, receiver):
    sim = make_sim(DIALECT="e")
    session_id = _call_back(sim)["session_id"]
    events_id = sim_call(sim, session_id)["event_session_id"]
    payloads = _events_of(receiver, sim, session_id)

    assert re.fullmatch(r"[0-9a-f-]{36}", session_id)
    assert events_id.startswith("SD") and events_id != session_id
    assert {p["session_id"] for p in payloads} == {events_id}
    # call_info answers under either id.
    assert api(sim, "call_info", {"session_id": events_id}).json()["result"] == "0"


def test_dialect_f_answers_a_placed_call_back_with_result_1(make_sim):
    answer = _call_back(make_sim(DIALECT="f"))
    assert (answer["result"], answer["resultMessage"]) == ("1", "Операция выполнена успешно")
    assert answer["session_id"]


def test_dialect_g_sends_no_events_and_call_info_knows_the_call_once_it_is_over(make_sim, receiver):
    sim = make_sim(DIALECT="g")
    session_id = _call_back(sim)["session_id"]
    assert api(sim, "call_info", {"session_id": session_id}).json()["result"] == "-1"
    wait_until(lambda: sim_call(sim, session_id)["ended"])

    info = api(sim, "call_info", {"session_id": session_id}).json()["info"]
    assert info["state"] == 1 and info["session_log"].endswith(":cd:79161234567;")
    assert receiver.events == []


def test_dialect_h_rings_an_unanswering_operator_for_the_pbxs_own_ring_time(make_sim, receiver):
    sim = make_sim(DIALECT="h", PBX_RING_SECONDS=40, OPERATOR_RING_SECONDS=1)
    session_id = _call_back(sim, "+79000000001")["session_id"]
    receiver.wait_for_end(session_id, timeout=10)
    times = [e["time"] for e in sim_call(sim, session_id)["events"]]

    assert times[-2] - times[1] >= 40 * SCALE * 0.9


def test_a_busy_visitor_shows_in_call_info_status_code(sim, receiver):
    session_id = _call_back(sim, "+79000000002")["session_id"]
    receiver.wait_for_end(session_id)
    info = api(sim, "call_info", {"session_id": session_id}).json()["info"]
    assert (info["status_code"], info["state"]) == ("486", 2)


def test_the_dialect_is_set_at_run_time_and_an_unknown_one_is_refused(sim):
    ok = requests.post(f"{sim.url}/_sim/config", json={"dialect": "E"}, timeout=5)
    bad = requests.post(f"{sim.url}/_sim/config", json={"dialect": "z"}, timeout=5)
    assert (ok.json()["config"]["DIALECT"], bad.status_code) == ("e", 400)


def test_a_second_account_is_served_with_its_own_key_webhook_and_dialect(sim, receiver):
    second = {"sign_key": "SECOND-KEY", "webhook_base": receiver.url, "dialect": "f"}
    changed = requests.post(
        f"{sim.url}/_sim/config", json={"accounts": {"SECOND": second}}, timeout=5
    ).json()
    assert "sign_key" not in changed["config"]["ACCOUNTS"]["SECOND"]

    answer = _call_back(sim, client_id="SECOND", key="SECOND-KEY")
    wrong = api(
        sim, "call_back", {"request_number": VISITOR, "from_pin": "201"}, client_id="SECOND"
    )
    events = receiver.wait_for_end(answer["session_id"])

    assert answer["result"] == "1" and wrong.status_code == 403
    assert events[-1]["payload"]["state"] == "end"
    assert _call_back(sim)["result"] == "0"  # the main account keeps its own dialect


def test_an_owner_registered_on_the_panel_gets_a_working_pair_and_their_own_events(sim, receiver):
    page = requests.get(f"{sim.url}/_sim/panel", timeout=5)
    made = requests.post(
        f"{sim.url}/_sim/panel", json={"webhook_base": receiver.url, "dialect": "b"}, timeout=5
    ).json()
    refused = requests.post(f"{sim.url}/_sim/panel", json={"webhook_base": "x"}, timeout=5)

    assert "Адрес внешней системы" in page.text and refused.status_code == 400
    answer = _call_back(sim, client_id=made["client_id"], key=made["sign_key"])
    events = receiver.wait_for_end(answer["session_id"])
    assert {e["payload"]["request_number"] for e in events} == {"79161234567"}  # dialect b
