"""The PBX page's "check the connection" and "refresh groups" run in the queue: the click
books a job and returns at once, the page says it is waiting and looks again, then shows
the answer in words. A PBX that answers slowly holds a queue worker of its own account's
share, never the web's request slot (issue 26, part 1)."""

from __future__ import annotations

import re
import threading
import time
from datetime import timedelta

from widget_server import setup
from widget_server.extensions import db
from widget_server.models import PbxAccount
from widget_server.pbx import directory

from .admin_support import make_owner, post_form, sign_in
from .conftest import make_app
from .dispatch_support import FakePbx, Jobs, SlowDirectory


def _site(tmp_path, pbx):
    app = make_app(tmp_path)
    make_owner(app)
    with app.app_context():
        owner = setup.find_owner("owner@example.com")
        account_id = directory.add_pbx(owner, "https://pbx.example", "CLIENT", "KEY").id
    app.extensions["pbx_client_factory"] = pbx
    client = app.test_client()
    sign_in(client)
    return app, client, account_id


def _check_block(response) -> str:
    found = re.search(r'id="check-result">(.*?)</div>', response.get_data(as_text=True), re.S)
    assert found, "the page shows no check"
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", found.group(1))).strip()


def _age(app, account_id: int, **ago: timedelta) -> None:
    """Move the check's times back, as if that long had passed (no clock is waited for)."""
    with app.app_context():
        account = db.session.get(PbxAccount, account_id)
        for column, delta in ago.items():
            setattr(account, column, getattr(account, column) - delta)
        db.session.commit()


def _refreshes(response) -> bool:
    return 'http-equiv="refresh"' in response.get_data(as_text=True)


def test_a_click_on_a_slow_pbx_returns_at_once_and_the_page_waits_for_the_answer(tmp_path):
    pbx = SlowDirectory()
    app, client, account_id = _site(tmp_path, pbx)
    page = f"/admin/pbx/{account_id}"
    started = time.monotonic()
    booked = post_form(client, f"{page}/check", {}, page_url=page)
    assert booked.status_code == 302 and time.monotonic() - started < 5
    assert not pbx.asked.is_set(), "the request itself asked the PBX"
    worker = threading.Thread(target=Jobs(app).run)
    worker.start()
    try:
        assert pbx.asked.wait(10)
        waiting = client.get(page)
        assert "Спрашиваем АТС" in _check_block(waiting)
        assert _refreshes(waiting)
    finally:
        pbx.release.set()
        worker.join(30)
    answered = client.get(page)
    assert "Подключение работает: АТС ответила." in _check_block(answered)
    assert not _refreshes(answered)


def test_a_second_click_while_the_first_waits_books_nothing_and_says_why(tmp_path):
    pbx = SlowDirectory()
    app, client, account_id = _site(tmp_path, pbx)
    page = f"/admin/pbx/{account_id}"
    jobs = Jobs(app)
    post_form(client, f"{page}/check", {}, page_url=page)
    again = client.get(post_form(client, f"{page}/sync", {}, page_url=page).location)
    assert "Предыдущая проверка подключения ещё ждёт ответа АТС" in again.get_data(as_text=True)
    assert [name for name, *_ in jobs.delayed()] == ["check_connection"]


def test_a_refresh_of_groups_in_the_queue_stores_them_and_says_how_many(tmp_path):
    app, client, account_id = _site(tmp_path, FakePbx())
    page = f"/admin/pbx/{account_id}"
    post_form(client, f"{page}/sync", {}, page_url=page)
    assert "Получаем группы и сотрудников" in _check_block(client.get(page))
    Jobs(app).run()
    shown = client.get(page)
    assert re.search(r"Получено от АТС: сотрудников \d+, групп \d+\.", _check_block(shown))
    with app.app_context():
        account = db.session.get(PbxAccount, account_id)
        assert account.synced_at is not None and account.groups


def test_a_check_the_queue_never_took_says_so_after_a_minute_and_can_be_booked_again(tmp_path):
    app, client, account_id = _site(tmp_path, FakePbx())
    page = f"/admin/pbx/{account_id}"
    post_form(client, f"{page}/check", {}, page_url=page)
    _age(app, account_id, check_asked_at=timedelta(seconds=90))
    stalled = client.get(page)
    assert "Проверка не началась за минуту" in _check_block(stalled)
    assert not _refreshes(stalled)
    post_form(client, f"{page}/check", {}, page_url=page)
    assert "Спрашиваем АТС" in _check_block(client.get(page))


def test_an_answer_older_than_an_hour_is_no_longer_shown(tmp_path):
    app, client, account_id = _site(tmp_path, FakePbx())
    page = f"/admin/pbx/{account_id}"
    post_form(client, f"{page}/check", {}, page_url=page)
    Jobs(app).run()
    assert "Подключение работает" in _check_block(client.get(page))
    _age(app, account_id, check_asked_at=timedelta(hours=2), check_done_at=timedelta(hours=2))
    assert 'id="check-result"' not in client.get(page).get_data(as_text=True)


def test_a_queue_that_cannot_be_reached_is_said_in_words_not_checking_forever(
    tmp_path, monkeypatch
):
    app, client, account_id = _site(tmp_path, FakePbx())
    page = f"/admin/pbx/{account_id}"

    def unreachable(*args, **kwargs):
        raise ConnectionError("queue down")

    queue = app.extensions["queue"]
    monkeypatch.setitem(queue.tasks, "check_connection", unreachable)
    post_form(client, f"{page}/check", {}, page_url=page)
    shown = client.get(page)
    assert "очередь задач сервиса сейчас недоступна" in _check_block(shown)
    assert not _refreshes(shown)
