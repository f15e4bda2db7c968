"""Telling the owner: a real SMTP server (aiosmtpd), a real webhook receiver, the digest (D7)."""

from __future__ import annotations

import email
import email.policy
import hashlib
import hmac
import json
import logging
import re
import socket
import threading
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from aiosmtpd.controller import Controller
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from click.testing import CliRunner
from sqlalchemy import select

from widget_server import setup
from widget_server.config import ConfigError, load_settings
from widget_server.extensions import db
from widget_server.models import (
    CallAttempt,
    CallbackRequest,
    Notification,
    Owner,
    PbxAccount,
    PbxGroup,
    Widget,
    WidgetGroup,
    utcnow,
)
from widget_server.notify import channels, outbox, webhook
from widget_server.notify.digest import send_daily_digests
from widget_server.ops.cli import main

from .conftest import ServerThread, build_stack, database_url, make_app

PHONE = "+79161234567"
CATALOG = Path(__file__).parents[1] / "widget_server/translations/en/LC_MESSAGES/messages.po"
PHONE_SHOWN = "+7 916 123-45-67"


# -- helpers ------------------------------------------------------------------------------------
def make_site(
    email_addr: str = "owner@shop.example",
    origin: str = "https://shop.example",
    widget_name: str = "Магазин",
    **owner_fields,
) -> tuple[int, int]:
    """An owner with one widget offering one department; returns (owner id, widget id)."""
    owner = Owner(email=email_addr, password_hash="-", **owner_fields)
    account = PbxAccount(owner=owner, api_url="https://pbx.invalid", client_id="c", sign_key="k")
    group = PbxGroup(account=account, pin="101", name="Sales", member_pins=["201", "202"])
    widget = Widget(owner=owner, pbx_account=account, name=widget_name, origins=[origin])
    db.session.add_all(
        [
            owner,
            account,
            group,
            widget,
            WidgetGroup(widget=widget, group=group, label="Отдел продаж"),
        ]
    )
    db.session.commit()
    return owner.id, widget.id


def add_widget(owner_id: int, name: str, origin: str = "https://second.example") -> int:
    owner = db.session.get(Owner, owner_id)
    account = owner.pbx_accounts[0]
    group = account.groups[0]
    widget = Widget(owner=owner, pbx_account=account, name=name, origins=[origin])
    db.session.add_all([widget, WidgetGroup(widget=widget, group=group, label="Сервис")])
    db.session.commit()
    return widget.id


def add_request(
    widget_id: int,
    phone: str = PHONE,
    *,
    status: str = "no_operator",
    created_at: datetime | None = None,
    attempts: int = 2,
    outcome: str = "no_answer",
    **fields,
) -> int:
    widget = db.session.get(Widget, widget_id)
    req = CallbackRequest(
        widget=widget,
        widget_group=widget.offered_groups[0],
        phone=phone,
        name="Иван",
        origin=widget.origins[0],
        page_url=widget.origins[0] + "/catalog",
        consent_text="Согласен на обработку номера",
        status=status,
        created_at=created_at or utcnow(),
        **fields,
    )
    db.session.add(req)
    for seq in range(1, attempts + 1):
        db.session.add(
            CallAttempt(
                request=req,
                seq=seq,
                operator_pin=str(200 + seq),
                stage="ended",
                outcome=outcome,
                sent_at=req.created_at,
                created_at=req.created_at,
            )
        )
    db.session.commit()
    return req.id


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Mailbox:
    """An aiosmtpd handler that keeps every message it accepts."""

    def __init__(self):
        self.messages: list[email.message.EmailMessage] = []

    async def handle_DATA(self, server, session, envelope):
        self.messages.append(
            email.message_from_bytes(envelope.content, policy=email.policy.default)
        )
        return "250 OK"


class SmtpServer:
    def __init__(self, port: int):
        self.port = port
        self.mailbox = Mailbox()
        self.controller: Controller | None = None

    def start(self) -> None:
        self.controller = Controller(self.mailbox, hostname="127.0.0.1", port=self.port)
        self.controller.start()

    def stop(self) -> None:
        if self.controller is not None:
            self.controller.stop()
            self.controller = None


