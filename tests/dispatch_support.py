"""A fake PBX and a hand-cranked queue for fast tests of the call machine.

``FakePbx`` stands in for ``PbxClient`` through ``app.extensions["pbx_client_factory"]``:
it records every call and answers ``call_back`` as the test tells it. ``Jobs`` runs
the queue's jobs in the test's thread: due jobs at once, delayed ones only when the
test says so, so no test waits for a clock.
"""

from __future__ import annotations

import itertools
import threading
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import update

from widget_server import setup
from widget_server.dispatch import events
from widget_server.dispatch.schedule import ALWAYS_OPEN
from widget_server.extensions import db
from widget_server.models import (
    CallAttempt,
    CallbackRequest,
    Notification,
    PbxAccount,
    WidgetGroup,
    utcnow,
)
from widget_server.pbx import directory
from widget_server.pbx.client import PbxError

from .conftest import make_app

VISITOR = "+79161234567"
OPERATORS = ["201", "202", "203"]
GROUP = "101"

# What call_back may answer, by the word a test uses.
FAILURES = {
    "refused": dict(result="-20", retryable=False),  # this operator's leg cannot be placed
    "down": dict(result="connection", retryable=True),  # the PBX cannot be reached
    "timeout": dict(result="timeout", retryable=True, ambiguous=True),  # sent, no answer
    "denied": dict(result="-1", retryable=False),  # the PBX refuses the request itself
}


class FakePbx:
    """Records calls; ``call_back`` answers from ``answers`` ("ok" when it runs out)."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, tuple]] = []
        self.answers: list[str] = []
        self.call_infos: dict[str, dict[str, Any]] = {}
        self.unknown_sessions: set[str] = set()  # call_info answers "Сессия не найдена"
        self.during_call_back = None  # called with the session id before call_back returns
        self._sessions = itertools.count(1)

    def __call__(self, account: PbxAccount) -> FakePbx:
        return self  # the client factory

    def users_info(self) -> dict[str, Any]:
        self.calls.append(("users_info", ()))
        return {
            "users": [{"pin": pin, "name": f"op{pin}"} for pin in OPERATORS],
            "groups": [{"pin": GROUP, "name": "Sales", "users_list": OPERATORS}],
        }

    def call_back(self, phone: str, *, from_pin: str) -> str:
        self.calls.append(("call_back", (phone, from_pin)))
        answer = self.answers.pop(0) if self.answers else "ok"
        session_id = f"s{next(self._sessions)}"
        if answer == "ok":
            if self.during_call_back:
                self.during_call_back(session_id)
            return session_id
        raise PbxError(f"call_back {answer}", **FAILURES[answer])

    def call_info(self, session_id: str) -> dict[str, Any]:
        self.calls.append(("call_info", (session_id,)))
        if session_id in self.unknown_sessions:
            raise PbxError("call_info: Сессия не найдена", result="-1", retryable=False)
        return self.call_infos.get(session_id, {"state": "0", "duration": "0"})

    def domain_call_history(self, start, end) -> str:
        """This PBX keeps no journal: a call_back nobody heard back from goes to the owner."""
        self.calls.append(("domain_call_history", ()))
        raise PbxError("domain_call_history: not available", result="-1", retryable=False)

    def pins_rung(self) -> list[str]:
        return [args[1] for name, args in self.calls if name == "call_back"]


class SlowDirectory(FakePbx):
    """users_info waits until the test lets it answer (``asked`` is set meanwhile)."""

    def __init__(self) -> None:
        super().__init__()
        self.asked, self.release = threading.Event(), threading.Event()

    def users_info(self) -> dict[str, Any]:
        self.asked.set()
        assert self.release.wait(30), "the test never let the PBX answer"
        return super().users_info()


class Jobs:
    """The app's queue, run by hand: ``run()`` for what is due, ``run_later()`` for the rest."""

    # Delivering owner notifications is another package's business: left unrun.
    LEFT_ALONE = frozenset({"sweep_notifications"})

    def __init__(self, app) -> None:
        self.huey = app.extensions["queue"].huey
        self.later: list[Any] = []
        self.ran: list[str] = []

    def _take(self) -> None:
        while (task := self.huey.dequeue()) is not None:
            if task.name not in self.LEFT_ALONE:
                self.later.append(task)

    def run(self, limit: int = 100) -> list[str]:
        """Run every job due now, and the due jobs those enqueue; return their names."""
        names = []
        for _ in range(limit):
            self._take()
            now = self.huey._get_timestamp()
            due = next((t for t in self.later if t.eta is None or t.eta <= now), None)
            if due is None:
                return names
            self.later.remove(due)
            names.append(due.name)
            self.ran.append(due.name)
            due.execute()
        raise AssertionError(f"jobs keep coming: {names[-10:]}")

    def delayed(self) -> list[tuple[str, tuple, float]]:
        """The jobs waiting for a later time: (name, args, seconds from now)."""
        self._take()
        now = self.huey._get_timestamp()
        return [
            (t.name, tuple(t.args), (t.eta - now).total_seconds() if t.eta else 0.0)
            for t in self.later
        ]

    def run_later(self, name: str) -> list[str]:
        """Run the delayed ``name`` jobs now (their time has come), then whatever is due."""
        self._take()
        chosen = [t for t in self.later if t.name == name]
        assert chosen, f"no {name} job is waiting; waiting: {self.delayed()}"
        for task in chosen:
            self.later.remove(task)
            self.ran.append(task.name)
            task.execute()
        return [name] * len(chosen) + self.run()


