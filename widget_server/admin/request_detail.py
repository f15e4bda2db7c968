"""One request of the log: its timeline of calls and PBX events, its recordings, report as junk."""

from __future__ import annotations

import logging

from flask import Response, flash, g, redirect, render_template, request, url_for
from flask_wtf import FlaskForm

from ..abuse import blocklist
from ..dispatch import recordings, state
from ..dispatch.settle import decide
from ..extensions import db
from ..insight.source import source_of
from ..models import CallAttempt, CallbackRequest
from ..pbx.client import PbxError
from ..pbx.events import Why, stage_for_event
from ..phones import mask_phone
from ..statuses import Outcome
from .access import login_required, owned_or_404
from .blueprint import bp
from .channels import request_deliveries
from .i18n import N_, _
from .lead_work import lead_form_for
from .request_stats import (
    format_duration,
    held_reason_label,
    local_time,
    request_badge,
    request_status_label,
    talk_seconds,
    talk_unconfirmed,
    widget_label,
)

log = logging.getLogger(__name__)

OUTCOME_LABELS = {
    Outcome.COMPLETED: N_("Состоялся разговор"),
    Outcome.UNCONFIRMED: N_("Звонок завершён, разговор не подтверждён"),
    Outcome.VISITOR_BUSY: N_("Посетитель занят"),
    Outcome.VISITOR_NO_ANSWER: N_("Посетитель не ответил"),
    Outcome.OPERATOR_NO_ANSWER: N_("Оператор не ответил"),
    Outcome.OPERATOR_TIMEOUT: N_("Оператор не ответил вовремя"),
    Outcome.FAILED: N_("АТС отказала в вызове"),
    Outcome.PBX_UNAVAILABLE: N_("АТС недоступна"),
    Outcome.UNKNOWN: N_("АТС не подтвердила вызов"),
    Outcome.JOURNAL_ANSWERED: N_("По журналу звонков АТС: отвечен, есть время разговора"),
    Outcome.JOURNAL_NOT_ANSWERED: N_("По журналу звонков АТС: не отвечен"),
}
# Why a call's talk is unconfirmed (pbx.events.Why), for an owner who knows no PBX terms.
UNCONFIRMED_WHY = {
    Why.NOTHING_ABOUT_VISITOR: N_(
        "Оператор ответил, но АТС не сообщила, звонил ли телефон посетителя "
        "и взял ли посетитель трубку."
    ),
    Why.CONNECTED_MAYBE_OPERATOR: N_(
        "АТС сообщила о соединении, но не сообщила, что звонила посетителю: "
        "возможно, соединение было только с оператором."
    ),
    Why.PBX_SAYS_UNANSWERED: N_(
        "По ходу звонка АТС сообщила, что посетитель взял трубку, а в итоговых данных "
        "отметила звонок как неотвеченный."
    ),
    Why.NO_AUDIO_AFTER_ANSWER: N_(
        "По ходу звонка АТС сообщила, что посетитель взял трубку, а при завершении — "
        "что соединения не было."
    ),
    Why.BUSY_AFTER_ANSWER: N_(
        "По ходу звонка АТС сообщила, что посетитель взял трубку, а при завершении — "
        "что его линия была занята."
    ),
    Why.SUCCESS_WITHOUT_ANSWER: N_(
        "Телефон посетителя звонил, и АТС не сообщила, что он взял трубку, "
        "но завершила звонок как состоявшийся разговор."
    ),
    Why.NOTHING_HEARD: N_(
        "АТС не сообщила, как прошёл звонок: ни о его завершении, ни в данных о звонке."
    ),
    Why.PBX_REPORTS_ANSWER: N_(
        "Телефон посетителя звонил, и АТС отметила звонок как отвеченный, но не сообщила, "
        "что трубку взял посетитель, а не только оператор."
    ),
}
UNCONFIRMED_WHY_FALLBACK = N_("АТС не подтвердила, что посетитель взял трубку.")
UNCONFIRMED_ADVICE = N_(
    "Повторно посетителю не звонили: если разговор был, второй звонок ему бы помешал. "
    "Уточните у оператора, был ли разговор, и при необходимости позвоните сейчас."
)
EVENT_LABELS = {
    "new": N_("звонок оператору"),
    "connected": N_("соединены"),
    "disconnected": N_("разъединение"),
    "end": N_("завершён"),
}
# disconnect_reason of a `disconnected` event (shared/pbx-rostelecom.md: codes seen on live domains).
DISCONNECT_WORDS = {
    "": N_("соединения не было"),
    "0": N_("звонок переведён"),
    "3": N_("линия занята"),
    "4": N_("звонивший положил трубку"),
    "5": N_("разговор завершён"),
}
AUDIO_EXTENSIONS = {
    "audio/wav": "wav",
    "audio/x-wav": "wav",
    "audio/wave": "wav",
    "audio/mpeg": "mp3",
    "audio/mp3": "mp3",
    "audio/ogg": "ogg",
}


