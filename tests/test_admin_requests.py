"""The requests log on the config page: filters, CSV, timelines, recordings, report as junk."""

from __future__ import annotations

import csv
import io
import re
from datetime import datetime, timedelta

import pytest

from widget_server.admin.request_detail import pbx_answer_words
from widget_server.admin.request_stats import DISPLAY_TZ, day_start_utc
from widget_server.extensions import db
from widget_server.models import (
    CallAttempt,
    CallbackRequest,
    CallEvent,
    PbxAccount,
    PbxGroup,
    PbxUser,
    Widget,
    WidgetGroup,
    utcnow,
)
from widget_server.pbx.sim.recordings import tone_wav

from .admin_support import PASSWORD, csrf_token, make_owner, sign_in
from .conftest import build_stack

CONSENT = "Согласен на обработку персональных данных для обратного звонка."


# -- data helpers (also used by the dashboard tests) ----------------------------------
def seed_owner(app, email: str = "owner@example.com") -> dict:
    """An owner with a PBX account (one operator, one group) and two widgets; returns ids."""
    owner_id = make_owner(app, email)
    with app.app_context():
        account = PbxAccount(
            owner_id=owner_id,
            api_url="http://127.0.0.1:9",
            client_id="C" * 32,
            sign_key="K" * 32,
        )
        db.session.add(account)
        db.session.flush()
        db.session.add(PbxUser(account_id=account.id, pin="201", name="anna", display_name="Анна"))
        group = PbxGroup(account_id=account.id, pin="101", name="Продажи", member_pins=["201"])
        db.session.add(group)
        db.session.flush()
        ids = {"owner": owner_id, "account": account.id}
        for key, name, label in (("shop", "Магазин", "Отдел продаж"), ("blog", "Блог", "Сервис")):
            widget = Widget(owner_id=owner_id, pbx_account_id=account.id, name=name)
            db.session.add(widget)
            db.session.flush()
            offered = WidgetGroup(widget_id=widget.id, group_id=group.id, label=label)
            db.session.add(offered)
            db.session.flush()
            ids[key], ids[f"{key}_group"] = widget.id, offered.id
        db.session.commit()
        return ids


def add_request(
    app,
    ids: dict,
    widget: str = "shop",
    *,
    phone: str = "+79161234567",
    status: str = "finished",
    created_at: datetime | None = None,
    connect_after: float | None = None,
    **fields,
) -> int:
    """Insert a request with known times; ``connect_after`` seconds to its connection."""
    created_at = created_at or utcnow()
    with app.app_context():
        req = CallbackRequest(
            widget_id=ids[widget],
            widget_group_id=ids[f"{widget}_group"],
            phone=phone,
            origin="https://shop.example",
            consent_text=CONSENT,
            consent_at=created_at,
            status=status,
            created_at=created_at,
            connected_at=(
                created_at + timedelta(seconds=connect_after) if connect_after is not None else None
            ),
            **fields,
        )
        db.session.add(req)
        db.session.commit()
        return req.id


def listed_ids(html: bytes) -> list[int]:
    return [int(i) for i in re.findall(rb'data-request-id="(\d+)"', html)]


@pytest.fixture
def seeded(app):
    return seed_owner(app)


@pytest.fixture
def signed_in(app, seeded):
    client = app.test_client()
    sign_in(client)
    return client


# -- the list --------------------------------------------------------------------------
def test_the_log_lists_the_owners_requests_newest_first_with_readable_columns(
    app, seeded, signed_in
):
    now = utcnow()
    old = add_request(app, seeded, created_at=now - timedelta(hours=2), status="no_operator")
    new = add_request(
        app,
        seeded,
        "blog",
        created_at=now - timedelta(minutes=5),
        phone="+79031112233",
        is_test=True,
    )
    page = signed_in.get("/admin/requests")
    assert page.status_code == 200
    assert listed_ids(page.data) == [new, old]
    html = page.data.decode()
    assert "+79031112233" in html  # the owner's own lead, shown in full
    assert "Не ответил ни один оператор" in html and "badge-bad" in html
    assert "Сервис" in html and "Блог" in html
    assert "test-mark" in html
    signed_in.post("/admin/language", data={"lang": "en", "csrf_token": csrf_token(html)})
    english = signed_in.get("/admin/requests").data.decode()
    assert "No operator answered" in english and "Time (MSK)" in english


