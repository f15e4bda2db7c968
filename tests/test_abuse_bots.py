"""Bot defence (threat model W4, A12): form token, trap field, fill time, proof of work."""

from __future__ import annotations

import hashlib
import itertools
import time

import pytest
from sqlalchemy import select

from widget_server.abuse import bots, limits
from widget_server.extensions import db
from widget_server.models import CallbackRequest, Notification, Widget
from widget_server.visitor.texts import API_ERRORS

from . import test_abuse_limits as limit_tests
from . import test_visitor_widget_browser as browser_tests
from .conftest import build_stack, make_app
from .test_visitor_api import SHOP, build_site
from .test_visitor_widget_browser import open_shop

redis_url = limit_tests.redis_url  # a real redis-server for the module

BODY = {"phone": "+7 916 123-45-67", "consent": True, "group": "101"}


@pytest.fixture
def site(tmp_path):
    # Tokens on; a tiny proof of work keeps the tests fast.
    return build_site(tmp_path, FORM_TOKENS=True, BOT_POW_BITS=4)


def token(site, key=None, origin=SHOP, age=10.0):
    """A form token from the config endpoint, issued ``age`` seconds ago."""
    real = time.time
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(time, "time", lambda: real() - age)
        response = site.client.get(
            f"/api/v1/widgets/{key or site.ru_key}/config", headers={"Origin": origin}
        )
    assert response.status_code == 200
    return response.json["form_token"]


def solve(challenge):
    for n in itertools.count():
        digest = hashlib.sha256(f"{challenge['salt']}{n}".encode()).digest()
        if bots.leading_zero_bits(digest) >= challenge["bits"]:
            return {"salt": challenge["salt"], "number": n}


def requests_stored(site):
    with site.app.app_context():
        return db.session.scalars(select(CallbackRequest)).all()


def test_a_request_with_a_fresh_token_is_accepted(site):
    response = site.submit({**BODY, "token": token(site)})
    assert response.status_code == 202
    assert site.stored() == 1


def test_the_config_gives_a_signed_token_bound_to_widget_and_origin(site):
    raw = token(site, age=0)
    with site.app.test_request_context():
        assert bots.check_token(raw, site.ru_key, SHOP) is not None
        assert bots.check_token(raw, site.en_key, SHOP) is None
        assert bots.check_token(raw[:-2] + "xx", site.ru_key, SHOP) is None


@pytest.mark.parametrize("case", ["missing", "garbage", "expired", "other widget", "other origin"])
def test_w4_a_bad_token_is_refused_and_nothing_is_stored(site, case):
    body = dict(BODY)
    if case == "garbage":
        body["token"] = "not-a-token"
    elif case == "expired":
        body["token"] = token(site, age=601)
    elif case == "other widget":
        body["token"] = token(site, key=site.en_key)
    elif case == "other origin":
        with site.app.app_context():
            w = db.session.scalar(select(Widget).where(Widget.public_key == site.ru_key))
            w.origins = [SHOP, "https://other.example"]
            db.session.commit()
        body["token"] = token(site, origin="https://other.example")
    response = site.submit(body)
    assert response.status_code == 403
    assert response.json["error"] == "bad_token"
    assert response.json["message"] == API_ERRORS["ru"]["bad_token"]
    assert site.stored() == 0


def test_w4_a_used_token_is_refused_the_second_time(site):
    raw = token(site)
    assert site.submit({**BODY, "token": raw}).status_code == 202
    again = site.submit({**BODY, "phone": "+7 916 765-43-21", "token": raw})
    assert again.status_code == 403 and again.json["error"] == "bad_token"
    assert site.stored() == 1


@pytest.mark.redis
def test_w4_a_token_used_on_one_app_is_refused_on_another_sharing_redis(tmp_path, redis_url):
    import redis

    redis.Redis.from_url(redis_url).flushdb()
    one = build_site(tmp_path / "one", FORM_TOKENS=True, RATELIMIT_STORAGE_URI=redis_url)
    raw = token(one)
    # A second app on the same database and Redis: another worker process.
    two_app = make_app(tmp_path / "one", FORM_TOKENS=True, RATELIMIT_STORAGE_URI=redis_url)
    assert one.submit({**BODY, "token": raw}).status_code == 202
    again = two_app.test_client().post(
        f"/api/v1/widgets/{one.ru_key}/requests",
        json={**BODY, "phone": "+7 916 765-43-21", "token": raw},
        headers={"Origin": SHOP},
    )
    assert again.status_code == 403 and again.json["error"] == "bad_token"
    assert one.stored() == 1


