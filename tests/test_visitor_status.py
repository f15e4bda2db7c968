"""The one status view: the submit's answer, every poll, and the config page's test call."""

from __future__ import annotations

from datetime import datetime, timedelta
from types import SimpleNamespace

import pytest

from widget_server.statuses import FINAL, HeldReason, Status
from widget_server.visitor.status import status_view

# An owner whose webhook will hear of a missed request (notify/reach.py).
OWNER = SimpleNamespace(
    id=None,  # never saved: no notification of its own has failed
    notify_email=None,
    webhook_url="https://crm.example/hook",
    webhook_secret="secret",
    telegram_chat_id=None,
    bitrix24_url=None,
    amocrm_subdomain=None,
    amocrm_token=None,
)
# Its ring plan: one operator rung 45 s (the PBX's ring time beats the 25 s timeout).
WIDGET = SimpleNamespace(
    language="ru",
    timezone="Europe/Moscow",
    owner=OWNER,
    visitor_phone=None,
    ring_timeout=25,
    ring_strategy="sequential",
    pbx_account=SimpleNamespace(ring_seconds=45),
)
GROUP = SimpleNamespace(group=SimpleNamespace(member_pins=["201"]))
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
        round=1,
        widget_group=GROUP,
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
        "stage": None,
        "retry_at": None,
        "final_action": None,
        "title": None,
        "wait_seconds": None,
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
    visitor_phone=None,
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


def attempt(round_=1, outcome=None):
    return SimpleNamespace(round=round_, outcome=outcome)


# What a real request of the SHOP widget shows at each moment of a life nobody answered.
NOT_ANSWERED = attempt(outcome="not_answered")
REAL_LIFE = {
    "queued": request(Status.QUEUED, widget=SHOP),
    "first operator": request(Status.CALLING_OPERATOR, widget=SHOP, attempts=[attempt()]),
    "next operator": request(
        Status.CALLING_OPERATOR, widget=SHOP, attempts=[NOT_ANSWERED, attempt()]
    ),
    "pause": request(
        Status.OPERATORS_BUSY,
        widget=SHOP,
        round=2,
        attempts=[NOT_ANSWERED, NOT_ANSWERED],
        next_dispatch_at=at(212),
    ),
    "second round": request(
        Status.CALLING_OPERATOR,
        widget=SHOP,
        round=2,
        attempts=[NOT_ANSWERED, NOT_ANSWERED, attempt(2)],
    ),
    "second round, next operator": request(
        Status.CALLING_OPERATOR,
        widget=SHOP,
        round=2,
        attempts=[NOT_ANSWERED, NOT_ANSWERED, attempt(2, "not_answered"), attempt(2)],
    ),
    "missed": request(Status.NO_OPERATOR, widget=SHOP),
}


@pytest.mark.parametrize(
    ("seconds", "moment", "final", "cancellable"),
    [
        (0.5, "queued", False, True),
        (3, "first operator", False, False),  # two operators, 45 s each: until 92 s
        (50, "next operator", False, False),
        (95, "pause", False, True),  # the 120 s pause, until 212 s
        (215, "second round", False, False),
        (260, "second round, next operator", False, False),
        (305, "missed", True, False),
    ],
)
def test_a_blocked_request_follows_the_life_of_one_nobody_answered(
    seconds, moment, final, cancellable
):
    view = status_view(blocked(), "en", now=at(seconds))
    real = status_view(REAL_LIFE[moment], "en", now=at(seconds))

    assert (view["final"], view["cancellable"]) == (final, cancellable)
    shown = ("status", "message", "stage", "retry_at", "final_action", "scheduled_for")
    assert {k: view[k] for k in shown} == {k: real[k] for k in shown}
    assert set(view) == set(real)


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


# -- what the visitor is told while the promise runs out, and at the end -------------------
def test_the_next_operator_rung_after_one_did_not_answer_is_said_in_words():
    busy = request(Status.CALLING_OPERATOR, attempts=[NOT_ANSWERED, attempt()])

    view = status_view(busy, "ru")

    assert view["stage"] == "next_operator"
    assert view["message"] == "Звоним следующему оператору…"


