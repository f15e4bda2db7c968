"""The PBX call journal: reading its files defensively, and reconciling our calls with it
end to end over loopback against the simulator."""

from __future__ import annotations

import io
import time
import zipfile
from datetime import datetime, timedelta

import pytest
import requests

from widget_server.dispatch import reconcile
from widget_server.extensions import db
from widget_server.models import CallAttempt, CallbackRequest, PbxAccount, PbxJournal, utcnow
from widget_server.ops.cli_pbx import pbx_reconcile
from widget_server.pbx.client import PbxError, client_for
from widget_server.pbx.journal import (
    COLUMNS,
    MOSCOW_OFFSET,
    JournalError,
    journal_csv,
    parse_journal,
)
from widget_server.statuses import Status

from .conftest import build_stack
from .dispatch_support import Jobs

ROW = {
    "session_id": "SDsnZugDFmTW7Sec",
    "call_type": "3",
    "direction": "2",
    "state": "1",
    "orig_number": "sip:anna@example.20.rt.ru",
    "orig_pin": "201",
    "dest_number": "79161234567",
    "answering_sipuri": "",
    "answering_pin": "",
    "start_call_date": "2026-11-30 15:34:44.461",
    "duration": "42",
    "is_voicemail": "false",
    "is_record": "true",
    "is_fax": "false",
    "status_code": "0",
    "status_string": "Успешно",
}


def zipped(text: str, encoding: str = "utf-8") -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as zf:
        zf.writestr("calls.csv", text.encode(encoding))
    return out.getvalue()


# -- reading the file ----------------------------------------------------------------
def test_a_zipped_csv_with_a_header_gives_its_rows_in_utc():
    rows = parse_journal(zipped(journal_csv([ROW])))
    assert len(rows) == 1
    row = rows[0]
    assert row.session_id == "SDsnZugDFmTW7Sec"
    assert row.started_at == datetime(2026, 11, 30, 12, 34, 44, 461000)  # Moscow is UTC+3
    assert (row.orig_pin, row.duration, row.answered) == ("201", 42, True)
    assert row.dest_digits() == "9161234567"


def test_a_file_without_a_header_is_read_by_the_guides_column_order():
    rows = parse_journal(zipped(journal_csv([ROW, dict(ROW, session_id="two")], header=False)))
    assert [r.session_id for r in rows] == ["SDsnZugDFmTW7Sec", "two"]
    assert rows[0].duration == 42


def test_a_headerless_file_without_direction_and_state_columns_is_read_too():
    cells = [ROW[c] for c in COLUMNS if c not in ("direction", "state")]
    rows = parse_journal(zipped(";".join(cells) + "\r\n"))
    assert rows[0].orig_pin == "201" and rows[0].state == ""
    assert rows[0].answered is True  # no state column: a talk time means answered


def test_a_byte_order_mark_before_the_header_is_ignored():
    rows = parse_journal(zipped("\ufeff" + journal_csv([ROW])))
    assert rows[0].session_id == "SDsnZugDFmTW7Sec"


@pytest.mark.parametrize("encoding", ["cp1251", "utf-8"])
def test_cyrillic_text_reads_in_cp1251_and_in_utf8(encoding):
    rows = parse_journal(zipped(journal_csv([ROW]), encoding))
    assert rows[0].session_id == "SDsnZugDFmTW7Sec" and rows[0].duration == 42


def test_a_bare_csv_outside_a_zip_is_accepted():
    assert parse_journal(journal_csv([ROW]).encode())[0].orig_pin == "201"


def test_a_header_without_the_start_time_column_is_refused_by_name():
    text = "session_id;orig_pin;duration\r\nabc;201;5\r\n"
    with pytest.raises(JournalError) as caught:
        parse_journal(zipped(text))
    assert caught.value.code == "missing-columns"
    assert "start_call_date" in caught.value.message


@pytest.mark.parametrize(
    ("data", "code"),
    [
        (b"PK\x03\x04 this is not really a zip", "bad-zip"),
        (b"<html><body>File [abc] not found</body></html>", "not-a-journal"),
        (b'{"result":"-1"}', "not-a-journal"),
        (zipped("a;b;c\r\n1;2;3\r\n"), "unknown-layout"),
        (zipped(journal_csv([dict(ROW, start_call_date="yesterday")])), "garbage"),
    ],
)
def test_malformed_files_are_refused_with_a_reason(data, code):
    with pytest.raises(JournalError) as caught:
        parse_journal(data)
    assert caught.value.code == code


