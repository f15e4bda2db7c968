""" "Позвонить сейчас" on a held or missed request, or one whose talk is unconfirmed: the
owner dials it again through the visitor's own path (``intake.submit``), so every limit
still applies, and is told in words what happened: calling, held again, put off to the
opening, or refused and why.
"""

from __future__ import annotations

import logging
import math

from flask import abort, flash, g, redirect, url_for
from flask_wtf import FlaskForm

from ..extensions import db
from ..models import CallbackRequest
from ..phones import mask_phone
from ..statuses import Status
from ..visitor import intake
from ..visitor.texts import pick_language
from .access import login_required, owned_or_404
from .blueprint import bp
from .i18n import _
from .request_stats import held_reason_label, talk_unconfirmed

log = logging.getLogger(__name__)

# Ended without a talk, not by the visitor's own choice: worth dialling again.
CALLABLE = frozenset(
    {
        Status.HELD,
        Status.NO_OPERATOR,
        Status.VISITOR_BUSY,
        Status.VISITOR_NO_ANSWER,
        Status.PBX_ERROR,
    }
)


def may_call_now(req: CallbackRequest) -> bool:
    """A request that ended without a talk, or whose talk nothing confirmed.

    The call machine never rings an unconfirmed visitor again (they may have talked):
    the owner, who can ask the operator, decides.
    """
    if req.is_test:
        return False
    if talk_unconfirmed(req):
        return True
    return req.status in CALLABLE and req.connected_at is None


def _refusal_words(refused: intake.Refused) -> str:
    if refused.retry_after:
        minutes = max(1, math.ceil(refused.retry_after / 60))
        return _(
            "на этот номер уже звонили недавно, лимит звонков на номер позволит позвонить "
            "через %(minutes)s мин.",
            minutes=minutes,
        )
    return refused.message(g.lang)


@bp.post("/requests/<int:request_id>/call-now")
@login_required
def request_call_now(request_id: int):
    req = owned_or_404(CallbackRequest, request_id)
    if not FlaskForm().validate_on_submit():
        abort(400)
    back = redirect(url_for("admin.request_timeline", request_id=req.id))
    if not may_call_now(req):
        flash(_("Эту заявку нельзя набрать заново."), "error")
        return back
    widget = req.widget
    result = intake.submit(
        widget,
        {
            "phone": req.phone,
            "consent": True,
            "group": req.widget_group.group.pin,
            "name": req.name,
        },
        origin=req.origin,
        client_ip=None,
        lang=pick_language(widget.language),
        consent_text=req.consent_text,  # the visitor's own consent, given with the first request
        by_owner=True,
    )
    if isinstance(result, intake.Refused):
        flash(_("Не звоним: %(why)s", why=_refusal_words(result)), "error")
        return back
    again = db.session.get(CallbackRequest, result.request_id)
    again.consent_at = req.consent_at
    db.session.commit()
    log.info(
        "owner %s dialled request %s again as %s (%s)",
        g.owner.id,
        req.id,
        again.id,
        mask_phone(req.phone),
    )
    if result.held:
        flash(
            _("Звонок снова задержан: %(reason)s.", reason=held_reason_label(again.held_reason)),
            "error",
        )
    elif result.scheduled_for:
        flash(_("Сейчас нерабочее время: позвоним %(when)s.", when=result.when), "info")
    else:
        flash(_("Звоним: сначала оператору, потом на номер заявки."), "success")
    return redirect(url_for("admin.request_timeline", request_id=again.id))


@bp.record_once
def _template_global(state) -> None:
    state.app.jinja_env.globals["may_call_now"] = may_call_now