def test_the_first_operator_ringing_has_no_stage():
    view = status_view(request(Status.CALLING_OPERATOR, attempts=[attempt()]), "ru")
    assert (view["stage"], view["message"]) == (None, "Соединяем с оператором…")


def test_the_first_operator_of_a_second_round_says_the_group_is_rung_again():
    # Round 2's first operator, after round 1 ended unanswered: the group is rung again.
    view = status_view(
        request(Status.CALLING_OPERATOR, round=2, attempts=[NOT_ANSWERED, attempt(2)]), "en"
    )
    assert (view["stage"], view["message"]) == ("next_round", "Calling the operators once more…")


def test_a_pbx_that_was_unreachable_is_not_an_operator_who_did_not_answer():
    unreachable = attempt(outcome="pbx_unavailable")
    view = status_view(request(Status.CALLING_OPERATOR, attempts=[unreachable, attempt()]), "en")
    assert view["stage"] is None


@pytest.mark.parametrize(
    ("status", "zone", "message"),
    [
        (Status.OPERATORS_BUSY, None, "Операторы не ответили. Попробуем снова в 11:42."),
        (Status.VISITOR_RETRY, None, "Не удалось до вас дозвониться. Попробуем снова в 11:42."),
        (
            Status.RETRYING,
            "Asia/Yekaterinburg",  # the visitor's own zone, two hours ahead of Moscow
            "Телефонная станция не отвечает. Попробуем снова в 13:42 — заявка сохранена.",
        ),
    ],
)
def test_waiting_for_a_retry_says_when_in_the_visitors_zone(status, zone, message):
    waiting = request(status, next_dispatch_at=datetime(2026, 12, 1, 8, 42), visitor_tz=zone)

    view = status_view(waiting, "ru", now=datetime(2026, 12, 1, 8, 40))

    assert view["message"] == message
    assert view["retry_at"] == "2026-12-01T08:42:00Z"


def test_a_retry_after_midnight_names_the_day():
    waiting = request(Status.OPERATORS_BUSY, next_dispatch_at=datetime(2026, 12, 1, 21, 5))
    view = status_view(waiting, "en", now=datetime(2026, 12, 1, 20, 58))  # 23:58 in Moscow
    assert view["message"] == "No operator answered. We will try again tomorrow at 00:05."


def test_a_pbx_that_refused_the_call_is_not_a_pbx_that_did_not_answer():
    refused = request(Status.PBX_ERROR, attempts=[attempt(outcome="failed")])
    unreachable = request(Status.PBX_ERROR, attempts=[attempt(outcome="pbx_unavailable")])

    said = status_view(refused, "ru")
    silent = status_view(unreachable, "ru")

    assert said["stage"] == "refused"
    assert said["message"] == (
        "Не получилось соединить вас с оператором. Заявка сохранена — вам перезвонят."
    )
    assert "не ответила" not in said["message"]
    assert silent["stage"] is None and "не ответила" in silent["message"]


@pytest.mark.parametrize(
    ("status", "action"),
    [
        (Status.NO_OPERATOR, "close"),  # "мы перезвоним": asking again would contradict it
        (Status.PBX_ERROR, "close"),
        (Status.HELD, "close"),
        (Status.FINISHED, "close"),
        (Status.VISITOR_BUSY, "again"),
        (Status.VISITOR_NO_ANSWER, "again"),
        (Status.CANCELLED, "again"),
        (Status.QUEUED, None),
        (Status.CALLING_VISITOR, None),
    ],
)
def test_a_final_screen_offers_the_button_that_fits_what_it_said(status, action):
    assert status_view(request(status), "ru")["final_action"] == action


def test_every_final_status_has_a_main_button():
    for status in FINAL:
        assert status_view(request(status), "en")["final_action"] in {"close", "again"}
