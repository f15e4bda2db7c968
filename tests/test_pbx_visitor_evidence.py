"""A visitor is rung again only on positive evidence that their phone rang unanswered.

The seed article's ``session_log`` names the external party once, as ``el``, and has ring,
answer and hang-up entries for the internal user alone, by login. Such a log says nothing
about the visitor: the events, ``state`` and ``duration`` decide, and when they are thin or
disagree the call ends "unconfirmed": finished for the visitor, never rung again, shown to
the owner with the reason (``docs/pbx-dialects.md``).
"""

from __future__ import annotations

from typing import Any

import pytest

from widget_server.pbx.events import Why, decide_outcome, read_call_info
from widget_server.statuses import Outcome

from .dispatch_support import VISITOR
from .seed_examples import call_info_for

DIGITS = VISITOR.lstrip("+")
# The operator as the seed's log names them: by login (FakePbx's users are op<pin>).
LOGIN = "op201"
SEED = call_info_for(DIGITS, LOGIN)
NAMES_VISITOR = "0:ct:201;2:cc:201;3:ct:79161234567;"


def ev(state: str, to: str = DIGITS, reason: str | None = None) -> dict[str, Any]:
    event = {"state": state, "type": "outbound", "from_pin": "201", "request_number": to}
    if reason is not None:
        event["disconnect_reason"] = reason
    return event


OPERATOR_RINGS = [ev("new"), ev("calling", to=f"{LOGIN}@example.ru")]
VISITOR_RINGS = [*OPERATOR_RINGS, ev("calling")]


def seed(**changes: Any) -> dict[str, Any]:
    return {**SEED, **changes}


