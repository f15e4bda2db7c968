"""The requests log: filters, each request's timeline, recordings, CSV export, report as junk."""

from __future__ import annotations

import csv
import io
import logging
import math
from datetime import timedelta

from flask import (
    Response,
    flash,
    g,
    redirect,
    render_template,
    request,
    stream_with_context,
    url_for,
)
from flask_wtf import FlaskForm
from sqlalchemy import func, select
from sqlalchemy.orm import joinedload, selectinload
from wtforms import Form, SelectField
from wtforms.fields import DateField

from ..dispatch import recordings, state
from ..extensions import db
from ..models import CallAttempt, CallbackRequest, Widget
from ..pbx import events as call_states
from ..pbx.client import PbxError
from ..phones import mask_phone
from ..visitor import opt_out
from . import i18n
from .access import login_required, owned_or_404
from .blueprint import bp
from .i18n import _
from .request_stats import (
    STATUS_LABELS,
    day_start_utc,
    format_duration,
    held_reason_label,
    local_time,
    status_badge,
    status_label,
    widget_label,
)

log = logging.getLogger(__name__)

PAGE_SIZE = 50
BAD_DATE = "Введите дату в виде ГГГГ-ММ-ДД."
BAD_CHOICE = "Выберите значение из списка."

i18n.add_english(
    {
        "Время (МСК)": "Time (Moscow)",
        "Виджет": "Widget",
        "Отдел": "Department",
        "Номер": "Number",
        "Статус": "Status",
        "Длительность": "Duration",
        "Тест": "Test",
        "тест": "test",
        "Все виджеты": "All widgets",
        "Все статусы": "All statuses",
        "С даты": "From",
        "По дату": "To",
        "Показать": "Show",
        "Сбросить": "Reset",
        "Скачать CSV": "Download CSV",
        "Введите дату в виде ГГГГ-ММ-ДД.": "Enter the date as YYYY-MM-DD.",
        "Выберите значение из списка.": "Choose a value from the list.",
        "Дата «по» раньше даты «с».": "The end date is before the start date.",
        "Фильтр": "Filter",
        "Заявок не найдено.": "No requests found.",
        "Заявок пока нет. Они появятся здесь, как только посетители оставят номер в виджете.": (
            "No requests yet. They will show here as soon as visitors leave a number in a widget."
        ),
        "Найдено: {count}": "Found: {count}",
        "Страница {page} из {pages}": "Page {page} of {pages}",
        "Назад": "Previous",
        "Вперёд": "Next",
        "Страницы": "Pages",
        "Заявка №{id}": "Request #{id}",
        "Ход заявки": "Timeline",
        "Заявка получена": "Request received",
        "Имя": "Name",
        "Страница": "Page",
        "Согласие": "Consent",
        "дано {time}": "given {time}",
        "Запланирована на {time}": "Scheduled for {time}",
        "Звонок {seq}: оператор {operator}": "Call {seq}: operator {operator}",
        "круг {round}": "round {round}",
        "Запрос call_back отправлен": "call_back sent",
        "АТС приняла вызов, сессия {session}": "The PBX accepted the call, session {session}",
        "Событие АТС: {state}": "PBX event: {state}",
        "причина разъединения {reason}": "disconnect reason {reason}",
        "Итог звонка: {outcome}": "Call outcome: {outcome}",
        "Ответ АТС: {message}": "PBX answer: {message}",
        "Разговор: {duration}": "Talk: {duration}",
        "Запись разговора": "Call recording",
        "Скачать запись": "Download the recording",
        "Ваш браузер не может проиграть запись; скачайте её.": (
            "Your browser cannot play the recording; download it instead."
        ),
        "Задержана: {reason}": "Held: {reason}",
        "Итог: {status}": "Outcome: {status}",
        "Ещё в работе": "Still in progress",
        "Тестовый звонок": "Test call",
        "Номер заблокирован для ваших виджетов.": "The number is blocked for your widgets.",
        "Номер в списке блокировки: звонков на него не будет.": (
            "The number is on the block list: it will not be called."
        ),
        "Пожаловаться: спам": "Report as junk",
        "Заблокировать номер {phone}? Заявки с него больше не будут передаваться операторам.": (
            "Block {phone}? Requests from it will no longer reach your operators."
        ),
        "Заблокировать номер, если заявка — спам или розыгрыш.": (
            "Block the number if the request is junk or a prank."
        ),
        "Все заявки": "All requests",
        "Запись недоступна": "Recording unavailable",
        "У АТС нет записи этого разговора (или она ещё не готова).": (
            "The PBX has no recording of this call (or it is not ready yet)."
        ),
        "АТС сейчас недоступна. Попробуйте позже.": "The PBX is unavailable. Try again later.",
        "К заявке": "Back to the request",
        "оператор": "operator",
        "группа АТС": "PBX group",
        "Состоялся разговор": "Talked",
        "Посетитель занят": "Visitor busy",
        "Оператор не ответил": "Operator did not answer",
        "Оператор не ответил вовремя": "Operator did not answer in time",
        "АТС отказала в вызове": "The PBX refused the call",
        "АТС недоступна": "PBX unavailable",
        "АТС не подтвердила вызов": "The PBX did not confirm the call",
        "ещё идёт": "in progress",
        "звонок оператору": "ringing the operator",
        "вызов оператора": "ringing the operator",
        "вызов посетителя": "ringing the visitor",
        "соединены": "connected",
        "разъединение": "disconnected",
        "завершён": "ended",
        "получено {time}": "received {time}",
    }
)

