"""Every visitor-facing string of the widget, in Russian and English.

The server sends the texts with the widget config, so an owner can override
any of them per widget, and error messages from the API match the page.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import TYPE_CHECKING

from ..statuses import Status

if TYPE_CHECKING:  # for the annotation only: the texts import nothing of the app's
    from ..models import Widget

LANGUAGES = ("ru", "en")

UI_TEXTS: dict[str, dict[str, str]] = {
    "ru": {
        "button": "Перезвоните мне",
        "title": "Мы перезвоним вам",
        "intro": "Оставьте номер — оператор перезвонит вам.",
        "phone_label": "Ваш телефон",
        "phone_placeholder": "+7 (___) ___-__-__",
        "name_label": "Имя (необязательно)",
        "group_label": "Отдел",
        "consent": "Я даю согласие на обработку моего номера телефона и имени, чтобы мне перезвонили.",
        "policy_link": "Политика конфиденциальности",
        "submit": "Позвоните мне",
        "submit_hint": "Отметьте согласие, чтобы отправить номер",
        "sending": "Отправляем…",
        "cancel": "Отменить звонок",
        "close": "Закрыть",
        "countdown": "Позвоним в течение {seconds} с",
        "waited": "Ждём уже {time}",
        "again": "Заказать звонок ещё раз",
        "error_network": "Нет связи с сервером. Проверьте интернет и попробуйте ещё раз.",
        "error_phone_required": "Введите номер телефона",
        "error_phone_invalid": "Проверьте номер: нужен российский номер, 10 цифр после +7",
        "error_phone_extension": "Добавочный номер мы набрать не можем. Укажите мобильный или прямой номер без «доб.».",
        "error_consent": "Чтобы мы могли позвонить, нужно ваше согласие",
        "error_rate_limited": "Слишком много запросов. Попробуйте через {wait}.",
        "closed_title": "Сейчас мы не работаем",
        "closed_intro": "Выберите удобное время — мы позвоним.",
        "slot_label": "Когда позвонить",
        "no_slots": "Свободного времени для звонка пока нет. Попробуйте позже.",
    },
    "en": {
        "button": "Call me back",
        "title": "We will call you back",
        "intro": "Leave your number and an operator will call you back.",
        "phone_label": "Your phone number",
        "phone_placeholder": "+7 (___) ___-__-__",
        "name_label": "Name (optional)",
        "group_label": "Department",
        "consent": "I agree to the processing of my phone number and name so that I can be called back.",
        "policy_link": "Privacy policy",
        "submit": "Call me now",
        "submit_hint": "Tick the consent box to send your number",
        "sending": "Sending…",
        "cancel": "Cancel the call",
        "close": "Close",
        "countdown": "We will call within {seconds} s",
        "waited": "Waiting for {time}",
        "again": "Request another call",
        "error_network": "Cannot reach the server. Check your connection and try again.",
        "error_phone_required": "Enter your phone number",
        "error_phone_invalid": "Check the number: a Russian number with 10 digits after +7 is needed",
        "error_phone_extension": "We cannot dial an extension. Give a mobile or direct number without the extension.",
        "error_consent": "We need your consent to call you",
        "error_rate_limited": "Too many requests. Try again in {wait}.",
        "closed_title": "We are closed right now",
        "closed_intro": "Choose a time that suits you and we will call you.",
        "slot_label": "When to call",
        "no_slots": "There is no free time for a call yet. Please try again later.",
    },
}

# What the visitor reads for each status; a test checks every Status has both languages.
STATUS_MESSAGES: dict[str, dict[Status, str]] = {
    "ru": {
        Status.QUEUED: "Заявка принята, сейчас позвоним…",
        Status.SCHEDULED: "Звонок запланирован.",
        Status.CALLING_OPERATOR: "Соединяем с оператором…",
        Status.CALLING_VISITOR: "Оператор на линии — звоним вам, возьмите трубку.",
        Status.CONNECTED: "Идёт разговор.",
        Status.FINISHED: "Звонок завершён.",
        Status.NO_OPERATOR: "Операторы не ответили. Мы сохранили заявку и перезвоним вам, как только сможем.",
        Status.VISITOR_BUSY: "Ваш номер был занят. Мы сохранили заявку — можно заказать звонок ещё раз.",
        Status.VISITOR_NO_ANSWER: "Мы звонили, но вы не ответили. Можно заказать звонок ещё раз.",
        Status.PBX_ERROR: "Телефонная станция не ответила. Заявка сохранена — вам перезвонят.",
        Status.CANCELLED: "Мы не будем звонить. Если передумаете, закажите звонок ещё раз.",
        Status.RETRYING: "Телефонная станция не отвечает. Пробуем ещё раз — заявка сохранена.",
        Status.OPERATORS_BUSY: "Операторы не ответили. Через пару минут попробуем ещё раз.",
        Status.VISITOR_RETRY: "Не удалось до вас дозвониться. Попробуем ещё раз через несколько минут.",
        Status.HELD: "Заявка принята. Мы перезвоним вам.",
    },
    "en": {
        Status.QUEUED: "Request received, calling shortly…",
        Status.SCHEDULED: "The call is scheduled.",
        Status.CALLING_OPERATOR: "Connecting you to an operator…",
        Status.CALLING_VISITOR: "An operator is on the line — we are calling you now, please pick up.",
        Status.CONNECTED: "You are talking to the operator.",
        Status.FINISHED: "The call has ended.",
        Status.NO_OPERATOR: "No operator answered. We kept your request and will call you back as soon as we can.",
        Status.VISITOR_BUSY: "Your line was busy. We kept your request — you can ask for another call.",
        Status.VISITOR_NO_ANSWER: "We called but nobody answered. You can ask for another call.",
        Status.PBX_ERROR: "The phone system did not respond. Your request is saved and you will be called back.",
        Status.CANCELLED: "We will not call you. If you change your mind, ask for another call.",
        Status.RETRYING: "The phone system is not answering. We are trying again; your request is saved.",
        Status.OPERATORS_BUSY: "No operator answered. We will try again in a couple of minutes.",
        Status.VISITOR_RETRY: "We could not reach you. We will try once more in a few minutes.",
        Status.HELD: "Request received. We will call you back.",
    },
}

# What the visitor reads at a finer stage of a status (``visitor.status``): the next
# operator rung, the group rung again, a PBX that refused the call (not "did not answer").
# An operator who did not answer may be busy or away: no word here says "busy".
STAGE_MESSAGES: dict[str, dict[str, str]] = {
    "ru": {
        "next_operator": "Звоним следующему оператору…",
        "next_round": "Звоним операторам ещё раз…",
        "refused": "Не получилось соединить вас с оператором. Заявка сохранена — вам перезвонят.",
    },
    "en": {
        "next_operator": "Calling the next operator…",
        "next_round": "Calling the operators once more…",
        "refused": "We could not connect you to an operator. Your request is saved and you will be called back.",
    },
}

# A wait before the next try, with its time ("в 10:42", "завтра в 09:00").
RETRY_MESSAGES: dict[str, dict[Status, str]] = {
    "ru": {
        Status.OPERATORS_BUSY: "Операторы не ответили. Попробуем снова {when}.",
        Status.VISITOR_RETRY: "Не удалось до вас дозвониться. Попробуем снова {when}.",
        Status.RETRYING: "Телефонная станция не отвечает. Попробуем снова {when} — заявка сохранена.",
    },
    "en": {
        Status.OPERATORS_BUSY: "No operator answered. We will try again {when}.",
        Status.VISITOR_RETRY: "We could not reach you. We will try again {when}.",
        Status.RETRYING: "The phone system is not answering. We will try again {when}; your request is saved.",
    },
}
TODAY_AT = {"ru": "в {t}", "en": "at {t}"}

API_ERRORS: dict[str, dict[str, str]] = {
    "ru": {
        "validation": "Проверьте выделенные поля.",
        "phone_required": UI_TEXTS["ru"]["error_phone_required"],
        "phone_invalid": UI_TEXTS["ru"]["error_phone_invalid"],
        "phone_extension": UI_TEXTS["ru"]["error_phone_extension"],
        "phone_not_allowed": "На этот номер мы позвонить не можем: нужен российский мобильный или городской номер.",
        "consent_required": UI_TEXTS["ru"]["error_consent"],
        "group_unknown": "Выберите отдел из списка.",
        "name_too_long": "Имя слишком длинное (не больше 100 символов).",
        "page_url_invalid": "Некорректный адрес страницы.",
        "bad_json": "Запрос повреждён. Обновите страницу и попробуйте ещё раз.",
        "field_invalid": "Запрос повреждён. Обновите страницу и попробуйте ещё раз.",
        "too_large": "Слишком большой запрос.",
        "origin_not_allowed": "Этот сайт не может использовать виджет.",
        "widget_unknown": "Виджет не найден.",
        "widget_paused": "Заказ звонка временно недоступен.",
        "rate_limited": UI_TEXTS["ru"]["error_rate_limited"],
        "too_late": "Звонок уже идёт — отменить его нельзя.",
        "not_found": "Заявка не найдена.",
        "unavailable": "Сервис временно недоступен. Попробуйте через минуту.",
        "slot_unavailable": "Это время уже недоступно. Выберите другое.",
        "no_slots": UI_TEXTS["ru"]["no_slots"],
        "bad_token": "Обновите страницу и попробуйте ещё раз.",
        "bad_challenge": "Проверка не пройдена. Обновите страницу и попробуйте ещё раз.",
        "challenge": "Нужна короткая проверка, что вы не робот.",
    },
    "en": {
        "validation": "Please check the highlighted fields.",
        "phone_required": UI_TEXTS["en"]["error_phone_required"],
        "phone_invalid": UI_TEXTS["en"]["error_phone_invalid"],
        "phone_extension": UI_TEXTS["en"]["error_phone_extension"],
        "phone_not_allowed": "We cannot call this number: a Russian mobile or landline number is needed.",
        "consent_required": UI_TEXTS["en"]["error_consent"],
        "group_unknown": "Choose a department from the list.",
        "name_too_long": "The name is too long (100 characters at most).",
        "page_url_invalid": "The page address is not valid.",
        "bad_json": "The request is damaged. Reload the page and try again.",
        "field_invalid": "The request is damaged. Reload the page and try again.",
        "too_large": "The request is too large.",
        "origin_not_allowed": "This site may not use the widget.",
        "widget_unknown": "Widget not found.",
        "widget_paused": "Call-back requests are paused for now.",
        "rate_limited": UI_TEXTS["en"]["error_rate_limited"],
        "too_late": "The call is already under way and cannot be cancelled.",
        "not_found": "Request not found.",
        "unavailable": "The service is temporarily unavailable. Try again in a minute.",
        "slot_unavailable": "This time is no longer available. Choose another one.",
        "no_slots": UI_TEXTS["en"]["no_slots"],
        "bad_token": "Reload the page and try again.",
        "bad_challenge": "The check failed. Reload the page and try again.",
        "challenge": "A short check that you are not a robot is needed.",
    },
}


def pick_language(language: str | None) -> str:
    return language if language in LANGUAGES else "ru"


def ui_texts(language: str, overrides: Mapping[str, str] | None = None) -> dict[str, str]:
    """The widget's texts: defaults for the language, then the owner's overrides."""
    texts = dict(UI_TEXTS[pick_language(language)])
    for key, value in (overrides or {}).items():
        if key in texts and isinstance(value, str) and value.strip():
            texts[key] = value
    return texts


# The owner's choice "по браузеру посетителя": Russian first, English where the visitor reads it.
AUTO = "auto"


def primary_language(widget: Widget) -> str:
    """The language the owner wrote the widget's own texts and labels in."""
    return pick_language(widget.language)