def test_the_bad_token_message_is_in_the_widgets_language(site):
    response = site.submit({**BODY}, key=site.en_key)
    assert response.status_code == 403
    assert response.json["message"] == "Reload the page and try again."


def test_a_token_survives_a_validation_error(site):
    raw = token(site)
    assert site.submit({**BODY, "consent": False, "token": raw}).status_code == 422
    assert site.submit({**BODY, "token": raw}).status_code == 202


def test_a_filled_trap_field_is_answered_202_but_held_and_never_dialled(site, monkeypatch):
    queued = []
    queue = site.app.extensions["queue"]
    monkeypatch.setattr(queue, "place_next_call", lambda *a, **k: queued.append(a))
    response = site.submit({**BODY, "token": token(site), "website": "http://spam.example"})
    assert response.status_code == 202
    assert response.json["status"]["status"] == "queued"  # looks like any other answer
    [req] = requests_stored(site)
    assert req.status == "held" and req.held_reason == "bot trap"
    assert queued == []
    with site.app.app_context():
        assert db.session.scalars(select(Notification)).all() == []  # the owner is not told


def test_a12_a_submit_under_3_seconds_gets_a_challenge_and_nothing_is_stored(site):
    response = site.submit({**BODY, "token": token(site, age=1)})
    assert response.status_code == 428
    body = response.json
    assert body["error"] == "challenge" and body["message"]
    assert body["challenge"]["algorithm"] == "SHA-256" and body["challenge"]["bits"] == 4
    assert site.stored() == 0


def test_a_correct_proof_of_work_is_accepted(site):
    raw = token(site, age=1)
    challenge = site.submit({**BODY, "token": raw}).json["challenge"]
    response = site.submit({**BODY, "token": raw, "pow": solve(challenge)})
    assert response.status_code == 202
    assert site.stored() == 1


def test_a_wrong_proof_of_work_is_refused(site):
    raw = token(site, age=1)
    challenge = site.submit({**BODY, "token": raw}).json["challenge"]
    good = solve(challenge)["number"]
    wrong = next(
        n
        for n in itertools.count(good + 1)
        if bots.leading_zero_bits(hashlib.sha256(f"{challenge['salt']}{n}".encode()).digest())
        < challenge["bits"]
    )
    for pow_ in (
        {"salt": challenge["salt"], "number": wrong},
        {"salt": challenge["salt"][:-3] + "abc", "number": good},
        {"salt": challenge["salt"], "number": "1"},
        "nonsense",
    ):
        response = site.submit({**BODY, "token": raw, "pow": pow_})
        assert response.status_code == 403, pow_
        assert response.json["error"] == "bad_challenge"
    assert site.stored() == 0


def test_a_reused_proof_of_work_is_refused(site):
    first = token(site, age=1)
    challenge = site.submit({**BODY, "token": first}).json["challenge"]
    solution = solve(challenge)
    assert site.submit({**BODY, "token": first, "pow": solution}).status_code == 202
    second = site.submit(
        {**BODY, "phone": "+7 916 765-43-21", "token": token(site, age=1), "pow": solution}
    )
    assert second.status_code == 403 and second.json["error"] == "bad_challenge"
    assert site.stored() == 1


def test_a_challenge_of_another_widget_is_refused(site):
    raw = token(site, key=site.en_key, age=1)
    challenge = site.submit({**BODY, "token": raw}, key=site.en_key).json["challenge"]
    response = site.submit({**BODY, "token": token(site), "pow": solve(challenge)})
    assert response.status_code == 403