def test_rows_without_a_readable_time_are_skipped_when_others_read():
    rows = parse_journal(zipped(journal_csv([ROW, dict(ROW, session_id="x", start_call_date="")])))
    assert [r.session_id for r in rows] == ["SDsnZugDFmTW7Sec"]


def test_an_empty_file_has_no_rows():
    assert parse_journal(zipped("")) == []


# -- end to end over loopback ----------------------------------------------------------
@pytest.fixture
def quiet(tmp_path):
    """The service and the simulator, no queue consumer, and no events from the simulator."""
    stack, stop = build_stack(tmp_path, start_consumer=False)
    set_webhooks(stack, on=False)
    yield stack
    stop()


def set_webhooks(stack, *, on: bool) -> None:
    with stack.app.app_context():
        account = db.session.scalar(db.select(PbxAccount))
        base = f"{stack.service_url}/pbx/{account.public_id}" if on else ""
    requests.post(f"{stack.sim_url}/_sim/config", json={"webhook_base": base}, timeout=5)


def sim_call(stack, phone: str) -> str:
    """Have the simulator place a call (its events lost) and wait for it to end."""
    with stack.app.app_context():
        session_id = client_for(db.session.scalar(db.select(PbxAccount))).call_back(
            phone, from_pin="201"
        )

    def ended():
        calls = requests.get(f"{stack.sim_url}/_sim/calls", timeout=5).json()
        return any(c["session_id"] == session_id and c["ended"] for c in calls)

    stack.wait_until(ended, message="the simulated call to end")
    return session_id


def stuck_request(stack, phone: str, session_id: str | None, *, hours_ago: float = 3) -> int:
    """A request whose call went out ``hours_ago`` and whose events never came."""
    handle = stack.submit(phone).json()["handle"]
    with stack.app.app_context():
        req = db.session.scalar(db.select(CallbackRequest).where(CallbackRequest.handle == handle))
        if session_id is not None:
            req.status = Status.CALLING_OPERATOR
            sent = utcnow() - timedelta(hours=hours_ago)
            db.session.add(
                CallAttempt(
                    request=req, seq=1, operator_pin="201", session_id=session_id,
                    stage="sent", reached_stage="operator_ringing", sent_at=sent,
                )
            )  # fmt: skip
        db.session.commit()
        return req.id


def reconcile_last_hours(stack, hours: float = 4) -> PbxJournal:
    with stack.app.app_context():
        account = db.session.scalar(db.select(PbxAccount))
        now = utcnow()
        run = reconcile.reconcile_now(
            account, now - timedelta(hours=hours), now + timedelta(minutes=1)
        )
        db.session.expunge(run)
        return run


def request_of(stack, request_id: int) -> tuple[str, list[str | None]]:
    with stack.app.app_context():
        req = db.session.get(CallbackRequest, request_id)
        return req.status, [a.outcome for a in req.attempts]


def test_a_call_whose_events_were_lost_is_settled_from_the_journal(quiet):
    session_id = sim_call(quiet, "+7 916 123-45-67")  # normal: the visitor talks
    request_id = stuck_request(quiet, "+7 916 123-45-67", session_id)
    run = reconcile_last_hours(quiet)
    assert (run.status, run.error) == ("done", None)
    assert (run.rows, run.matched, run.settled) == (1, 1, 1)
    assert request_of(quiet, request_id) == (Status.FINISHED, ["journal_answered"])


def test_a_journal_call_nobody_answered_never_settles_as_finished(quiet):
    session_id = sim_call(quiet, "+7 900 000-00-01")  # the operator never answers
    request_id = stuck_request(quiet, "+7 900 000-00-01", session_id)
    assert reconcile_last_hours(quiet).settled == 1
    status, outcomes = request_of(quiet, request_id)
    assert status == Status.NO_OPERATOR and outcomes == ["journal_not_answered"]


def test_a_call_still_young_is_left_to_its_events(quiet):
    session_id = sim_call(quiet, "+7 916 123-45-67")
    request_id = stuck_request(quiet, "+7 916 123-45-67", session_id, hours_ago=0.01)
    run = reconcile_last_hours(quiet)
    assert (run.matched, run.settled) == (1, 0)
    assert request_of(quiet, request_id) == (Status.CALLING_OPERATOR, [None])


