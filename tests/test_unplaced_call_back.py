"""A call_back whose answer never came and whose events never arrived (the worker was
killed between committing the attempt and hearing the PBX): the simulator's call journal
decides. No call in it: nobody was rung, and the visitor is dialled, once. A call in it:
settled from it, never dialled again (``dispatch/unplaced.py``)."""

from __future__ import annotations

import time
from datetime import timedelta

import pytest
import requests
from sqlalchemy import select

from widget_server.dispatch.unplaced import resolve_attempt
from widget_server.extensions import db
from widget_server.models import CallAttempt, CallbackRequest, utcnow
from widget_server.pbx import directory
from widget_server.pbx.client import client_for

from .conftest import build_stack

VISITOR = "+79161110022"


@pytest.fixture
def stack(tmp_path):
    stack, stop = build_stack(tmp_path, app_overrides={"UNPLACED_CHECK_AFTER": 1})
    yield stack
    stop()


def _killed_after_the_commit(stack, *, placed: bool) -> int:
    """A request whose attempt was committed and whose worker died; ``placed``: the PBX got
    the call_back (its events lost: the simulator sends none). The attempt's id."""
    requests.post(f"{stack.sim_url}/_sim/config", json={"webhook_base": ""}, timeout=5)
    app = stack.app
    with app.app_context():
        dying = app.extensions["pbx_client_factory"] = _NoDial()
        response = stack.submit(VISITOR)
        assert response.status_code == 202
        stack.wait_until(lambda: dying.asked, message="the first dial's attempt")
        del app.extensions["pbx_client_factory"]
        req = db.session.scalar(select(CallbackRequest))
        attempt = req.attempts[-1]
        if placed:
            client_for(req.widget.pbx_account).call_back(req.phone, from_pin=attempt.operator_pin)
            time.sleep(1.0)  # the call rings out and ends on the simulator's fast clock
        attempt.sent_at = utcnow() - timedelta(seconds=3)
        db.session.commit()
        # The service is back: the calls from here on are heard again.
        base = directory.webhook_base(req.widget.pbx_account)
        requests.post(f"{stack.sim_url}/_sim/config", json={"webhook_base": base}, timeout=5)
        return attempt.id


class _NoDial:
    """A client whose call_back never returns an answer: the worker "dies" there."""

    def __init__(self):
        self.asked = False

    def __call__(self, _account):
        return self

    def call_back(self, *_args, **_kwargs):
        self.asked = True
        raise _Killed


class _Killed(Exception):
    """What a SIGKILL leaves: nothing recorded after the attempt's commit."""


def _call_backs(stack) -> int:
    return sum(
        1
        for entry in stack.sim_requests("call_back")
        if str(entry["body"].get("request_number", "")).endswith(VISITOR[-10:])
    )


def test_a_call_back_never_sent_is_dialled_once_the_journal_shows_no_call(stack):
    attempt_id = _killed_after_the_commit(stack, placed=False)
    assert _call_backs(stack) == 0
    with stack.app.app_context():
        resolve_attempt(attempt_id)
        attempt = db.session.get(CallAttempt, attempt_id)
        assert attempt.outcome == "pbx_unavailable"
    stack.wait_until(lambda: _call_backs(stack) == 1, timeout=15, message="the dial")
    with stack.app.app_context():
        req = db.session.scalar(select(CallbackRequest))
        handle = req.handle
    assert stack.wait_final(handle)["status"] == "finished"
    assert _call_backs(stack) == 1


def test_a_call_back_placed_whose_answer_and_events_were_lost_is_settled_from_the_journal(
    stack,
):
    attempt_id = _killed_after_the_commit(stack, placed=True)
    assert _call_backs(stack) == 1
    with stack.app.app_context():
        resolve_attempt(attempt_id)
        attempt = db.session.get(CallAttempt, attempt_id)
        assert attempt.outcome in ("journal_answered", "journal_not_answered")
        assert db.session.scalar(select(CallbackRequest)).status != "queued"
    time.sleep(2)  # room for a wrong second dial to show up
    assert _call_backs(stack) == 1
