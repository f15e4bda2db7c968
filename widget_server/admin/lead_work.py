"""Working the leads: a lead status (new, in work, done, spam) and a comment per request."""

from __future__ import annotations

import logging

from flask import flash, g, redirect, url_for
from flask_wtf import FlaskForm
from wtforms import SelectField, TextAreaField
from wtforms.validators import Length

from ..extensions import db
from ..models import CallbackRequest
from .access import login_required, owned_or_404
from .blueprint import bp
from .i18n import N_, _
from .lead_labels import LEAD_STATUS_LABELS

log = logging.getLogger(__name__)

MAX_COMMENT = 2000


class LeadForm(FlaskForm):
    lead_status = SelectField(
        N_("Статус"), invalid_choice_message=N_("Выберите значение из списка.")
    )
    lead_comment = TextAreaField(
        N_("Комментарий"),
        validators=[Length(max=MAX_COMMENT, message=N_("Не длиннее 2000 знаков."))],
    )


def lead_form_for(req: CallbackRequest | None = None) -> LeadForm:
    """The form, filled from ``req`` when given (a GET), else from the posted data."""
    form = LeadForm(obj=req) if req is not None else LeadForm()
    form.lead_status.choices = [(code, _(label)) for code, label in LEAD_STATUS_LABELS.items()]
    return form


@bp.post("/requests/<int:request_id>/lead")
@login_required
def request_lead(request_id: int):
    req = owned_or_404(CallbackRequest, request_id)
    form = lead_form_for()
    if form.validate_on_submit():
        req.lead_status = form.lead_status.data
        req.lead_comment = (form.lead_comment.data or "").strip() or None
        db.session.commit()
        # The comment may hold a number or a name: it is never logged.
        log.info("owner %s set request %s to %s", g.owner.id, req.id, req.lead_status)
        flash(_("Сохранено."), "success")
    else:
        for errors in form.errors.values():
            for error in errors:
                flash(_(error), "error")
    return redirect(url_for("admin.request_timeline", request_id=request_id))