class WebhookReceiver:
    """The owner's CRM: checks the signature over the raw body, answers from a script."""

    def __init__(self, statuses: list[int] | None = None):
        self.secret = ""
        self.statuses = list(statuses or [])
        self.received: list[dict] = []
        self.lock = threading.Lock()
        self.server = ServerThread(self)

    @property
    def url(self) -> str:
        return f"{self.server.url}/hooks/callback"

    def __call__(self, environ, start_response):
        raw = environ["wsgi.input"].read(int(environ.get("CONTENT_LENGTH") or 0))
        expected = "sha256=" + hmac.new(self.secret.encode(), raw, hashlib.sha256).hexdigest()
        given = environ.get("HTTP_X_WIDGET_SIGNATURE", "")
        valid = hmac.compare_digest(expected, given)
        with self.lock:
            status = self.statuses.pop(0) if self.statuses else 200
            if not valid:
                status = 401
            self.received.append(
                {
                    "body": json.loads(raw),
                    "valid": valid,
                    "event": environ.get("HTTP_X_WIDGET_EVENT"),
                    "delivery": environ.get("HTTP_X_WIDGET_DELIVERY"),
                    "content_type": environ.get("CONTENT_TYPE"),
                    "status": status,
                }
            )
        start_response(f"{status} X", [("Content-Type", "text/plain")])
        return [b"ok"]


@pytest.fixture
def smtp_port():
    return free_port()


@pytest.fixture
def mail_app(tmp_path, smtp_port):
    return make_app(
        tmp_path,
        SMTP_HOST="127.0.0.1",
        SMTP_PORT=smtp_port,
        SMTP_SECURITY="none",
        SMTP_FROM="Виджет <widget@shop.example>",
        SMTP_TIMEOUT=2.0,
    )


@pytest.fixture
def smtp(smtp_port):
    server = SmtpServer(smtp_port)
    yield server
    server.stop()


@pytest.fixture
def receiver():
    running = WebhookReceiver()
    yield running
    running.server.stop()


def _rows(**where) -> list[Notification]:
    query = select(Notification).order_by(Notification.id)
    for name, value in where.items():
        query = query.where(getattr(Notification, name) == value)
    return list(db.session.scalars(query))


def _record_missed(owner_id: int, request_id: int, **extra) -> list[int]:
    rows = outbox.record(owner_id, "missed", request_id=request_id, extra=extra or None)
    db.session.commit()
    return [r.id for r in rows]


# -- e-mail ----------------------------------------------------------------------------------
def test_a_missed_request_reaches_the_owners_mailbox_with_the_full_number(mail_app, smtp, caplog):
    caplog.set_level(logging.DEBUG)
    smtp.start()
    with mail_app.app_context():
        owner_id, widget_id = make_site(notify_email="boss@shop.example")
        request_id = add_request(widget_id)
        [notification_id] = _record_missed(owner_id, request_id, reason="no operator answered")

        assert outbox.deliver_notification(notification_id) == "sent"

        row = db.session.get(Notification, notification_id)
        assert (row.status, row.tries, row.last_error) == ("sent", 1, None)
        assert row.sent_at is not None
    [message] = smtp.mailbox.messages
    assert message["Subject"] == f"Пропущенный звонок: {PHONE_SHOWN} (shop.example)"
    assert message["To"] == "boss@shop.example"
    assert message["X-Widget-Event"] == "missed"
    body = message.get_content()
    assert PHONE_SHOWN in body
    assert "Почему: никто из операторов отдела не ответил." in body
    assert "Иван" in body and "Отдел продаж" in body and "Магазин" in body
    assert "оператор 201: не ответил" in body
    assert "Подробности: no operator answered" in body
    assert "9161234567" not in caplog.text  # the full number is never logged


def test_each_kind_of_event_has_its_own_subject_and_reason(mail_app, smtp):
    smtp.start()
    with mail_app.app_context():
        owner_id, widget_id = make_site(notify_email="boss@shop.example")
        failed_id = add_request(widget_id, status="pbx_error")
        held_id = add_request(widget_id, status="queued", held_reason="number_limit", attempts=0)
        rows = [
            *outbox.record(owner_id, "failed", request_id=failed_id),
            *outbox.record(owner_id, "held", request_id=held_id),
        ]
        db.session.commit()
        ids = [r.id for r in rows]
        assert [outbox.deliver_notification(i) for i in ids] == ["sent", "sent"]
    failed, held = smtp.mailbox.messages
    assert failed["Subject"] == f"Не удалось позвонить: {PHONE_SHOWN} (shop.example)"
    assert "Почему: АТС не смогла соединить" in failed.get_content()
    assert held["Subject"] == f"Заявка не передана операторам: {PHONE_SHOWN} (shop.example)"
    assert "звонок не выполнялся (number_limit)" in held.get_content()


