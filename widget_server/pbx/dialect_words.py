"""The first-call findings in words for the owner (Russian source, English by gettext)."""

from __future__ import annotations

from flask_babel import gettext as _

from .dialect_check import Findings


def N_(text: str) -> str:
    """Mark ``text`` for extraction; translated where it is shown."""
    return text


DIALECT_WORDS = {
    "a": N_("события о каждом плече, connected — когда ответил посетитель"),
    "b": N_("нет события calling для плеча посетителя"),
    "c": N_("connected приходит, когда ответил оператор"),
    "d": N_("connected приходит, когда ответил оператор; посетитель не ответил"),
    "e": N_("в событиях другой номер сессии, чем в ответе call_back"),
    "f": N_("call_back отвечает кодом «1» при успехе"),
    "g": N_("события не приходят: звонки отслеживаются опросом call_info"),
    "h": N_("АТС долго звонит оператору"),
    "s": N_(
        "журнал звонка не называет номер посетителя (как в статье Ростелекома): "
        "ответил ли посетитель, видно только по событиям"
    ),
}


def _yes(value: bool | None) -> str:
    if value is None:
        return _("не видно")
    return _("да") if value else _("нет")


def findings_words(found: Findings) -> list[str]:
    """One sentence per finding, in the order the owner reads them."""
    if not found.placed:
        return [_("АТС не приняла звонок: узнать, как она говорит, не удалось.")]
    lines = [
        _("call_back ответил кодом «%(code)s».", code=found.result_code or "?"),
        _("События приходят: %(yes)s.", yes=_yes(found.events_arrive))
        + ("" if found.events_arrive else " " + _("Следим за звонками опросом call_info.")),
    ]
    if found.session_ids_match is not None:
        lines.append(
            _("Номер сессии совпадает: %(yes)s.", yes=_yes(found.session_ids_match))
            + ("" if found.session_ids_match else " " + _("Сопоставляем по номеру."))
        )
    if found.events_arrive:
        lines.append(
            _("Плечо посетителя (calling): %(yes)s.", yes=_yes(found.visitor_calling_seen))
        )
        lines.append(
            _(
                "connected — на ответ оператора: %(yes)s.",
                yes=_yes(found.connected_on_operator_answer),
            )
        )
    log_line = _("В call_info есть session_log: %(yes)s.", yes=_yes(found.session_log_present))
    if found.session_log_present:
        log_line += " " + _(
            "Журнал звонка в call_info называет номер посетителя: %(yes)s.",
            yes=_yes(found.log_names_visitor),
        )
    lines.append(
        log_line + " " + _("Посетитель ответил: %(yes)s.", yes=_yes(found.visitor_answered))
    )
    lines.append(tls_words(found))
    lines.append(
        _(
            "Диалект АТС: (%(letter)s) %(words)s.",
            letter=found.dialect,
            words=_(DIALECT_WORDS[found.dialect]),
        )
    )
    return lines


def tls_words(found: Findings) -> str:
    """The TLS finding: verified, failed with the openssl advice, or not checked."""
    tls = found.tls or {}
    if found.tls_verified:
        return _(
            "TLS: сертификат проверен (%(subject)s; выдан: %(issuer)s).",
            subject=tls.get("subject", ""),
            issuer=tls.get("issuer", ""),
        )
    if found.tls_verified is False:
        return _(
            "TLS: сертификат не проверен (%(error)s). Посмотрите цепочку: %(advice)s",
            error=tls.get("error", ""),
            advice=tls.get("advice", ""),
        )
    return _("TLS: не проверялся (%(error)s).", error=tls.get("error") or _("нет соединения"))
