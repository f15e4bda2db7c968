"""The one status view: the submit's answer, every poll, and the config page's test call."""

from __future__ import annotations

from datetime import datetime, timedelta
from types import SimpleNamespace

import pytest

from widget_server.statuses import HeldReason, Status
from widget_server.visitor.status import status_view

# An owner whose webhook will hear of a missed request (notify/reach.py).
OWNER = SimpleNamespace(
    notify_email=None,
    webhook_url="https://crm.example/hook",
    webhook_secret="secret",
    telegram_chat_id=None,
    bitrix24_url=None,
    amocrm_subdomain=None,
    amocrm_token=None,
)
WIDGET = SimpleNamespace(language="ru", timezone="Europe/Moscow", owner=OWNER)
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
        held_reason=None,
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


def test_a_request_held_by_a_widget_cap_answers_its_submit_like_an_accepted_one_and_polls_as_held():
    held = request(Status.HELD, held_reason=HeldReason.WIDGET_CAP)

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


# -- a blocked or trapped request reads like one nobody answered -------------------------
CREATED = datetime(2026, 12, 1, 8, 0, 0)
SHOP = SimpleNamespace(
    language="en",
    timezone="Europe/Moscow",
    ring_timeout=25,
    ring_strategy="sequential",
    round_pause=120,
    group_rounds=2,
    pbx_account=SimpleNamespace(ring_seconds=45),
    owner=OWNER,
)


def blocked(**fields):
    group = SimpleNamespace(group=SimpleNamespace(member_pins=["201", "202"]))
    values = dict(
        widget=SHOP,
        widget_group=group,
        created_at=CREATED,
        held_reason=HeldReason.BLOCKED,
    )
    values.update(fields)
    return request(Status.HELD, **values)


def at(seconds: float) -> datetime:
    return CREATED + timedelta(seconds=seconds)


@pytest.mark.parametrize(
    ("seconds", "status", "final", "cancellable"),
    [
        (0.5, "queued", False, True),
        (3, "calling_operator", False, False),  # two operators, 45 s each: until 92 s
        (95, "operators_busy", False, True),  # the 120 s pause
        (215, "calling_operator", False, False),  # the second round
        (305, "no_operator", True, False),
    ],
)
def test_a_blocked_request_follows_the_life_of_one_nobody_answered(
    seconds, status, final, cancellable
):
    view = status_view(blocked(), "en", now=at(seconds))
    assert (view["status"], view["final"], view["cancellable"]) == (status, final, cancellable)
    assert view["message"] == status_view(request(Status(status)), "en")["message"]


def test_a_trapped_bot_looks_the_same_and_the_submit_answers_queued():
    trapped = blocked(held_reason=HeldReason.BOT_TRAP)
    assert status_view(trapped, "en", now=at(3))["status"] == "calling_operator"
    assert status_view(trapped, "en", just_accepted=True, now=at(0))["status"] == "queued"


def test_a_blocked_request_for_a_later_slot_reads_scheduled_until_then():
    slot = CREATED + timedelta(hours=14)
    view = status_view(blocked(scheduled_for=slot), "ru", now=at(60))
    assert view["status"] == "scheduled" and view["scheduled_for"] == "2026-12-01T22:00:00Z"
    later = status_view(blocked(scheduled_for=slot), "ru", now=slot + timedelta(seconds=5))
    assert later["status"] == "calling_operator"


def test_the_owner_sees_the_truth():
    view = status_view(blocked(), "en", now=at(3), public=False)
    assert (view["status"], view["final"]) == ("held", True)