@pytest.fixture
def english_catalog(tmp_path):
    """The English catalog compiled into a folder of its own (the committed .mo may lag)."""
    folder = tmp_path / "translations"
    (folder / "en" / "LC_MESSAGES").mkdir(parents=True)
    with open(CATALOG, "rb") as source:
        catalog = read_po(source)
    with open(folder / "en" / "LC_MESSAGES" / "messages.mo", "wb") as target:
        write_mo(target, catalog)
    return str(folder)


def test_an_owner_who_reads_english_gets_the_mail_in_english_and_others_in_russian(
    tmp_path, smtp_port, smtp, english_catalog
):
    smtp.start()
    app = make_app(
        tmp_path,
        SMTP_HOST="127.0.0.1",
        SMTP_PORT=smtp_port,
        SMTP_SECURITY="none",
        SMTP_TIMEOUT=2.0,
        BABEL_TRANSLATION_DIRECTORIES=english_catalog,
    )
    with app.app_context():
        english, en_widget = make_site(notify_email="boss@shop.example", language="en")
        russian, ru_widget = make_site("ru@else.example", notify_email="ru@else.example")
        ids = [
            *_record_missed(english, add_request(en_widget), reason="no operator answered"),
            *_record_missed(russian, add_request(ru_widget)),
        ]
        assert [outbox.deliver_notification(i) for i in ids] == ["sent", "sent"]
    in_english, in_russian = smtp.mailbox.messages
    assert in_english["Subject"] == f"Missed call: {PHONE_SHOWN} (shop.example)"
    body = in_english.get_content()
    assert "Missed call from shop.example." in body
    assert "Why: no operator of the department answered." in body
    assert "1. operator 201: no answer" in body
    assert "Details: no operator answered" in body
    assert "Please call the visitor back." in body
    assert not re.search(
        "[а-яё]", body.replace("Иван", "").replace("Отдел продаж", "").replace("Магазин", ""), re.I
    )
    assert in_russian["Subject"] == f"Пропущенный звонок: {PHONE_SHOWN} (shop.example)"
    assert "Почему: никто из операторов отдела не ответил." in in_russian.get_content()


def test_a_mail_server_that_is_down_delays_the_mail_and_delivers_it_exactly_once_when_up(
    mail_app, smtp
):
    with mail_app.app_context():
        owner_id, widget_id = make_site(notify_email="boss@shop.example")
        request_id = add_request(widget_id)
        [notification_id] = _record_missed(owner_id, request_id)
        created = db.session.get(Notification, notification_id).created_at

        # Nothing listens on the SMTP port.
        assert outbox.deliver_notification(notification_id, now=created) == "retry"
        row = db.session.get(Notification, notification_id)
        assert (row.status, row.tries) == ("pending", 1)
        assert "Connection" in row.last_error or "refused" in row.last_error.lower()
        # The next try is stored to the whole second, so measure from the whole second.
        retry_at = outbox.next_try_at(row)
        assert timedelta(seconds=30) <= retry_at - created.replace(microsecond=0)
        assert retry_at - created <= timedelta(seconds=38)
        # The request itself is untouched by the mail outage.
        assert db.session.get(CallbackRequest, request_id).status == "no_operator"

        # Not due yet: neither the sweep nor an early job sends it.
        assert outbox.sweep_notifications(now=created + timedelta(seconds=5)) == 0
        assert outbox.deliver_notification(notification_id, now=created) == "skipped"

        # A restart lost the scheduled retry; the mail server is back; the sweep finds the row.
        smtp.start()
        queue = mail_app.extensions["queue"]
        queue.huey.flush()
        later = created + timedelta(minutes=1)
        assert outbox.sweep_notifications(now=later) == 1
        assert [(t.name, t.args) for t in queue.huey.pending()] == [
            ("deliver_notification", (notification_id,))
        ]
        assert outbox.deliver_notification(notification_id, now=later) == "sent"
        # A duplicate job (the lost schedule did run after all) sends nothing more.
        assert outbox.deliver_notification(notification_id, now=later) == "skipped"
        assert outbox.sweep_notifications(now=later + timedelta(hours=1)) == 0

        row = db.session.get(Notification, notification_id)
        assert (row.status, row.tries, row.last_error) == ("sent", 2, None)
    assert len(smtp.mailbox.messages) == 1
    assert PHONE_SHOWN in smtp.mailbox.messages[0].get_content()


