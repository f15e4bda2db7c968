"""What the visitor's status says as a real request goes on: our service and the PBX
simulator over loopback HTTP, the status read as the widget reads it."""

from __future__ import annotations

import time
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest

from widget_server.extensions import db
from widget_server.models import Widget

from .conftest import build_stack

NOBODY_ANSWERS = "+7 900 000-00-01"  # the simulator's operator_no_answer
REFUSES = "+7 900 000-00-04"  # call_back answers result "-20"


@pytest.fixture
def stack(tmp_path, owner_heard):
    stack, stop = build_stack(tmp_path)
    yield stack
    stop()


def views_until_final(stack, handle, timeout=30.0):
    """Every distinct (status, stage, message) the widget would have read, in order."""
    seen, deadline = [], time.monotonic() + timeout
    while time.monotonic() < deadline:
        view = stack.status(handle)
        shown = (view["status"], view["stage"], view["message"])
        if not seen or seen[-1][:3] != shown:
            seen.append((*shown, view))
        if view["final"]:
            return seen
        time.sleep(0.26)  # the status endpoint allows 4 polls a second per request
    raise AssertionError(f"not final after {timeout} s: {[s[:2] for s in seen]}")


def test_the_next_operator_rung_is_said_and_the_miss_closes_with_close(stack):
    handle = stack.submit(NOBODY_ANSWERS, group="102").json()["handle"]  # operators 204, 203

    seen = views_until_final(stack, handle)

    stages = [(status, stage) for status, stage, *_ in seen]
    assert ("calling_operator", "next_operator") in stages
    assert stages.index(("calling_operator", "next_operator")) < len(stages) - 1
    messages = {stage: message for _, stage, message, _ in seen}
    assert messages["next_operator"] == "Звоним следующему оператору…"
    final = seen[-1][3]
    assert (final["status"], final["final_action"]) == ("no_operator", "close")
    assert "перезвоним" in final["message"]


def test_a_pbx_that_refused_every_call_is_not_a_pbx_that_did_not_answer(stack):
    handle = stack.submit(REFUSES, group="102").json()["handle"]

    final = views_until_final(stack, handle)[-1][3]

    assert (final["status"], final["stage"], final["final_action"]) == (
        "pbx_error",
        "refused",
        "close",
    )
    assert final["message"].startswith("Не получилось соединить вас с оператором.")
    assert "не ответила" not in final["message"]


def test_the_pause_before_the_next_round_says_when(stack):
    with stack.app.app_context():
        widget = db.session.scalars(db.select(Widget)).one()
        widget.group_rounds, widget.round_pause = 2, 600
        db.session.commit()
    handle = stack.submit(NOBODY_ANSWERS, group="102").json()["handle"]

    def pausing():
        view = stack.status(handle)
        return view if view["status"] == "operators_busy" else None

    view = stack.wait_until(pausing, timeout=30, message="operators_busy", interval=0.3)

    retry_at = datetime.fromisoformat(view["retry_at"].replace("Z", "+00:00"))
    assert 590 <= (retry_at - datetime.now(UTC)).total_seconds() <= 600
    moscow = retry_at.astimezone(ZoneInfo("Europe/Moscow"))
    clock = moscow.strftime("%H:%M")
    assert view["message"] in {
        f"Операторы не ответили. Попробуем снова в {clock}.",
        f"Операторы не ответили. Попробуем снова завтра в {clock}.",
    }
    assert view["cancellable"] is True and view["final_action"] is None
