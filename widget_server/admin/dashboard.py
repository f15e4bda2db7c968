"""The owner's overview: requests per day, share connected, time to connect, missed requests, per widget."""

from __future__ import annotations

from flask import g, render_template, request
from wtforms import Form

from . import charts
from .access import login_required
from .blueprint import bp
from .i18n import N_, _, format_number, format_share, ngettext
from .request_stats import (
    REASON_LABELS,
    as_dict,
    format_duration,
    period_figures,
    share_text,
    widget_label,
)
from .requests_log import Choice, owner_widgets

PERIODS = (7, 30, 90)


def periods_for(retention_days: int) -> list[int]:
    """The periods offered: none longer than the owner keeps requests for."""
    offered = [d for d in PERIODS if d <= retention_days]
    if retention_days < PERIODS[-1] and retention_days not in offered:
        offered.append(retention_days)
    return sorted(offered)


def period_words(days: int) -> str:
    """ "Последние 30 дней", "Последний 1 день": the words agree with the number."""
    return ngettext(
        "Последний %(num)s день", "Последние %(num)s дней", days, few="Последние %(num)s дня"
    )


class DashboardForm(Form):
    days = Choice(N_("Период"), default="30")
    widget = Choice(N_("Виджет"), default="")


@bp.get("/")
@login_required
def dashboard():
    widgets = owner_widgets()
    form = DashboardForm(request.args)
    periods = periods_for(g.owner.retention_days or PERIODS[-1])
    form.days.choices = [(str(d), period_words(d)) for d in periods]
    if not request.args.get("days"):
        form.days.data = str(min(30, periods[-1]))
    form.widget.choices = [("", _("Все виджеты"))] + [(str(w.id), widget_label(w)) for w in widgets]
    if request.args and not form.validate():
        return render_template(
            "admin/dashboard.html", form=form, widgets=widgets, invalid=True, period=None
        ), 400
    days = int(form.days.data)
    widget_id = int(form.widget.data) if form.widget.data else None
    period = period_figures(g.owner.id, days, widget_id=widget_id)
    overall = period.overall
    day_labels = [d.strftime("%d.%m") for d in period.days]
    per_day = charts.columns(
        day_labels,
        [overall.per_day.get(d, 0) for d in period.days],
        [overall.connected_per_day.get(d, 0) for d in period.days],
        fmt=format_number,
    )
    rows_labels = [_("Все виджеты")] if widget_id is None else []
    rows_figures = [overall] if widget_id is None else []
    for widget, figures in period.widgets:
        rows_labels.append(widget_label(widget))
        rows_figures.append(figures)
    shares = [None if f.share_connected is None else f.share_connected * 100 for f in rows_figures]
    reasons = list(REASON_LABELS)
    return render_template(
        "admin/dashboard.html",
        form=form,
        widgets=widgets,
        invalid=False,
        period=period,
        days=days,
        headline=as_dict(overall),
        share_text=share_text,
        format_duration=format_duration,
        per_day=per_day,
        per_day_rows=list(zip(period.days, day_labels, strict=True)),
        day_x=charts.column_positions(per_day, len(period.days)),
        share_chart=charts.rows(
            rows_labels, shares, maximum=100, fmt=lambda v: format_share(v / 100)
        ),
        wait_chart=charts.rows(
            rows_labels, [f.median_wait for f in rows_figures], fmt=format_duration
        ),
        reason_chart=charts.rows(
            [_(REASON_LABELS[r]) for r in reasons],
            [overall.reasons[r] for r in reasons],
            fmt=format_number,
        ),
        table_rows=list(zip(rows_labels, rows_figures, strict=True)),
    )
