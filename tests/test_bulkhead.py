"""One owner's slow PBX holds a share of the queue's workers, never all of them: another
owner's visitor is dialled at once while the slow PBX keeps its own work waiting, and
nothing of the slow owner's is lost (``bulkhead.py``, ``dispatch/queue.py``)."""

from __future__ import annotations

import threading
import time

from widget_server import setup
from widget_server.bulkhead import Bulkhead, share_of
from widget_server.dispatch.queue import start_consumer_threads
from widget_server.dispatch.schedule import ALWAYS_OPEN
from widget_server.extensions import db
from widget_server.models import CallbackRequest
from widget_server.pbx import directory

from .admin_support import make_owner, post_form, sign_in
from .conftest import make_app
from .dispatch_support import FakePbx, SlowDirectory, submit_request


class Holders:
    """One thread per key, each holding its key's place in ``shares`` until ``leave()``;
    ``got`` is what each was given, (key, held), in the order they asked."""

    def __init__(self, shares: Bulkhead, keys: tuple[str, ...], *, one_at_a_time: bool = False):
        self.got: list[tuple[str, bool]] = []
        self._shares = shares
        self._asked = threading.Condition()
        self._inside = threading.Barrier(len(keys) + 1)
        self._leave = threading.Event()
        self._workers = []
        for key in keys:
            self._workers.append(threading.Thread(target=self._hold, args=(key,)))
            self._workers[-1].start()
            if one_at_a_time:  # each has its answer before the next asks: who gets what is known
                with self._asked:
                    assert self._asked.wait_for(lambda: len(self.got) == len(self._workers), 5)
        self._inside.wait(5)  # every one of them has its answer

    def _hold(self, key: str) -> None:
        with self._shares.hold(key) as held:
            with self._asked:
                self.got.append((key, held))
                self._asked.notify_all()
            self._inside.wait(5)
            self._leave.wait(5)

    def leave(self) -> None:
        self._leave.set()
        for each in self._workers:
            each.join()


def test_a_key_holds_at_most_its_size_and_gives_its_places_back():
    shares = Bulkhead(2)
    holders = Holders(shares, ("a", "a", "a", "b"))
    assert sorted(holders.got) == [("a", False), ("a", True), ("a", True), ("b", True)]
    assert (shares.taken("a"), shares.taken("b")) == (2, 1)
    holders.leave()
    assert shares.taken("a") == shares.taken("b") == 0


def test_a_worker_that_holds_a_key_already_uses_the_same_place_for_a_job_inside():
    shares = Bulkhead(1)
    with shares.hold("pbx:1") as outer, shares.hold("pbx:1") as inner:
        assert outer and inner
        assert shares.taken("pbx:1") == 1
    assert shares.taken("pbx:1") == 0


def test_each_worker_thread_counts_for_itself():
    shares = Bulkhead(1)
    seen = []
    with shares.hold("pbx:1"):

        def other_worker():
            with shares.hold("pbx:1") as got:
                seen.append(got)

        worker = threading.Thread(target=other_worker)
        worker.start()
        worker.join()
    assert seen == [False]


def test_a_key_goes_past_its_share_only_while_the_room_lasts():
    holders = Holders(Bulkhead(1, room=2), ("a", "a", "a", "b"), one_at_a_time=True)
    # "a" takes its share and the room; the third "a" finds both taken; "b" its own share.
    assert holders.got == [("a", True), ("a", True), ("a", False), ("b", True)]
    holders.leave()


def test_an_account_may_take_a_quarter_of_the_workers_and_at_least_two():
    assert [share_of(n) for n in (1, 2, 8, 16, 32)] == [2, 2, 2, 4, 8]


class TwoPbxes(FakePbx):
    """Account ``slow`` answers call_back only when the test lets it; the other at once."""

    def __init__(self, slow_account_id: int) -> None:
        super().__init__()
        self.slow_account_id = slow_account_id
        self.release = threading.Event()
        self.waiting = 0
        self.most_waiting = 0
        self.placed: dict[str, float] = {}
        self._lock = threading.Lock()
        self._account = threading.local()

    def __call__(self, account):
        self._account.id = account.id
        return self

    def call_back(self, phone: str, *, from_pin: str) -> str:
        if self._account.id == self.slow_account_id:
            with self._lock:
                self.waiting += 1
                self.most_waiting = max(self.most_waiting, self.waiting)
            self.release.wait(30)
            with self._lock:
                self.waiting -= 1
        with self._lock:
            self.placed[phone] = time.monotonic()
            return super().call_back(phone, from_pin=from_pin)


