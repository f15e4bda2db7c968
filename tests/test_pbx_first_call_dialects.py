"""The first-call check reads the right dialect from a real simulator call's raw journal.

One stack for the module; each case sets the simulator's dialect, plays one call
to a visitor who answers, and analyses the exchanges our service recorded.
"""

from __future__ import annotations

import time

import pytest
import requests
from sqlalchemy import select

from widget_server.extensions import db
from widget_server.models import PbxAccount, PbxExchange, Widget
from widget_server.pbx import exchanges
from widget_server.pbx.dialect_check import Findings, analyse
from widget_server.pbx.dialect_words import findings_words

from .conftest import build_stack

NUMBER = "+7 916 123-45-67"


@pytest.fixture(scope="module")
def stack(tmp_path_factory):
    stack, stop = build_stack(tmp_path_factory.mktemp("first_call"))
    with stack.app.app_context():
        db.session.scalar(select(Widget)).ring_timeout = 1
        db.session.scalar(select(PbxAccount)).ring_seconds = 1
        db.session.commit()
    yield stack
    stop()


def _journal_of_one_call(stack, dialect: str) -> list[dict]:
    requests.post(f"{stack.sim_url}/_sim/reset", timeout=5).raise_for_status()
    scale = 0.05 if dialect == "h" else 0.02
    config = {"dialect": dialect, "time_scale": scale}
    requests.post(f"{stack.sim_url}/_sim/config", json=config, timeout=5).raise_for_status()
    handle = stack.submit(NUMBER).json()["handle"]
    stack.wait_final(handle, timeout=40)
    time.sleep(0.2)  # the last event may still be on its way
    with stack.app.app_context():
        account = db.session.scalar(select(PbxAccount))
        first = db.session.scalar(
            select(PbxExchange.id)
            .where(PbxExchange.kind == "call_back", PbxExchange.pbx_account_id == account.id)
            .order_by(PbxExchange.id.desc())
        )
        # (h): our timer may have rung on; the check reads the call that was answered.
        rows = exchanges.call_exchanges(account.id, first)
        return [exchanges.as_dict(r) for r in rows]


@pytest.mark.parametrize("dialect", list("abcdefghs"))
def test_one_call_of_each_simulator_dialect_is_recognised(stack, dialect):
    journal = _journal_of_one_call(stack, dialect)
    found = analyse(journal, NUMBER)
    assert found.placed
    assert found.dialect == dialect, found
    assert found.events_arrive == (dialect != "g")
    assert found.settings()["events_expected"] == (dialect != "g")
    assert found.session_log_present
    # (s): the seed's log never names the visitor, so it cannot tell whether they answered.
    assert found.log_names_visitor == (dialect != "s")
    assert found.visitor_answered == {"d": False, "s": None}.get(dialect, True)


def test_the_journal_never_holds_the_signature_of_an_event(stack):
    journal = _journal_of_one_call(stack, "a")
    events = [x for x in journal if x["kind"] == "event"]
    assert events
    for event in events:
        names = {name.lower() for name in event["headers"]}
        assert "x-client-sign" not in names
        assert "x-client-id" in names


def test_the_owner_reads_that_the_call_log_does_not_name_the_visitor(app):
    found = Findings(
        placed=True,
        result_code="0",
        events_arrive=True,
        session_ids_match=True,
        visitor_calling_seen=True,
        connected_on_operator_answer=False,
        session_log_present=True,
        log_names_visitor=False,
        dialect="s",
    )
    with app.test_request_context():
        words = findings_words(found)

    log_line = next(line for line in words if line.startswith("В call_info есть session_log"))
    assert "Журнал звонка в call_info называет номер посетителя: нет." in log_line
    assert "Посетитель ответил: не видно." in log_line
    assert words[-1].startswith("Диалект АТС: (s) журнал звонка не называет номер посетителя")
