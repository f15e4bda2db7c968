"""Issue 28: a new owner's first hour on the demo, part by part (the walk in Chromium is
tests/test_first_hour_browser.py; the sites a widget was refused on, tests/test_refused_origins.py).

1. The demo's sample shop shows any widget of the installation, and only a demo
   installation lets it (``dev/installation.py``).
2. The demo's widgets skip the first week's cap, and their page says so.
3. A call learnt to have connected from call_info or the PBX's journal, not from an event,
   records it as the events do: the checklist's test call step turns green.
10. A PBX that is down is tried until the 15 minute deadline, and the request's page calls
    each refused try a try, not a call.
11. A widget without a privacy policy link is warned about on its page.
The banner: no channel for missed requests is a checklist step, not a banner on every page.
"""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from sqlalchemy import select

from widget_server.abuse import limits
from widget_server.config import ConfigError, load_settings
from widget_server.dev.demo import _demo_environment
from widget_server.dev.mail import start_mailbox
from widget_server.dev.sample_shop import create_shop_app
from widget_server.dispatch import reconcile, retry
from widget_server.extensions import db
from widget_server.models import CallAttempt, CallbackRequest, PbxAccount, Widget, utcnow
from widget_server.notify import outbox
from widget_server.pbx.journal import JournalRow
from widget_server.statuses import Outcome, Status

from .admin_support import make_owner, make_site_objects, sign_in
from .conftest import make_app
from .dispatch_support import VISITOR, World

SHOP = "http://127.0.0.1:8001"
DEMO = {"DEV": True, "DEMO_SHOP": SHOP, "DEMO_PBX": "http://127.0.0.1:8002"}
DIGITS = VISITOR.lstrip("+")


def demo_app(tmp_path, **config):
    return make_app(tmp_path, **DEMO, **config)


# -- 1. the demo shop shows any widget ---------------------------------------------------
def test_the_sample_shop_shows_the_widget_its_address_names_and_its_own_otherwise():
    shop = create_shop_app("http://127.0.0.1:8000", "wk_demo").test_client()
    assert 'data-widget="wk_other_1"' in shop.get("/?key=wk_other_1").text
    assert 'data-widget="wk_other_1"' in shop.get("/csp?key=wk_other_1").text
    # Anything but a key's characters is ignored: the demo's own widget, nothing injected.
    page = shop.get('/?key="><script>x</script>').text
    assert 'data-widget="wk_demo"' in page and "<script>x" not in page
    assert 'data-widget="wk_demo"' in shop.get("/").text


def widget_on_another_site(app) -> tuple[str, int]:
    owner_id = make_owner(app)
    ids = make_site_objects(app, owner_id)  # its one site is https://a.example
    return ids["widget_key"], ids["widget_id"]


@pytest.mark.parametrize("route", ["look", "config", "session"])
def test_a_demo_installation_lets_its_shop_show_a_widget_that_does_not_list_it(tmp_path, route):
    app = demo_app(tmp_path)
    key, _ = widget_on_another_site(app)
    answer = app.test_client().get(f"/api/v1/widgets/{key}/{route}", headers={"Origin": SHOP})
    assert answer.status_code == 200
    assert answer.headers["Access-Control-Allow-Origin"] == SHOP


def test_without_development_mode_the_shop_setting_opens_nothing(tmp_path):
    # Production: the shop's origin is refused like any other; the setting alone is refused.
    app = make_app(tmp_path, DEV=False, DEMO_SHOP=SHOP)
    key, _ = widget_on_another_site(app)
    answer = app.test_client().get(f"/api/v1/widgets/{key}/look", headers={"Origin": SHOP})
    assert answer.status_code == 403
    with pytest.raises(ConfigError, match="WIDGET_DEV"):
        load_settings({"WIDGET_DEMO_SHOP": SHOP})
    with pytest.raises(ConfigError, match="WIDGET_DEV"):
        load_settings({"WIDGET_DEMO_PBX": "http://127.0.0.1:8002"})
    assert load_settings({"WIDGET_DEMO_SHOP": SHOP, "WIDGET_DEV": "1"})["DEMO_SHOP"] == SHOP


def test_the_widget_page_opens_the_widget_on_the_demo_shop_in_a_demo_only(tmp_path):
    app = demo_app(tmp_path)
    key, widget_id = widget_on_another_site(app)
    client = app.test_client()
    sign_in(client)
    html = client.get(f"/admin/widgets/{widget_id}").text
    assert f'href="{SHOP}/?key={key}"' in html
    assert "Открыть на демо-магазине" in html

    production = make_app(tmp_path / "prod")
    _, other_id = widget_on_another_site(production)
    client = production.test_client()
    sign_in(client)
    assert "Открыть на демо-магазине" not in client.get(f"/admin/widgets/{other_id}").text