# -- the decision, one row of evidence at a time ------------------------------------------
CASES = [
    # The call log names the visitor: it decides.
    (
        "a cc with the visitor's digits is a talk",
        [],
        {"state": 1, "session_log": NAMES_VISITOR + "5:cc:79161234567;9:cd:79161234567;"},
        (Outcome.COMPLETED, Why.VISITOR_ANSWERED_IN_LOG),
    ),
    (
        "a ct with the visitor's digits and no cc is a ring unanswered",
        [*OPERATOR_RINGS, ev("connected", to=f"{LOGIN}@example.ru"), ev("end")],
        {"state": 2, "session_log": NAMES_VISITOR + "28:cd:79161234567;"},
        (Outcome.VISITOR_NO_ANSWER, Why.VISITOR_RANG_IN_LOG),
    ),
    (
        "a ct with the visitor's digits and a busy code is a busy line",
        [],
        {"state": 2, "session_log": NAMES_VISITOR + "4:cd:79161234567;", "status_code": "486"},
        (Outcome.VISITOR_BUSY, Why.BUSY_REPORTED),
    ),
    (
        "a ring unanswered in the log but a successful-call code is a contradiction",
        [*OPERATOR_RINGS, ev("disconnected", reason="5"), ev("end")],
        {"state": 1, "session_log": NAMES_VISITOR + "28:cd:79161234567;"},
        (Outcome.UNCONFIRMED, Why.SUCCESS_WITHOUT_ANSWER),
    ),
    # The log names only the operator, by login (the seed's shape): the events decide.
    (
        "the visitor's leg rang, then connected and a successful end: a talk",
        [*VISITOR_RINGS, ev("connected"), ev("disconnected", reason="5"), ev("end")],
        seed(),
        (Outcome.COMPLETED, Why.ANSWERED_AFTER_RINGING),
    ),
    (
        "the visitor's leg rang and never connected: a ring unanswered",
        [*VISITOR_RINGS, ev("disconnected", reason=""), ev("end")],
        seed(state=2, duration=0),
        (Outcome.VISITOR_NO_ANSWER, Why.VISITOR_RANG_NO_CONNECTION),
    ),
    (
        "the visitor's leg rang and the PBX said busy: a busy line",
        [*VISITOR_RINGS, ev("disconnected", reason="3"), ev("end")],
        seed(state=2, duration=0, status_code="486"),
        (Outcome.VISITOR_BUSY, Why.BUSY_REPORTED),
    ),
    (
        "the operator answered and nothing shows the visitor's phone: unconfirmed",
        [*OPERATOR_RINGS, ev("end")],
        seed(),
        (Outcome.UNCONFIRMED, Why.NOTHING_ABOUT_VISITOR),
    ),
    (
        "the operator answered and the PBX marked the call unanswered: still unconfirmed",
        [*OPERATOR_RINGS, ev("disconnected", reason=""), ev("end")],
        seed(state=2, duration=0),
        (Outcome.UNCONFIRMED, Why.NOTHING_ABOUT_VISITOR),
    ),
    (
        "the operator answered and the PBX gave a no-answer code: a ring unanswered",
        [*OPERATOR_RINGS, ev("end")],
        seed(state=2, duration=0, status_code="480"),
        (Outcome.VISITOR_NO_ANSWER, Why.NO_ANSWER_REPORTED),
    ),
    (
        "a connected with no visitor leg, a successful end, answered with a duration: a talk",
        [*OPERATOR_RINGS, ev("connected"), ev("disconnected", reason="5"), ev("end")],
        seed(),
        (Outcome.COMPLETED, Why.CONNECTED_AND_PBX_AGREES),
    ),
    (
        "a connected with no visitor leg and nothing more may be the operator's: unconfirmed",
        [*OPERATOR_RINGS, ev("connected"), ev("end")],
        seed(),
        (Outcome.UNCONFIRMED, Why.CONNECTED_MAYBE_OPERATOR),
    ),
    (
        "the visitor answered by the events but the PBX says unanswered: unconfirmed",
        [*VISITOR_RINGS, ev("connected"), ev("disconnected", reason="5"), ev("end")],
        seed(state=2, duration=0),
        (Outcome.UNCONFIRMED, Why.PBX_SAYS_UNANSWERED),
    ),
    (
        "the visitor answered by the events but no audio connection was made: unconfirmed",
        [*VISITOR_RINGS, ev("connected"), ev("disconnected", reason=""), ev("end")],
        seed(),
        (Outcome.UNCONFIRMED, Why.NO_AUDIO_AFTER_ANSWER),
    ),
    (
        "the visitor answered by the events and then a busy code: unconfirmed",
        [*VISITOR_RINGS, ev("connected"), ev("disconnected", reason="3"), ev("end")],
        seed(),
        (Outcome.UNCONFIRMED, Why.BUSY_AFTER_ANSWER),
    ),
    (
        "the visitor's leg rang, no connected, yet a successful-call code: unconfirmed",
        [*VISITOR_RINGS, ev("disconnected", reason="5"), ev("end")],
        seed(state=2, duration=0),
        (Outcome.UNCONFIRMED, Why.SUCCESS_WITHOUT_ANSWER),
    ),
    (
        "the visitor's leg rang and the PBX reports the call answered: maybe only the operator",
        [*VISITOR_RINGS, ev("disconnected", reason="5"), ev("end")],
        seed(),
        (Outcome.UNCONFIRMED, Why.PBX_REPORTS_ANSWER),
    ),
    (
        "nobody answered at all: the operator did not pick up",
        [*OPERATOR_RINGS, ev("disconnected", reason=""), ev("end")],
        seed(
            state=2,
            duration=0,
            session_log=f"0:el:{DIGITS};0:ru:{LOGIN};0:ct:{LOGIN};30:cd:{LOGIN};",
        ),
        (Outcome.OPERATOR_NO_ANSWER, Why.OPERATOR_NEVER_ANSWERED),
    ),
    # No call_info at all (it failed): the events alone.
    (
        "without call_info, a connected after the visitor's leg rang is a talk",
        [*VISITOR_RINGS, ev("connected"), ev("end")],
        None,
        (Outcome.COMPLETED, Why.ANSWERED_AFTER_RINGING),
    ),
    (
        "without call_info, a connected with no visitor leg is unconfirmed",
        [*OPERATOR_RINGS, ev("connected"), ev("disconnected", reason="5"), ev("end")],
        None,
        (Outcome.UNCONFIRMED, Why.CONNECTED_MAYBE_OPERATOR),
    ),
    (
        "without a session_log, the visitor's leg rang and the call was answered: unconfirmed",
        [*VISITOR_RINGS, ev("end")],
        {"state": "1", "duration": "42"},
        (Outcome.UNCONFIRMED, Why.PBX_REPORTS_ANSWER),
    ),
    (
        "without call_info and with no end heard, only the operator's ring: nothing is known",
        [*OPERATOR_RINGS],
        None,
        (Outcome.UNCONFIRMED, Why.NOTHING_HEARD),
    ),
    (
        "without call_info, the operator's leg rang and ended: the operator did not answer",
        [*OPERATOR_RINGS, ev("disconnected", reason=""), ev("end")],
        None,
        (Outcome.OPERATOR_NO_ANSWER, Why.OPERATOR_NEVER_ANSWERED),
    ),
    (
        "without call_info, the visitor's leg rang unanswered",
        [*VISITOR_RINGS, ev("end")],
        None,
        (Outcome.VISITOR_NO_ANSWER, Why.VISITOR_RANG_NO_CONNECTION),
    ),
    (
        "without a session_log, answered with a duration but nothing of the visitor: unconfirmed",
        [*OPERATOR_RINGS, ev("end")],
        {"state": "1", "duration": "30"},
        (Outcome.UNCONFIRMED, Why.NOTHING_ABOUT_VISITOR),
    ),
]