def test_retries_back_off_exponentially_up_to_half_an_hour():
    assert 30 <= outbox.backoff(1) <= 37.5
    assert 60 <= outbox.backoff(2) <= 75
    assert 120 <= outbox.backoff(3) <= 150
    assert 1800 <= outbox.backoff(12) <= 2250


def test_a_notification_undelivered_for_two_days_is_given_up_with_an_error_log(mail_app, caplog):
    with mail_app.app_context():
        owner_id, widget_id = make_site(notify_email="boss@shop.example")
        [notification_id] = _record_missed(owner_id, add_request(widget_id))
        created = db.session.get(Notification, notification_id).created_at

        assert outbox.deliver_notification(notification_id, now=created) == "retry"
        assert db.session.get(Notification, notification_id).status == "pending"
        caplog.set_level(logging.ERROR)
        late = created + timedelta(days=2, minutes=1)
        assert outbox.deliver_notification(notification_id, now=late) == "failed"

        row = db.session.get(Notification, notification_id)
        assert (row.status, row.tries) == ("failed", 2)
        assert outbox.sweep_notifications(now=late + timedelta(hours=1)) == 0
    assert any(r.levelno == logging.ERROR and "given up" in r.getMessage() for r in caplog.records)


def test_without_smtp_settings_no_email_is_queued_but_the_webhook_still_is(
    app, receiver, monkeypatch, caplog
):
    monkeypatch.setattr(channels, "_smtp_warned", False)
    with app.app_context():
        owner_id, widget_id = make_site(notify_email="boss@shop.example")
        setup.configure_owner(db.session.get(Owner, owner_id), webhook_url=receiver.url)
        rows = outbox.record(owner_id, "missed", request_id=add_request(widget_id))
        outbox.record(owner_id, "missed", request_id=add_request(widget_id))
        db.session.commit()
        assert [r.channel for r in rows] == ["webhook"]
        assert {r.channel for r in _rows()} == {"webhook"}
    warnings = [r for r in caplog.records if "WIDGET_SMTP_HOST" in r.getMessage()]
    assert len(warnings) == 1  # warned once, not per notification


def test_an_owner_without_any_channel_gets_no_rows(app):
    with app.app_context():
        owner_id, widget_id = make_site()
        assert outbox.record(owner_id, "missed", request_id=add_request(widget_id)) == []
        db.session.commit()
        assert _rows() == []


# -- recording ---------------------------------------------------------------------------------
def test_recording_the_same_event_twice_tells_the_owner_once_per_channel(mail_app, receiver):
    with mail_app.app_context():
        owner_id, widget_id = make_site(notify_email="boss@shop.example")
        setup.configure_owner(db.session.get(Owner, owner_id), webhook_url=receiver.url)
        request_id = add_request(widget_id)

        first = outbox.record(owner_id, "missed", request_id=request_id)
        db.session.commit()
        second = outbox.record(owner_id, "missed", request_id=request_id)
        db.session.commit()

        assert sorted(r.channel for r in first) == ["email", "webhook"]
        assert second == []
        assert len(_rows()) == 2
        assert {r.dedupe_key for r in _rows()} == {str(request_id)}
        # Another kind for the same request is another message.
        assert len(outbox.record(owner_id, "failed", request_id=request_id)) == 2


def test_a_notification_is_part_of_the_callers_transaction(mail_app):
    with mail_app.app_context():
        owner_id, widget_id = make_site(notify_email="boss@shop.example")
        request_id = add_request(widget_id)
        req = db.session.get(CallbackRequest, request_id)
        req.status = "pbx_error"
        outbox.record(owner_id, "failed", request_id=request_id)
        db.session.rollback()  # the caller's change failed: no message about it either

        assert _rows() == []
        assert db.session.get(CallbackRequest, request_id).status == "no_operator"


