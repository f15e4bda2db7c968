"""The simulator's Flask app: the signed PBX API plus unsigned /_sim/ control endpoints."""

from __future__ import annotations

import copy
import hmac
import json
import logging
import secrets
import uuid
from typing import Any

from flask import Flask, Response, jsonify, request

from widget_server.pbx.signing import verify

from . import scenarios
from .journal import SimJournal
from .panel import add_panel
from .phones import mask_phone, normalise_number
from .player import start_playing
from .recordings import tone_wav
from .scenarios import build_script, scenario_for
from .settings import merge_config, public_config
from .state import Call, SimState

log = logging.getLogger("widget_server.pbx.sim")

OK_MESSAGE = "Операция выполнена успешно"
CALL_BACK_FAILED = {
    "result": "-20",
    "resultMessage": "Ошибка при попытке выполнения обратного вызова",
}
RECORD_PATH = "/records_new_scheme/record/download"

Answer = Response | tuple[Response, int]


def create_sim_app(config: dict[str, Any] | None = None) -> Flask:
    """Build a simulator app; ``config`` overrides the defaults (see settings.DEFAULTS)."""
    state = SimState(merge_config(config))
    app = Flask("widget_server.pbx.sim")
    app.json.ensure_ascii = False  # type: ignore[attr-defined]
    app.json.sort_keys = False  # type: ignore[attr-defined]
    app.json.compact = True  # type: ignore[attr-defined]
    app.extensions["pbx_sim"] = state
    _add_api(app, state, SimJournal(state))
    add_panel(app, state)
    _add_records(app, state)
    _add_inspection(app, state)
    return app


def _add_api(app: Flask, state: SimState, journal: SimJournal) -> None:
    """``POST /<method>``: the signed integration API itself."""

    @app.post("/<method>")
    def api(method: str) -> Answer:
        raw = request.get_data(cache=True)
        # Verified over the raw bytes before any parsing, as the real API does.
        if not _signature_ok(state, raw):
            state.record_request(method, None, False)
            known_id = state.account(request.headers.get("X-Client-ID")) is not None
            log.warning(
                "sim rejected %s: invalid signature (%s client id)",
                method,
                "known" if known_id else "unknown or missing",
            )
            return jsonify(result="-403", resultMessage="Invalid signature"), 403
        try:
            body = json.loads(raw.decode("utf-8"))
        except (UnicodeDecodeError, ValueError):
            body = None
        if not isinstance(body, dict):
            state.record_request(method, None, True)
            log.warning("sim rejected %s: body is not a JSON object", method)
            return jsonify(result="-400", resultMessage="Некорректный формат запроса"), 400
        state.record_request(method, body, True)
        log.info("sim <- %s %s", method, mask_phone(json.dumps(body, ensure_ascii=False)))
        handler = HANDLERS.get(method) or journal.handlers.get(method)
        if handler is None:
            return jsonify(result="-404", resultMessage="Метод не найден"), 404
        return handler(state, body)


def _add_records(app: Flask, state: SimState) -> None:
    """The one-time recording links ``get_record`` hands out."""

    @app.get(f"{RECORD_PATH}/<token>/<digits>")
    def download_record(token: str, digits: str) -> Answer:
        outcome = state.take_record_link(token, digits, request.remote_addr)
        log.info("sim record download %s… from %s: %s", token[:6], request.remote_addr, outcome)
        if outcome == "forbidden":
            return Response("Forbidden", status=403, mimetype="text/plain")
        if outcome != "ok":
            return Response("Not Found", status=404, mimetype="text/plain")
        return Response(tone_wav(), mimetype="audio/wav")


