"""What the server tells the widget for the screens a visitor ends on (issue 28, parts 5 and 7):
a title and words true for each final state, the main button that fits, the widget's number for
visitors, and a countdown promise computed from the ring plan. The screens themselves, in
Chromium, are tests/test_widget_screens_browser.py."""

from __future__ import annotations

import re
from datetime import datetime
from types import SimpleNamespace

import pytest
from sqlalchemy import select

from widget_server.extensions import db
from widget_server.models import CallbackRequest, Widget
from widget_server.statuses import FINAL, HeldReason, Status
from widget_server.visitor import texts
from widget_server.visitor.call_us import visitor_number
from widget_server.visitor.status import status_view

from .admin_support import csrf_token, make_owner, sign_in
from .test_admin_widgets import add_account, error_next_to, good_form
from .test_visitor_api import SHOP, build_site

# An owner whose webhook will hear of a missed request (notify/reach.py).
OWNER = SimpleNamespace(
    id=None,
    notify_email=None,
    webhook_url="https://crm.example/h",
    webhook_secret="s",
    telegram_chat_id=None,
    bitrix24_url=None,
    amocrm_subdomain=None,
    amocrm_token=None,
)


def widget(**fields):
    values = dict(
        language="ru",
        timezone="Europe/Moscow",
        owner=OWNER,
        visitor_phone=None,
        ring_timeout=25,
        ring_strategy="sequential",
        pbx_account=SimpleNamespace(ring_seconds=20),
    )
    return SimpleNamespace(**(values | fields))


def request(status, *, members=("201", "202", "203"), **fields):
    values = dict(
        status=status,
        widget=widget(),
        widget_group=SimpleNamespace(group=SimpleNamespace(member_pins=list(members))),
        attempts=[],
        updated_at=datetime(2026, 12, 1, 8, 0),
        next_dispatch_at=None,
        scheduled_for=None,
        visitor_tz=None,
        held_reason=None,
        round=1,
    )
    return SimpleNamespace(**(values | fields))


@pytest.fixture
def nobody_hears(monkeypatch):
    """No channel of the owner's can tell a person of a miss (notify/reach.py)."""
    monkeypatch.setattr("widget_server.visitor.status.someone_will_hear", lambda owner: False)


# -- part 7: the countdown's promise is the ring plan, not a fixed 30 s ------------------------
@pytest.mark.parametrize(
    ("plan", "promise"),
    [
        # Three operators rung 25 s each (the PBX gives up sooner), after the queue's 2 s.
        (dict(), 2 + 3 * 25),
        # The PBX rings 45 s and our timeout never fires before it.
        (dict(pbx_account=SimpleNamespace(ring_seconds=45)), 2 + 3 * 45),
        # The PBX's own group: one call, the PBX distributes it.
        (dict(ring_strategy="pbx_group"), 2 + 25),
    ],
)
def test_the_submits_answer_promises_the_first_round_of_the_ring_plan(plan, promise):
    req = request(Status.QUEUED, widget=widget(**plan))
    assert status_view(req, "ru", just_accepted=True)["wait_seconds"] == promise


def test_only_the_submits_answer_carries_a_promise():
    # A poll comes later: the widget counts from the moment it sent the request.
    assert status_view(request(Status.QUEUED), "ru")["wait_seconds"] is None
    scheduled = request(Status.SCHEDULED, next_dispatch_at=datetime(2026, 12, 2, 7, 0))
    assert status_view(scheduled, "ru", just_accepted=True)["wait_seconds"] is None


def test_a_blocked_request_is_promised_what_a_real_one_is():
    # Otherwise the promise would tell a number that it was blocked (visitor/disguise.py).
    created = datetime(2026, 12, 1, 8, 0)
    blocked = request(Status.HELD, held_reason=HeldReason.BLOCKED, created_at=created)
    real = request(Status.QUEUED, created_at=created)
    shown = status_view(blocked, "ru", just_accepted=True, now=created)
    assert shown == status_view(real, "ru", just_accepted=True, now=created)
    assert shown["wait_seconds"] == 2 + 3 * 25


def test_the_api_answers_a_submit_with_the_promise_of_its_departments_plan(tmp_path):
    site = build_site(tmp_path)  # department 101: operators 201 and 202; the PBX rings 45 s
    answer = site.submit().json["status"]
    assert answer["wait_seconds"] == 2 + 2 * 45
    handle = site.submit({"phone": "+7 916 765-43-21", "consent": True, "group": "102"}).json
    assert handle["status"]["wait_seconds"] == 2 + 1 * 45  # 102: one operator


def test_operators_are_never_said_to_be_busy_since_nobody_can_know_it():
    # An operator who did not answer may be busy or away; the words say what happened.
    words = [
        *(m for lang in texts.LANGUAGES for m in texts.STATUS_MESSAGES[lang].values()),
        *(m for lang in texts.LANGUAGES for m in texts.STAGE_MESSAGES[lang].values()),
        *(m for lang in texts.LANGUAGES for m in texts.RETRY_MESSAGES[lang].values()),
        *(m for lang in texts.LANGUAGES for m in texts.UNHEARD_MESSAGES[lang].values()),
    ]
    said = [w for w in words if re.search(r"операторы заняты|operators are busy", w, re.I)]
    assert said == []
    view = status_view(request(Status.CALLING_OPERATOR, attempts=[SimpleNamespace(round=1, outcome="operator_no_answer"), SimpleNamespace(round=1, outcome=None)]), "ru")  # fmt: skip
    assert (view["stage"], view["message"]) == ("next_operator", "Звоним следующему оператору…")


