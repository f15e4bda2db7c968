"""The widget page's "Leads" tab: goals in the site's analytics, triggers and the A/B test."""

from __future__ import annotations

import logging

from flask import flash, g, redirect, render_template, request, url_for
from flask_wtf import FlaskForm

from ..extensions import db
from ..insight.lead_settings import ab_of, winner_settings
from ..models import Widget
from .access import login_required, owned_or_404
from .blueprint import bp
from .i18n import _
from .request_stats import widget_label
from .widget_leads_form import WidgetLeadsForm, fill_form, settings_from_form

log = logging.getLogger(__name__)


class WinnerForm(FlaskForm):
    """Make a variant the default: a POST with the CSRF token and ``variant``."""


@bp.route("/widgets/<int:widget_id>/leads", methods=["GET", "POST"])
@login_required
def widget_leads(widget_id: int):
    widget = owned_or_404(Widget, widget_id)
    form = WidgetLeadsForm()
    if request.method == "GET":
        fill_form(form, widget.lead_settings)
    elif form.validate_on_submit():
        widget.lead_settings = settings_from_form(form, widget.lead_settings)
        db.session.commit()
        log.info("owner %s saved the leads settings of widget %s", g.owner.id, widget.id)
        flash(_("Изменения сохранены."), "success")
        return redirect(url_for("admin.widget_leads", widget_id=widget.id))
    status = 400 if form.errors else 200
    return render_template(
        "admin/widgets/leads.html", form=form, widget=widget, heading=widget_label(widget)
    ), status


@bp.post("/widgets/<int:widget_id>/ab-winner")
@login_required
def widget_ab_winner(widget_id: int):
    """Copy the winning variant's texts (and triggers) into the widget; the test ends."""
    widget = owned_or_404(Widget, widget_id)
    vid = request.form.get("variant")
    if not WinnerForm().validate_on_submit() or vid not in ("a", "b"):
        flash(_("Не удалось выбрать вариант: обновите страницу и попробуйте снова."), "error")
    elif ab_of(widget.lead_settings or {}) is None:
        flash(_("A/B-тест уже закончен."), "error")
    else:
        texts, settings = winner_settings(widget.lead_settings or {}, vid)
        widget.texts = {**(widget.texts or {}), **texts}
        widget.lead_settings = settings
        db.session.commit()
        log.info("owner %s made variant %s of widget %s the default", g.owner.id, vid, widget.id)
        flash(
            _("Вариант %(variant)s теперь основной, тест закончен.", variant=vid.upper()), "success"
        )
    return redirect(url_for("admin.dashboard", widget=widget.id))