OUTCOME_LABELS = {
    "completed": "Состоялся разговор",
    "visitor_busy": "Посетитель занят",
    "visitor_no_answer": "Посетитель не ответил",
    "operator_no_answer": "Оператор не ответил",
    "operator_timeout": "Оператор не ответил вовремя",
    "failed": "АТС отказала в вызове",
    "pbx_unavailable": "АТС недоступна",
    "unknown": "АТС не подтвердила вызов",
}
EVENT_LABELS = {
    "new": "звонок оператору",
    "connected": "соединены",
    "disconnected": "разъединение",
    "end": "завершён",
}
AUDIO_EXTENSIONS = {
    "audio/wav": "wav",
    "audio/x-wav": "wav",
    "audio/wave": "wav",
    "audio/mpeg": "mp3",
    "audio/mp3": "mp3",
    "audio/ogg": "ogg",
}
CSV_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


# -- filters ---------------------------------------------------------------------------
class Choice(SelectField):
    def __init__(self, *args, **kwargs):
        kwargs.setdefault("invalid_choice_message", BAD_CHOICE)
        super().__init__(*args, **kwargs)


class Day(DateField):
    def __init__(self, *args, **kwargs):
        kwargs.setdefault("invalid_value_message", BAD_DATE)
        super().__init__(*args, **kwargs)


class FilterForm(Form):
    """The GET filter of the log and of its CSV (no CSRF: it changes nothing)."""

    widget = Choice("Виджет", default="")
    status = Choice("Статус", default="")
    date_from = Day("С даты")
    date_to = Day("По дату")

    def validate(self, extra_validators=None) -> bool:
        ok = super().validate(extra_validators)
        start, end = self.date_from.data, self.date_to.data
        if ok and start and end and end < start:
            self.date_to.errors.append("Дата «по» раньше даты «с».")
            ok = False
        return ok


def owner_widgets() -> list[Widget]:
    return db.session.scalars(
        select(Widget).where(Widget.owner_id == g.owner.id).order_by(Widget.id)
    ).all()


def filter_form() -> FilterForm:
    # Only the filter's own keys: page and others must not reach the form.
    form = FilterForm(request.args)
    form.widget.choices = [("", _("Все виджеты"))] + [
        (str(w.id), widget_label(w)) for w in owner_widgets()
    ]
    form.status.choices = [("", _("Все статусы"))] + [
        (code, _(label)) for code, label in STATUS_LABELS.items()
    ]
    return form


def filtered_query(form: FilterForm):
    """The signed-in owner's requests matching a validated filter, newest first."""
    query = (
        select(CallbackRequest)
        .join(Widget, Widget.id == CallbackRequest.widget_id)
        .where(Widget.owner_id == g.owner.id)
    )
    if form.widget.data:
        query = query.where(CallbackRequest.widget_id == int(form.widget.data))
    if form.status.data:
        query = query.where(CallbackRequest.status == form.status.data)
    if form.date_from.data:
        query = query.where(CallbackRequest.created_at >= day_start_utc(form.date_from.data))
    if form.date_to.data:
        end = day_start_utc(form.date_to.data + timedelta(days=1))
        query = query.where(CallbackRequest.created_at < end)
    return query


def with_details(query):
    return query.options(
        joinedload(CallbackRequest.widget),
        joinedload(CallbackRequest.widget_group),
        selectinload(CallbackRequest.attempts),
    ).order_by(CallbackRequest.created_at.desc(), CallbackRequest.id.desc())


def talk_seconds(req: CallbackRequest) -> int | None:
    """The talk's length from ``call_info`` (the longest attempt), None when unknown."""
    # An unanswered call reports 0 s: that is no talk, not a talk of no length.
    known = [a.duration for a in req.attempts if a.duration]
    return max(known) if known else None


def filter_args(form: FilterForm) -> dict[str, str]:
    """The filter as query arguments, for page links and the CSV link."""
    return {
        name: request.args.get(name, "")
        for name in ("widget", "status", "date_from", "date_to")
        if request.args.get(name)
    }