def test_a12_counters_past_half_their_limit_ask_for_a_challenge(tmp_path):
    site = build_site(tmp_path, FORM_TOKENS=True, BOT_POW_BITS=4, RATELIMIT_IP="4/10minute")
    phones = ["+7 916 000-00-01", "+7 916 000-00-02", "+7 916 000-00-03"]
    answers = [site.submit({**BODY, "phone": p, "token": token(site)}).status_code for p in phones]
    # Two of four per-IP slots used is half: the third request must prove work first.
    assert answers == [202, 202, 428]
    assert site.stored() == 2


def test_a12_the_per_number_counter_past_half_asks_for_a_challenge(tmp_path):
    site = build_site(
        tmp_path,
        FORM_TOKENS=True,
        BOT_POW_BITS=4,
        RATELIMIT_NUMBER="3/hour",
        RATELIMIT_WIDGET_NUMBER="10/hour",
    )
    with site.app.test_request_context():
        widget = db.session.scalar(select(Widget).where(Widget.public_key == site.ru_key))
        assert not limits.pressure(widget, "+79161234567", "10.0.0.1")
        for _ in range(2):
            assert limits.check_dial(widget, "+79161234567", "10.0.0.1").action != "refuse"
            db.session.rollback()
        assert limits.pressure(widget, "+79161234567", "10.0.0.1")
        assert not limits.pressure(widget, "+79161234500", "10.0.0.1")


def test_a12_a_request_with_only_a_referer_gets_a_challenge(site):
    response = site.submit({**BODY, "token": token(site)}, headers={"Referer": f"{SHOP}/catalog"})
    assert response.status_code == 428


# -- in Chromium, through the real widget ------------------------------------------
def _submit_in_widget(page, phone="9161112233"):
    page.click("callback-widget .cbw-fab")
    page.fill("callback-widget #cbw-phone", phone)
    page.check("callback-widget #cbw-consent")
    page.click("callback-widget .cbw-btn[type=submit]")


@pytest.fixture
def token_stack(tmp_path):
    stack, stop = build_stack(tmp_path, time_scale=0.25, app_overrides={"FORM_TOKENS": True})
    yield stack
    stop()


@pytest.fixture
def challenge_stack(tmp_path):
    stack, stop = build_stack(
        tmp_path, app_overrides={"FORM_TOKENS": True, "BOT_CHALLENGE_ALWAYS": True}
    )
    yield stack
    stop()


@pytest.mark.browser
def test_with_tokens_on_the_widget_completes_a_call_with_the_keyboard(page, token_stack):
    browser_tests.test_the_whole_flow_works_with_the_keyboard_alone(page, token_stack)
    # A quick visitor may get a challenge: the browser logs the 428, nothing else.
    assert [e for e in page.console_errors if "428" not in e] == []


@pytest.mark.browser
def test_the_widget_solves_a_challenge_and_the_call_goes_through(page, challenge_stack):
    open_shop(page, challenge_stack)
    started = time.monotonic()
    _submit_in_widget(page)
    page.wait_for_function("() => window.__statuses.includes('queued')", timeout=20000)
    print(f"challenge solved and request accepted in {time.monotonic() - started:.2f} s")
    page.wait_for_function("() => window.__statuses.includes('finished')", timeout=20000)
    [call] = challenge_stack.sim_requests("call_back")
    assert call["body"]["request_number"] == "+79161112233"
    assert [e for e in page.console_errors if "428" not in e] == []
    assert any("428" in e for e in page.console_errors)  # the challenge was really asked


@pytest.mark.redis
def test_with_the_limit_store_down_a_tokened_request_is_held_not_refused(tmp_path):
    server, url = limit_tests.start_redis()
    try:
        site = build_site(tmp_path, FORM_TOKENS=True, BOT_POW_BITS=4, RATELIMIT_STORAGE_URI=url)
    finally:
        limit_tests.stop_redis(server)  # the store goes down
    raw = token(site)
    response = site.submit({**BODY, "token": raw})
    if response.status_code == 428:  # a store that cannot be read counts as pressure
        response = site.submit({**BODY, "token": raw, "pow": solve(response.json["challenge"])})
    assert response.status_code == 202
    [req] = requests_stored(site)
    assert req.status == "held" and req.held_reason == "limit store unavailable"