def test_each_filter_narrows_the_list(app, seeded, signed_in):
    today = datetime.now(DISPLAY_TZ).date()
    start = day_start_utc(today)
    a = add_request(app, seeded, "shop", status="finished", created_at=start - timedelta(days=3))
    b = add_request(app, seeded, "shop", status="pbx_error", created_at=start - timedelta(days=1))
    c = add_request(app, seeded, "blog", status="finished", created_at=start + timedelta(hours=1))
    assert sorted(listed_ids(signed_in.get("/admin/requests").data)) == [a, b, c]

    by_widget = signed_in.get(f"/admin/requests?widget={seeded['blog']}")
    assert listed_ids(by_widget.data) == [c]
    by_status = signed_in.get("/admin/requests?status=pbx_error")
    assert listed_ids(by_status.data) == [b]
    day_before = (today - timedelta(days=1)).isoformat()
    since = signed_in.get(f"/admin/requests?date_from={day_before}")
    assert sorted(listed_ids(since.data)) == [b, c]
    until = signed_in.get(f"/admin/requests?date_to={day_before}")
    assert sorted(listed_ids(until.data)) == [a, b]
    both = signed_in.get(
        f"/admin/requests?widget={seeded['shop']}&status=finished&date_to={day_before}"
    )
    assert listed_ids(both.data) == [a]


@pytest.mark.parametrize(
    ("query", "field", "message"),
    [
        ("date_from=2026-13-45", "date_from", "Введите дату в виде ГГГГ-ММ-ДД."),
        ("date_to=yesterday", "date_to", "Введите дату в виде ГГГГ-ММ-ДД."),
        ("date_from=2026-05-02&date_to=2026-05-01", "date_to", "Дата «по» раньше даты «с»."),
        ("status=exploded", "status", "Выберите значение из списка."),
        ("widget=abc", "widget", "Выберите значение из списка."),
    ],
)
def test_bad_filter_input_gets_a_message_next_to_its_field_not_a_500(
    app, seeded, signed_in, query, field, message
):
    add_request(app, seeded)
    page = signed_in.get(f"/admin/requests?{query}")
    assert page.status_code == 400
    html = page.data.decode()
    assert re.search(rf'<p class="error" id="{field}-error">{re.escape(message)}</p>', html)
    assert f'id="{field}"' in html and 'aria-invalid="true"' in html
    assert listed_ids(page.data) == []


def test_the_list_pages_through_many_requests_keeping_the_filter(app, seeded, signed_in):
    now = utcnow()
    with app.app_context():
        for n in range(55):
            db.session.add(
                CallbackRequest(
                    widget_id=seeded["shop"],
                    widget_group_id=seeded["shop_group"],
                    phone="+79161234567",
                    origin="https://shop.example",
                    consent_text=CONSENT,
                    status="finished",
                    created_at=now - timedelta(minutes=n),
                )
            )
        db.session.commit()
    first = signed_in.get(f"/admin/requests?widget={seeded['shop']}")
    assert len(listed_ids(first.data)) == 50
    html = first.data.decode()
    assert "Страница 1 из 2" in html
    next_link = re.search(r'rel="next" href="([^"]+)"', html).group(1)
    assert "page=2" in next_link and f"widget={seeded['shop']}" in next_link
    second = signed_in.get(f"/admin/requests?widget={seeded['shop']}&page=2")
    assert len(listed_ids(second.data)) == 5
    assert set(listed_ids(first.data)).isdisjoint(listed_ids(second.data))
    assert signed_in.get("/admin/requests?page=zzz").status_code == 200


def test_a_new_owner_sees_an_empty_log_with_an_explanation(app, seeded, signed_in):
    page = signed_in.get("/admin/requests")
    assert page.status_code == 200
    assert "Заявок пока нет" in page.data.decode()


# -- CSV -------------------------------------------------------------------------------
def read_csv(response) -> list[list[str]]:
    text = response.data.decode("utf-8")
    assert text.startswith("\ufeff")
    return list(csv.reader(io.StringIO(text[1:])))