@dataclass
class Snapshot:
    """A request as the database holds it, read in one go."""

    status: str
    round: int
    visitor_retries: int
    dispatch_tries: int
    next_dispatch_at: datetime | None
    held_reason: str | None
    attempts: list[dict[str, Any]] = field(default_factory=list)

    @property
    def outcomes(self) -> list[str | None]:
        return [a["outcome"] for a in self.attempts]


def submit_request(app, widget_id: int, phone: str = VISITOR) -> int:
    """Store a request for the widget's first department, due now, and enqueue its first
    dial, as the widget API does; its id."""
    with app.app_context():
        group_id = db.session.scalar(
            db.select(WidgetGroup.id).where(WidgetGroup.widget_id == widget_id).limit(1)
        )
        req = CallbackRequest(
            widget_id=widget_id,
            widget_group_id=group_id,
            phone=phone,
            origin="https://shop.example",
            consent_text="consent",
            next_dispatch_at=utcnow(),
        )
        db.session.add(req)
        db.session.commit()
        app.extensions["queue"].place_next_call(req.id)
        return req.id


def sent_without_answer(req: CallbackRequest) -> CallAttempt:
    """``req``'s first call_back sent to operator 201 (of 201, 202) and its answer never
    recorded: the process died in between, as a crash leaves it. Added to the session, not
    committed; the request waits for no job (``next_dispatch_at`` unset)."""
    req.operator_order, req.next_dispatch_at = ["201", "202"], None
    attempt = CallAttempt(
        request=req,
        seq=1,
        operator_pin="201",
        stage="sent",
        reached_stage="sent",
        sent_at=utcnow(),
    )
    db.session.add(attempt)
    return attempt