class JunkForm(FlaskForm):
    """Report a request as junk: a POST with nothing but the CSRF token."""


def operator_name(req: CallbackRequest, pin: str) -> str:
    account = req.widget.pbx_account
    user = account.user_by_pin(pin)
    if user is not None:
        who = _("оператор")
        return f"{user.display_name or user.name} ({who} {pin})"
    group = next((gr for gr in account.groups if gr.pin == pin), None)
    if group is not None:
        what = _("группа АТС")
        return f"{group.name} ({what} {pin})"
    return pin


def event_label(event, visitor_phone: str) -> str:
    """A PBX event in words; a ``calling`` says whom it rings (pbx.events decides)."""
    if event.state == "calling":
        stage = stage_for_event(event.payload or {}, visitor_phone)
        return _("вызов посетителя") if stage == "visitor_ringing" else _("вызов оператора")
    return _(EVENT_LABELS.get(event.state, event.state))


def disconnect_words(reason) -> str:
    """ "причина разъединения 5" as the owner reads it; a text reason stays as the PBX wrote it."""
    reason = str(reason or "").strip()
    if reason in DISCONNECT_WORDS:
        return _(DISCONNECT_WORDS[reason])
    return _("причина по коду АТС %(code)s", code=reason) if reason.isdigit() else reason


def pbx_answer_words(result: str | None, message: str | None) -> str:
    """What the PBX answered the dial with, in a sentence ("HTTP 503" is a PBX failure)."""
    result = str(result or "")
    if result.startswith("http-") and result[5:].isdigit():
        code = int(result[5:])
        if code in (401, 403):
            return _("АТС отклонила подпись или код идентификации.")
        if code >= 500 or code == 429:
            return _("У АТС был сбой: она ответила ошибкой сервера (%(code)s).", code=code)
        return _("АТС ответила ошибкой %(code)s.", code=code)
    if result in ("connection", "timeout"):
        return _("АТС не ответила: недоступна по сети или не успела ответить.")
    if result == "tls":
        return _("Не удалось проверить сертификат АТС.")
    if result == "bad-response":
        return _("АТС ответила не так, как описано в её API.")
    if result.lstrip("-").isdigit():
        # The PBX's own words, when it sent some (after "method: code: ").
        said = (message or "").split(": ")[-1]
        said = said if any("а" <= ch.lower() <= "я" for ch in said) else ""
        return _("АТС отказалась звонить (код %(code)s).", code=result) + (
            f" {said}" if said else ""
        )
    return _("АТС ответила: %(message)s", message=message or result)


def unconfirmed_why(req: CallbackRequest, attempt: CallAttempt) -> str:
    """Why an unconfirmed call is so: the settling decision read again from what is stored."""
    why = decide(attempt, req.phone, attempt.call_info).why
    return _(UNCONFIRMED_WHY.get(why, UNCONFIRMED_WHY_FALLBACK))


def attempt_title(req: CallbackRequest, attempt: CallAttempt) -> str:
    """The heading of one try: a call, or a try the PBX did not take (nothing rang)."""
    if attempt.outcome == Outcome.PBX_UNAVAILABLE:
        result = str(attempt.pbx_result or "")
        if result.startswith("http-") and result[5:].isdigit():
            return _(
                "Попытка %(seq)s: АТС не ответила (HTTP %(code)s)", seq=attempt.seq, code=result[5:]
            )
        return _("Попытка %(seq)s: АТС не ответила", seq=attempt.seq)
    return _(
        "Звонок %(seq)s: оператор %(operator)s",
        seq=attempt.seq,
        operator=operator_name(req, attempt.operator_pin),
    )