def test_the_csv_export_has_a_header_and_exactly_the_filtered_rows(app, seeded, signed_in):
    shop = add_request(app, seeded, "shop", name="Иван", page_url="https://shop.example/tv")
    add_request(app, seeded, "blog", status="held", held_reason="widget cap reached")
    response = signed_in.get(f"/admin/requests/export.csv?widget={seeded['shop']}")
    assert response.status_code == 200
    assert response.headers["Content-Type"] == "text/csv; charset=utf-8"
    assert response.headers["Content-Disposition"].startswith("attachment;")
    rows = read_csv(response)
    assert rows[0][:5] == ["id", "created_at", "widget", "department", "phone"]
    assert len(rows) == 2
    record = dict(zip(rows[0], rows[1], strict=True))
    assert record["id"] == str(shop)
    assert record["widget"] == "Магазин" and record["department"] == "Отдел продаж"
    assert record["phone"] == "+79161234567" and record["name"] == "Иван"
    assert record["status"] == "finished" and record["status_text"] == "Разговор состоялся"

    everything = read_csv(signed_in.get("/admin/requests/export.csv"))
    held = dict(zip(everything[0], everything[1], strict=True))  # newest first
    assert held["held_reason"] == "превышен лимит звонков виджета"


def test_csv_cells_that_look_like_formulas_are_defused(app, seeded, signed_in):
    add_request(
        app,
        seeded,
        name='=HYPERLINK("http://evil.example","click")',
        page_url="+cmd|' /C calc'!A0",
    )
    add_request(app, seeded, name="@SUM(A1:A9)", page_url="-2+3")
    add_request(app, seeded, name="Мария", page_url="https://shop.example/")
    rows = read_csv(signed_in.get("/admin/requests/export.csv"))
    header = rows[0]
    names = [dict(zip(header, r, strict=True))["name"] for r in rows[1:]]
    pages = [dict(zip(header, r, strict=True))["page_url"] for r in rows[1:]]
    assert names == ["Мария", "'@SUM(A1:A9)", '\'=HYPERLINK("http://evil.example","click")']
    assert pages == ["https://shop.example/", "'-2+3", "'+cmd|' /C calc'!A0"]


def test_a_bad_filter_on_the_csv_leads_back_to_the_list_with_the_message(app, seeded, signed_in):
    response = signed_in.get("/admin/requests/export.csv?date_from=31.02.2026")
    assert response.status_code == 302
    assert signed_in.get(response.headers["Location"]).status_code == 400


# -- timelines from inserted rows --------------------------------------------------
def test_a_held_request_says_why_in_words_and_a_scheduled_one_when(app, seeded, signed_in):
    held = add_request(app, seeded, status="held", held_reason="widget cap reached")
    later = utcnow() + timedelta(days=1)
    scheduled = add_request(app, seeded, status="scheduled", scheduled_for=later)
    html = signed_in.get(f"/admin/requests/{held}").data.decode()
    assert "Задержана: превышен лимит звонков виджета" in html
    assert CONSENT in html
    page = signed_in.get(f"/admin/requests/{scheduled}").data.decode()
    assert "Запланирована на" in page and "Ещё в работе" in page


def test_the_timeline_lists_each_operator_round_and_pbx_event(app, seeded, signed_in):
    rid = add_request(app, seeded, status="no_operator")
    with app.app_context():
        for seq, outcome in ((1, "operator_timeout"), (2, "operator_no_answer")):
            attempt = CallAttempt(
                request_id=rid,
                seq=seq,
                round=seq,
                operator_pin="201",
                session_id=f"s-{seq}",
                outcome=outcome,
                sent_at=utcnow(),
            )
            db.session.add(attempt)
            db.session.flush()
            db.session.add(
                CallEvent(
                    pbx_account_id=seeded["account"],
                    attempt_id=attempt.id,
                    session_id=f"s-{seq}",
                    state="disconnected",
                    event_time="2026-05-01 10:00:0" + str(seq),
                    payload={"state": "disconnected", "disconnect_reason": "16"},
                )
            )
        db.session.commit()
    html = signed_in.get(f"/admin/requests/{rid}").data.decode()
    assert html.count("Анна (оператор 201)") == 2
    assert "круг 1" in html and "круг 2" in html
    assert "Оператор не ответил вовремя" in html and "Итог звонка: Оператор не ответил" in html
    assert "2026-05-01 10:00:02" in html  # the PBX's own time, for its support
    assert "АТС сообщила: разъединение (причина по коду АТС 16)" in html
    assert "<audio" not in html  # no recording was made


