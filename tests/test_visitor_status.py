"""The one status view: the submit's answer, every poll, and the config page's test call."""

from __future__ import annotations

from datetime import datetime
from types import SimpleNamespace

from widget_server.statuses import Status
from widget_server.visitor.status import status_view

WIDGET = SimpleNamespace(language="ru", timezone="Europe/Moscow")
UPDATED = datetime(2026, 12, 1, 8, 0, 0)


def request(status, **fields):
    values = dict(
        status=status,
        widget=WIDGET,
        attempts=[],
        updated_at=UPDATED,
        next_dispatch_at=None,
        scheduled_for=None,
        visitor_tz=None,
    )
    values.update(fields)
    return SimpleNamespace(**values)


def test_a_waiting_request_reads_as_cancellable_with_its_message():
    view = status_view(request(Status.QUEUED), "en")

    assert view == {
        "status": "queued",
        "final": False,
        "cancellable": True,
        "message": "Request received, calling shortly…",
        "updated_at": "2026-12-01T08:00:00Z",
        "scheduled_for": None,
    }


def test_a_request_with_a_call_in_flight_cannot_be_cancelled():
    ringing = SimpleNamespace(outcome=None)
    view = status_view(request(Status.RETRYING, attempts=[ringing]), "en")

    assert view["cancellable"] is False


def test_a_scheduled_request_names_the_time_in_the_visitors_zone():
    when = datetime(2026, 12, 2, 7, 0)  # 10:00 in Moscow
    view = status_view(
        request(Status.SCHEDULED, next_dispatch_at=when), "ru", now=datetime(2026, 12, 1, 8, 0)
    )

    assert view["message"] == "Позвоним завтра в 10:00."
    assert view["scheduled_for"] == "2026-12-02T07:00:00Z"


def test_a_held_request_answers_its_submit_like_an_accepted_one_and_polls_as_held():
    held = request(Status.HELD)

    accepted = status_view(held, "en", just_accepted=True)
    polled = status_view(held, "en")

    assert (accepted["status"], accepted["final"], accepted["cancellable"]) == (
        "queued",
        False,
        True,
    )
    assert (polled["status"], polled["final"], polled["cancellable"]) == ("held", True, False)


def test_the_widgets_language_is_used_when_none_is_asked_for():
    assert (
        status_view(request(Status.FINISHED))["message"]
        == status_view(request(Status.FINISHED), "ru")["message"]
    )
