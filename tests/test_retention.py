"""Retention: old requests go with everything that repeats the number; one visitor on request."""

from __future__ import annotations

from datetime import datetime, timedelta

from click.testing import CliRunner
from sqlalchemy import func, select

from widget_server import retention
from widget_server.extensions import db
from widget_server.models import (
    CallAttempt,
    CallbackRequest,
    CallEvent,
    Notification,
    Owner,
)
from widget_server.notify import digest, outbox
from widget_server.ops.cli import main

from .conftest import database_url
from .test_notify import add_request, make_site

NOW = datetime(2026, 6, 1, 12, 0)
OTHER = "+79035550011"


def _with_event(request_id: int) -> None:
    """A PBX event (it repeats the number) on the request's first attempt."""
    attempt = db.session.scalar(
        select(CallAttempt).where(CallAttempt.request_id == request_id).order_by(CallAttempt.seq)
    )
    widget = db.session.get(CallbackRequest, request_id).widget
    phone = db.session.get(CallbackRequest, request_id).phone
    db.session.add(
        CallEvent(
            pbx_account_id=widget.pbx_account_id,
            attempt_id=attempt.id,
            session_id=f"s-{request_id}",
            state="end",
            event_time="2026-05-01 10:00:00",
            payload={"request_number": phone.lstrip("+"), "state": "end"},
        )
    )
    db.session.commit()


def _count(model, *where) -> int:
    return db.session.scalar(select(func.count()).select_from(model).where(*where))


def _request_ids() -> set[int]:
    return set(db.session.scalars(select(CallbackRequest.id)))


def test_requests_older_than_the_retention_period_go_with_their_calls_events_and_messages(app):
    with app.app_context():
        owner_id, widget_id = make_site(webhook_url="https://crm.example/h", webhook_secret="s")
        old = add_request(widget_id, created_at=NOW - timedelta(days=31))
        edge = add_request(widget_id, created_at=NOW - timedelta(days=29, hours=23))
        new = add_request(widget_id, created_at=NOW - timedelta(days=2))
        for request_id in (old, edge, new):
            _with_event(request_id)
            outbox.record(owner_id, "missed", request_id=request_id)
        db.session.commit()
        assert (_count(CallAttempt), _count(CallEvent), _count(Notification)) == (6, 3, 3)

        assert retention.purge_expired(now=NOW) == 1

        assert _request_ids() == {edge, new}
        assert _count(CallAttempt, CallAttempt.request_id == old) == 0
        assert _count(CallAttempt) == 4
        assert _count(CallEvent) == 2
        assert _count(Notification, Notification.request_id == old) == 0
        assert _count(Notification) == 2
        # Running again deletes nothing more.
        assert retention.purge_expired(now=NOW) == 0
        assert _request_ids() == {edge, new}


def test_each_owner_keeps_requests_for_their_own_retention_period(app):
    with app.app_context():
        _, short_widget = make_site("short@shop.example", retention_days=7)
        _, long_widget = make_site("long@shop.example", "https://long.example", retention_days=90)
        short_old = add_request(short_widget, created_at=NOW - timedelta(days=8))
        short_new = add_request(short_widget, created_at=NOW - timedelta(days=6))
        long_kept = add_request(long_widget, created_at=NOW - timedelta(days=60))
        long_old = add_request(long_widget, created_at=NOW - timedelta(days=91))

        assert retention.purge_expired(now=NOW) == 2

        assert _request_ids() == {short_new, long_kept}
        assert short_old not in _request_ids() and long_old not in _request_ids()


def test_the_purge_works_through_many_requests_in_small_batches(app):
    with app.app_context():
        _, widget_id = make_site()
        for day in range(35, 42):
            add_request(widget_id, created_at=NOW - timedelta(days=day), attempts=1)
        kept = add_request(widget_id, created_at=NOW, attempts=1)

        assert retention.purge_expired(now=NOW, batch_size=2) == 7

        assert _request_ids() == {kept}
        assert _count(CallAttempt) == 1


def test_the_purge_lets_other_work_run_between_its_batches(app, monkeypatch):
    turns = []
    with app.app_context():
        _, widget_id = make_site()
        for day in range(35, 40):
            add_request(widget_id, created_at=NOW - timedelta(days=day), attempts=1)
        # Under gevent time.sleep(0) is a turn for the other greenlets of the web worker.
        monkeypatch.setattr(
            retention.time, "sleep", lambda s: turns.append((s, len(_request_ids())))
        )

        assert retention.purge_expired(now=NOW, batch_size=2) == 5

    # After each committed batch, never inside one: 5 requests left 3, then 1, then none.
    assert turns == [(0, 3), (0, 1), (0, 0)]