def owner_texts(widget: Widget, language: str) -> dict[str, str]:
    """The owner's texts for ``language``: ``{"ru": {...}, "en": {...}}``, or the older
    flat form, written in the widget's own language."""
    stored = widget.texts or {}
    if any(isinstance(stored.get(lang), dict) for lang in LANGUAGES):
        texts = stored.get(language)
        return dict(texts) if isinstance(texts, dict) else {}
    return dict(stored) if language == primary_language(widget) else {}


def texts_for(widget: Widget, language: str) -> dict[str, str]:
    """A widget's texts in ``language``: that language's defaults and the owner's texts in it."""
    return ui_texts(language, owner_texts(widget, language))


def group_label(offered, language: str) -> str | None:
    """A department's label in ``language``; None when the owner gave none in it."""
    if language == "en" and getattr(offered, "label_en", None):
        return offered.label_en
    return offered.label if language == primary_language(offered.widget) else None


def look_language(widget: Widget, asked: str | None, browser: str | None = None) -> str:
    """The language the widget draws itself in: the one asked for (the script tag's or, for
    a widget set to the visitor's browser, the browser's) when every department has a label
    in it, else the owner's own, so that a form never mixes the two languages."""
    wanted = asked if asked in LANGUAGES else (browser if widget.language == AUTO else None)
    primary = primary_language(widget)
    labelled = wanted in LANGUAGES and all(group_label(wg, wanted) for wg in widget.offered_groups)
    return wanted if labelled else primary


