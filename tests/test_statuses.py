"""The status vocabulary and its move table: every move the call machine makes, no other."""

from __future__ import annotations

import logging

import pytest

from widget_server.admin.request_detail import OUTCOME_LABELS
from widget_server.admin.request_stats import HELD_REASON_LABELS, STATUS_LABELS
from widget_server.dispatch.state import set_status
from widget_server.models import CallbackRequest
from widget_server.notify.digest import CATEGORIES, _category
from widget_server.statuses import (
    ALLOWED,
    ENDINGS,
    FINAL,
    INITIAL,
    LIVE,
    WAITING,
    HeldReason,
    Outcome,
    Status,
    may_move,
)
from widget_server.visitor.openapi import spec
from widget_server.visitor.texts import STATUS_MESSAGES

S = Status
# Every move dispatch makes short of ending, with where in the code it is made.
REAL_MOVES = {
    # place_next_call: a dial is placed; session_known turns a waiting request live.
    (S.QUEUED, S.CALLING_OPERATOR),
    (S.SCHEDULED, S.CALLING_OPERATOR),
    (S.RETRYING, S.CALLING_OPERATOR),
    (S.OPERATORS_BUSY, S.CALLING_OPERATOR),
    (S.VISITOR_RETRY, S.CALLING_OPERATOR),
    # place_next_call out of hours: put off to the opening.
    (S.QUEUED, S.SCHEDULED),
    (S.RETRYING, S.SCHEDULED),
    (S.OPERATORS_BUSY, S.SCHEDULED),
    (S.VISITOR_RETRY, S.SCHEDULED),
    (S.CALLING_OPERATOR, S.SCHEDULED),
    # _call_back_failed: the PBX is unreachable, the same dial later.
    (S.QUEUED, S.RETRYING),
    (S.SCHEDULED, S.RETRYING),
    (S.OPERATORS_BUSY, S.RETRYING),
    (S.VISITOR_RETRY, S.RETRYING),
    (S.CALLING_OPERATOR, S.RETRYING),
    # _group_tried: nobody answered this round, another one after a pause.
    (S.CALLING_OPERATOR, S.OPERATORS_BUSY),
    (S.RETRYING, S.OPERATORS_BUSY),
    (S.SCHEDULED, S.OPERATORS_BUSY),
    # _apply_event: the call's own stages.
    (S.CALLING_OPERATOR, S.CALLING_VISITOR),
    (S.CALLING_OPERATOR, S.CONNECTED),
    (S.CALLING_VISITOR, S.CONNECTED),
    # settle.finish_attempt: the visitor was not reached, one more try; call_info
    # may show it for a call whose events never showed the visitor leg, or whose
    # `connected` was the operator's answer (docs/pbx-dialects.md).
    (S.CALLING_VISITOR, S.VISITOR_RETRY),
    (S.CALLING_OPERATOR, S.VISITOR_RETRY),
    (S.CONNECTED, S.VISITOR_RETRY),
    # dispatch.held: a request held while the limit store was down, decided again.
    (S.HELD, S.QUEUED),
}


def test_every_status_has_a_row_in_the_move_table():
    assert set(ALLOWED) == set(Status)


def test_the_table_holds_the_real_moves_and_endings_and_nothing_else():
    listed = {(old, new) for old, moves in ALLOWED.items() for new in moves}
    progress = {(old, new) for old, new in listed if new not in ENDINGS}

    assert progress == REAL_MOVES


def test_a_final_status_goes_nowhere():
    for final in FINAL - {Status.HELD}:
        assert ALLOWED[final] == frozenset()
        assert not any(may_move(final, other) for other in Status if other != final)


def test_a_held_request_may_only_be_cancelled_or_decided_again():
    # A blocked or trapped request looks like one being tried; its visitor may cancel it.
    # One held while the limit store was down goes through the limits again (dispatch.held).
    assert ALLOWED[Status.HELD] == {Status.CANCELLED, Status.QUEUED}


