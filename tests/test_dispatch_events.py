"""How a PBX event becomes a status: stages, early, duplicate and late events, settling."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select, update

from widget_server.dispatch.events import ORPHAN_EVENT_TTL, caller_info, prune_orphan_events
from widget_server.extensions import db
from widget_server.models import CallEvent, PbxAccount, PbxExchange, utcnow
from widget_server.pbx import exchanges
from widget_server.statuses import Status

from .dispatch_support import VISITOR, World


@pytest.fixture
def world(tmp_path):
    return World(tmp_path, UNKNOWN_CALL_GRACE=90)


def test_events_move_the_visitor_status_along_the_call(world):
    request_id = world.submit()
    world.jobs.run()
    seen = [world.request(request_id).status]
    for step in ("operator", "visitor", "talk", "end"):
        world.call_goes("s1", step)
        world.jobs.run()
        seen.append(world.request(request_id).status)

    assert seen == [
        Status.CALLING_OPERATOR,
        Status.CALLING_OPERATOR,
        Status.CALLING_VISITOR,
        Status.CONNECTED,
        Status.FINISHED,
    ]
    assert ("call_info", ("s1",)) in world.pbx.calls


def test_events_that_outrun_the_call_back_answer_are_applied_when_it_comes(world):
    # Without the operator's PIN the events cannot be matched to our call_back before
    # its answer names the session: they wait as orphans, then are caught up on.
    outcomes = []
    world.pbx.during_call_back = lambda session: outcomes.extend(
        [
            world.event(session, "new", pin=""),
            world.event(session, "calling", pin="", request_number="op201@pbx.test"),
            world.event(session, "calling", pin=""),
        ]
    )
    request_id = world.submit()
    world.jobs.run()

    assert outcomes == ["orphan", "orphan", "orphan"]
    req = world.request(request_id)
    assert req.status == Status.CALLING_VISITOR
    assert req.attempts[0]["session"] == "s1"


def test_an_event_naming_our_operator_and_visitor_adopts_an_unanswered_call_back(world):
    world.pbx.answers = ["timeout"]
    request_id = world.submit()
    world.jobs.run()

    assert world.event("pbx-77", "new") == "adopted"
    req = world.request(request_id)
    assert (req.attempts[0]["session"], req.attempts[0]["alias"]) == (None, "pbx-77")
    assert req.status == Status.CALLING_OPERATOR
    # Once the grace for the lost answer is over, the events' id is the session.
    world.later("resolve_attempt")
    assert world.request(request_id).attempts[0]["session"] == "pbx-77"
    assert world.pbx.pins_rung() == ["201"]


def test_an_ambiguous_call_back_is_never_dialled_again_and_call_info_settles_it(world):
    # The call_back timed out, its events name the session, "connected" was lost,
    # and call_info says "answered": in a callback that may be the operator's answer
    # alone, so the talk is unconfirmed, and the visitor is not rung again.
    world.pbx.answers = ["timeout"]
    world.pbx.call_infos["pbx-77"] = {"state": "1", "duration": "42"}
    request_id = world.submit()
    world.jobs.run()
    world.call_goes("pbx-77", "operator", "visitor", "end")
    world.jobs.run()

    assert world.pbx.pins_rung() == ["201"]
    req = world.request(request_id)
    assert req.outcomes == ["unconfirmed"]
    assert req.status == Status.FINISHED


def test_an_ambiguous_call_back_with_no_trace_is_handed_to_the_owner(world):
    world.pbx.answers = ["timeout"]
    request_id = world.submit()
    world.jobs.run()

    assert ("resolve_attempt", (1,), pytest.approx(90, abs=1)) in world.jobs.delayed()
    world.later("resolve_attempt")

    assert world.pbx.pins_rung() == ["201"]
    req = world.request(request_id)
    assert (req.status, req.outcomes) == (Status.PBX_ERROR, ["unknown"])
    assert world.notifications() == ["failed"]


def test_a_duplicate_event_is_refused_and_changes_nothing(world):
    request_id = world.submit()
    world.jobs.run()
    first = world.event("s1", "calling", timestamp="100")
    again = world.event("s1", "calling", timestamp="100")

    assert (first, again) == ("applied", "duplicate")
    with world.app.app_context():
        assert db.session.query(CallEvent).count() == 1
    # A session's first `calling` is the operator's leg, whatever number it carries.
    assert world.request(request_id).status == Status.CALLING_OPERATOR


def test_a_late_event_never_moves_a_finished_call_backwards(world):
    request_id = world.submit()
    world.jobs.run()
    world.call_goes("s1", "operator", "visitor", "talk", "end")
    world.jobs.run()
    world.call_goes("s1", "operator", "visitor")
    world.jobs.run()

    req = world.request(request_id)
    assert req.status == Status.FINISHED
    assert req.attempts[0]["stage"] == "ended"


def test_an_end_before_connected_still_counts_the_talk(world):
    request_id = world.submit()
    world.jobs.run()
    world.call_goes("s1", "operator", "visitor", "end", "talk")
    world.jobs.run()

    req = world.request(request_id)
    assert (req.outcomes, req.status) == (["completed"], Status.FINISHED)
    assert req.attempts[0]["stage"] == "ended"


def test_events_of_calls_we_did_not_start_are_dropped(world):
    assert world.event("theirs", "new", type="incoming") == "not_ours"
    with world.app.app_context():
        assert db.session.query(CallEvent).count() == 0


# -- the domain's other calls ------------------------------------------------------------
OTHER_NUMBER = "sip:79035550101@pbx.test"


def test_our_operators_call_to_someone_else_is_dropped_while_our_call_back_waits_for_events(
    world,
):
    world.submit()
    world.jobs.run()  # answered "s1"; no event yet, so it could adopt one

    assert world.event("SDtheirs", "new", request_number=OTHER_NUMBER) == "not_ours"
    assert world.event("SDtheirs", "end", request_number=OTHER_NUMBER) == "not_ours"
    with world.app.app_context():
        assert db.session.query(CallEvent).count() == 0


def test_other_outbound_calls_that_outrun_our_call_back_reply_are_dropped(world):
    outcomes = []
    world.pbx.during_call_back = lambda session: outcomes.extend(
        [
            world.event("SDmine?", "new", request_number=OTHER_NUMBER),
            world.event("SDnopin", "new", pin="", request_number=OTHER_NUMBER),
            world.event("SDnopin", "calling", pin="", request_number="op202@pbx.test"),
            world.event("SDinbound", "new", pin="", type="incoming"),  # our visitor calls in
        ]
    )
    request_id = world.submit()
    world.jobs.run()

    assert outcomes == ["not_ours"] * 4
    with world.app.app_context():
        assert db.session.query(CallEvent).count() == 0
    assert world.request(request_id).attempts[0]["alias"] is None


def test_our_events_under_another_id_that_outrun_the_reply_are_adopted_on_arrival(world):
    # Dialect (e): the attempt row is committed before call_back is sent, so the
    # first event finds it even before the reply names a session.
    outcomes = []
    world.pbx.during_call_back = lambda session: outcomes.append(world.event("SDours", "new"))
    request_id = world.submit()
    world.jobs.run()
    outcomes.append(world.event("SDours", "calling", request_number="op201@pbx.test"))

    assert outcomes == ["adopted", "applied"]
    req = world.request(request_id)
    assert (req.attempts[0]["session"], req.attempts[0]["alias"]) == ("s1", "SDours")
    assert req.status == Status.CALLING_OPERATOR
    with world.app.app_context():
        assert db.session.query(CallEvent).filter(CallEvent.attempt_id.is_(None)).count() == 0
        assert db.session.get(PbxAccount, world.account_id).session_mismatch_at is not None


def test_a_kept_event_no_reply_claims_is_dropped_with_its_exchange_journal_rows(world):
    # A PIN-less event naming our visitor while the reply is awaited may be ours: kept
    # briefly. The reply names another session, so it never was; it goes, and so does
    # its copy in the exchange journal.
    outcomes = []
    world.pbx.during_call_back = lambda session: outcomes.append(
        world.event("SDmaybe", "new", pin="")
    )
    world.submit()
    world.jobs.run()
    assert outcomes == ["orphan"]
    with world.app.app_context():
        account = db.session.get(PbxAccount, world.account_id)
        exchanges.note_event(account, {}, {"session_id": "SDmaybe", "state": "new"}, "orphan")
        exchanges.note_event(account, {}, {"session_id": "s1", "state": "new"}, "applied")
        db.session.execute(
            update(CallEvent).values(received_at=utcnow() - ORPHAN_EVENT_TTL - timedelta(1))
        )
        db.session.commit()
        prune_orphan_events()
        assert db.session.query(CallEvent).count() == 0
        kept = db.session.scalars(select(PbxExchange.session_id).where(PbxExchange.kind == "event"))
        assert kept.all() == ["s1"]


def test_a_visitor_who_does_not_answer_is_tried_once_more_then_missed(world):
    request_id = world.submit()
    world.jobs.run()
    world.call_goes("s1", "operator", "visitor", "end")
    world.jobs.run()

    req = world.request(request_id)
    assert (req.status, req.visitor_retries, req.round) == (Status.VISITOR_RETRY, 1, 2)
    assert world.jobs.delayed()[-1][0] == "place_next_call"
    assert world.jobs.delayed()[-1][2] == pytest.approx(180, abs=1)

    world.later("place_next_call")
    world.call_goes("s2", "operator", "visitor", "end")
    world.jobs.run()

    assert world.pbx.pins_rung() == ["201", "201"]
    assert world.request(request_id).status == Status.VISITOR_NO_ANSWER
    assert world.notifications() == ["missed"]


def test_a_busy_visitor_is_tried_once_more_and_then_missed_as_busy(world):
    request_id = world.submit()
    world.jobs.run()
    world.call_goes("s1", "operator", "visitor", "busy", "end")
    world.jobs.run()
    assert world.request(request_id).status == Status.VISITOR_RETRY

    world.later("place_next_call")
    world.call_goes("s2", "operator", "visitor", "busy", "end")
    world.jobs.run()

    assert world.request(request_id).status == Status.VISITOR_BUSY


def test_caller_info_names_a_recent_requester_and_the_operator_they_talked_to(world):
    world.submit()
    world.jobs.run()
    world.call_goes("s1", "operator", "visitor", "talk", "end")
    world.jobs.run()

    with world.app.app_context():
        account = db.session.get(PbxAccount, world.account_id)
        info = caller_info(account, VISITOR.lstrip("+"))
        stranger = caller_info(account, "79990000000")

    assert info == {"displayName": "Обратный звонок: shop.example", "PIN": "201"}
    assert stranger == {}