def status_message(language: str, status: str) -> str:
    return STATUS_MESSAGES[pick_language(language)].get(status, status)


SCHEDULED_MESSAGES = {"ru": "Позвоним {when}.", "en": "We will call you {when}."}


def scheduled_message(language: str, when: str) -> str:
    """The status message of a scheduled call: "Позвоним завтра в 10:00."."""
    return SCHEDULED_MESSAGES[pick_language(language)].format(when=when)


def stage_message(language: str, stage: str) -> str:
    return STAGE_MESSAGES[pick_language(language)][stage]


def retry_message(language: str, status: Status, when: str) -> str | None:
    """ "Все операторы заняты. Попробуем снова в 10:42."; None for a status without one."""
    text = RETRY_MESSAGES[pick_language(language)].get(status)
    return text.format(when=when) if text else None


def today_at(language: str, clock: str) -> str:
    return TODAY_AT[pick_language(language)].format(t=clock)


def api_error(language: str, code: str, **params: object) -> str:
    """An API error's message; a ``seconds`` wait is also said in words as ``{wait}``."""
    seconds = params.get("seconds")
    if isinstance(seconds, int) and "wait" not in params:
        params["wait"] = wait_words(language, seconds)
    return API_ERRORS[pick_language(language)][code].format(**params)