# -- owner scoping ---------------------------------------------------------------------
def test_another_owner_neither_sees_nor_reaches_these_requests(app, seeded):
    rid = add_request(app, seeded, phone="+79169998877")
    with app.app_context():
        attempt = CallAttempt(request_id=rid, seq=1, operator_pin="201", session_id="s-x")
        db.session.add(attempt)
        db.session.commit()
        attempt_id = attempt.id
    seed_owner(app, "rival@example.com")
    rival = app.test_client()
    sign_in(rival, "rival@example.com", PASSWORD)
    assert b"+79169998877" not in rival.get("/admin/requests").data
    assert b"+79169998877" not in rival.get("/admin/requests/export.csv").data
    assert rival.get(f"/admin/requests?widget={seeded['shop']}").status_code == 400
    assert rival.get(f"/admin/requests/{rid}").status_code == 404
    recording = f"/admin/requests/{rid}/calls/{attempt_id}/recording"
    assert rival.get(recording).status_code == 404
    page = rival.get("/admin/requests")
    junk = rival.post(f"/admin/requests/{rid}/junk", data={"csrf_token": csrf_token(page.data)})
    assert junk.status_code == 404
    with app.app_context():
        from widget_server.abuse.blocklist import is_blocked

        assert not is_blocked(seeded["owner"], "+79169998877")


def test_a_recording_address_with_another_requests_call_is_not_found(app, seeded, signed_in):
    first = add_request(app, seeded)
    second = add_request(app, seeded)
    with app.app_context():
        attempt = CallAttempt(request_id=first, seq=1, operator_pin="201", session_id="s-1")
        db.session.add(attempt)
        db.session.commit()
        attempt_id = attempt.id
    assert (
        signed_in.get(f"/admin/requests/{second}/calls/{attempt_id}/recording").status_code == 404
    )


def test_signed_out_visitors_are_sent_to_sign_in(app, seeded):
    rid = add_request(app, seeded)
    client = app.test_client()
    for url in ("/admin/requests", "/admin/requests/export.csv", f"/admin/requests/{rid}"):
        response = client.get(url)
        assert response.status_code == 302 and "/admin/sign-in" in response.headers["Location"]


# -- through the real stack ------------------------------------------------------------
NORMAL_NUMBER = "+79161234567"


def finished_call(stack, phone: str = NORMAL_NUMBER) -> int:
    """Submit a request to the simulator, wait for its end and its call_info; return its id."""
    answer = stack.submit(phone)
    assert answer.status_code == 202, answer.text
    handle = answer.json()["handle"]
    stack.wait_final(handle, timeout=30)

    def settled():
        with stack.app.app_context():
            req = db.session.scalar(db.select(CallbackRequest).filter_by(handle=handle))
            done = all(a.call_info_fetched and a.outcome for a in req.attempts)
            recorded = [a for a in req.attempts if a.is_record]
            ready = all(a.recording == "available" for a in recorded)
            return req.id if done and ready and req.attempts else None

    return stack.wait_until(settled, timeout=30, message="call_info and recording", interval=0.2)


@pytest.fixture
def live(tmp_path):
    stack, stop = build_stack(tmp_path)
    client = stack.app.test_client()
    yield stack, client
    stop()


def test_a_completed_call_shows_its_whole_timeline(live):
    stack, client = live
    rid = finished_call(stack)
    sign_in(client, "owner@example.com", "correct horse")
    html = client.get(f"/admin/requests/{rid}").data.decode()
    assert "Заявка получена" in html
    assert "дано " in html and "Согласие" in html
    assert "Анна Смирнова (оператор 201)" in html and "круг 1" in html
    for state in ("звонок оператору", "вызов посетителя", "соединены", "завершён"):
        assert f"АТС сообщила: {state}" in html
    assert "АТС сообщила: разъединение (разговор завершён)" in html or "(звонивший" in html
    assert "call_back" not in html.split("<details", 1)[0]  # developer words only for support
    assert "Итог звонка: Состоялся разговор" in html
    with stack.app.app_context():
        attempt = db.session.get(CallbackRequest, rid).attempts[-1]
        duration, info = attempt.duration, attempt.call_info
    assert info is not None and duration == int(info["duration"])
    minutes, seconds = divmod(duration, 60)
    assert f"Разговор: {minutes}:{seconds:02d}" in html
    assert "<audio controls" in html
    listed = client.get("/admin/requests").data.decode()
    assert f'data-request-id="{rid}"' in listed and "Разговор состоялся" in listed


