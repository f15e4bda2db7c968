"""What the owner reads about a call that ended without a confirmed talk.

The call machine settles it "unconfirmed" (``test_dispatch_visitor_evidence``); the owner
sees the outcome and the reason in words, may dial it again, reads a status that does not
claim a talk, and the figures count it neither as connected nor as missed.
"""

from __future__ import annotations

from datetime import timedelta

import pytest

from widget_server.admin.call_now import may_call_now
from widget_server.admin.request_detail import UNCONFIRMED_WHY
from widget_server.admin.request_stats import as_dict, period_figures
from widget_server.extensions import db
from widget_server.insight.figures import operators
from widget_server.models import CallbackRequest, utcnow
from widget_server.notify.crm_text import outcome_text
from widget_server.notify.outbox import request_summary
from widget_server.statuses import Outcome, Status

from .admin_support import sign_in
from .dispatch_support import VISITOR, World
from .seed_examples import call_info_for
from .test_pbx_visitor_evidence import CASES

SEED = call_info_for(VISITOR.lstrip("+"), "op201", is_record=False)
UNCONFIRMED_STATUS = "Завершена, разговор не подтверждён"
UNCONFIRMED_OUTCOME = "Звонок завершён, разговор не подтверждён"
WHY_NOTHING = (
    "Оператор ответил, но АТС не сообщила, звонил ли телефон посетителя "
    "и взял ли посетитель трубку."
)


@pytest.fixture
def world(tmp_path):
    return World(tmp_path)


def unconfirmed_call(world: World) -> int:
    """A call whose events stop at the operator and whose call_info names only them."""
    request_id = world.submit()
    world.jobs.run()
    session = world.request(request_id).attempts[-1]["session"]
    world.pbx.call_infos[session] = SEED
    world.call_goes(session, "operator", "end")
    world.jobs.run()
    assert world.request(request_id).outcomes == [Outcome.UNCONFIRMED]
    return request_id


def talked_call(world: World) -> int:
    """A talk shown by the events (the visitor's leg rang, then connected); the same log."""
    digits = "79161112233"
    request_id = world.submit(phone=f"+{digits}")
    world.jobs.run()
    session = world.request(request_id).attempts[-1]["session"]
    world.pbx.call_infos[session] = call_info_for(digits, "op201", is_record=False)
    world.call_goes(session, "operator")
    for state in ("calling", "connected", "end"):
        world.event(session, state, request_number=digits)
    world.jobs.run()
    assert world.request(request_id).outcomes == [Outcome.COMPLETED]
    return request_id


@pytest.fixture
def owner(world):
    client = world.app.test_client()
    sign_in(client, password="correct horse")
    return client


def test_the_timeline_tells_the_outcome_and_why_the_talk_is_unconfirmed(world, owner):
    request_id = unconfirmed_call(world)

    page = owner.get(f"/admin/requests/{request_id}").get_data(as_text=True)

    assert UNCONFIRMED_OUTCOME in page
    assert WHY_NOTHING in page
    assert UNCONFIRMED_STATUS in page
    assert "Позвонить сейчас" in page


def test_the_log_does_not_say_a_talk_took_place_for_an_unconfirmed_call(world, owner):
    unconfirmed = unconfirmed_call(world)
    talked = talked_call(world)

    page = owner.get("/admin/requests").get_data(as_text=True)

    rows = {
        rid: page.split(f'data-request-id="{rid}"', 1)[1].split("</tr>", 1)[0]
        for rid in (unconfirmed, talked)
    }
    assert UNCONFIRMED_STATUS in rows[unconfirmed] and "состоялся" not in rows[unconfirmed]
    assert "Разговор состоялся" in rows[talked]


def test_the_csv_export_says_the_same(world, owner):
    unconfirmed_call(world)
    text = owner.get("/admin/requests/export.csv").get_data(as_text=True)
    assert UNCONFIRMED_STATUS in text


def test_an_unconfirmed_call_may_be_dialled_again_and_a_talk_may_not(world, owner):
    unconfirmed = unconfirmed_call(world)
    talked = talked_call(world)
    with world.app.app_context():
        assert may_call_now(db.session.get(CallbackRequest, unconfirmed))
        assert not may_call_now(db.session.get(CallbackRequest, talked))

    response = owner.post(f"/admin/requests/{unconfirmed}/call-now")

    assert response.status_code == 302
    with world.app.app_context():
        again = db.session.scalar(db.select(CallbackRequest).order_by(CallbackRequest.id.desc()))
        assert again.id not in (unconfirmed, talked)
        assert again.phone == VISITOR
        assert response.headers["Location"].endswith(f"/admin/requests/{again.id}")


def test_figures_count_an_unconfirmed_call_neither_as_connected_nor_as_missed(world):
    unconfirmed_call(world)
    talked_call(world)
    with world.app.app_context():
        owner_id = db.session.get(CallbackRequest, 1).widget.owner_id
        figures = as_dict(period_figures(owner_id, 7).overall)
        widget_ids = [db.session.get(CallbackRequest, 1).widget_id]
        start, end = utcnow() - timedelta(days=1), utcnow() + timedelta(days=1)
        table = operators(widget_ids, start, end)

    assert figures["total"] == 2
    assert (figures["connected"], figures["unconfirmed"]) == (1, 1)
    assert (figures["missed"], figures["open"]) == (0, 0)
    assert figures["share_connected"] == 1.0  # of the calls whose outcome is known
    assert [(row.pin, row.answered, row.missed) for row in table] == [("201", 2, 0)]


def test_the_crm_note_of_an_unconfirmed_call_does_not_claim_a_talk(world):
    request_id = unconfirmed_call(world)
    with world.app.app_context():
        summary = request_summary(db.session.get(CallbackRequest, request_id))
        note = outcome_text(summary, "ru")

    assert summary["status"] == Status.FINISHED
    assert "разговор не подтверждён" in note
    assert "разговор состоялся" not in note
    assert "Разговор:" not in note
    assert "Длительность звонка по данным АТС: 14 с" in note


def test_the_crm_note_of_a_talk_still_says_it_took_place(world):
    request_id = talked_call(world)
    with world.app.app_context():
        note = outcome_text(request_summary(db.session.get(CallbackRequest, request_id)), "ru")
    assert "разговор состоялся" in note and "Разговор: 14 с" in note


def test_every_reason_a_talk_can_be_unconfirmed_has_its_own_words_for_the_owner():
    reasons = {why for *_, (outcome, why) in CASES if outcome == Outcome.UNCONFIRMED}
    assert reasons and reasons <= set(UNCONFIRMED_WHY)