# Instead of "we will call you back" when no channel of the owner's can tell a person
# (notify/reach.py): nobody would call, so nobody is promised a call, and the visitor is
# not sent to "another way" the screen does not give. A pbx_error's words fit a PBX that
# refused the call as well as one that did not answer (its stage "refused" says the same).
UNHEARD_MESSAGES: dict[str, dict[Status, str]] = {
    "ru": {
        Status.NO_OPERATOR: "Операторы не ответили. Пожалуйста, закажите звонок позже.",
        Status.PBX_ERROR: "Не получилось соединить вас с оператором, звонка не будет. Пожалуйста, закажите звонок позже.",
        Status.HELD: "Заявка сохранена, но позвонить сейчас мы не сможем. Пожалуйста, закажите звонок позже.",
    },
    "en": {
        Status.NO_OPERATOR: "No operator answered. Please ask for a call later.",
        Status.PBX_ERROR: "We could not connect you to an operator, so there will be no call. Please ask for a call later.",
        Status.HELD: "Your request is saved, but we cannot call you right now. Please ask for a call later.",
    },
}
# The same where the widget has a number for visitors (``Widget.visitor_phone``): its
# link is then the screen's main button.
UNHEARD_CALL_US: dict[str, dict[Status, str]] = {
    "ru": {
        Status.NO_OPERATOR: "Операторы не ответили. Позвоните нам или закажите звонок позже.",
        Status.PBX_ERROR: "Не получилось соединить вас с оператором, звонка не будет. Позвоните нам или закажите звонок позже.",
        Status.HELD: "Заявка сохранена, но позвонить сейчас мы не сможем. Позвоните нам или закажите звонок позже.",
    },
    "en": {
        Status.NO_OPERATOR: "No operator answered. Call us, or ask for a call later.",
        Status.PBX_ERROR: "We could not connect you to an operator, so there will be no call. Call us, or ask for a call later.",
        Status.HELD: "Your request is saved, but we cannot call you right now. Call us, or ask for a call later.",
    },
}