@pytest.mark.parametrize(
    ("events", "info", "expected"), [c[1:] for c in CASES], ids=[c[0] for c in CASES]
)
def test_the_outcome_and_its_reason_follow_from_the_evidence(events, info, expected):
    decision = decide_outcome(events, info, VISITOR)
    assert (decision.outcome, decision.why) == expected


def test_a_poll_that_saw_the_visitor_answer_stands_when_call_info_fails_at_the_end():
    decision = decide_outcome([], None, VISITOR, reached_stage="connected")
    assert decision.outcome == Outcome.COMPLETED


def test_only_positive_evidence_of_a_ring_unanswered_leads_to_a_second_ring():
    retried = {Outcome.VISITOR_BUSY, Outcome.VISITOR_NO_ANSWER}
    evidence = {
        Why.VISITOR_RANG_IN_LOG,
        Why.BUSY_REPORTED,
        Why.NO_ANSWER_REPORTED,
        Why.VISITOR_RANG_NO_CONNECTION,
    }
    for _name, events, info, _expected in CASES:
        decision = decide_outcome(events, info, VISITOR)
        if decision.outcome in retried:
            assert decision.why in evidence


# -- reading the seed-shaped log while the call lives -------------------------------------
def test_a_log_naming_only_the_operator_says_nothing_of_the_visitor_and_still_shows_the_end():
    seen = read_call_info(SEED, VISITOR)
    assert not seen.visitor_named and not seen.visitor_answered and not seen.visitor_rung
    assert seen.operator_answered and seen.over and not seen.alive
    assert seen.stage == "visitor_ringing"  # "calling you", never "connected"


def test_a_live_call_whose_log_names_only_the_operator_is_alive_and_never_shown_as_a_talk():
    live = seed(session_log=f"0:el:{DIGITS};0:ru:{LOGIN};0:ct:{LOGIN};2:cc:{LOGIN};")
    seen = read_call_info(live, VISITOR)
    assert seen.alive and not seen.over
    assert seen.stage == "visitor_ringing"


def test_the_external_party_named_as_el_is_not_a_ring():
    seen = read_call_info(seed(session_log=f"0:el:{DIGITS};0:ru:{LOGIN};"), VISITOR)
    assert not seen.visitor_rung and seen.alive and seen.stage == "operator_ringing"