class World:
    """One owner, one PBX account with group 101 (operators 201–203), one widget."""

    def __init__(self, tmp_path, **config: Any) -> None:
        settings = {"DISPATCH_DEADLINE": 900, "VISITOR_RETRY_DELAY": 180, "UNPLACED_CHECK_AFTER": 0}
        settings.update(config)
        self.app = make_app(tmp_path, **settings)
        self.pbx = FakePbx()
        self.app.extensions["pbx_client_factory"] = self.pbx
        self.jobs = Jobs(self.app)
        self._clock = itertools.count(1)
        with self.app.app_context():
            owner = setup.create_owner("owner@example.com", "correct horse")
            # A channel, so what the owner would be told is recorded.
            owner.webhook_url, owner.webhook_secret = "https://owner.example/hook", "s" * 32
            account = directory.add_pbx(owner, "http://pbx.test", "CLIENT", "KEY")
            directory.sync_groups(account)
            widget = setup.add_widget(account, ["https://shop.example"], [(GROUP, None)])
            widget.hours, widget.public_holidays = ALWAYS_OPEN, False
            widget.group_rounds, widget.round_pause = 1, 30
            db.session.commit()
            self.account_id, self.widget_id = account.id, widget.id
        self.pbx.calls.clear()

    def widget(self, **settings: Any) -> None:
        """Change the widget's settings (ring_timeout, group_rounds, ring_strategy...)."""
        with self.app.app_context():
            widget = db.session.get(WidgetGroup, self._group_id()).widget
            for name, value in settings.items():
                setattr(widget, name, value)
            db.session.commit()

    def _group_id(self) -> int:
        return db.session.scalar(
            db.select(WidgetGroup.id).where(WidgetGroup.widget_id == self.widget_id)
        )

    def submit(self, phone: str = VISITOR) -> int:
        """Store a request due now and enqueue its first dial, as the widget API does."""
        return submit_request(self.app, self.widget_id, phone)

    def later(self, name: str) -> list[str]:
        """Let time pass until the delayed ``name`` jobs are due, and run them.

        The rows' ``next_dispatch_at`` come due with them, as they would on the clock.
        """
        with self.app.app_context():
            db.session.execute(
                update(CallbackRequest)
                .where(CallbackRequest.next_dispatch_at > utcnow())
                .values(next_dispatch_at=utcnow())
            )
            db.session.commit()
        return self.jobs.run_later(name)

    def event(self, session_id: str, state: str, *, pin: str = "201", **extra: Any) -> str:
        """Deliver one signed-and-verified ``call_events`` payload; return what happened."""
        payload = {
            "session_id": session_id,
            "state": state,
            "type": "outbound",
            "from_pin": pin,
            "request_number": extra.pop("request_number", VISITOR.lstrip("+")),
            "timestamp": extra.pop("timestamp", str(next(self._clock))),
            **extra,
        }
        with self.app.app_context():
            account = db.session.get(PbxAccount, self.account_id)
            return events.record_event(account, payload)

    def call_goes(self, session_id: str, *states: str, pin: str = "201") -> None:
        """A call's events in order: ``operator`` (rings), ``visitor``, ``talk``, ``end``.

        The shapes are dialect (a) of ``docs/pbx-dialects.md``: ``new``, then a
        ``calling`` for the operator's leg, then one for the visitor's.
        """
        shapes = {
            "operator": [("new", {}), ("calling", {"request_number": f"op{pin}@pbx.test"})],
            "visitor": [("calling", {})],
            "talk": [("connected", {})],
            "busy": [("disconnected", {"disconnect_reason": "3"})],
            "end": [("end", {})],
        }
        for name in states:
            for state, extra in shapes[name]:
                self.event(session_id, state, pin=pin, **extra)

    def request(self, request_id: int) -> Snapshot:
        with self.app.app_context():
            req = db.session.get(CallbackRequest, request_id)
            return Snapshot(
                status=req.status,
                round=req.round,
                visitor_retries=req.visitor_retries,
                dispatch_tries=req.dispatch_tries,
                next_dispatch_at=req.next_dispatch_at,
                held_reason=req.held_reason,
                attempts=[
                    {
                        "pin": a.operator_pin,
                        "session": a.session_id,
                        "alias": a.event_session_id,
                        "outcome": a.outcome,
                        "stage": a.stage,
                        "round": a.round,
                    }
                    for a in req.attempts
                ],
            )

    def notifications(self) -> list[str]:
        with self.app.app_context():
            return list(db.session.scalars(db.select(Notification.kind)))

    def backdate(self, seconds: float) -> None:
        """Move every recorded moment ``seconds`` into the past, as if time had passed."""
        ago = timedelta(seconds=seconds)
        with self.app.app_context():
            for attempt in db.session.scalars(db.select(CallAttempt)):
                attempt.sent_at -= ago
                if attempt.accepted_at is not None:
                    attempt.accepted_at -= ago
            for req in db.session.scalars(db.select(CallbackRequest)):
                if req.next_dispatch_at is not None:
                    req.next_dispatch_at -= ago
            db.session.commit()

    def lose_jobs(self) -> None:
        """The queue lost everything it held (a crash, a flushed store)."""
        self.jobs._take()
        self.jobs.later.clear()