# -- part 5: each final state gets a title and words true for it, and the button that fits -------
def test_every_final_status_has_its_own_title_in_both_languages():
    for language in texts.LANGUAGES:
        form_title = texts.UI_TEXTS[language]["title"]
        for status in FINAL:
            title = status_view(request(status), language)["title"]
            assert title and title != form_title, (language, status)
    assert status_view(request(Status.CALLING_VISITOR), "ru")["title"] is None  # the form's


@pytest.mark.parametrize("status", [Status.NO_OPERATOR, Status.PBX_ERROR, Status.HELD])
def test_where_no_call_will_come_the_number_for_visitors_is_the_main_button(status, nobody_hears):
    with_number = request(status, widget=widget(visitor_phone="+74951234567"))
    view = status_view(with_number, "ru")
    assert (view["title"], view["final_action"]) == ("Звонка не будет", "call")
    assert "Позвоните нам" in view["message"]
    # Without one: close. Asking again at once would meet the same silence.
    view = status_view(request(status), "ru")
    assert (view["title"], view["final_action"]) == ("Звонка не будет", "close")
    assert "Позвоните" not in view["message"]
    for language in texts.LANGUAGES:  # never sent to "another way" the screen does not give
        for found in (status_view(with_number, language), status_view(request(status), language)):
            assert not re.search(r"другим способом|another way", found["message"])


def test_a_request_held_for_want_of_working_hours_says_so_not_that_nobody_answered():
    view = status_view(request(Status.NO_OPERATOR, held_reason=HeldReason.NO_HOURS), "ru")
    assert view["title"] == "Сейчас мы не работаем"
    assert view["message"].startswith("В ближайшие две недели у нас нет часов для звонков.")
    assert "не ответили" not in view["message"]


def test_the_number_for_visitors_is_any_valid_russian_number_without_an_extension():
    assert visitor_number("8 (495) 123-45-67") == "+74951234567"
    assert visitor_number("8 800 555-35-35") == "+78005553535"  # the visitor dials it, not us
    for bad in ("12345", "+1 202 555 0101", "+7 495 123-45-67 доб. 5", "+7 727 123 4567"):
        with pytest.raises(ValueError):
            visitor_number(bad)


def test_the_look_offers_the_number_as_a_tel_link_and_none_without_one(tmp_path):
    site = build_site(tmp_path)
    look = site.client.get(f"/api/v1/widgets/{site.ru_key}/look", headers={"Origin": SHOP}).json
    assert look["call_us"] is None
    with site.app.app_context():
        found = db.session.scalar(select(Widget).where(Widget.public_key == site.ru_key))
        found.visitor_phone = "+74951234567"
        db.session.commit()
    look = site.client.get(f"/api/v1/widgets/{site.ru_key}/look", headers={"Origin": SHOP}).json
    assert look["call_us"] == {
        "href": "tel:+74951234567",
        "text": "Позвонить: +7\u00a0495\u00a0123\u201145\u201167",  # a number never split
    }
    english = site.client.get(f"/api/v1/widgets/{site.en_key}/look", headers={"Origin": SHOP})
    assert english.json["call_us"] is None  # another widget, no number of its own


def test_the_look_tells_the_widget_how_long_a_token_must_wait_only_when_tokens_are_on(tmp_path):
    off = build_site(tmp_path / "off")
    on = build_site(tmp_path / "on", FORM_TOKENS=True)
    for site, wait in ((off, 0), (on, 3000)):
        look = site.client.get(f"/api/v1/widgets/{site.ru_key}/look", headers={"Origin": SHOP})
        assert look.json["token_wait_ms"] == wait


# -- the owner's field: "Телефон для посетителей" on the widget form ----------------------------
@pytest.fixture
def owner(tmp_path):
    from .conftest import make_app

    app = make_app(tmp_path)
    make_owner(app)
    client = app.test_client()
    sign_in(client)
    add_account(app)
    return app, client


def post(client, **changes):
    page = client.get("/admin/widgets/new")
    return client.post(
        "/admin/widgets/new", data={"csrf_token": csrf_token(page.data), **good_form(**changes)}
    )


def test_the_owner_sets_a_number_for_visitors_and_sees_it_again_as_it_reads(owner):
    app, client = owner
    assert post(client, visitor_phone="8 (495) 123-45-67").status_code == 302
    with app.app_context():
        saved = db.session.scalar(select(Widget))
        assert saved.visitor_phone == "+74951234567"
        widget_id = saved.id
    page = client.get(f"/admin/widgets/{widget_id}").get_data(as_text=True)
    assert 'value="+7 495 123-45-67"' in page
    assert "Телефон для посетителей" in page and "кнопку «Позвонить»" in page  # the help says where


def test_a_number_visitors_could_not_dial_is_refused_next_to_its_field(owner):
    app, client = owner
    response = post(client, visitor_phone="+7 495 123-45-67 доб. 5")
    assert response.status_code == 400
    assert "без добавочного" in error_next_to(response, "visitor_phone")
    with app.app_context():
        assert db.session.scalar(select(CallbackRequest)) is None
        assert db.session.scalar(select(Widget)) is None