def unheard_message(language: str, status: str, call_us: bool = False) -> str | None:
    """The honest message for ``status`` when nobody will be told; None when the usual
    one promises nothing. ``call_us``: the widget shows a number to call."""
    return (UNHEARD_CALL_US if call_us else UNHEARD_MESSAGES)[pick_language(language)].get(status)


# No working hours in the next two weeks (a request held with ``HeldReason.NO_HOURS``,
# shown as ``no_operator``): operators did not "not answer", nobody was rung.
OFF_HOURS_MESSAGES: dict[str, dict[str, str]] = {
    "ru": {
        "heard": "В ближайшие две недели у нас нет часов для звонков. Мы сохранили заявку и перезвоним, когда начнём работать.",
        "unheard": "В ближайшие две недели у нас нет часов для звонков, звонка не будет. Пожалуйста, закажите звонок позже.",
        "call_us": "В ближайшие две недели у нас нет часов для звонков, звонка не будет. Позвоните нам или закажите звонок позже.",
    },
    "en": {
        "heard": "We have no calling hours in the next two weeks. We kept your request and will call you back once we are open.",
        "unheard": "We have no calling hours in the next two weeks, so there will be no call. Please ask for a call later.",
        "call_us": "We have no calling hours in the next two weeks, so there will be no call. Call us, or ask for a call later.",
    },
}


def off_hours_message(language: str, heard: bool, call_us: bool) -> str:
    kind = "heard" if heard else "call_us" if call_us else "unheard"
    return OFF_HOURS_MESSAGES[pick_language(language)][kind]


# The heading of a final screen, in place of the form's "Мы перезвоним вам": what happens
# now, in a few words (the message says why). A test checks every final status has one.
STATUS_TITLES: dict[str, dict[Status, str]] = {
    "ru": {
        Status.FINISHED: "Спасибо за разговор",
        Status.NO_OPERATOR: "Перезвоним позже",
        Status.PBX_ERROR: "Перезвоним позже",
        Status.HELD: "Перезвоним позже",
        Status.VISITOR_BUSY: "Не удалось дозвониться",
        Status.VISITOR_NO_ANSWER: "Не удалось дозвониться",
        Status.CANCELLED: "Звонок отменён",
    },
    "en": {
        Status.FINISHED: "Thank you for talking to us",
        Status.NO_OPERATOR: "We will call you back later",
        Status.PBX_ERROR: "We will call you back later",
        Status.HELD: "We will call you back later",
        Status.VISITOR_BUSY: "We could not reach you",
        Status.VISITOR_NO_ANSWER: "We could not reach you",
        Status.CANCELLED: "Call cancelled",
    },
}
# Where nobody would call back (``UNHEARD_MESSAGES``), and where there are no hours.
NO_CALL_TITLE = {"ru": "Звонка не будет", "en": "There will be no call"}
OFF_HOURS_TITLE = {"ru": "Сейчас мы не работаем", "en": "We are closed right now"}


def final_title(language: str, status: str, *, heard: bool = True, off_hours: bool = False) -> str:
    """The title of a final screen (``status`` final)."""
    language = pick_language(language)
    if off_hours:
        return OFF_HOURS_TITLE[language]
    return STATUS_TITLES[language][status] if heard else NO_CALL_TITLE[language]


# The link to the widget's number for visitors, its main button where no call will come.
CALL_US = {"ru": "Позвонить: {number}", "en": "Call us: {number}"}


WAIT_UNITS = {"ru": ("{n} с", "{n} мин"), "en": ("{n} s", "{n} min")}


def wait_words(language: str, seconds: int) -> str:
    """A wait as the visitor reads it: "30 с" under a minute, else whole minutes up ("9 мин")."""
    short, minutes = WAIT_UNITS[pick_language(language)]
    if seconds < 60:
        return short.format(n=max(1, seconds))
    return minutes.format(n=math.ceil(seconds / 60))