def test_the_recording_streams_the_simulators_file_and_plays_again(live):
    stack, client = live
    rid = finished_call(stack)
    sign_in(client, "owner@example.com", "correct horse")
    with stack.app.app_context():
        attempt = db.session.get(CallbackRequest, rid).attempts[-1]
        attempt_id, seq = attempt.id, attempt.seq
    url = f"/admin/requests/{rid}/calls/{attempt_id}/recording"
    before = len(stack.sim_requests("get_record"))
    first = client.get(url)
    assert first.status_code == 200
    assert first.headers["Content-Type"] == "audio/wav"
    assert first.headers["Content-Disposition"].startswith("inline;")
    assert first.data == tone_wav()
    # The PBX link is one-time: a second listen works because a fresh one is asked for.
    second = client.get(url)
    assert second.status_code == 200 and second.data == tone_wav()
    download = client.get(url + "?download=1")
    assert download.headers["Content-Disposition"] == (
        f'attachment; filename="call-{rid}-{seq}.wav"'
    )
    assert download.data == tone_wav()
    # Passed through chunk by chunk, never read whole into memory first.
    streamed = client.get(url, buffered=False)
    assert streamed.is_streamed and int(streamed.headers["Content-Length"]) == len(tone_wav())
    assert b"".join(streamed.iter_encoded()) == tone_wav()
    streamed.close()
    assert len(stack.sim_requests("get_record")) - before == 4


def test_a_call_without_a_recording_gives_a_readable_page(live):
    stack, client = live
    rid = finished_call(stack, "+79000000001")  # no operator answers: nothing recorded
    sign_in(client, "owner@example.com", "correct horse")
    with stack.app.app_context():
        attempt_id = db.session.get(CallbackRequest, rid).attempts[0].id
    html = client.get(f"/admin/requests/{rid}").data.decode()
    assert "<audio" not in html and "Не ответил ни один оператор" in html
    response = client.get(f"/admin/requests/{rid}/calls/{attempt_id}/recording")
    assert response.status_code == 404
    assert "У АТС нет записи этого разговора" in response.data.decode()
    assert response.headers["Content-Type"].startswith("text/html")


def test_a_test_calls_page_offers_no_spam_report_for_the_owners_own_number(live):
    stack, client = live
    rid = finished_call(stack)
    sign_in(client, "owner@example.com", "correct horse")
    assert "Пожаловаться: спам" in client.get(f"/admin/requests/{rid}").data.decode()
    with stack.app.app_context():
        db.session.get(CallbackRequest, rid).is_test = True
        db.session.commit()
    assert "Пожаловаться: спам" not in client.get(f"/admin/requests/{rid}").data.decode()


def test_reporting_junk_blocks_the_number_so_its_next_request_is_held(live):
    stack, client = live
    rid = finished_call(stack)
    sign_in(client, "owner@example.com", "correct horse")
    page = client.get(f"/admin/requests/{rid}")
    assert b"data-confirm=" in page.data and "Пожаловаться: спам" in page.data.decode()
    response = client.post(
        f"/admin/requests/{rid}/junk", data={"csrf_token": csrf_token(page.data)}
    )
    assert response.status_code == 302
    after = client.get(response.headers["Location"]).data.decode()
    assert "Номер в списке блокировки" in after and "Пожаловаться: спам" not in after
    answer = stack.submit(NORMAL_NUMBER)
    assert answer.status_code == 202  # answered like any request, so blocks stay secret
    with stack.app.app_context():
        held = db.session.scalar(
            db.select(CallbackRequest).filter_by(handle=answer.json()["handle"])
        )
        assert held.status == "held" and held.held_reason == "number blocked"


@pytest.mark.csrf
def test_reporting_junk_without_the_form_token_changes_nothing(live):
    stack, client = live
    with stack.app.app_context():
        owner_id = db.session.scalar(db.select(Widget.owner_id))
    sign_in(client, "owner@example.com", "correct horse")
    rid = finished_call(stack)
    assert client.post(f"/admin/requests/{rid}/junk").status_code == 400
    with stack.app.app_context():
        from widget_server.abuse.blocklist import is_blocked

        assert not is_blocked(owner_id, NORMAL_NUMBER)


@pytest.mark.parametrize(
    ("result", "message", "words"),
    [
        ("http-503", "call_back: HTTP 503", "У АТС был сбой: она ответила ошибкой сервера (503)."),
        ("http-403", "call_back: HTTP 403", "АТС отклонила подпись или код идентификации."),
        ("timeout", "call_back: timeout", "АТС не ответила: недоступна по сети"),
        (
            "-20",
            "call_back: -20: Номер недоступен",
            "АТС отказалась звонить (код -20). Номер недоступен",
        ),
        ("-20", "call_back: -20: no route", "АТС отказалась звонить (код -20)."),
    ],
)
def test_what_the_pbx_answered_reads_as_a_sentence(app, result, message, words):
    with app.test_request_context():
        assert pbx_answer_words(result, message).startswith(words)
        assert "HTTP" not in pbx_answer_words(result, message)