def attempt_view(req: CallbackRequest, attempt: CallAttempt) -> dict:
    events = [
        {
            "state": event_label(e, req.phone),
            "pbx_time": e.event_time,
            "received": local_time(e.received_at),
            "reason": (e.payload or {}).get("disconnect_reason") or "",
            "reason_words": disconnect_words((e.payload or {}).get("disconnect_reason"))
            if e.state == "disconnected"
            else "",
        }
        for e in attempt.events
    ]
    return {
        "id": attempt.id,
        "seq": attempt.seq,
        "title": attempt_title(req, attempt),
        "refused_try": attempt.outcome == Outcome.PBX_UNAVAILABLE,  # nothing rang
        "round": attempt.round,
        "operator": operator_name(req, attempt.operator_pin),
        "sent": local_time(attempt.sent_at),
        "accepted": local_time(attempt.accepted_at),
        "session_id": attempt.session_id,
        "events": events,
        "ended": local_time(attempt.ended_at),
        "outcome": _(OUTCOME_LABELS[attempt.outcome])
        if attempt.outcome in OUTCOME_LABELS
        else (attempt.outcome or _("ещё идёт")),
        "ok": attempt.outcome == Outcome.COMPLETED,
        "unconfirmed": attempt.outcome == Outcome.UNCONFIRMED,
        "why": unconfirmed_why(req, attempt) if attempt.outcome == Outcome.UNCONFIRMED else "",
        "pbx_message": attempt.pbx_message,
        "pbx_words": pbx_answer_words(attempt.pbx_result, attempt.pbx_message)
        if attempt.pbx_message or attempt.pbx_result
        else "",
        "duration": format_duration(attempt.duration) if attempt.duration else "",
        "has_recording": bool(attempt.session_id and attempt.is_record),
    }


@bp.get("/requests/<int:request_id>")
@login_required
def request_timeline(request_id: int):
    req = owned_or_404(CallbackRequest, request_id)
    final = state.is_final(req)
    return render_template(
        "admin/requests/timeline.html",
        req=req,
        created=local_time(req.created_at),
        consent_at=local_time(req.consent_at),
        scheduled=local_time(req.scheduled_for),
        finished=local_time(req.finished_at),
        attempts=[attempt_view(req, a) for a in req.attempts],
        status_label=request_status_label(req),
        badge=request_badge(req),
        unconfirmed=talk_unconfirmed(req),
        unconfirmed_advice=_(UNCONFIRMED_ADVICE),
        held_reason=held_reason_label(req.held_reason),
        final=final,
        duration=format_duration(talk_seconds(req)),
        widget=widget_label(req.widget),
        blocked=blocklist.is_blocked(g.owner.id, req.phone),
        junk_form=JunkForm(),
        source=source_of(req),
        lead_form=lead_form_for(req),
        deliveries=request_deliveries(g.owner.id, req.id),
    )


@bp.post("/requests/<int:request_id>/junk")
@login_required
def report_junk(request_id: int):
    req = owned_or_404(CallbackRequest, request_id)
    form = JunkForm()
    if form.validate_on_submit():
        blocklist.report_junk(req.id, g.owner.id)
        log.info(
            "owner %s reported request %s (%s) as junk", g.owner.id, req.id, mask_phone(req.phone)
        )
        flash(_("Номер заблокирован для ваших виджетов."), "success")
    return redirect(url_for("admin.request_timeline", request_id=request_id))


@bp.get("/requests/<int:request_id>/calls/<int:attempt_id>/recording")
@login_required
def recording(request_id: int, attempt_id: int):
    """The call's recording streamed through us: a fresh one-time PBX link on every play."""
    attempt = owned_or_404(CallAttempt, attempt_id)
    if attempt.request_id != request_id:
        return _no_recording(request_id, 404)
    if not attempt.session_id:
        return _no_recording(request_id, 404)
    try:
        upstream = recordings.open_recording(attempt)
    except PbxError as exc:
        log.info("recording of call %s unavailable: %s", attempt.id, exc.message)
        down = exc.result in ("connection", "timeout", "tls") or (exc.http_status or 0) >= 500
        return _no_recording(request_id, 502 if down else 404, down=down)
    filename_base = f"call-{request_id}-{attempt.seq}"
    db.session.rollback()  # nothing more to read: free the connection while streaming
    kind = upstream.headers.get("Content-Type", "audio/wav").split(";")[0].strip().lower()
    # Whatever the PBX sends is served from our origin: only audio plays inline.
    extension = AUDIO_EXTENSIONS.get(kind)
    download = request.args.get("download") == "1" or extension is None
    if extension is None and not kind.startswith("audio/"):
        kind = "application/octet-stream"
    filename = f"{filename_base}.{extension or 'bin'}"

    def chunks():
        try:
            yield from upstream.iter_content(chunk_size=64 * 1024)
        finally:
            upstream.close()

    response = Response(chunks(), mimetype=kind, direct_passthrough=True)
    length = upstream.headers.get("Content-Length")
    if length and length.isdigit():
        response.headers["Content-Length"] = length
    disposition = "attachment" if download else "inline"
    response.headers["Content-Disposition"] = f'{disposition}; filename="{filename}"'
    response.headers["Cache-Control"] = "private, no-store"
    return response


def _no_recording(request_id: int, status: int, *, down: bool = False):
    message = (
        _("АТС сейчас недоступна. Попробуйте позже.")
        if down
        else _("У АТС нет записи этого разговора (или она ещё не готова).")
    )
    return render_template(
        "admin/requests/recording_error.html", request_id=request_id, message=message
    ), status
