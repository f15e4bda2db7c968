"""The widget's "Leads" tab form: analytics counters, triggers (off by default), the A/B test.

Turns the posted fields into ``Widget.lead_settings`` (insight/lead_settings.py) and back.
"""

from __future__ import annotations

from typing import Any

from flask_wtf import FlaskForm
from wtforms import BooleanField, IntegerField, StringField, TextAreaField
from wtforms.validators import NumberRange, Optional, Regexp, ValidationError

from ..insight.counter import today
from ..insight.lead_settings import ab_of, analytics_of, triggers_of
from .i18n import N_, ngettext

MAX_PATHS = 50
MAX_PATH = 200
WHOLE_NUMBER = N_("Введите целое число.")


class WholeNumber(IntegerField):
    """An optional whole number whose parse error is ours, in the page language."""

    def process_formdata(self, valuelist):
        try:
            super().process_formdata(valuelist)
        except ValueError:
            raise ValueError(WHOLE_NUMBER) from None


def _number(label: str, low: int, high: int, message: str) -> WholeNumber:
    return WholeNumber(
        label,
        validators=[Optional(), NumberRange(low, high, message=message)],
        render_kw={"min": low, "max": high, "inputmode": "numeric"},
    )


def _seconds(label: str) -> WholeNumber:
    return _number(label, 1, 3600, N_("От 1 до 3600 секунд."))


class MaxLength:
    """At most ``longest`` characters, said with the number's own word ("не длиннее
    61 знака", "не длиннее 60 знаков") in the page language: WTForms' Length message
    is one fixed text."""

    def __init__(self, longest: int):
        self.longest = longest

    def __call__(self, form, field):
        if field.data and len(field.data) > self.longest:
            raise ValidationError(
                ngettext(
                    "Не длиннее %(num)s знака.",
                    "Не длиннее %(num)s знаков.",
                    self.longest,
                    few="Не длиннее %(num)s знаков.",
                )
            )


def _text(label: str, longest: int) -> StringField:
    return StringField(label, validators=[Optional(), MaxLength(longest)])


class WidgetLeadsForm(FlaskForm):
    metrica_id = StringField(
        N_("Номер счётчика Яндекс Метрики"),
        validators=[
            Optional(),
            Regexp(
                r"^\d{1,12}$",
                message=N_("Номер счётчика — только цифры, например 12345678."),
            ),
        ],
    )
    ga4 = BooleanField(N_("Отправлять события в Google Analytics 4 (gtag или dataLayer)"))
    after_seconds = _seconds(N_("Открыть через, секунд"))
    scroll_percent = _number(
        N_("Открыть при прокрутке страницы, %"), 1, 100, N_("От 1 до 100 процентов.")
    )
    exit_intent = BooleanField(N_("Открыть, когда посетитель уводит курсор с окна (компьютеры)"))
    return_visit = BooleanField(N_("Открыть при повторном визите"))
    paths = TextAreaField(N_("Только на страницах"))
    snooze_days = _number(
        N_("Не открывать сам снова после закрытия, дней"), 1, 365, N_("От 1 до 365 дней.")
    )
    ab_enabled = BooleanField(N_("Идёт A/B-тест"))
    weight_a = _number(N_("Доля посетителей варианта A, %"), 0, 100, N_("От 0 до 100 процентов."))
    a_title = _text(N_("Заголовок"), 200)
    a_intro = _text(N_("Пояснение под заголовком"), 500)
    a_button = _text(N_("Кнопка на сайте"), 60)
    a_after_seconds = _seconds(N_("Открыть через, секунд (вместо общего)"))
    b_title = _text(N_("Заголовок"), 200)
    b_intro = _text(N_("Пояснение под заголовком"), 500)
    b_button = _text(N_("Кнопка на сайте"), 60)
    b_after_seconds = _seconds(N_("Открыть через, секунд (вместо общего)"))

    def validate_paths(self, field) -> None:
        lines = [line.strip() for line in (field.data or "").splitlines() if line.strip()]
        if len(lines) > MAX_PATHS:
            raise ValidationError(N_("Не больше 50 строк."))
        for line in lines:
            if not line.startswith("/") or " " in line or len(line) > MAX_PATH:
                raise ValidationError(
                    N_(
                        "Каждая строка — путь страницы с «/» в начале, без пробелов, например /catalog/*."
                    )
                )

    def validate(self, extra_validators=None) -> bool:
        ok = super().validate(extra_validators)
        if ok and self.ab_enabled.data and _variant(self, "a") == _variant(self, "b"):
            self.b_title.errors.append(
                N_("Варианты A и B одинаковы: измените в варианте B хотя бы текст или триггер.")
            )
            ok = False
        return ok


def _variant(form: WidgetLeadsForm, vid: str) -> dict[str, Any]:
    texts = {}
    for key in ("title", "intro", "button"):
        value = (getattr(form, f"{vid}_{key}").data or "").strip()
        if value:
            texts[key] = value
    seconds = getattr(form, f"{vid}_after_seconds").data
    return {"texts": texts, "triggers": {"after_seconds": seconds} if seconds else None}


def settings_from_form(form: WidgetLeadsForm, old: dict[str, Any] | None) -> dict[str, Any]:
    """The new ``lead_settings``; a test keeps its start date while it keeps running."""
    paths = [line.strip() for line in (form.paths.data or "").splitlines() if line.strip()]
    settings: dict[str, Any] = {
        "analytics": {
            "metrica_id": (form.metrica_id.data or "").strip() or None,
            "ga4": form.ga4.data,
        },
        "triggers": triggers_of(
            {
                "after_seconds": form.after_seconds.data,
                "scroll_percent": form.scroll_percent.data,
                "exit_intent": form.exit_intent.data,
                "return_visit": form.return_visit.data,
                "paths": paths,
                "snooze_days": form.snooze_days.data,
            }
        ),
    }
    if form.ab_enabled.data:
        running = ab_of(old or {})
        started = running["started"] if running and running.get("started") else today().isoformat()
        weight = form.weight_a.data
        settings["ab"] = {
            "started": started,
            "weight_a": 50 if weight is None else weight,
            "a": _variant(form, "a"),
            "b": _variant(form, "b"),
        }
    return settings


def fill_form(form: WidgetLeadsForm, settings: dict[str, Any] | None) -> None:
    settings = settings or {}
    analytics, triggers = analytics_of(settings), triggers_of(settings.get("triggers"))
    form.metrica_id.data = analytics["metrica_id"] or ""
    form.ga4.data = analytics["ga4"]
    for key in ("after_seconds", "scroll_percent", "exit_intent", "return_visit", "snooze_days"):
        getattr(form, key).data = triggers[key]
    form.paths.data = "\n".join(triggers["paths"])
    ab = ab_of(settings)
    form.ab_enabled.data = ab is not None
    form.weight_a.data = (ab or {}).get("weight_a", 50)
    for vid in ("a", "b"):
        variant = (ab or {}).get(vid) or {}
        for key in ("title", "intro", "button"):
            getattr(form, f"{vid}_{key}").data = (variant.get("texts") or {}).get(key, "")
        getattr(form, f"{vid}_after_seconds").data = (variant.get("triggers") or {}).get(
            "after_seconds"
        )