def test_the_payload_holds_what_the_owner_needs_to_call_back(mail_app):
    with mail_app.app_context():
        owner_id, widget_id = make_site(notify_email="boss@shop.example")
        request_id = add_request(widget_id, created_at=datetime(2026, 3, 10, 9, 30, 5))
        [row] = outbox.record(owner_id, "missed", request_id=request_id, extra={"x": 1})
        db.session.commit()
        request = row.payload["request"]
        widget = db.session.get(Widget, widget_id)
        assert request["phone"] == PHONE
        assert request["widget"] == {"key": widget.public_key, "name": "Магазин"}
        assert request["origin"] == "https://shop.example"
        assert (request["name"], request["department"]) == ("Иван", "Отдел продаж")
        assert (request["status"], request["created_at"]) == ("no_operator", "2026-03-10T09:30:05Z")
        assert request["attempts"][0] == {
            "operator_pin": "201",
            "outcome": "no_answer",
            "duration": None,
            "sent_at": "2026-03-10T09:30:05Z",
        }
        assert row.payload["extra"] == {"x": 1}


def test_an_unknown_kind_is_refused():
    with pytest.raises(ValueError, match="unknown notification kind"):
        outbox.record(1, "lost", request_id=1)


# -- webhook ---------------------------------------------------------------------------------
def test_the_webhook_is_signed_over_the_raw_body_and_retried_after_a_500(app, receiver):
    receiver.statuses = [500, 200]
    with app.app_context():
        owner_id, widget_id = make_site()
        owner = db.session.get(Owner, owner_id)
        receiver.secret = setup.configure_owner(owner, webhook_url=receiver.url)
        request_id = add_request(widget_id)
        [notification_id] = _record_missed(owner_id, request_id, reason="no operator answered")
        created = db.session.get(Notification, notification_id).created_at

        assert outbox.deliver_notification(notification_id, now=created) == "retry"
        row = db.session.get(Notification, notification_id)
        assert (row.status, row.last_error) == (
            "pending",
            "DeliveryError: the webhook answered HTTP 500",
        )
        later = created + timedelta(minutes=1)
        assert outbox.deliver_notification(notification_id, now=later) == "sent"
        assert db.session.get(Notification, notification_id).status == "sent"

    first, second = receiver.received
    assert [first["status"], second["status"]] == [500, 200]
    assert first["valid"] and second["valid"]
    assert first["body"] == second["body"]
    assert first["delivery"] == second["delivery"] == str(notification_id)
    assert (second["event"], second["content_type"]) == ("missed", "application/json")
    body = second["body"]
    assert (body["event"], body["id"]) == ("missed", notification_id)
    assert body["request"]["id"] == request_id
    assert body["request"]["phone"] == PHONE
    assert body["details"] == {"reason": "no operator answered"}
    assert "delivery" not in body  # our bookkeeping stays ours


def test_a_webhook_signed_with_another_secret_does_not_verify(app, receiver):
    with app.app_context():
        owner_id, widget_id = make_site()
        setup.configure_owner(db.session.get(Owner, owner_id), webhook_url=receiver.url)
        receiver.secret = "not-the-secret"
        [notification_id] = _record_missed(owner_id, add_request(widget_id))
        assert outbox.deliver_notification(notification_id) == "retry"
    assert receiver.received[0]["valid"] is False


def test_the_signature_is_hmac_sha256_of_the_body_in_hex():
    body = b'{"event":"missed"}'
    expected = hmac.new(b"s3cret", body, hashlib.sha256).hexdigest()
    assert webhook.sign("s3cret", body) == f"sha256={expected}"


def test_a_request_nobody_answers_reaches_the_owners_crm_through_the_queue(tmp_path, receiver):
    stack, stop = build_stack(tmp_path, group_rounds=1)
    try:
        with stack.app.app_context():
            owner = db.session.scalar(select(Owner))
            receiver.secret = setup.configure_owner(owner, webhook_url=receiver.url)
        handle = stack.submit("+7 900 000-00-01").json()["handle"]  # nobody answers
        assert stack.wait_final(handle, timeout=30)["status"] == "no_operator"
        stack.wait_until(lambda: receiver.received, timeout=10, message="the webhook")
        [delivery] = receiver.received
        assert delivery["valid"] and delivery["event"] == "missed"
        assert delivery["body"]["request"]["phone"] == "+79000000001"
        assert delivery["body"]["request"]["status"] == "no_operator"
        with stack.app.app_context():
            stack.wait_until(
                lambda: db.session.scalar(select(Notification.status)) == "sent",
                message="the row marked sent",
            )
    finally:
        stop()