def _site(owner_email: str, host: str):
    owner = setup.create_owner(owner_email, "correct horse")
    account = directory.add_pbx(owner, f"http://{host}", "CLIENT", "KEY")
    directory.sync_groups(account)
    widget = setup.add_widget(account, [f"https://{host}"], [("101", None)])
    widget.hours, widget.public_holidays = ALWAYS_OPEN, False
    db.session.commit()
    return account.id, widget.id


def test_a_slow_pbx_with_a_burst_leaves_the_other_owners_visitor_dialled_at_once(tmp_path):
    app = make_app(tmp_path, QUEUE_WORKERS=8, DISPATCH_DEADLINE=900)
    with app.app_context():
        # The directory is read through the factory too: a plain fake while sites are made.
        app.extensions["pbx_client_factory"] = FakePbx()
        slow_account, slow_widget = _site("slow@example.com", "slow.example")
        _, other_widget = _site("other@example.com", "other.example")
    pbx = TwoPbxes(slow_account)
    app.extensions["pbx_client_factory"] = pbx
    consumer = app.extensions["queue"].consumer(workers=8)
    start_consumer_threads(consumer)
    try:
        burst = [submit_request(app, slow_widget, f"+7916100{n:04d}") for n in range(12)]
        time.sleep(1.0)  # the slow account's jobs have reached the workers
        asked = time.monotonic()
        submit_request(app, other_widget, "+79162220000")
        deadline = time.monotonic() + 10
        while "+79162220000" not in pbx.placed and time.monotonic() < deadline:
            time.sleep(0.05)
        assert "+79162220000" in pbx.placed, "the other owner's visitor was never dialled"
        assert pbx.placed["+79162220000"] - asked < 5
        # The slow PBX took every worker but a share, which stayed free for the others.
        assert pbx.most_waiting == 8 - share_of(8)

        pbx.release.set()  # the slow PBX answers again: its own work goes on, none lost
        deadline = time.monotonic() + 60
        while len(pbx.placed) < 13 and time.monotonic() < deadline:
            time.sleep(0.1)
        assert len(pbx.placed) == 13
        assert pbx.most_waiting == 8 - share_of(8)
    finally:
        pbx.release.set()
        consumer.stop(graceful=False)
    with app.app_context():
        dialled = db.session.scalars(
            db.select(CallbackRequest).where(CallbackRequest.id.in_(burst))
        ).all()
        assert all(len(req.attempts) == 1 for req in dialled)  # each dialled exactly once


def test_an_owners_saves_of_a_slow_pbx_wait_one_at_a_time_and_the_rest_are_told_at_once(
    tmp_path,
):
    """Saving the PBX form asks the PBX in the request (it must know the answer before it
    stores anything): one save per owner waits, a second is told so at once and holds no
    request slot. Checks and refreshes run in the queue (tests/test_connection_check.py)."""
    app = make_app(tmp_path)
    make_owner(app)
    with app.app_context():
        owner = setup.find_owner("owner@example.com")
        account_id = directory.add_pbx(owner, "https://pbx.example", "CLIENT", "KEY").id
    pbx = SlowDirectory()
    app.extensions["pbx_client_factory"] = pbx
    page = f"/admin/pbx/{account_id}/edit"
    form = {"api_choice": "custom", "custom_url": "https://pbx.example", "client_id": "CLIENT"}
    first, second = app.test_client(), app.test_client()
    sign_in(first)
    sign_in(second)
    answers = {}
    waiting = threading.Thread(
        target=lambda: answers.update(first=post_form(first, page, form, page_url=page))
    )
    waiting.start()
    try:
        assert pbx.asked.wait(10)
        started = time.monotonic()
        again = post_form(second, page, form, page_url=page)
        assert time.monotonic() - started < 5
        assert "Предыдущая проверка подключения ещё ждёт ответа АТС" in again.get_data(as_text=True)
    finally:
        pbx.release.set()
        waiting.join(30)
    assert answers["first"].status_code == 302, answers["first"].get_data(as_text=True)[-800:]