@bp.get("/requests")
@login_required
def requests_list():
    form = filter_form()
    if request.args and not form.validate():
        return render_template(
            "admin/requests/list.html",
            form=form,
            rows=[],
            total=0,
            page=1,
            pages=1,
            args={},
            any_requests=True,
            invalid=True,
        ), 400
    query = filtered_query(form)
    total = db.session.scalar(select(func.count()).select_from(query.subquery())) or 0
    pages = max(1, math.ceil(total / PAGE_SIZE))
    page = min(max(request.args.get("page", 1, type=int) or 1, 1), pages)
    rows = db.session.scalars(
        with_details(query).limit(PAGE_SIZE).offset((page - 1) * PAGE_SIZE)
    ).all()
    any_requests = total > 0 or bool(
        db.session.scalar(
            select(CallbackRequest.id)
            .join(Widget, Widget.id == CallbackRequest.widget_id)
            .where(Widget.owner_id == g.owner.id)
            .limit(1)
        )
    )
    return render_template(
        "admin/requests/list.html",
        form=form,
        rows=rows,
        total=total,
        page=page,
        pages=pages,
        args=filter_args(form),
        any_requests=any_requests,
        invalid=False,
        view=row_view,
    )


def row_view(req: CallbackRequest) -> dict:
    return {
        "id": req.id,
        "time": local_time(req.created_at),
        "widget": widget_label(req.widget),
        "department": req.widget_group.label if req.widget_group else "",
        "phone": req.phone,
        "status": req.status,
        "status_label": status_label(req.status),
        "badge": status_badge(req.status),
        "duration": format_duration(talk_seconds(req)),
        "is_test": req.is_test,
    }


# -- CSV -------------------------------------------------------------------------------
def csv_safe(value) -> str:
    """A cell a spreadsheet will not run as a formula (OWASP: prefix a quote)."""
    text = "" if value is None else str(value)
    return "'" + text if text.startswith(CSV_FORMULA_STARTS) else text


CSV_HEADER = [
    "id",
    "created_at",
    "widget",
    "department",
    "phone",
    "name",
    "page_url",
    "status",
    "status_text",
    "held_reason",
    "duration_seconds",
    "connected_at",
    "test",
]


@bp.get("/requests/export.csv")
@login_required
def requests_csv():
    """The filtered list as CSV (UTF-8 with a BOM so that spreadsheets read Cyrillic)."""
    form = filter_form()
    if request.args and not form.validate():
        return redirect(url_for("admin.requests_list", **request.args))
    query = with_details(filtered_query(form)).execution_options(yield_per=500)
    owner_id = g.owner.id

    def generate():
        buffer = io.StringIO()
        writer = csv.writer(buffer, lineterminator="\r\n")
        buffer.write("\ufeff")
        writer.writerow(CSV_HEADER)
        for req in db.session.scalars(query):
            created, connected = local_time(req.created_at), local_time(req.connected_at)
            writer.writerow(
                [
                    req.id,
                    created.isoformat(timespec="seconds"),
                    csv_safe(widget_label(req.widget)),
                    csv_safe(req.widget_group.label if req.widget_group else ""),
                    # E.164 as validated on intake (only "+" and digits): no formula can hide in it.
                    req.phone,
                    csv_safe(req.name),
                    csv_safe(req.page_url),
                    req.status,
                    csv_safe(status_label(req.status)),
                    csv_safe(held_reason_label(req.held_reason)),
                    "" if talk_seconds(req) is None else talk_seconds(req),
                    connected.isoformat(timespec="seconds") if connected else "",
                    "1" if req.is_test else "0",
                ]
            )
            if buffer.tell() > 32_768:
                yield buffer.getvalue()
                buffer.seek(0)
                buffer.truncate()
        yield buffer.getvalue()
        log.info("owner %s exported requests as CSV", owner_id)

    response = Response(stream_with_context(generate()), mimetype="text/csv")
    response.headers["Content-Type"] = "text/csv; charset=utf-8"
    response.headers["Content-Disposition"] = 'attachment; filename="requests.csv"'
    return response


# -- one request -----------------------------------------------------------------------
class JunkForm(FlaskForm):
    """Report a request as junk: a POST with nothing but the CSRF token."""


def operator_name(req: CallbackRequest, pin: str) -> str:
    account = req.widget.pbx_account
    user = account.user_by_pin(pin)
    if user is not None:
        return f"{user.display_name or user.name} ({_('оператор')} {pin})"
    group = next((gr for gr in account.groups if gr.pin == pin), None)
    if group is not None:
        return f"{group.name} ({_('группа АТС')} {pin})"
    return pin


def event_label(event, visitor_phone: str) -> str:
    """A PBX event in words; a ``calling`` says whom it rings (call_states decides)."""
    if event.state == "calling":
        stage = call_states.stage_for_event(event.payload or {}, visitor_phone)
        return _("вызов посетителя") if stage == "visitor_ringing" else _("вызов оператора")
    return _(EVENT_LABELS.get(event.state, event.state))


