"""Working hours and scheduled callbacks: the rules on a controlled clock, then the API and CLI.

Dates used (Europe/Moscow is UTC+3 all year):
2026-11-26 Thursday, 2026-11-27 Friday, 2026-11-28/29 weekend, 2026-11-30 Monday;
2026-01-01..08 New Year holidays, 2026-01-09 a moved day off, 2026-01-12 the first working day;
2025-11-01 a Saturday worked by decree (a moved working day).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from types import SimpleNamespace
from zoneinfo import ZoneInfo

import pytest
from click.testing import CliRunner
from sqlalchemy import select

from widget_server.dispatch import hours as wh
from widget_server.dispatch import schedule
from widget_server.extensions import db
from widget_server.models import CallAttempt, CallbackRequest, Widget
from widget_server.ops.cli import main

from .conftest import TEST_SECRET, database_url
from .test_visitor_api import SHOP, build_site

MSK = ZoneInfo("Europe/Moscow")
VLADIVOSTOK = "Asia/Vladivostok"  # UTC+10: 7 hours ahead of Moscow


def msk(*args) -> datetime:
    """A Moscow wall-clock time as an aware UTC datetime."""
    return datetime(*args, tzinfo=MSK).astimezone(UTC)


def widget(**kwargs):
    base = {
        "id": 1,
        "hours": None,
        "timezone": "Europe/Moscow",
        "days_off": [],
        "public_holidays": True,
    }
    return SimpleNamespace(**{**base, **kwargs})


TWO_SHIFTS = {day: [["09:00", "13:00"], ["14:00", "20:00"]] for day in schedule.DAYS[:5]}


# -- open or closed -------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("at", "expected"),
    [
        (msk(2026, 11, 26, 8, 59, 59), False),
        (msk(2026, 11, 26, 9, 0), True),
        (msk(2026, 11, 26, 19, 59, 59), True),
        (msk(2026, 11, 26, 20, 0), False),
        (msk(2026, 11, 28, 12, 0), False),  # Saturday
        (msk(2026, 11, 29, 12, 0), False),  # Sunday
    ],
)
def test_the_default_hours_are_weekdays_nine_to_eight_end_exclusive(at, expected):
    assert wh.is_open(widget(), at) is expected


@pytest.mark.parametrize(
    ("hour", "minute", "expected"),
    [
        (12, 59, True),
        (13, 0, False),
        (13, 30, False),
        (13, 59, False),
        (14, 0, True),
        (19, 30, True),
    ],
)
def test_several_intervals_a_day_leave_the_lunch_break_closed(hour, minute, expected):
    assert wh.is_open(widget(hours=TWO_SHIFTS), msk(2026, 11, 26, hour, minute)) is expected


def test_naive_datetimes_are_utc():
    assert wh.is_open(widget(), datetime(2026, 11, 26, 6, 0)) is True  # 09:00 Moscow
    assert wh.is_open(widget(), datetime(2026, 11, 26, 5, 59)) is False


def test_hours_are_read_in_the_widgets_own_time_zone():
    ekb = widget(timezone="Asia/Yekaterinburg")  # UTC+5, two hours ahead of Moscow
    at = msk(2026, 11, 26, 7, 0)  # 09:00 in Yekaterinburg
    assert wh.is_open(ekb, at) is True
    assert wh.is_open(widget(), at) is False
    # 20:00 in Yekaterinburg is 18:00 in Moscow: closed there, open in Moscow.
    assert wh.is_open(ekb, msk(2026, 11, 26, 18, 0)) is False
    assert wh.is_open(widget(), msk(2026, 11, 26, 18, 0)) is True


def test_an_always_open_day_runs_to_midnight():
    always = widget(hours=wh.ALWAYS_OPEN, public_holidays=False)
    assert wh.is_open(always, msk(2026, 11, 28, 23, 59, 59))
    assert wh.is_open(always, msk(2026, 11, 29, 0, 0))


@pytest.mark.parametrize(
    "day",
    [
        (2026, 1, 1),  # New Year
        (2026, 1, 7),  # Christmas
        (2026, 1, 9),  # a Friday made a day off (moved from Saturday 3 January)
        (2026, 12, 31),  # a Thursday made a day off (moved from Sunday 4 January)
        (2026, 11, 4),  # Unity Day, a Wednesday
    ],
)
def test_russian_public_holidays_and_moved_days_off_are_closed(day):
    at = msk(*day, 12, 0)
    assert wh.is_open(widget(), at) is False
    assert wh.is_open(widget(public_holidays=False), at) is True
    assert schedule.public_holiday(at.astimezone(MSK).date())


def test_a_moved_working_saturday_is_worked_with_mondays_hours():
    saturday = (2025, 11, 1)  # worked instead of Monday 3 November 2025
    assert schedule.moved_working_day(datetime(*saturday).date())
    assert wh.is_open(widget(), msk(*saturday, 10, 0)) is True
    assert wh.is_open(widget(public_holidays=False), msk(*saturday, 10, 0)) is False
    late_monday = widget(hours={"mon": [["11:00", "18:00"]], "sat": [["09:00", "12:00"]]})
    assert wh.is_open(late_monday, msk(*saturday, 10, 0)) is False  # Monday's hours, not Saturday's
    assert wh.is_open(late_monday, msk(*saturday, 17, 0)) is True


def test_the_owners_days_off_are_closed_all_day():
    off = widget(days_off=["2026-11-27"])
    assert wh.is_open(off, msk(2026, 11, 27, 12, 0)) is False
    assert wh.is_open(off, msk(2026, 11, 26, 12, 0)) is True
    # The day is the widget's local date, not the UTC one.
    ekb = widget(timezone="Asia/Yekaterinburg", days_off=["2026-11-27"], hours=wh.ALWAYS_OPEN)
    assert wh.is_open(ekb, datetime(2026, 11, 26, 19, 30, tzinfo=UTC)) is False  # 00:30 there


# -- night for the visitor ----------------------------------------------------------------------
@pytest.mark.parametrize(
    ("hour", "minute", "night"),
    [(20, 59, False), (21, 0, True), (23, 30, True), (3, 0, True), (8, 59, True), (9, 0, False)],
)
def test_night_is_nine_pm_to_nine_am_in_the_visitors_zone(hour, minute, night):
    at = datetime(2026, 11, 26, hour, minute, tzinfo=ZoneInfo(VLADIVOSTOK))
    assert wh.is_night(VLADIVOSTOK, at, "Europe/Moscow") is night


def test_a_missing_or_unknown_visitor_zone_falls_back_to_the_widgets():
    at = msk(2026, 11, 26, 22, 0)
    assert wh.is_night(None, at, "Europe/Moscow") is True
    assert wh.is_night("Mars/Olympus_Mons", at, "Europe/Moscow") is True
    assert wh.is_night("../../etc/passwd", at, "Asia/Vladivostok") is True  # 05:00 there
    assert wh.is_night(None, at, "America/New_York") is False  # 14:00 there


def test_nobody_is_called_at_night_in_their_zone_even_when_the_widget_is_open():
    evening = msk(2026, 11, 26, 19, 30)  # open in Moscow; 02:30 in Vladivostok
    assert wh.is_open(widget(), evening)
    assert wh.can_call_now(widget(), "Europe/Moscow", evening, night_guard=True) is True
    assert wh.can_call_now(widget(), VLADIVOSTOK, evening, night_guard=True) is False
    morning = msk(2026, 11, 26, 10, 0)  # 17:00 in Vladivostok, but 02:00 in New York
    assert wh.can_call_now(widget(), VLADIVOSTOK, morning, night_guard=True) is True
    assert wh.can_call_now(widget(), "America/New_York", morning, night_guard=True) is False


def test_a_widget_open_around_the_clock_still_waits_for_the_visitors_morning():
    always = widget(hours=wh.ALWAYS_OPEN, public_holidays=False)
    assert not wh.can_call_now(always, "Europe/Moscow", msk(2026, 11, 28, 23, 0), night_guard=True)


def test_without_the_night_guard_only_the_owners_own_hours_apply():
    night = msk(2026, 11, 28, 23, 0)  # Saturday night
    assert wh.can_call_now(widget(), "Europe/Moscow", night, night_guard=False) is True
    assert wh.can_call_now(widget(hours=TWO_SHIFTS), None, night, night_guard=False) is False
    assert wh.can_call_now(widget(hours=wh.ALWAYS_OPEN), None, night, night_guard=False) is True


def test_the_night_guard_setting_is_read_from_the_app(tmp_path):
    from .conftest import make_app

    night = msk(2026, 11, 28, 23, 0)
    assert wh.can_call_now(widget(), None, night) is False  # no app: guarded
    with make_app(tmp_path).app_context():  # tests' default: off
        assert wh.can_call_now(widget(), None, night) is True
    with make_app(tmp_path, NIGHT_GUARD=True).app_context():
        assert wh.can_call_now(widget(), None, night) is False


# -- slots --------------------------------------------------------------------------------------
def _local(slots, tz=MSK):
    return [s.astimezone(tz).strftime("%a %d %H:%M") for s in slots]


def test_slots_start_on_a_half_hour_at_least_fifteen_minutes_ahead():
    slots = wh.next_slots(widget(), None, msk(2026, 11, 26, 10, 10), count=3, night_guard=True)
    assert _local(slots) == ["Thu 26 10:30", "Thu 26 11:00", "Thu 26 11:30"]
    later = wh.next_slots(widget(), None, msk(2026, 11, 26, 10, 20), count=1, night_guard=True)
    assert _local(later) == ["Thu 26 11:00"]
    assert all(s.tzinfo is UTC for s in slots)


def test_slots_skip_the_weekend_and_the_lunch_break():
    slots = wh.next_slots(
        widget(hours=TWO_SHIFTS), None, msk(2026, 11, 27, 12, 0), night_guard=True
    )
    assert _local(slots) == [
        "Fri 27 12:30",
        "Fri 27 14:00",
        "Fri 27 14:30",
        "Fri 27 15:00",
        "Fri 27 15:30",
        "Fri 27 16:00",
    ]
    monday = wh.next_slots(widget(), None, msk(2026, 11, 27, 19, 50), count=2, night_guard=True)
    assert _local(monday) == ["Mon 30 09:00", "Mon 30 09:30"]


def test_slots_skip_the_new_year_holidays():
    slots = wh.next_slots(widget(), None, msk(2025, 12, 30, 19, 50), count=2, night_guard=True)
    assert [s.astimezone(MSK).date().isoformat() for s in slots] == ["2026-01-12"] * 2


def test_slots_skip_the_visitors_night():
    always = widget(hours=wh.ALWAYS_OPEN, public_holidays=False)
    slots = wh.next_slots(always, None, msk(2026, 11, 26, 20, 0), count=3, night_guard=True)
    assert _local(slots) == ["Thu 26 20:30", "Fri 27 09:00", "Fri 27 09:30"]
    # A visitor in Vladivostok may be called until 13:30 Moscow time (20:30 there).
    far = wh.next_slots(widget(), VLADIVOSTOK, msk(2026, 11, 26, 13, 0), count=2, night_guard=True)
    assert _local(far) == ["Thu 26 13:30", "Fri 27 09:00"]
    assert _local(far, ZoneInfo(VLADIVOSTOK)) == ["Thu 26 20:30", "Fri 27 16:00"]


def test_slots_follow_the_widgets_clock_and_zone():
    ekb = widget(timezone="Asia/Yekaterinburg")
    slots = wh.next_slots(ekb, "Asia/Yekaterinburg", msk(2026, 11, 27, 18, 0), count=1)
    assert _local(slots, ZoneInfo("Asia/Yekaterinburg")) == ["Mon 30 09:00"]


def test_a_widget_with_no_hours_at_all_offers_no_slots():
    closed = widget(hours={})
    assert wh.next_slots(closed, None, msk(2026, 11, 26, 12, 0), night_guard=True) == []
    assert wh.next_call_time(closed, None, msk(2026, 11, 26, 12, 0), night_guard=True) is None


def test_the_next_call_time_is_now_when_calling_is_allowed():
    at = msk(2026, 11, 26, 12, 0, 7)
    assert wh.next_call_time(widget(), None, at, night_guard=True) == at


@pytest.mark.parametrize(
    ("visitor", "at", "expected"),
    [
        ("Europe/Moscow", msk(2026, 11, 27, 20, 0), msk(2026, 11, 30, 9, 0)),  # weekend
        ("Europe/Moscow", msk(2026, 11, 26, 13, 20), msk(2026, 11, 26, 14, 0)),  # lunch
        (VLADIVOSTOK, msk(2026, 11, 26, 14, 0), msk(2026, 11, 27, 9, 0)),  # night there
        ("Europe/Moscow", msk(2025, 12, 30, 20, 0), msk(2026, 1, 12, 9, 0)),  # holidays
    ],
)
def test_the_next_call_time_skips_closed_hours_and_the_visitors_night(visitor, at, expected):
    assert wh.next_call_time(widget(hours=TWO_SHIFTS), visitor, at, night_guard=True) == expected


def test_the_next_call_time_waits_for_the_visitors_morning_not_the_widgets():
    always = widget(hours=wh.ALWAYS_OPEN, public_holidays=False)
    at = msk(2026, 11, 26, 16, 0)  # 23:00 in Vladivostok
    expected = datetime(2026, 11, 27, 9, 0, tzinfo=ZoneInfo(VLADIVOSTOK))
    assert wh.next_call_time(always, VLADIVOSTOK, at, night_guard=True) == expected


# -- parsing and formatting ---------------------------------------------------------------------
def test_parse_hours_normalises_every_form():
    week = schedule.parse_hours(
        {
            "mon": [["14:00", "20:00"], ["9:00", "13:00"]],
            "tue": "10:00-12:00,12:00-24:00",
            "sat": [],
        }
    )
    assert week["mon"] == [["09:00", "13:00"], ["14:00", "20:00"]]
    assert week["tue"] == [["10:00", "12:00"], ["12:00", "24:00"]]
    assert week["sun"] == [] and set(week) == set(schedule.DAYS)


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ({"mon": [["9am", "13:00"]]}, "mon: '9am' is not a time like 09:00"),
        ({"mon": [["09:00", "25:00"]]}, "not a time of day"),
        ({"mon": [["24:00", "24:00"]]}, "not a time of day"),
        ({"mon": [["13:00", "09:00"]]}, "mon: 13:00-09:00 ends before it starts"),
        ({"tue": [["09:00", "09:00"]]}, "ends before it starts"),
        (
            {"wed": [["09:00", "13:00"], ["12:00", "18:00"]]},
            "wed: 09:00-13:00 and 12:00-18:00 overlap",
        ),
        ({"monday": [["09:00", "13:00"]]}, "unknown day 'monday'"),
        ({"mon": [["09:00"]]}, "is not an interval"),
        ({"mon": "09:00"}, "is not an interval like 09:00-13:00"),
        ({"mon": 9}, "expected a list"),
        ([["09:00", "20:00"]], "working hours must be an object"),
    ],
)
def test_parse_hours_refuses_bad_schedules_with_a_clear_message(value, message):
    with pytest.raises(ValueError, match="^.*" + message.replace("(", r"\(")):
        schedule.parse_hours(value)


def test_day_arguments_and_days_off_are_parsed_strictly():
    assert schedule.parse_day_arg("mon=09:00-13:00,14:00-20:00") == (
        "mon",
        [["09:00", "13:00"], ["14:00", "20:00"]],
    )
    assert schedule.parse_day_arg("SAT=closed") == ("sat", [])
    with pytest.raises(ValueError, match="expected DAY="):
        schedule.parse_day_arg("funday=09:00-10:00")
    assert schedule.parse_days_off(["2026-12-31", "2026-01-02", "2026-12-31"]) == [
        "2026-01-02",
        "2026-12-31",
    ]
    for bad in ("31.12.2026", "2026-02-30"):
        with pytest.raises(ValueError):
            schedule.parse_days_off([bad])


def test_unknown_time_zones_are_not_zones():
    assert wh.valid_timezone("Asia/Yekaterinburg") == "Asia/Yekaterinburg"
    for bad in ("Mars/Base", "", None, 5, "/etc/localtime", "../x", "Europe", "x" * 80):
        assert wh.valid_timezone(bad) is None


def test_a_slot_is_written_for_the_visitor_in_their_zone_and_language():
    now = msk(2026, 11, 26, 20, 0)
    today, tomorrow = msk(2026, 11, 26, 20, 30), msk(2026, 11, 27, 9, 30)
    later = msk(2027, 1, 4, 9, 0)
    assert wh.format_slot(today, "Europe/Moscow", "ru", now) == "сегодня в 20:30"
    assert wh.format_slot(tomorrow, "Europe/Moscow", "ru", now) == "завтра в 09:30"
    assert wh.format_slot(later, "Europe/Moscow", "ru", now) == "пн, 4 января в 09:00"
    assert wh.format_slot(today, "Europe/Moscow", "en", now) == "today at 20:30"
    assert wh.format_slot(tomorrow, None, "en", now) == "tomorrow at 09:30"
    assert wh.format_slot(later, "Europe/Moscow", "en", now) == "Mon, 4 January at 09:00"
    # In Vladivostok it is already 03:00 on Friday: both are "today" there.
    assert wh.format_slot(today, VLADIVOSTOK, "ru", now) == "сегодня в 03:30"
    assert wh.format_slot(tomorrow, VLADIVOSTOK, "ru", now) == "сегодня в 16:30"
    assert wh.format_slot(later, VLADIVOSTOK, "ru", now) == "пн, 4 января в 16:00"


# -- the API ------------------------------------------------------------------------------------
FRIDAY_EVENING = msk(2026, 11, 27, 20, 0)  # closed until Monday 09:00
MONDAY_NINE = "2026-11-30T06:00:00Z"
THURSDAY_NOON = msk(2026, 11, 26, 12, 0)


class Clock:
    def __init__(self, monkeypatch, at: datetime):
        self.at = at
        monkeypatch.setattr(wh, "utc_now", lambda: self.at)


@pytest.fixture
def site(tmp_path):
    site = build_site(tmp_path, NIGHT_GUARD=True)
    # A consumer never runs here: the queue only shows what was put in it.
    site.huey = site.app.extensions["queue"].huey
    return site


def _config(site, **params):
    query = "&".join(f"{k}={v}" for k, v in params.items())
    response = site.client.get(
        f"/api/v1/widgets/{site.ru_key}/config?{query}", headers={"Origin": SHOP}
    )
    assert response.status_code == 200
    return response.json


def _submit(site, **extra):
    body = {"phone": "+7 916 123-45-67", "consent": True, "group": "101", **extra}
    return site.submit(body)


def _jobs(site):
    """Every job in the queue, due now (eta None) or later."""
    return site.huey.pending() + site.huey.scheduled()


def _row(site, handle):
    with site.app.app_context():
        req = db.session.scalar(select(CallbackRequest).where(CallbackRequest.handle == handle))
        attempts = db.session.scalars(select(CallAttempt).where(CallAttempt.request_id == req.id))
        db.session.expunge(req)
        return req, list(attempts)


def test_an_open_widget_says_so_and_offers_no_slots(site, monkeypatch):
    Clock(monkeypatch, THURSDAY_NOON)
    config = _config(site, tz="Europe/Moscow")
    assert config["open"] is True
    assert config["slots"] == []
    assert config["texts"]["closed_title"] == "Сейчас мы не работаем"


def test_a_closed_widget_offers_the_next_slots_in_the_visitors_zone(site, monkeypatch):
    Clock(monkeypatch, FRIDAY_EVENING)
    config = _config(site, tz="Europe/Moscow")
    assert config["open"] is False
    assert len(config["slots"]) == 6
    assert config["slots"][0] == {"at": MONDAY_NINE, "label": "пн, 30 ноября в 09:00"}
    assert config["slots"][1]["at"] == "2026-11-30T06:30:00Z"
    en = _config(site, tz="Asia/Yekaterinburg", lang="en")
    assert en["slots"][0] == {"at": MONDAY_NINE, "label": "Mon, 30 November at 11:00"}
    assert en["texts"]["slot_label"] == "When to call"


def test_night_for_the_visitor_closes_an_open_widget(site, monkeypatch):
    Clock(monkeypatch, msk(2026, 11, 26, 19, 30))
    assert _config(site, tz="Europe/Moscow")["open"] is True
    night = _config(site, tz=VLADIVOSTOK)
    assert night["open"] is False
    # 02:30 on Friday there; the first slot is Friday 09:00 Moscow, 16:00 there.
    assert night["slots"][0] == {"at": "2026-11-27T06:00:00Z", "label": "сегодня в 16:00"}


def test_an_unknown_visitor_zone_is_ignored(site, monkeypatch):
    Clock(monkeypatch, FRIDAY_EVENING)
    config = _config(site, tz="Mars/Base")
    assert config["slots"][0] == {"at": MONDAY_NINE, "label": "пн, 30 ноября в 09:00"}


def test_a_chosen_slot_schedules_the_call_and_dials_nothing_now(site, monkeypatch):
    Clock(monkeypatch, FRIDAY_EVENING)
    slot = _config(site, tz="Asia/Yekaterinburg")["slots"][2]
    response = _submit(site, slot=slot["at"], tz="Asia/Yekaterinburg")
    assert response.status_code == 202
    status = response.json["status"]
    assert status["status"] == "scheduled"
    assert status["scheduled_for"] == slot["at"] == "2026-11-30T07:00:00Z"
    assert status["message"] == "Позвоним пн, 30 ноября в 12:00."
    assert status["cancellable"] is True and status["final"] is False
    req, attempts = _row(site, response.json["handle"])
    assert (req.status, req.visitor_tz) == ("scheduled", "Asia/Yekaterinburg")
    assert req.scheduled_for == req.next_dispatch_at == datetime(2026, 11, 30, 7, 0)
    assert attempts == []
    [job] = _jobs(site)  # one job, due at the slot: nothing to dial now
    assert job.name == "place_next_call" and job.args == (req.id,)
    assert job.eta == datetime(2026, 11, 30, 7, 0)  # huey keeps naive UTC


def test_the_status_says_when_the_call_will_be_placed(site, monkeypatch):
    clock = Clock(monkeypatch, FRIDAY_EVENING)
    handle = _submit(site, slot=MONDAY_NINE, tz=VLADIVOSTOK).json["handle"]
    clock.at = msk(2026, 11, 29, 12, 0)  # Sunday: the call is tomorrow
    status = site.client.get(f"/api/v1/requests/{handle}", headers={"Origin": SHOP}).json
    assert status["status"] == "scheduled"
    assert status["scheduled_for"] == MONDAY_NINE
    assert status["message"] == "Позвоним завтра в 16:00."
    en = site.client.get(f"/api/v1/requests/{handle}?lang=en", headers={"Origin": SHOP}).json
    assert en["message"] == "We will call you tomorrow at 16:00."


@pytest.mark.parametrize(
    "slot",
    [
        "2026-11-30T06:15:00Z",  # between slots
        "2026-11-28T09:00:00Z",  # Saturday
        "2026-11-27T16:00:00Z",  # the past
        "2026-12-30T06:00:00Z",  # further than the offered slots
        "tomorrow morning",
        ["2026-11-30T06:00:00Z"],
    ],
)
def test_a_slot_that_was_not_offered_is_refused(site, monkeypatch, slot):
    Clock(monkeypatch, FRIDAY_EVENING)
    response = _submit(site, slot=slot)
    assert response.status_code == 422
    assert response.json["fields"] == {"slot": "Это время уже недоступно. Выберите другое."}
    assert site.stored() == 0


def test_a_slot_within_a_minute_of_an_offered_one_is_taken_as_that_slot(site, monkeypatch):
    Clock(monkeypatch, FRIDAY_EVENING)
    response = _submit(site, slot="2026-11-30T09:00:40+03:00")
    assert response.status_code == 202
    assert response.json["status"]["scheduled_for"] == MONDAY_NINE


def test_a_closed_widget_without_a_slot_calls_at_the_first_free_one(site, monkeypatch):
    Clock(monkeypatch, FRIDAY_EVENING)
    response = _submit(site)
    assert response.status_code == 202
    assert response.json["status"]["status"] == "scheduled"
    assert response.json["status"]["scheduled_for"] == MONDAY_NINE
    assert response.json["status"]["message"] == "Позвоним пн, 30 ноября в 09:00."
    req, _ = _row(site, response.json["handle"])
    assert req.next_dispatch_at == datetime(2026, 11, 30, 6, 0)
    assert req.visitor_tz is None
    assert [job.eta for job in _jobs(site)] == [datetime(2026, 11, 30, 6, 0)]


def test_an_open_widget_without_a_slot_calls_now(site, monkeypatch):
    Clock(monkeypatch, THURSDAY_NOON)
    response = _submit(site, tz="Europe/Moscow")
    assert response.status_code == 202
    assert response.json["status"]["status"] == "queued"
    assert response.json["status"]["scheduled_for"] is None
    req, _ = _row(site, response.json["handle"])
    assert (req.status, req.scheduled_for, req.visitor_tz) == ("queued", None, "Europe/Moscow")
    assert [job.eta for job in _jobs(site)] == [None]  # dial now


def test_an_open_widget_also_takes_a_later_slot(site, monkeypatch):
    Clock(monkeypatch, THURSDAY_NOON)
    response = _submit(site, slot="2026-11-26T10:00:00Z")  # 13:00 Moscow
    assert response.status_code == 202
    assert response.json["status"]["message"] == "Позвоним сегодня в 13:00."


def test_a_widget_with_no_free_time_refuses_politely(site, monkeypatch):
    Clock(monkeypatch, THURSDAY_NOON)
    with site.app.app_context():
        for w in db.session.scalars(select(Widget)):
            w.hours = {}
        db.session.commit()
    assert _config(site)["slots"] == []
    response = _submit(site)
    assert response.status_code == 422
    assert "Свободного времени" in response.json["fields"]["slot"]


def test_a_scheduled_call_can_be_cancelled(site, monkeypatch):
    Clock(monkeypatch, FRIDAY_EVENING)
    handle = _submit(site, slot=MONDAY_NINE).json["handle"]
    response = site.client.post(f"/api/v1/requests/{handle}/cancel", headers={"Origin": SHOP})
    assert response.status_code == 200
    assert response.json["status"] == "cancelled"
    assert response.json["scheduled_for"] is None
    assert _row(site, handle)[0].status == "cancelled"


def test_the_openapi_description_knows_scheduled_calls(site):
    spec = site.client.get("/api/v1/openapi.json").json
    schemas = spec["components"]["schemas"]
    assert "scheduled" in schemas["Status"]["properties"]["status"]["enum"]
    assert {"slot", "tz"} <= set(schemas["NewRequest"]["properties"])
    assert {"open", "slots"} <= set(schemas["Config"]["properties"])


# -- the command line -----------------------------------------------------------------------------
def _set_hours(tmp_path, *args):
    env = {
        "WIDGET_INSTANCE_PATH": str(tmp_path / "instance"),
        "WIDGET_DATABASE_URL": database_url(tmp_path),
        "WIDGET_SECRET_KEY": TEST_SECRET,
        "WIDGET_ALLOW_PRIVATE_NETWORKS": "1",
    }
    return CliRunner().invoke(main, ["set-hours", *args], env=env)


def _stored_widget(site):
    with site.app.app_context():
        w = db.session.scalar(select(Widget).where(Widget.public_key == site.ru_key))
        db.session.expunge(w)
        return w


def test_set_hours_changes_the_given_days_and_keeps_the_rest(site, tmp_path):
    result = _set_hours(
        tmp_path,
        "--widget",
        site.ru_key,
        "--timezone",
        "Asia/Yekaterinburg",
        "--day",
        "mon=09:00-13:00,14:00-20:00",
        "--day",
        "sat=10:00-16:00",
        "--day-off",
        "2026-12-30",
        "--no-public-holidays",
    )
    assert result.exit_code == 0, result.output
    assert "mon: 09:00-13:00, 14:00-20:00" in result.output
    w = _stored_widget(site)
    assert w.timezone == "Asia/Yekaterinburg"
    assert w.hours["mon"] == [["09:00", "13:00"], ["14:00", "20:00"]]
    assert w.hours["tue"] == [["09:00", "20:00"]]  # the default, kept
    assert w.hours["sat"] == [["10:00", "16:00"]] and w.hours["sun"] == []
    assert w.days_off == ["2026-12-30"]
    assert w.public_holidays is False
    assert _set_hours(tmp_path, "--widget", site.ru_key, "--always-open").exit_code == 0
    assert _stored_widget(site).hours == wh.ALWAYS_OPEN
    assert _set_hours(tmp_path, "--widget", site.ru_key, "--clear-days-off").exit_code == 0
    assert _stored_widget(site).days_off == []


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--day", "mon=13:00-09:00"], "mon: 13:00-09:00 ends before it starts"),
        (["--day", "mon=09:00-13:00,12:00-14:00"], "overlap"),
        (["--day", "funday=09:00-10:00"], "expected DAY="),
        (["--day-off", "31.12.2026"], "is not a date like 2026-12-31"),
        (["--timezone", "Moscow"], "'Moscow' is not a known time zone"),
        (["--always-open", "--day", "mon=09:00-10:00"], "use only one of"),
    ],
)
def test_set_hours_refuses_bad_values_with_a_clear_error(site, tmp_path, args, message):
    result = _set_hours(tmp_path, "--widget", site.ru_key, *args)
    assert result.exit_code != 0
    assert message in result.output
    assert _stored_widget(site).hours is None


def test_set_hours_for_an_unknown_widget_fails_clearly(site, tmp_path):
    result = _set_hours(tmp_path, "--widget", "wk_nope", "--always-open")
    assert result.exit_code != 0
    assert "no widget wk_nope" in result.output


def test_the_lookahead_is_two_weeks():
    assert wh.LOOKAHEAD_DAYS == 14
    assert (
        wh.next_call_time(
            widget(
                days_off=[
                    (datetime(2026, 11, 26) + timedelta(days=n)).date().isoformat()
                    for n in range(20)
                ]
            ),
            None,
            THURSDAY_NOON,
            night_guard=True,
        )
        is None
    )