def test_kick_starts_a_sweep_and_never_fails_the_caller(app, monkeypatch):
    with app.app_context():
        huey = app.extensions["queue"].huey
        huey.flush()
        outbox.kick()
        assert [t.name for t in huey.pending()] == ["sweep_notifications"]

        def broken(*_args, **_kwargs):
            raise ConnectionError("queue down")

        monkeypatch.setattr(huey, "enqueue", broken)
        outbox.kick()  # logged, not raised


# -- digest ------------------------------------------------------------------------------------
def test_the_daily_digest_counts_yesterdays_requests_per_widget(mail_app, smtp):
    smtp.start()
    # 08:00 in Moscow on 11 March: "yesterday" is 10 March, Moscow time.
    now = datetime(2026, 3, 11, 5, 0)
    in_day = datetime(2026, 3, 10, 12, 0)
    with mail_app.app_context():
        owner_id, shop = make_site(notify_email="boss@shop.example")
        second = add_widget(owner_id, "Сервис-центр")
        add_request(shop, status="finished", created_at=datetime(2026, 3, 9, 21, 30))  # 00:30 MSK
        add_request(shop, status="finished", created_at=in_day)
        # Ended, but nothing confirmed the visitor talked (pbx.events.decide_outcome).
        add_request(shop, status="finished", created_at=in_day, attempts=1, outcome="unconfirmed")
        add_request(shop, status="no_operator", created_at=in_day)
        add_request(shop, status="visitor_busy", created_at=in_day)
        add_request(shop, status="pbx_error", created_at=in_day)
        add_request(shop, status="queued", held_reason="number_limit", created_at=in_day)
        add_request(second, status="finished", created_at=in_day)
        add_request(second, status="visitor_no_answer", created_at=in_day)
        add_request(shop, status="finished", created_at=datetime(2026, 3, 9, 20, 0))  # the 9th
        add_request(shop, status="finished", created_at=datetime(2026, 3, 10, 21, 30))  # the 11th
        other_owner, other_widget = make_site("other@else.example", notify_email="o@else.example")
        add_request(other_widget, status="finished", created_at=in_day)

        assert send_daily_digests(now=now) == 2  # one owner each
        assert send_daily_digests(now=now + timedelta(hours=1)) == 0  # once a day

        [row] = _rows(owner_id=owner_id)
        assert (row.kind, row.dedupe_key, row.request_id) == ("digest", "2026-03-10", None)
        digest = row.payload["digest"]
        assert digest["date"] == "2026-03-10"
        assert digest["totals"] == {
            "total": 9,
            "connected": 3,
            "unconfirmed": 1,
            "missed": 3,
            "failed": 1,
            "held": 1,
            "cancelled": 0,
            "open": 0,
        }
        by_widget = {w["name"]: w for w in digest["widgets"]}
        assert (by_widget["Магазин"]["total"], by_widget["Магазин"]["missed"]) == (7, 2)
        assert (by_widget["Сервис-центр"]["total"], by_widget["Сервис-центр"]["connected"]) == (
            2,
            1,
        )
        [other] = _rows(owner_id=other_owner)
        assert other.payload["digest"]["totals"]["total"] == 1

        assert outbox.deliver_notification(row.id) == "sent"
    [message] = smtp.mailbox.messages
    assert message["Subject"] == "Заявки за 10.03.2026: 9"
    body = message.get_content()
    assert "всего: 9, соединены: 3, разговор не подтверждён: 1, пропущены: 3" in body
    assert "Виджет «Сервис-центр»" in body
    assert "9161234567" not in body and "916 123" not in body  # no numbers in a digest


def test_no_digest_for_an_owner_who_turned_it_off_or_had_no_requests(mail_app):
    now = datetime(2026, 3, 11, 5, 0)
    with mail_app.app_context():
        quiet, _ = make_site(notify_email="quiet@shop.example")
        _off, widget = make_site("off@b.example", notify_email="off@b.example", daily_digest=False)
        add_request(widget, status="finished", created_at=datetime(2026, 3, 10, 12, 0))
        assert send_daily_digests(now=now) == 0
        assert _rows() == []


