"""The widget caps the owner can see: the first week's lower cap with its reason and end,
how much of each cap is used now (a warning from 80 %), and an installation admin's
control to lift the first week's cap for one widget (recorded: who and when).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import UTC, datetime

from flask import abort, flash, g, redirect, request, url_for
from flask_wtf import FlaskForm
from sqlalchemy import select

from ..abuse import limits
from ..dev.installation import is_demo
from ..extensions import db
from ..models import Owner, Widget, utcnow
from .access import admin_required
from .blueprint import bp
from .i18n import _, format_number
from .owner_time import owner_time
from .widget_words import within

log = logging.getLogger(__name__)

WARN_SHARE = 0.8


@dataclass
class CapLine:
    text: str  # "за 1 час: 8 из 10"
    used: int
    amount: int
    frees_at: datetime | None  # the owner's local time a slot frees, when full


@dataclass
class CapStatus:
    new: bool
    ends_at: datetime | None  # the owner's local time the first week ends
    lifted_at: datetime | None
    lifted_by: str | None
    lines: list[CapLine] = field(default_factory=list)
    unknown: bool = False  # the limit store did not answer
    demo: bool = False  # `widget-server demo`: no first week's cap (abuse.limits.is_new)

    @property
    def warn(self) -> bool:
        return any(line.used >= WARN_SHARE * line.amount for line in self.lines)

    @property
    def full(self) -> bool:
        return any(line.used >= line.amount for line in self.lines)


def _line(item, used: int, reset: float) -> CapLine:
    text = _(
        "%(within)s: %(used)s из %(amount)s",
        within=within(item.GRANULARITY.name, item.multiples),
        used=format_number(used),
        amount=format_number(item.amount),
    )
    frees = owner_time(datetime.fromtimestamp(reset, UTC).replace(tzinfo=None))
    return CapLine(text, used, item.amount, frees if used >= item.amount else None)


def cap_status(widget: Widget) -> CapStatus:
    new = limits.is_new(widget)
    ends = widget.created_at + limits.NEW_WIDGET_AGE if new and widget.created_at else None
    status = CapStatus(
        new, owner_time(ends), owner_time(widget.cap_lifted_at), widget.cap_lifted_by
    )
    status.demo = is_demo()
    try:
        status.lines = [_line(item, used, reset) for item, used, reset in limits.cap_usage(widget)]
    except Exception as exc:  # the store is down: say we do not know, never a made-up figure
        log.warning("widget %s: cap usage unknown (%s)", widget.id, exc.__class__.__name__)
        status.unknown = True
    return status


def cap_warnings(owner: Owner) -> list[tuple[Widget, CapStatus]]:
    """The owner's widgets whose cap is 80 % used or more."""
    widgets = db.session.scalars(select(Widget).where(Widget.owner_id == owner.id)).all()
    found = [(w, cap_status(w)) for w in widgets if w.active]
    return [(w, s) for w, s in found if s.warn]


def capped_new_widgets() -> list[tuple[Widget, CapStatus]]:
    """Every owner's widgets still under the first week's cap (for the admin's list)."""
    since = utcnow() - limits.NEW_WIDGET_AGE
    widgets = db.session.scalars(
        select(Widget)
        .where(Widget.created_at > since, Widget.cap_lifted_at.is_(None))
        .order_by(Widget.id)
    ).all()
    return [(w, cap_status(w)) for w in widgets]


@bp.post("/widgets/<int:widget_id>/lift-cap")
@admin_required
def widget_lift_cap(widget_id: int):
    """An installation admin lifts the first week's cap of any owner's widget."""
    widget = db.session.get(Widget, widget_id)
    if widget is None:
        abort(404)
    if not FlaskForm().validate_on_submit():
        abort(400)
    if widget.cap_lifted_at is None:
        widget.cap_lifted_at, widget.cap_lifted_by = utcnow(), g.owner.email
        db.session.commit()
        log.warning("admin %s lifted the first week's cap of widget %s", g.owner.id, widget.id)
    flash(
        _(
            "Ограничение первой недели снято для виджета «%(name)s»: теперь действует обычное.",
            name=widget.name or widget.public_key,
        ),
        "success",
    )
    back = request.form.get("back")
    if back == "widget" and widget.owner_id == g.owner.id:
        return redirect(url_for("admin.widget_edit", widget_id=widget.id) + "#cap")
    return redirect(url_for("admin.users_list") + "#new-widgets")


@bp.record_once
def _template_globals(state) -> None:
    state.app.jinja_env.globals.update(
        cap_status=cap_status, cap_warnings=cap_warnings, capped_new_widgets=capped_new_widgets
    )
