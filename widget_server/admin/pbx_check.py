"""The PBX page's guided first call: ring the owner, show what the call showed, in words;
and the raw exchange journal to download (secrets removed, numbers masked)."""

from __future__ import annotations

from flask import (
    Response,
    abort,
    current_app,
    flash,
    g,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_wtf import FlaskForm

from ..dispatch import first_call
from ..extensions import limiter
from ..models import PbxAccount
from ..pbx import exchanges
from ..pbx.dialect_words import DIALECT_WORDS, findings_words
from ..visitor import intake
from ..visitor.status import status_view
from .access import login_required, owned_or_404
from .blueprint import bp
from .i18n import _

REFRESH_SECONDS = 5


def _owner_key() -> str:
    return f"owner:{g.owner.id}" if g.get("owner") else "anonymous"


def _back(account: PbxAccount):
    return redirect(url_for("admin.pbx_detail", account_id=account.id) + "#first-call")


@bp.post("/pbx/<int:account_id>/first-call")
@login_required
@limiter.limit("5/minute", key_func=_owner_key)  # each one is a real call
def pbx_first_call(account_id: int):
    """Order the guided test call to the owner's own phone."""
    account = owned_or_404(PbxAccount, account_id)
    if not FlaskForm().validate_on_submit():
        abort(400)
    if not g.owner.phone:
        flash(_("Укажите свой номер в профиле, чтобы заказать пробный звонок."), "error")
        return _back(account)
    result = first_call.start(
        account,
        g.owner.phone,
        origin=current_app.config["PUBLIC_URL"],
        client_ip=request.remote_addr,
        note=_("Пробный звонок владельца сайта (%(email)s) на свой номер.", email=g.owner.email),
    )
    if result is None:
        flash(_("Для пробного звонка нужен виджет на этом подключении."), "error")
        return _back(account)
    if not isinstance(result, intake.Accepted):
        message = "; ".join(result.field_messages(g.lang).values()) or result.message(g.lang)
        flash(_("Пробный звонок не заказан: %(message)s", message=message), "error")
        return _back(account)
    return redirect(
        url_for("admin.pbx_first_call_result", account_id=account.id, request_id=result.request_id)
    )


@bp.get("/pbx/<int:account_id>/first-call/<int:request_id>")
@login_required
def pbx_first_call_result(account_id: int, request_id: int):
    """The call's progress while it lasts, then its findings (set on the account)."""
    account = owned_or_404(PbxAccount, account_id)
    req = first_call.test_request(account, request_id)
    if req is None:
        abort(404)
    found = first_call.finish(account, req)
    return render_template(
        "admin/pbx/first_call.html",
        account=account,
        req=req,
        view=status_view(req, g.lang),
        lines=findings_words(found) if found is not None else None,
        refresh=REFRESH_SECONDS if found is None else None,
    )


@bp.get("/pbx/<int:account_id>/exchanges.json")
@login_required
def pbx_exchanges_download(account_id: int):
    """The raw journal of the last calls, for a support request."""
    account = owned_or_404(PbxAccount, account_id)
    name = f"pbx-exchanges-{account.id}.json"
    return Response(
        exchanges.masked_download(account),
        mimetype="application/json",
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
    )


@bp.app_template_global("pbx_dialect_text")
def dialect_text(account: PbxAccount) -> str:
    """The detected dialect in words, for the PBX page ('' before the first call)."""
    if not account.dialect:
        return ""
    return f"({account.dialect}) " + _(DIALECT_WORDS.get(account.dialect, account.dialect))