def attempt_view(req: CallbackRequest, attempt: CallAttempt) -> dict:
    events = [
        {
            "state": event_label(e, req.phone),
            "pbx_time": e.event_time,
            "received": local_time(e.received_at),
            "reason": (e.payload or {}).get("disconnect_reason") or "",
        }
        for e in attempt.events
    ]
    return {
        "id": attempt.id,
        "seq": attempt.seq,
        "round": attempt.round,
        "operator": operator_name(req, attempt.operator_pin),
        "sent": local_time(attempt.sent_at),
        "accepted": local_time(attempt.accepted_at),
        "session_id": attempt.session_id,
        "events": events,
        "ended": local_time(attempt.ended_at),
        "outcome": _(OUTCOME_LABELS[attempt.outcome])
        if attempt.outcome in OUTCOME_LABELS
        else (attempt.outcome or _("ещё идёт")),
        "ok": attempt.outcome == "completed",
        "pbx_message": attempt.pbx_message,
        "duration": format_duration(attempt.duration) if attempt.duration else "",
        "has_recording": bool(attempt.session_id and attempt.is_record),
    }


@bp.get("/requests/<int:request_id>")
@login_required
def request_timeline(request_id: int):
    req = owned_or_404(CallbackRequest, request_id)
    final = state.is_final(req)
    return render_template(
        "admin/requests/timeline.html",
        req=req,
        created=local_time(req.created_at),
        consent_at=local_time(req.consent_at),
        scheduled=local_time(req.scheduled_for),
        finished=local_time(req.finished_at),
        attempts=[attempt_view(req, a) for a in req.attempts],
        status_label=status_label(req.status),
        badge=status_badge(req.status),
        held_reason=held_reason_label(req.held_reason),
        final=final,
        duration=format_duration(talk_seconds(req)),
        widget=widget_label(req.widget),
        blocked=opt_out.is_blocked(g.owner.id, req.phone),
        junk_form=JunkForm(),
    )


@bp.post("/requests/<int:request_id>/junk")
@login_required
def report_junk(request_id: int):
    req = owned_or_404(CallbackRequest, request_id)
    form = JunkForm()
    if form.validate_on_submit():
        opt_out.report_junk(req.id, g.owner.id)
        log.info(
            "owner %s reported request %s (%s) as junk", g.owner.id, req.id, mask_phone(req.phone)
        )
        flash(_("Номер заблокирован для ваших виджетов."), "success")
    return redirect(url_for("admin.request_timeline", request_id=request_id))


@bp.get("/requests/<int:request_id>/calls/<int:attempt_id>/recording")
@login_required
def recording(request_id: int, attempt_id: int):
    """The call's recording streamed through us: a fresh one-time PBX link on every play."""
    attempt = owned_or_404(CallAttempt, attempt_id)
    if attempt.request_id != request_id:
        return _no_recording(request_id, 404)
    if not attempt.session_id:
        return _no_recording(request_id, 404)
    try:
        upstream = recordings.open_recording(attempt)
    except PbxError as exc:
        log.info("recording of call %s unavailable: %s", attempt.id, exc.message)
        down = exc.result in ("connection", "timeout", "tls") or (exc.http_status or 0) >= 500
        return _no_recording(request_id, 502 if down else 404, down=down)
    filename_base = f"call-{request_id}-{attempt.seq}"
    db.session.rollback()  # nothing more to read: free the connection while streaming
    kind = upstream.headers.get("Content-Type", "audio/wav").split(";")[0].strip().lower()
    # Whatever the PBX sends is served from our origin: only audio plays inline.
    extension = AUDIO_EXTENSIONS.get(kind)
    download = request.args.get("download") == "1" or extension is None
    if extension is None and not kind.startswith("audio/"):
        kind = "application/octet-stream"
    filename = f"{filename_base}.{extension or 'bin'}"

    def chunks():
        try:
            yield from upstream.iter_content(chunk_size=64 * 1024)
        finally:
            upstream.close()

    response = Response(chunks(), mimetype=kind, direct_passthrough=True)
    length = upstream.headers.get("Content-Length")
    if length and length.isdigit():
        response.headers["Content-Length"] = length
    disposition = "attachment" if download else "inline"
    response.headers["Content-Disposition"] = f'{disposition}; filename="{filename}"'
    response.headers["Cache-Control"] = "private, no-store"
    return response


def _no_recording(request_id: int, status: int, *, down: bool = False):
    message = (
        _("АТС сейчас недоступна. Попробуйте позже.")
        if down
        else _("У АТС нет записи этого разговора (или она ещё не готова).")
    )
    return render_template(
        "admin/requests/recording_error.html", request_id=request_id, message=message
    ), status