def test_a_call_the_pbx_made_to_our_visitor_without_our_attempt_is_listed(quiet):
    request_id = stuck_request(quiet, "+7 916 555-44-33", None)
    session_id = sim_call(quiet, "+7 916 555-44-33")
    run = reconcile_last_hours(quiet)
    assert run.matched == 0
    assert len(run.unknown_calls) == 1
    unknown = run.unknown_calls[0]
    assert unknown["session_id"] == session_id and unknown["request_id"] == str(request_id)
    assert unknown["visitor"] == "…4433" and "916555" not in str(unknown)


def test_the_history_file_completed_webhook_fetches_and_reconciles_the_order(quiet):
    session_id = sim_call(quiet, "+7 916 123-45-67")
    request_id = stuck_request(quiet, "+7 916 123-45-67", session_id)
    set_webhooks(quiet, on=True)
    with quiet.app.app_context():
        account = db.session.scalar(db.select(PbxAccount))
        now = utcnow()
        end = now + timedelta(minutes=1)  # the PBX takes whole seconds
        run_id = reconcile.order_journal(account, now - timedelta(hours=4), end).id
    jobs = Jobs(quiet.app)
    deadline = time.monotonic() + 10
    while "fetch_journal" not in jobs.run() and time.monotonic() < deadline:
        time.sleep(0.1)
    with quiet.app.app_context():
        assert db.session.get(PbxJournal, run_id).status == "done"
    assert request_of(quiet, request_id)[0] == Status.FINISHED


def test_a_period_we_ordered_before_is_fetched_again_without_a_new_order(quiet):
    with quiet.app.app_context():
        account = db.session.scalar(db.select(PbxAccount))
        start = datetime(2026, 11, 1)
        first = reconcile.reconcile_now(account, start, start + timedelta(days=1))
        again = reconcile.reconcile_now(account, start, start + timedelta(days=1))
        assert (first.status, again.status) == ("done", "done")
        assert again.order_id == first.order_id
    assert len(quiet.sim_requests("domain_call_history")) == 1
    assert len(quiet.sim_requests("download_call_history")) == 2


def test_a_period_ordered_elsewhere_fails_in_words(quiet):
    with quiet.app.app_context():
        account = db.session.scalar(db.select(PbxAccount))
        start = datetime(2026, 11, 1)
        client_for(account).domain_call_history(start, start + timedelta(days=1))  # a CRM did
        again = reconcile.order_journal(account, start, start + timedelta(days=1))
        assert again.status == "failed" and again.error.startswith("already-ordered")


def test_the_cli_reconciles_a_day_and_prints_what_it_found(quiet, monkeypatch):
    monkeypatch.setattr(reconcile, "STALE_AFTER", timedelta(seconds=1))
    session_id = sim_call(quiet, "+7 916 123-45-67")
    request_id = stuck_request(quiet, "+7 916 123-45-67", session_id, hours_ago=0.01)
    stuck_request(quiet, "+7 916 555-44-33", None)
    sim_call(quiet, "+7 916 555-44-33")
    with quiet.app.app_context():
        account_id = db.session.scalar(db.select(PbxAccount.id))
        today = (utcnow() + MOSCOW_OFFSET).date().isoformat()
    runner = quiet.app.test_cli_runner()
    result = runner.invoke(pbx_reconcile, [str(account_id), "--day", today, "--wait", "0"])
    assert result.exit_code == 0, result.output
    assert "2 calls in the journal, 1 ours, 1 settled, 1 unknown to us." in result.output
    assert "visitor …4433" in result.output
    assert request_of(quiet, request_id)[0] == Status.FINISHED


def test_the_cli_refuses_a_day_that_has_not_come(quiet):
    with quiet.app.app_context():
        account_id = db.session.scalar(db.select(PbxAccount.id))
    result = quiet.app.test_cli_runner().invoke(
        pbx_reconcile, [str(account_id), "--day", "2999-01-01"]
    )
    assert result.exit_code != 0 and "has not come" in result.output


def test_downloading_an_order_the_pbx_has_not_made_is_not_ready_yet(quiet):
    with quiet.app.app_context():
        client = client_for(db.session.scalar(db.select(PbxAccount)))
        with pytest.raises(PbxError) as caught:
            client.download_call_history("no-such-order")
    assert caught.value.result == "not-ready" and caught.value.retryable