# -- settings and the command line ---------------------------------------------------------------
def test_smtp_settings_are_parsed_strictly():
    settings = load_settings(
        {
            "WIDGET_SMTP_HOST": "smtp.example.ru",
            "WIDGET_SMTP_PORT": "465",
            "WIDGET_SMTP_SECURITY": "SSL",
            "WIDGET_SMTP_USER": "robot@example.ru",
            "WIDGET_SMTP_PASSWORD": "pa55",
            "WIDGET_SMTP_FROM": "Виджет <robot@example.ru>",
        }
    )
    assert (settings["SMTP_PORT"], settings["SMTP_SECURITY"]) == (465, "ssl")
    assert settings["SMTP_FROM"] == "Виджет <robot@example.ru>"
    assert load_settings({})["SMTP_HOST"] is None
    assert (load_settings({})["SMTP_PORT"], load_settings({})["SMTP_SECURITY"]) == (587, "starttls")
    for name, value in [
        ("WIDGET_SMTP_PORT", "0"),
        ("WIDGET_SMTP_PORT", "smtp"),
        ("WIDGET_SMTP_SECURITY", "tls"),
        ("WIDGET_SMTP_FROM", "not an address"),
        ("WIDGET_SMTP_TIMEOUT", "nan"),
    ]:
        with pytest.raises(ConfigError, match=name):
            load_settings({name: value})


def test_an_smtp_password_without_a_user_is_refused_without_showing_it():
    with pytest.raises(ConfigError, match="WIDGET_SMTP_USER") as error:
        load_settings({"WIDGET_SMTP_PASSWORD": "hunter2-secret"})
    assert "hunter2-secret" not in str(error.value)


def _cli(tmp_path, *args, private_networks: bool = True):
    env = {
        "WIDGET_INSTANCE_PATH": str(tmp_path / "instance"),
        "WIDGET_DATABASE_URL": database_url(tmp_path),
        "WIDGET_SECRET_KEY": "cli-test-secret-0123456789abcdef",
        "WIDGET_ALLOW_PRIVATE_NETWORKS": "1" if private_networks else "0",
    }
    return CliRunner().invoke(main, list(args), env=env)


def test_set_notifications_prints_a_new_webhook_secret_once_and_stores_the_settings(app, tmp_path):
    with app.app_context():
        owner_id, _ = make_site()
    result = _cli(
        tmp_path,
        "set-notifications",
        "--owner",
        "Owner@Shop.Example",
        "--email",
        "boss@shop.example",
        "--webhook-url",
        "https://crm.shop.example/hooks/callback",
        "--no-digest",
        "--retention-days",
        "14",
    )
    assert result.exit_code == 0, result.output
    [secret] = [
        line.rsplit(" ", 1)[1]
        for line in result.output.splitlines()
        if line.startswith("Webhook secret")
    ]
    assert len(secret) == 64
    assert "WIDGET_SMTP_HOST" in result.output  # e-mail set, but no SMTP server configured
    with app.app_context():
        owner = db.session.get(Owner, owner_id)
        assert owner.notify_email == "boss@shop.example"
        assert owner.webhook_url == "https://crm.shop.example/hooks/callback"
        assert owner.webhook_secret == secret
        assert (owner.daily_digest, owner.retention_days) == (False, 14)

    result = _cli(tmp_path, "set-notifications", "--owner", "owner@shop.example", "--no-webhook")
    assert result.exit_code == 0, result.output
    assert "secret" not in result.output.lower()
    assert "webhook: off" in result.output
    with app.app_context():
        owner = db.session.get(Owner, owner_id)
        assert (owner.webhook_url, owner.webhook_secret) == (None, None)
        assert owner.notify_email == "boss@shop.example"  # untouched


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--webhook-url", "http://crm.shop.example/hook"], "https://"),
        (["--webhook-url", "ftp://crm.shop.example/hook"], "https://"),
        (["--webhook-url", "https://127.0.0.1:8000/readyz"], "not a public internet address"),
        (["--email", "not-an-address"], "not an e-mail address"),
        (["--email", "a@b.example", "--no-email"], "either --email or --no-email"),
        (["--retention-days", "0"], "retention-days"),
    ],
)
def test_set_notifications_refuses_bad_values(app, tmp_path, args, message):
    with app.app_context():
        make_site()
    # The CLI is under the same outbound policy as the config page.
    owner_args = ("set-notifications", "--owner", "owner@shop.example", *args)
    result = _cli(tmp_path, *owner_args, private_networks=False)
    assert result.exit_code != 0
    assert message in result.output
    with app.app_context():
        owner = db.session.scalar(select(Owner))
        assert (owner.notify_email, owner.webhook_url) == (None, None)
