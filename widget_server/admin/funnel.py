"""The dashboard's lead panel: funnel, conversion by source and page, operators, heat map, A/B.

The dashboard template includes ``admin/dashboard/_funnel.html``, which calls
``lead_panel(days, widget_id)`` (a template global registered here), so the dashboard's
own view stays as it was. Figures come from ``insight/figures.py``.
"""

from __future__ import annotations

import math
from datetime import timedelta

from flask import current_app, g
from sqlalchemy import select

from ..extensions import db
from ..insight import counter, figures
from ..insight.ab import Comparison
from ..models import PbxAccount, PbxUser, Widget
from .blueprint import bp
from .i18n import N_, _, format_share
from .request_stats import day_start_utc, format_duration, period_days, widget_label
from .widget_leads import WinnerForm

HEAT_LEVELS = 4
WEEKDAYS = (N_("Пн"), N_("Вт"), N_("Ср"), N_("Чт"), N_("Пт"), N_("Сб"), N_("Вс"))


# Above this a probability would round to "100 %", a certainty no sample gives.
SURE = 0.99
# Below this it would read "B лучше A с вероятностью 50 %": a coin toss, not a leader.
EVEN = 0.505


def percent(part: int, whole: int) -> str:
    """``part`` of ``whole`` to one decimal in the page language ("90,9 %"), "—" of nothing."""
    return format_share(part / whole, digits=1) if whole else "—"


def verdict(comparison: Comparison) -> str:
    """ "B лучше A с вероятностью 97 %", or "данных пока мало" below the minimum sample.

    The probability is Bayesian (insight/ab.py): the chance that the leader's true rate is
    the higher one, which is what the sentence says.
    """
    if not comparison.enough:
        return _("данных пока мало")
    better, worse = ("B", "A") if comparison.leader == "b" else ("A", "B")
    probability = comparison.leader_probability
    if probability < EVEN:
        return _("разницы пока не видно")
    if probability > SURE:
        chance = _("больше %(share)s", share=format_share(SURE))
    else:
        chance = format_share(probability)
    return _(
        "%(better)s лучше %(worse)s с вероятностью %(chance)s",
        better=better,
        worse=worse,
        chance=chance,
    )


def heat_rows(grid: list[list[int]]) -> list[dict]:
    peak = max((n for row in grid for n in row), default=0)
    return [
        {
            "day": _(WEEKDAYS[day]),
            "cells": [
                {"n": n, "level": math.ceil(HEAT_LEVELS * n / peak) if peak else 0} for n in row
            ],
        }
        for day, row in enumerate(grid)
    ]


def _operator_names(owner_id: int) -> dict[str, str]:
    users = db.session.scalars(
        select(PbxUser).join(PbxAccount).where(PbxAccount.owner_id == owner_id)
    ).all()
    return {u.pin: u.display_name or u.name for u in users}


def lead_panel(days, widget_id) -> dict:
    """Everything the panel shows for the signed-in owner's widgets over the last ``days`` days."""
    # This process's beacons first (with Redis: everyone's), so the numbers are current.
    counter.flush(counter.counter_for(current_app._get_current_object()))
    widgets = db.session.scalars(
        select(Widget).where(Widget.owner_id == g.owner.id).order_by(Widget.id)
    ).all()
    if widget_id not in (None, ""):
        widgets = [w for w in widgets if str(w.id) == str(widget_id)]
    ids = [w.id for w in widgets]
    dates = period_days(int(days or 30))
    first, last = dates[0], dates[-1]
    start, end = day_start_utc(first), day_start_utc(last + timedelta(days=1))
    names = _operator_names(g.owner.id)
    operators = [
        {
            "name": f"{names[o.pin]} ({o.pin})" if o.pin in names else o.pin,
            "answered": o.answered,
            "missed": o.missed,
            "median": format_duration(o.median_wait) or "—",
        }
        for o in figures.operators(ids, start, end)
    ]
    tests = []
    for widget in widgets:
        ab = figures.ab_figures(widget, last)
        if ab is not None:
            tests.append({"widget": widget, "label": widget_label(widget), "ab": ab})
    return {
        "funnel": figures.funnel(ids, first, last, start, end),
        "sources": figures.by_source(ids, start, end, _("прямой заход или неизвестно")),
        "pages": figures.by_page(ids, first, last, start, end),
        "operators": operators,
        "heat": heat_rows(figures.heat_map(ids, start, end)),
        "tests": tests,
        "percent": percent,
        "verdict": verdict,
        "winner_form": WinnerForm(),
    }


@bp.record_once
def _register(state) -> None:
    state.app.jinja_env.globals["lead_panel"] = lead_panel
