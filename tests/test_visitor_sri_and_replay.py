"""W9 (Subresource Integrity in Chromium) and H-replay (old events for a finished call).

W9: a host page on its own port embeds the pinned snippet that ``add-widget`` prints;
the browser runs the widget when the hash matches and refuses the script when it does
not. H-replay: every event of a finished call, delivered again with a valid signature,
plus an old ``connected``, changes nothing.
"""

from __future__ import annotations

import base64
import hashlib
import re
import time
from datetime import datetime, timedelta

import pytest
import requests
from flask import Flask
from sqlalchemy import select

from widget_server import setup
from widget_server.extensions import db
from widget_server.models import CallAttempt, CallbackRequest, Owner, PbxGroup
from widget_server.pbx import directory
from widget_server.visitor import embed as embed_assets

from .conftest import ServerThread, make_app
from .test_pbx_webhooks import OK, by_state, event_count, post_signed

INTEGRITY = re.compile(r'integrity="(sha384-[A-Za-z0-9+/=]+)"')
PBX_TIME = "%Y-%m-%d %H:%M:%S.%f"


# -- W9: Subresource Integrity ------------------------------------------------------------
HOST_PAGE = """<!doctype html>
<html lang="ru"><head><meta charset="utf-8"><link rel="icon" href="data:,">
<title>Host shop</title></head>
<body><h1>A shop on another origin</h1>
{snippet}
</body></html>"""


class SriSite:
    """Our service (widget on a PBX never contacted) and a host page on another port."""

    def __init__(self, tmp_path):
        host_holder: dict[str, Flask] = {}
        self.host = ServerThread(lambda env, start: host_holder["app"](env, start))
        self.app = make_app(tmp_path)
        self.service = ServerThread(self.app)
        with self.app.app_context():
            owner = Owner(email="owner@shop.example", password_hash="not-used-here")
            account = directory.add_pbx(
                owner, "https://api-test.cloudpbx.rt.ru", "CLIENT0001", "KEY0001", "shop.rt.ru"
            )
            db.session.add(PbxGroup(account=account, pin="101", name="Продажи", member_pins=[]))
            db.session.commit()
            widget = setup.add_widget(account, [self.host.url], [("101", "Продажи")])
            self.pinned = embed_assets.snippets(self.service.url, widget.public_key)["pinned"]
        self.integrity = INTEGRITY.search(self.pinned)[1]
        self.tampered = self.pinned.replace(self.integrity, flip_one_character(self.integrity))
        host = Flask("sri_host")
        host.add_url_rule("/", "pinned", lambda: HOST_PAGE.format(snippet=self.pinned))
        host.add_url_rule("/tampered", "tampered", lambda: HOST_PAGE.format(snippet=self.tampered))
        host_holder["app"] = host

    def stop(self) -> None:
        self.host.stop()
        self.service.stop()


def flip_one_character(integrity: str) -> str:
    """The same hash with one base64 character changed: still well-formed, other bytes."""
    algorithm, digest = integrity.split("-", 1)
    position = 10
    replacement = "A" if digest[position] != "A" else "B"
    return f"{algorithm}-{digest[:position]}{replacement}{digest[position + 1 :]}"


@pytest.fixture
def sri_site(tmp_path):
    site = SriSite(tmp_path)
    yield site
    site.stop()


def test_the_pinned_snippets_hash_is_the_hash_of_the_served_script(sri_site):
    src = re.search(r'src="([^"]+)"', sri_site.pinned)[1]
    assert src.startswith(f"{sri_site.service.url}/embed/")
    assert 'crossorigin="anonymous"' in sri_site.pinned
    served = requests.get(src, headers={"Origin": sri_site.host.url}, timeout=10)
    assert served.status_code == 200
    digest = base64.b64encode(hashlib.sha384(served.content).digest()).decode()
    assert sri_site.integrity == f"sha384-{digest}"
    assert served.headers["X-Widget-Integrity"] == sri_site.integrity
    # SRI on a cross-origin script needs CORS on the script's response.
    assert served.headers["Access-Control-Allow-Origin"] == "*"