@pytest.mark.parametrize("status", sorted(WAITING | LIVE))
def test_a_request_not_final_yet_may_end_any_way_but_held(status):
    assert ALLOWED[status] >= ENDINGS
    assert not may_move(status, S.HELD)


def test_a_new_request_starts_queued_scheduled_or_held():
    assert {s for s in Status if may_move(None, s)} == INITIAL == {S.QUEUED, S.SCHEDULED, S.HELD}


@pytest.mark.parametrize(
    ("old", "new"),
    [
        (S.CALLING_VISITOR, S.CALLING_OPERATOR),
        (S.CONNECTED, S.CALLING_VISITOR),
        (S.CALLING_OPERATOR, S.QUEUED),
        (S.SCHEDULED, S.QUEUED),
    ],
)
def test_a_move_backwards_is_not_allowed(old, new):
    assert not may_move(old, new)


def test_staying_put_is_always_allowed():
    assert all(may_move(s, s) for s in Status)


def test_set_status_refuses_an_illegal_move_and_logs_it_as_an_error(app, caplog):
    req = CallbackRequest(id=7, status=S.CONNECTED)
    with app.app_context(), caplog.at_level(logging.ERROR):
        moved = set_status(req, S.QUEUED)

    assert (moved, req.status) == (False, S.CONNECTED)
    assert "illegal status move connected → queued" in caplog.text


def test_set_status_ignores_a_late_move_of_a_final_request_quietly(app, caplog):
    req = CallbackRequest(id=7, status=S.FINISHED)
    with app.app_context(), caplog.at_level(logging.ERROR):
        moved = set_status(req, S.CALLING_OPERATOR)

    assert (moved, req.status) == (False, S.FINISHED)
    assert caplog.text == ""


def test_set_status_gives_a_new_request_its_first_status(app):
    req = CallbackRequest()
    with app.app_context():
        moved = set_status(req, S.HELD)

    assert moved and req.status == S.HELD and req.finished_at is not None


def test_set_status_stamps_the_moments_of_connecting_and_ending(app):
    req = CallbackRequest(id=7, status=S.CALLING_VISITOR)
    with app.app_context():
        set_status(req, S.CONNECTED)
        set_status(req, S.FINISHED)

    assert req.connected_at is not None and req.finished_at >= req.connected_at


# -- every surface names every status -----------------------------------------------
@pytest.mark.parametrize("status", list(Status))
def test_every_status_has_a_visitor_message_an_admin_label_an_openapi_entry_and_a_digest_category(
    status,
):
    assert STATUS_MESSAGES["ru"][status] and STATUS_MESSAGES["en"][status]
    assert STATUS_MESSAGES["ru"][status] != STATUS_MESSAGES["en"][status]
    assert STATUS_LABELS[status]
    schemas = spec("http://127.0.0.1")["components"]["schemas"]
    enums = [s["enum"] for s in _walk(schemas) if "enum" in s and "queued" in s["enum"]]
    assert enums and all(status.value in enum for enum in enums)
    assert _category(status, None, unconfirmed=False) in CATEGORIES


@pytest.mark.parametrize("reason", list(HeldReason))
def test_every_held_reason_has_an_admin_label(reason):
    assert HELD_REASON_LABELS[reason]


def _walk(node):
    if isinstance(node, dict):
        yield node
        for value in node.values():
            yield from _walk(value)
    elif isinstance(node, list):
        for value in node:
            yield from _walk(value)


# -- attempt outcomes ----------------------------------------------------------------
def test_the_outcomes_keep_the_values_the_database_holds():
    assert {o.value for o in Outcome} == {
        "completed",
        "unconfirmed",
        "visitor_busy",
        "visitor_no_answer",
        "operator_no_answer",
        "operator_timeout",
        "failed",
        "pbx_unavailable",
        "unknown",
        "journal_answered",
        "journal_not_answered",
    }


@pytest.mark.parametrize("outcome", list(Outcome))
def test_every_outcome_has_words_on_the_timeline(outcome):
    assert OUTCOME_LABELS[outcome]