def _add_inspection(app: Flask, state: SimState) -> None:
    """What the sim is and did, and its run-time settings (``/`` and ``/_sim/...``)."""

    @app.get("/")
    def index() -> Answer:
        """What this is and which numbers do what, for people opening it in a browser."""
        return jsonify(
            service="Rostelecom Virtual PBX simulator",
            domain=state.setting("DOMAIN"),
            methods=sorted(HANDLERS),
            scenarios={
                number: {"name": s.name, "summary": s.summary}
                for number, s in scenarios.SCENARIOS.items()
            },
            dialects=scenarios.DIALECT_SUMMARIES,
            inspect=["/_sim/requests", "/_sim/calls", "/_sim/config"],
            panel="/_sim/panel",
        )

    @app.get("/_sim/requests")
    def sim_requests() -> Answer:
        return jsonify(state.requests_snapshot())

    @app.get("/_sim/calls")
    def sim_calls() -> Answer:
        return jsonify(state.calls_snapshot())

    @app.get("/_sim/config")
    def sim_config() -> Answer:
        with state.lock:
            return jsonify(public_config(state.config))

    @app.post("/_sim/config")
    def sim_set_config() -> Answer:
        changes = request.get_json(silent=True)
        if not isinstance(changes, dict):
            return jsonify(ok=False, error="expected a JSON object"), 400
        try:
            state.update_config(changes)
        except (TypeError, ValueError) as exc:
            return jsonify(ok=False, error=str(exc)), 400
        log.info("sim config changed: %s", ", ".join(sorted(k.upper() for k in changes)))
        with state.lock:
            return jsonify(ok=True, config=public_config(state.config))

    @app.post("/_sim/reset")
    def sim_reset() -> Answer:
        state.reset()
        log.info("sim state reset")
        return jsonify(ok=True)


def _signature_ok(state: SimState, raw: bytes) -> bool:
    """Signed by an account the sim serves (the main one or one of ACCOUNTS)."""
    header_id = request.headers.get("X-Client-ID", "")
    account = state.account(header_id)
    if account is None:
        hmac.compare_digest(header_id.encode(), b"-" * len(header_id))  # same work either way
        return False
    return verify(header_id, raw, account["sign_key"], request.headers.get("X-Client-Sign"))


def _ok(**data: Any) -> Response:
    return jsonify(result="0", resultMessage=OK_MESSAGE, **data)


def _domain_matches(state: SimState, body: dict[str, Any]) -> bool:
    domain = body.get("domain")
    return not domain or domain == state.setting("DOMAIN")


# -- API methods ---------------------------------------------------------------
def users_info(state: SimState, body: dict[str, Any]) -> Answer:
    """The directory; with ``user_pin`` only that user (and no groups)."""
    if not _domain_matches(state, body):
        return jsonify(result="-1", resultMessage="Домен не найден", users=[], groups=[])
    with state.lock:
        users = copy.deepcopy(state.config["USERS"])
        groups = copy.deepcopy(state.config["GROUPS"])
    pin = body.get("user_pin")
    if pin:
        users = [user for user in users if str(user.get("pin")) == str(pin)]
        groups = []
    return _ok(users=users, groups=groups)


Operator = tuple[dict[str, Any], str | None]


def _find_operator(state: SimState, body: dict[str, Any]) -> Operator | None:
    """(user, group pin or None) for from_pin / from_sipuri; a group rings its first member."""
    with state.lock:
        users = state.config["USERS"]
        groups = state.config["GROUPS"]
        domain = state.config["DOMAIN"]
    by_pin = {str(user["pin"]): user for user in users}
    pin = body.get("from_pin")
    if pin:
        pin = str(pin)
        if pin in by_pin:
            return by_pin[pin], None
        for group in groups:
            if str(group["pin"]) == pin:
                members = [by_pin[p] for p in map(str, group.get("users_list", [])) if p in by_pin]
                return (members[0], pin) if members else None
        return None
    sipuri = body.get("from_sipuri")
    if isinstance(sipuri, str) and sipuri:
        login, _, host = sipuri.removeprefix("sip:").partition("@")
        if host and host != domain:
            return None
        for user in users:
            if user["name"] == login:
                return user, None
    return None