@pytest.mark.browser
def test_a_host_page_with_the_pinned_snippet_runs_the_widget(page, sri_site):
    page.goto(f"{sri_site.host.url}/")
    page.wait_for_selector("callback-widget .cbw-fab", timeout=10000)
    page.click("callback-widget .cbw-fab")
    # The dialog's part loads on first intent, under the hash the pinned loader carries.
    page.wait_for_selector("callback-widget .cbw-dlg", state="visible")
    assert page.console_errors == []


@pytest.mark.browser
def test_a_script_whose_bytes_do_not_match_the_integrity_hash_is_refused_by_the_browser(
    page, sri_site
):
    assert sri_site.tampered != sri_site.pinned
    page.goto(f"{sri_site.host.url}/tampered")
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and not any(
        "integrity" in message for message in page.console_errors
    ):
        page.wait_for_timeout(100)
    assert any("integrity" in message for message in page.console_errors), page.console_errors
    page.wait_for_timeout(500)  # room for the widget to appear, were the script run
    assert page.locator("callback-widget").count() == 0
    assert page.evaluate("() => typeof window.CallbackWidget") == "undefined"


# -- H-replay: old events for a finished call ---------------------------------------------
def _snapshot(stack, handle: str) -> dict:
    """Everything a replayed event could change: the request, its attempts, the events."""
    with stack.app.app_context():
        req = db.session.scalar(select(CallbackRequest).where(CallbackRequest.handle == handle))
        attempts = db.session.scalars(
            select(CallAttempt).where(CallAttempt.request_id == req.id).order_by(CallAttempt.id)
        ).all()
        return {
            "request": (req.status, req.finished_at, req.connected_at, req.next_dispatch_at),
            "attempts": [
                (
                    a.session_id,
                    a.stage,
                    a.reached_stage,
                    a.outcome,
                    a.ended_at,
                    a.answered,
                    a.duration,
                    a.disconnect_reason,
                    a.call_info_fetched,
                )
                for a in attempts
            ],
        }


def test_replaying_every_event_of_a_finished_call_and_an_old_connected_changes_nothing(stack):
    response = stack.submit("+7 916 123-45-67")
    assert response.status_code == 202, response.text
    handle = response.json()["handle"]
    assert stack.wait_final(handle)["status"] == "finished"
    stack.wait_until(lambda: len(stack.sim_requests("call_info")) == 1, message="call_info")
    calls = stack.session.get(f"{stack.sim_url}/_sim/calls", timeout=5).json()
    assert len(calls) == 1 and calls[0]["ended"]
    session_id = calls[0]["session_id"]
    events = [event["payload"] for event in calls[0]["events"]]
    assert {e["state"] for e in events} >= {"new", "calling", "connected", "end"}
    stack.wait_until(
        lambda: event_count(stack, session_id) == len(events), message="every event stored"
    )

    def settled():
        # Settled when call_info is in and two looks 0.3 s apart agree.
        first = _snapshot(stack, handle)
        time.sleep(0.3)
        return first["attempts"][0][-1] and first == _snapshot(stack, handle) and first

    before = stack.wait_until(settled, message="the finished call to settle")
    assert before["attempts"][0][3] == "completed"
    assert before["request"][0] == "finished"

    for payload in events:
        answer = post_signed(stack, payload)
        assert answer.status_code == 200
        assert answer.json() == OK  # acknowledged, so a retrying PBX stops
    assert event_count(stack, session_id) == len(events)  # every replay refused as a duplicate

    # The call's connected again, stamped an hour before the call: a distinct event (its
    # PBX timestamp differs), so it is kept on record, but it moves nothing.
    connected = by_state(events, "connected")
    then = datetime.strptime(connected["timestamp"], PBX_TIME) - timedelta(hours=1)
    old_connected = dict(connected, timestamp=then.strftime(PBX_TIME)[:-3])
    answer = post_signed(stack, old_connected)
    assert (answer.status_code, answer.json()) == (200, OK)
    assert event_count(stack, session_id, "connected") == 2

    time.sleep(0.5)  # room for any finish or dial a replay might have queued
    assert stack.status(handle)["status"] == "finished"
    assert _snapshot(stack, handle) == before
    assert len(stack.sim_requests("call_info")) == 1
    assert len(stack.sim_requests("call_back")) == 1