def test_old_digests_are_deleted_with_the_requests_they_summarised(app):
    with app.app_context():
        owner_id, widget_id = make_site(webhook_url="https://crm.example/h", webhook_secret="s")
        add_request(widget_id, created_at=datetime(2026, 4, 10, 12, 0))
        digest.send_daily_digests(now=datetime(2026, 4, 11, 5, 0))
        db.session.query(Notification).update({"created_at": datetime(2026, 4, 11, 5, 0)})
        db.session.commit()
        assert _count(Notification, Notification.kind == "digest") == 1

        retention.purge_expired(now=NOW)

        assert _count(Notification) == 0
        assert db.session.get(Owner, owner_id) is not None  # the owner stays, of course


def test_forget_number_removes_only_that_owners_rows_for_that_number(app):
    with app.app_context():
        owner_id, widget_id = make_site(webhook_url="https://crm.example/h", webhook_secret="s")
        other_owner, other_widget = make_site("other@else.example", "https://else.example")
        mine = [add_request(widget_id), add_request(widget_id, created_at=NOW)]
        other_number = add_request(widget_id, OTHER)
        same_number_elsewhere = add_request(other_widget)
        for request_id in mine:
            _with_event(request_id)
            outbox.record(owner_id, "missed", request_id=request_id)
        db.session.commit()

        assert retention.forget_number(owner_id, "+79161234567") == 2

        assert _request_ids() == {other_number, same_number_elsewhere}
        assert _count(CallEvent) == 0
        assert _count(Notification) == 0
        assert _count(CallAttempt) == 4  # the two kept requests' attempts
        assert retention.forget_number(other_owner, OTHER) == 0  # not that owner's visitor
        assert retention.forget_number(owner_id, "+79161234567") == 0


def _cli(tmp_path, *args):
    env = {
        "WIDGET_INSTANCE_PATH": str(tmp_path / "instance"),
        "WIDGET_DATABASE_URL": database_url(tmp_path),
        "WIDGET_SECRET_KEY": "cli-test-secret-0123456789abcdef",
    }
    return CliRunner().invoke(main, list(args), env=env)


def test_the_forget_number_command_normalises_the_number_and_prints_the_count(app, tmp_path):
    with app.app_context():
        _, widget_id = make_site()
        add_request(widget_id)
        add_request(widget_id)
        kept = add_request(widget_id, OTHER)

    result = _cli(tmp_path, "forget-number", "--owner", "owner@shop.example", "8 (916) 123-45-67")

    assert result.exit_code == 0, result.output
    assert "Deleted 2 request(s)" in result.output
    assert "9161234567" not in result.output  # the number is shown masked
    with app.app_context():
        assert _request_ids() == {kept}


def test_the_forget_number_command_explains_a_bad_number_and_deletes_nothing(app, tmp_path):
    with app.app_context():
        _, widget_id = make_site()
        add_request(widget_id)

    result = _cli(tmp_path, "forget-number", "--owner", "owner@shop.example", "12345")

    assert result.exit_code != 0
    assert "is not a Russian phone number" in result.output
    with app.app_context():
        assert _count(CallbackRequest) == 1


def test_the_forget_number_command_names_an_unknown_owner(app, tmp_path):
    result = _cli(tmp_path, "forget-number", "--owner", "nobody@shop.example", "+79161234567")
    assert result.exit_code != 0
    assert "no owner with the e-mail nobody@shop.example" in result.output


def test_the_periodic_tasks_run_when_they_should(app):
    huey = app.extensions["queue"].huey

    def due(moment: datetime) -> set[str]:
        return {task.name for task in huey.read_periodic(moment)}

    assert {"sweep_notifications", "purge_expired"} <= due(datetime(2026, 6, 1, 10, 17))
    assert "purge_expired" not in due(datetime(2026, 6, 1, 10, 18))
    # The digest at 05:00 UTC (08:00 Moscow); later hours only catch up after downtime.
    assert "send_daily_digests" in due(datetime(2026, 6, 1, 5, 0))
    assert "send_daily_digests" not in due(datetime(2026, 6, 1, 4, 0))
