"""The widget editor's test call: the owner's own number, rung through a visitor's path."""

from __future__ import annotations

from flask import abort, current_app, flash, g, jsonify, redirect, request, url_for
from flask_wtf import FlaskForm

from ..extensions import limiter
from ..models import CallbackRequest, Widget
from ..visitor import intake
from ..visitor.status import status_view
from ..visitor.texts import pick_language as widget_language
from .access import login_required, owned_or_404
from .blueprint import bp
from .i18n import _

# -- test call ---------------------------------------------------------------------
# The editor shows these next to the "call me" button, where the owner is after the
# redirect (``#test-call``), not at the top of a long page (templates/admin/widgets/edit.html).
DONE, REFUSED = "test-call-success", "test-call-error"


def _owner_key() -> str:
    return f"owner:{g.owner.id}" if g.get("owner") else "anonymous"


@bp.post("/widgets/<int:widget_id>/test-call")
@login_required
@limiter.limit("5/minute", key_func=_owner_key)
def widget_test_call(widget_id: int):
    """Ring the owner's own number through exactly the path a visitor's request takes."""
    widget = owned_or_404(Widget, widget_id)
    if not FlaskForm().validate_on_submit():
        abort(400)
    if not g.owner.phone:
        flash(_("Укажите свой номер в профиле, чтобы заказать тестовый звонок."), REFUSED)
        return redirect(url_for("admin.widget_edit", widget_id=widget.id) + "#test-call")
    offered = widget.offered_groups
    group = request.form.get("group") or (offered[0].group.pin if offered else "")
    lang = widget_language(widget.language)  # the refusal reads as the widget would say it
    result = intake.submit(
        widget,
        {"phone": g.owner.phone, "consent": True, "group": group},
        origin=current_app.config["PUBLIC_URL"],
        client_ip=request.remote_addr,
        user_agent=request.user_agent.string or "",
        lang=lang,
        consent_text=_(
            "Тестовый звонок владельца сайта (%(email)s) на свой номер.", email=g.owner.email
        ),
        is_test=True,
    )
    if isinstance(result, intake.Accepted):
        flash(_("Тестовый звонок заказан."), DONE)
    else:
        message = "; ".join(result.field_messages(lang).values()) or result.message(lang)
        flash(_("Тестовый звонок не заказан: %(message)s", message=message), REFUSED)
    return redirect(url_for("admin.widget_edit", widget_id=widget.id) + "#test-call")


@bp.get("/widgets/<int:widget_id>/test-call/<int:request_id>")
@login_required
def widget_test_status(widget_id: int, request_id: int):
    """A test call's status, for the editor to follow without reloading."""
    widget = owned_or_404(Widget, widget_id)
    req = owned_or_404(CallbackRequest, request_id)
    if req.widget_id != widget.id or not req.is_test:
        abort(404)
    view = status_view(req, g.lang, public=False)  # the owner sees the truth
    return jsonify(status=view["status"], message=view["message"], final=view["final"])
