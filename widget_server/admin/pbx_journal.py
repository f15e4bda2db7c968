"""The PBX page's reconciliation with the call journal: the button, and past runs in words."""

from __future__ import annotations

from datetime import date, timedelta

from flask import abort, flash, g, redirect, request, url_for
from flask_wtf import FlaskForm
from sqlalchemy import select

from ..dispatch import reconcile
from ..extensions import db, limiter
from ..models import PbxAccount, PbxJournal, utcnow
from ..pbx.journal import MOSCOW_OFFSET
from .access import login_required, owned_or_404
from .blueprint import bp
from .i18n import N_, _

SHOWN_RUNS = 5
STATUS_WORDS = {
    "ordered": N_("ждём файл от АТС"),
    "done": N_("сверено"),
    "failed": N_("не удалось"),
}
ERROR_WORDS = {
    "already-ordered": N_("Журнал за этот период уже заказан у АТС."),
    "bad-zip": N_("Файл журнала повреждён: он не открывается как архив."),
    "empty-zip": N_("В архиве журнала нет файла."),
    "not-a-journal": N_("Вместо файла журнала АТС прислала страницу или ошибку."),
    "unknown-layout": N_(
        "В файле журнала нет строки заголовка, а столбцов не столько, сколько мы знаем."
    ),
    "missing-columns": N_("В файле журнала нет нужных столбцов (session_id, start_call_date)."),
    "garbage": N_("В файле журнала нет ни одной строки, которую можно прочитать."),
    "too-big": N_("Файл журнала слишком большой."),
}


def journal_error_text(error: str | None) -> str:
    """A stored run error (``code: message``) as a sentence for the owner."""
    if not error:
        return ""
    code, _sep, message = error.partition(": ")
    if code in ERROR_WORDS:
        return _(ERROR_WORDS[code])
    return _("АТС не отдала журнал: %(message)s", message=message or code)


def recent_journals(account: PbxAccount) -> list[dict]:
    """The account's last reconciliation runs, ready for the template."""
    runs = db.session.scalars(
        select(PbxJournal)
        .where(PbxJournal.pbx_account_id == account.id)
        .order_by(PbxJournal.id.desc())
        .limit(SHOWN_RUNS)
    )
    return [
        {
            "run": run,
            "status": _(STATUS_WORDS.get(run.status, run.status)),
            "error": journal_error_text(run.error),
            "day": (run.period_start + MOSCOW_OFFSET).strftime("%Y-%m-%d"),
        }
        for run in runs
    ]


def _owner_key() -> str:
    return f"owner:{g.owner.id}" if g.get("owner") else "anonymous"


@bp.post("/pbx/<int:account_id>/journal")
@login_required
@limiter.limit("10/hour", key_func=_owner_key)  # each one orders a file from the PBX
def pbx_journal(account_id: int):
    """Order a Moscow day's journal now and reconcile it as soon as the file is there."""
    account = owned_or_404(PbxAccount, account_id)
    if not FlaskForm().validate_on_submit():
        abort(400)
    today = (utcnow() + MOSCOW_OFFSET).date()
    try:
        day = date.fromisoformat(request.form.get("day") or today.isoformat())
    except ValueError:
        day = None
    if day is None or day > today or day < today - timedelta(days=90):
        flash(_("Выберите день не позже сегодняшнего и не раньше чем 90 дней назад."), "error")
        return redirect(url_for("admin.pbx_detail", account_id=account.id) + "#journal")
    run = reconcile.reconcile_now(account, *reconcile.moscow_day(day))
    if run.status == "done":
        flash(
            _(
                "Журнал сверен: звонков %(rows)s, наших %(matched)s, досчитано %(settled)s, "
                "неизвестных нам %(unknown)s.",
                rows=run.rows,
                matched=run.matched,
                settled=run.settled,
                unknown=len(run.unknown_calls or []),
            ),
            "success",
        )
    elif run.status == "ordered":
        flash(_("Журнал заказан. АТС готовит файл несколько минут; итог появится здесь."))
    else:
        flash(_("Сверка не удалась.") + " " + journal_error_text(run.error), "error")
    return redirect(url_for("admin.pbx_detail", account_id=account.id) + "#journal")
