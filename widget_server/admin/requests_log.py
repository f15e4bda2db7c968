"""The requests log: the filtered list and its CSV export (one request: request_detail)."""

from __future__ import annotations

import csv
import io
import logging
import math
from datetime import date, timedelta

from flask import Response, g, redirect, render_template, request, stream_with_context, url_for
from sqlalchemy import func, select
from sqlalchemy.orm import joinedload, selectinload
from wtforms import Form, SelectField, StringField
from wtforms.fields import DateField
from wtforms.validators import Length, Optional, ValidationError

from ..extensions import db
from ..insight.source import SOURCE_FIELDS, source_label
from ..models import CallbackRequest, Widget
from .access import login_required
from .blueprint import bp
from .i18n import N_, _
from .lead_labels import LEAD_STATUS_LABELS, lead_badge
from .request_stats import (
    STATUS_LABELS,
    day_start_utc,
    format_duration,
    held_reason_label,
    local_time,
    request_badge,
    request_status_label,
    talk_seconds,
    widget_label,
)

log = logging.getLogger(__name__)

PAGE_SIZE = 50
BAD_DATE = N_("Введите дату в виде ГГГГ-ММ-ДД.")
BAD_CHOICE = N_("Выберите значение из списка.")
# The ends of the calendar overflow the filter's arithmetic (0001-01-01 in Moscow is in year 0
# in UTC; 9999-12-31 has no next day): a range no request falls outside of is asked for instead.
FIRST_DAY, LAST_DAY = date(2000, 1, 1), date(2099, 12, 31)
DAY_OUT_OF_RANGE = N_("Укажите дату между 01.01.2000 и 31.12.2099.")


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

    def pre_validate(self, form) -> None:
        if self.data is not None and not FIRST_DAY <= self.data <= LAST_DAY:
            raise ValidationError(DAY_OUT_OF_RANGE)


class FilterForm(Form):
    """The GET filter of the log and of its CSV (no CSRF: it changes nothing)."""

    widget = Choice(N_("Виджет"), default="")
    status = Choice(N_("Статус"), default="")
    date_from = Day(N_("С даты"))
    date_to = Day(N_("По дату"))
    # Issue 15: where leads came from and how they are worked.
    source = StringField(
        N_("Источник (utm_source)"),
        validators=[Optional(), Length(max=200, message=N_("Не длиннее 200 знаков."))],
    )
    campaign = StringField(
        N_("Кампания (utm_campaign)"),
        validators=[Optional(), Length(max=200, message=N_("Не длиннее 200 знаков."))],
    )
    lead_status = Choice(N_("Работа с заявкой"), default="")

    def validate(self, extra_validators=None) -> bool:
        ok = super().validate(extra_validators)
        start, end = self.date_from.data, self.date_to.data
        if ok and start and end and end < start:
            self.date_to.errors.append(N_("Дата «по» раньше даты «с»."))
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
    form.lead_status.choices = [("", _("Все"))] + [
        (code, _(label)) for code, label in LEAD_STATUS_LABELS.items()
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
    # Case-blind exact matches: ads platforms spell the same source "Yandex" and "yandex".
    if source := (form.source.data or "").strip():
        query = query.where(func.lower(CallbackRequest.source_utm_source) == source.lower())
    if campaign := (form.campaign.data or "").strip():
        query = query.where(func.lower(CallbackRequest.source_utm_campaign) == campaign.lower())
    if form.lead_status.data:
        query = query.where(CallbackRequest.lead_status == form.lead_status.data)
    return query


def with_details(query):
    return query.options(
        joinedload(CallbackRequest.widget),
        joinedload(CallbackRequest.widget_group),
        selectinload(CallbackRequest.attempts),
    ).order_by(CallbackRequest.created_at.desc(), CallbackRequest.id.desc())


def filter_args(form: FilterForm) -> dict[str, str]:
    """The filter as query arguments, for page links and the CSV link."""
    return {
        name: request.args.get(name, "")
        for name in (
            "widget",
            "status",
            "date_from",
            "date_to",
            "source",
            "campaign",
            "lead_status",
        )
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
        "status_label": request_status_label(req),
        "badge": request_badge(req),
        "duration": format_duration(talk_seconds(req)),
        "is_test": req.is_test,
        "source": source_label(req),
        "campaign": req.source_utm_campaign or "",
        "lead_status": req.lead_status,
        "lead_label": _(LEAD_STATUS_LABELS.get(req.lead_status, req.lead_status)),
        "lead_badge": lead_badge(req.lead_status),
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
    # Issue 15, added at the end so that existing spreadsheet columns keep their places.
    *SOURCE_FIELDS,
    "variant",
    "lead_status",
    "lead_comment",
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
                    csv_safe(request_status_label(req)),
                    csv_safe(held_reason_label(req.held_reason)),
                    "" if talk_seconds(req) is None else talk_seconds(req),
                    connected.isoformat(timespec="seconds") if connected else "",
                    "1" if req.is_test else "0",
                    *(csv_safe(getattr(req, column)) for column, _len in SOURCE_FIELDS.values()),
                    req.variant or "",
                    req.lead_status,
                    csv_safe(req.lead_comment),
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