def call_back(state: SimState, body: dict[str, Any]) -> Answer:
    """Answer call_back per the number's scenario; a placed call plays after the answer is sent."""
    raw_number = body.get("request_number")
    visitor = normalise_number(raw_number if isinstance(raw_number, str) else None)
    found = _find_operator(state, body) if _domain_matches(state, body) else None
    if not visitor or found is None:
        log.info("sim call_back refused: unknown originator or empty number")
        return jsonify(CALL_BACK_FAILED)
    scenario = scenario_for(visitor)
    if scenario.name == scenarios.REFUSED:
        return jsonify(CALL_BACK_FAILED)
    if scenario.name == scenarios.PBX_DOWN:
        return Response(scenarios.DOWN_PAGE, status=503, mimetype="text/html")

    if state.setting("ANSWER_SECONDS"):
        state.stop_event.wait(state.setting("ANSWER_SECONDS"))
    script = scenario.name
    if scenario.name == scenarios.PBX_SLOW:
        # Not scaled: it must outlast the caller's timeout. The event lets shutdown() end it.
        state.stop_event.wait(state.setting("SLOW_SECONDS"))
    elif scenario.name == scenarios.OPERATOR_NO_ANSWER_ONCE:
        first = state.first_call_for(visitor)
        script = scenarios.OPERATOR_NO_ANSWER if first else scenarios.NORMAL

    with state.lock:
        config = dict(state.config)
    call = _new_call(state, scenario.name, script, found, visitor, str(raw_number), config)
    state.add_call(call)
    log.info(
        "sim call_back %s: %s -> %s, scenario %s (%s), dialect %s",
        call.session_id,
        call.operator_login,
        mask_phone(visitor),
        scenario.name,
        script,
        call.dialect,
    )
    response = _ok(session_id=call.session_id)
    if call.dialect == "f":  # the guide's sample and the test host: "1" with the success text
        response = jsonify(result="1", resultMessage=OK_MESSAGE, session_id=call.session_id)
    if script != scenarios.PBX_SLOW:
        steps = build_script(
            script,
            pin=call.operator_pin,
            login=call.operator_login,
            visitor=visitor,
            recording=call.recording,
            config=config,
            dialect=call.dialect,
        )
        # Start once the answer is written, so `new` doesn't go out before the session_id.
        response.call_on_close(lambda: start_playing(state, call, steps))
    return response


def _new_call(state, scenario, script, found, visitor, request_number, config) -> Call:
    """The call to play, told in the calling account's dialect."""
    user, group_pin = found
    client_id = request.headers.get("X-Client-ID", "")
    dialect = (state.account(client_id) or {}).get("dialect") or "a"
    return Call(
        session_id=str(uuid.uuid4()),
        client_id=client_id,
        dialect=dialect,
        event_session_id=("SD" + secrets.token_urlsafe(11)[:14]) if dialect == "e" else "",
        scenario=scenario,
        script=script,
        operator_pin=str(user["pin"]),
        operator_login=user["name"],
        group_pin=group_pin,
        visitor=visitor,
        request_number=request_number,
        recording=bool(user.get("recording")),
        time_scale=config["TIME_SCALE"],
    )


def call_info(state: SimState, body: dict[str, Any]) -> Answer:
    info = state.call_info(str(body.get("session_id", "")))
    if info is None:
        return jsonify(result="-1", resultMessage="Сессия не найдена", info=None)
    return _ok(info=info)


def get_record(state: SimState, body: dict[str, Any]) -> Answer:
    session_id = str(body.get("session_id", ""))
    call = state.find_call(session_id)
    if call is None:
        return jsonify(result="-1", resultMessage="Сессия не найдена", url=None)
    ip = body.get("ip_adress")  # sic: the API's spelling
    link = state.issue_record_link(call.session_id, str(ip) if ip else None)
    if link is None:
        return jsonify(result="-1", resultMessage="Запись разговора не найдена", url=None)
    base = request.host_url.rstrip("/")
    return _ok(url=f"{base}{RECORD_PATH}/{link.token}/{link.digits}")


HANDLERS = {
    "users_info": users_info,
    "call_back": call_back,
    "call_info": call_info,
    "get_record": get_record,
}