def test_the_demo_tells_its_service_where_its_shop_and_simulator_are(tmp_path, monkeypatch):
    monkeypatch.setenv("WIDGET_INSTANCE_PATH", str(tmp_path))
    env = _demo_environment(8100, 8101, 8102)
    assert env["WIDGET_DEMO_SHOP"] == "http://127.0.0.1:8101"
    assert env["WIDGET_DEMO_PBX"] == "http://127.0.0.1:8102"
    assert env["WIDGET_DEV"] == "1"


def test_in_the_demo_a_new_widget_starts_on_the_shop_and_the_pbx_form_on_the_simulator(tmp_path):
    app = demo_app(tmp_path)
    make_owner(app)
    client = app.test_client()
    sign_in(client)
    form = client.get("/admin/pbx/new").text
    assert 'value="http://127.0.0.1:8002"' in form
    assert re.search(r'value="custom"[^>]*checked|checked[^>]*value="custom"', form)
    panel = re.search(r'id="open-simulator-panel" href="([^"]+)"', form).group(1)
    assert panel.startswith("http://127.0.0.1:8002/_sim/panel?webhook_base=http")


# -- 2. no first week's cap in the demo --------------------------------------------------
def phone(n: int) -> str:
    """Visitors of different prefixes: the per-prefix limit (10 an hour) stays out of it."""
    return f"+79{10 + n}{1234000 + n:07d}"


def test_the_demos_new_widgets_are_not_held_at_the_first_weeks_cap_and_the_page_says_so(tmp_path):
    # The shipped caps: 10 calls an hour for a widget younger than a week.
    app = demo_app(tmp_path, NEW_WIDGET_CAP="10/hour;50/day", WIDGET_CAP="60/hour;300/day")
    key, widget_id = widget_on_another_site(app)
    with app.app_context():
        widget = db.session.get(Widget, widget_id)
        assert not limits.is_new(widget)
        # The README's eight test numbers and three more visitors: none held.
        decisions = [limits.check_dial(widget, phone(n), "10.0.0.1").action for n in range(11)]
    assert decisions == ["allow"] * 11
    client = app.test_client()
    sign_in(client)
    assert (
        "Это демо-установка: ограничения первой недели"
        in client.get(f"/admin/widgets/{widget_id}").text
    )


def test_outside_the_demo_the_eleventh_call_of_a_new_widget_is_held(tmp_path):
    app = make_app(tmp_path, NEW_WIDGET_CAP="10/hour;50/day")
    _, widget_id = widget_on_another_site(app)
    with app.app_context():
        widget = db.session.get(Widget, widget_id)
        decisions = [limits.check_dial(widget, phone(n), "10.0.0.1").action for n in range(11)]
    assert decisions == ["allow"] * 10 + ["hold"]


# -- 3. one way to record a connected call ------------------------------------------------
TALKED = {
    "state": "1",
    "duration": "6",
    "session_log": f"0:ct:201;2:cc:201;3:ct:{DIGITS};5:cc:{DIGITS};11:cd:{DIGITS};",
}


def test_a_polled_test_call_that_talked_turns_the_checklist_step_green(tmp_path):
    # An account without events (the demo's own pair for a second owner): call_info is all
    # that says the call connected; it used to finish "Состоялся 0:06" with no connected_at.
    world = World(tmp_path)
    with world.app.app_context():
        db.session.get(PbxAccount, world.account_id).events_expected = False
        db.session.commit()
    request_id = world.submit()
    with world.app.app_context():
        db.session.get(CallbackRequest, request_id).is_test = True
        db.session.commit()
    world.jobs.run()
    world.pbx.call_infos["s1"] = TALKED  # over by the first look
    world.later("follow_call")
    world.jobs.run()

    req = world.request(request_id)
    assert (req.status, req.outcomes) == (Status.FINISHED, [Outcome.COMPLETED])
    with world.app.app_context():
        stored = db.session.get(CallbackRequest, request_id)
        assert stored.connected_at is not None
        # Dated to the talk's start, its end less its 6 seconds, never before the request.
        ended = stored.attempts[0].ended_at
        assert stored.connected_at == max(ended - timedelta(seconds=6), stored.created_at)
    client = world.app.test_client()
    sign_in(client, "owner@example.com", "correct horse")
    html = client.get("/admin/").text
    assert re.search(r'data-step="test_call" data-state="done"', html)


def test_a_talk_found_in_the_pbx_journal_records_the_connection_too(tmp_path):
    world = World(tmp_path)
    request_id = world.submit()
    world.jobs.run()
    with world.app.app_context():
        attempt = db.session.scalar(select(CallAttempt))
        attempt.outcome = Outcome.UNKNOWN  # no trace of it: the journal is asked
        db.session.commit()
        row = JournalRow(
            session_id="j1",
            started_at=attempt.sent_at,
            orig_pin="201",
            orig_number="",
            dest_number=DIGITS,
            answering_pin="201",
            duration=6,
            state="1",
            direction="out",
            status_code="",
        )
        assert reconcile._settle(attempt.id, row) == 1
        req = db.session.get(CallbackRequest, request_id)
        assert req.status == Status.FINISHED
        assert req.connected_at is not None


# -- 10. the PBX down: 15 minutes, and tries called tries ---------------------------------
def test_a_pbx_that_stays_down_is_tried_until_the_15_minute_deadline_not_5_minutes_short():
    # The readme's 15 minutes: the waits grow to 5 min, and the last is cut to end at the
    # deadline instead of giving up when a whole wait no longer fits (10 min, 6 tries).
    from flask import Flask

    app = Flask(__name__)
    start = utcnow()
    deadline = start + timedelta(seconds=900)
    for jitter in (0.0, 0.25):
        with app.app_context():
            now, tries = start, 1
            original = retry.JITTER
            retry.JITTER = jitter
            try:
                while (wait := retry.pbx_retry_wait(tries, now, deadline)) is not None:
                    now += timedelta(seconds=wait)
                    tries += 1
            finally:
                retry.JITTER = original
        assert now == deadline, jitter
        assert tries in (7, 8)


def test_a_try_the_pbx_refused_reads_as_a_try_on_the_requests_page(tmp_path):
    app = make_app(tmp_path)
    owner_id = make_owner(app)
    ids = make_site_objects(app, owner_id)
    with app.app_context():
        req = db.session.get(CallbackRequest, ids["request_id"])
        req.attempts[0].outcome = Outcome.PBX_UNAVAILABLE
        req.attempts[0].pbx_result, req.attempts[0].pbx_message = "http-503", "call_back: 503"
        req.attempts[0].duration = None
        db.session.commit()
    client = app.test_client()
    sign_in(client)
    html = client.get(f"/admin/requests/{ids['request_id']}").text
    assert "Попытка 1: АТС не ответила (HTTP 503)" in html
    assert "Итог попытки: АТС недоступна" in html
    assert "Звонок 1" not in html and "Итог звонка" not in html


def test_a_call_that_rang_still_reads_as_a_call(tmp_path):
    app = make_app(tmp_path)
    ids = make_site_objects(app, make_owner(app))
    client = app.test_client()
    sign_in(client)
    assert "Звонок 1: оператор Иван" in client.get(f"/admin/requests/{ids['request_id']}").text


# -- 11. no privacy policy link -----------------------------------------------------------
def test_a_widget_without_a_privacy_policy_link_is_warned_about_on_its_page(tmp_path):
    app = make_app(tmp_path)
    ids = make_site_objects(app, make_owner(app))
    client = app.test_client()
    sign_in(client)
    html = client.get(f"/admin/widgets/{ids['widget_id']}").text
    assert 'id="privacy-warning"' in html
    assert "Нет ссылки на политику конфиденциальности" in html
    with app.app_context():
        db.session.get(Widget, ids["widget_id"]).privacy_policy_url = "https://a.example/privacy"
        db.session.commit()
    assert 'id="privacy-warning"' not in client.get(f"/admin/widgets/{ids['widget_id']}").text


# -- the banner ---------------------------------------------------------------------------
def test_the_demo_mailbox_takes_the_services_mail_so_owners_hear_of_missed_requests(tmp_path):
    got = []
    mailbox = start_mailbox(on_message=lambda to, subject, text: got.append((to, subject)))
    try:
        app = demo_app(
            tmp_path,
            SMTP_HOST="127.0.0.1",
            SMTP_PORT=mailbox.server_address[1],
            SMTP_SECURITY="none",
            SMTP_FROM="widget-server@demo.example",
        )
        ids = make_site_objects(app, make_owner(app))
        client = app.test_client()
        sign_in(client)
        html = client.get("/admin/").text
        assert re.search(r'data-step="notify" data-state="done"', html)
        assert "О пропущенных заявках сообщим: Эл. почта." in html
        with app.app_context():
            req = db.session.get(CallbackRequest, ids["request_id"])
            [row] = outbox.record(req.widget.owner_id, "missed", request_id=req.id)
            db.session.commit()
            assert outbox.deliver_notification(row.id) == "sent"
    finally:
        mailbox.shutdown()
    assert [to for to, _subject in got] == ["owner@example.com"]
