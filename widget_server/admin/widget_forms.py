"""The widget editor's form: every setting the command line has, with messages next to fields."""

from __future__ import annotations

import re

from flask import current_app
from flask_wtf import FlaskForm
from wtforms import BooleanField, SelectField, StringField, TextAreaField
from wtforms.fields import ColorField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import Length, Optional, ValidationError

from .. import setup
from ..dispatch import schedule
from ..models import RING_STRATEGIES, Widget
from ..visitor.call_us import shown, visitor_number
from ..visitor.origins import HostNameError, OriginError, display_origin, site_origin
from ..visitor.texts import AUTO, UI_TEXTS, owner_texts, primary_language
from .i18n import N_, _

ORIGIN_ERROR = N_(
    "Строка %(n)s: «%(value)s» — не адрес сайта. Напишите его, как в адресной строке "
    "браузера, например chai-shop.ru."
)
HOST_NAME_ERROR = N_(
    "Строка %(n)s: в «%(value)s» недопустимое имя сайта: пробелы, «*» "
    "и пустые части между точками нельзя."
)
HEX_COLOR = re.compile(r"^#[0-9a-fA-F]{6}$|^#[0-9a-fA-F]{3}$")
TEXT_MAX = 500
LONG_TEXTS = ("intro", "consent", "closed_intro", "no_slots")
DAY_NAMES = {
    "mon": N_("Понедельник"),
    "tue": N_("Вторник"),
    "wed": N_("Среда"),
    "thu": N_("Четверг"),
    "fri": N_("Пятница"),
    "sat": N_("Суббота"),
    "sun": N_("Воскресенье"),
}
TEXT_LABELS = {
    "button": N_("Кнопка на сайте"),
    "title": N_("Заголовок"),
    "intro": N_("Пояснение под заголовком"),
    "phone_label": N_("Подпись поля телефона"),
    "phone_placeholder": N_("Подсказка в поле телефона"),
    "name_label": N_("Подпись поля имени"),
    "group_label": N_("Подпись выбора отдела"),
    "consent": N_("Текст согласия"),
    "policy_link": N_("Ссылка на политику"),
    "submit": N_("Кнопка отправки"),
    "sending": N_("Во время отправки"),
    "cancel": N_("Кнопка отмены звонка"),
    "close": N_("Кнопка «закрыть» (для экранных дикторов)"),
    "countdown": N_("Обратный отсчёт ({seconds} — секунды)"),
    "again": N_("Кнопка «ещё раз»"),
    "error_network": N_("Ошибка: нет связи"),
    "error_phone_required": N_("Ошибка: номер не введён"),
    "error_phone_invalid": N_("Ошибка: неверный номер"),
    "error_consent": N_("Ошибка: нет согласия"),
    "error_rate_limited": N_("Ошибка: слишком много запросов ({seconds} — секунды)"),
    "closed_title": N_("Заголовок в нерабочее время"),
    "closed_intro": N_("Пояснение в нерабочее время"),
    "slot_label": N_("Подпись выбора времени"),
    "no_slots": N_("Нет свободного времени"),
}
MAIN_TEXTS = ("button", "title", "intro", "consent", "submit")
LANGUAGE_AUTO = SelectChoice(AUTO, N_("По браузеру посетителя: русский или английский"))
STRATEGY_LABELS = {
    "sequential": N_("По очереди, с первого в группе"),
    "round_robin": N_("По кругу, каждый раз со следующего"),
    "random": N_("В случайном порядке"),
    "pbx_group": N_("Группа АТС (распределяет сама АТС)"),
}
RUSSIAN_ZONES = (
    "Europe/Kaliningrad",
    "Europe/Moscow",
    "Europe/Samara",
    "Asia/Yekaterinburg",
    "Asia/Omsk",
    "Asia/Novosibirsk",
    "Asia/Krasnoyarsk",
    "Asia/Irkutsk",
    "Asia/Yakutsk",
    "Asia/Vladivostok",
    "Asia/Magadan",
    "Asia/Kamchatka",
)


def _text_field(key: str):
    validators = [Optional(), Length(max=TEXT_MAX, message=N_("Текст длиннее 500 символов."))]
    label = TEXT_LABELS.get(key, key)
    return (TextAreaField if key in LONG_TEXTS else StringField)(label, validators=validators)


class WidgetForm(FlaskForm):
    name = StringField(N_("Название (только для вас)"), validators=[Optional(), Length(max=255)])
    origins = TextAreaField(N_("Сайты, где работает виджет"))
    language = SelectField(
        N_("Язык виджета"),
        choices=[SelectChoice("ru", "Русский"), SelectChoice("en", "English"), LANGUAGE_AUTO],
        validate_choice=False,
    )
    ring_strategy = SelectField(
        N_("Как звонить операторам"),
        choices=[SelectChoice(s, STRATEGY_LABELS[s]) for s in RING_STRATEGIES],
        validate_choice=False,
    )
    # Text, not IntegerField: its own "Not a valid integer" would bypass the catalogue.
    ring_timeout = StringField(
        N_("Сколько секунд звонить оператору"), default="25", render_kw={"inputmode": "numeric"}
    )
    color = ColorField(N_("Цвет"), default="#0b6bcb")
    position = SelectField(
        N_("Положение кнопки"),
        choices=[
            SelectChoice("right", N_("Справа внизу")),
            SelectChoice("left", N_("Слева внизу")),
        ],
        validate_choice=False,
    )
    privacy_policy_url = StringField(
        N_("Адрес политики конфиденциальности"), validators=[Optional(), Length(max=500)]
    )
    # No Optional(): it would skip validate_visitor_phone, which sets .clean for an empty one too.
    visitor_phone = StringField(
        N_("Телефон для посетителей"),
        render_kw={"inputmode": "tel", "autocomplete": "off", "placeholder": "+7 495 123-45-67"},
    )
    ask_name = BooleanField(N_("Спрашивать имя"), default=True)
    hours_mode = SelectField(
        N_("Часы работы"),
        choices=[
            SelectChoice("default", N_("Пн–Пт 09:00–20:00 (по умолчанию)")),
            SelectChoice("always", N_("Круглосуточно")),
            SelectChoice("custom", N_("Свои часы")),
        ],
        validate_choice=False,
    )
    timezone = StringField(N_("Часовой пояс"), default=schedule.DEFAULT_TIMEZONE)
    days_off = TextAreaField(N_("Выходные дни (даты)"))
    public_holidays = BooleanField(N_("Государственные праздники России — выходные"), default=True)
    countries = TextAreaField(N_("Другие страны"))
    limit_per_number = StringField(N_("Звонков на один номер (ваш лимит)"))
    limit_cap = StringField(N_("Звонков через виджет (ваш лимит)"))

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        # Option labels in the page language (the field macro translates labels and errors).
        for field in (self.ring_strategy, self.position, self.hours_mode, self.language):
            field.choices = [SelectChoice(c.value, _(c.label)) for c in field.choices]

    def validate_origins(self, field):
        # As the owner sees the site: "chai-shop.ru", "www.chai-shop.ru/catalog/" or a
        # full address all work (visitor/origins.site_origin); field.retyped says what
        # was stored differently from how it was typed (admin/widget_sites.say_stored).
        lines = [line.strip() for line in (field.data or "").splitlines()]
        clean, field.retyped = [], []
        for n, line in enumerate(lines, 1):
            if not line:
                continue
            try:
                origin = site_origin(line)
            except OriginError as exc:
                message = HOST_NAME_ERROR if isinstance(exc, HostNameError) else ORIGIN_ERROR
                raise ValidationError(_(message, n=n, value=line)) from None
            clean.append(origin)
            if line not in (origin, display_origin(origin)):
                field.retyped.append((line, display_origin(origin)))
        if not clean:
            raise ValidationError(_("Укажите хотя бы один сайт, например chai-shop.ru."))
        field.clean = sorted(set(clean))

    def _choice(self, field, allowed):
        if field.data not in allowed:
            raise ValidationError(_("Выберите значение из списка."))

    def validate_language(self, field):
        self._choice(field, ("ru", "en", AUTO))

    def validate_ring_strategy(self, field):
        self._choice(field, RING_STRATEGIES)

    def validate_position(self, field):
        self._choice(field, ("left", "right"))

    def validate_hours_mode(self, field):
        self._choice(field, ("default", "always", "custom"))

    def validate_ring_timeout(self, field):
        value = str(field.data or "").strip()
        if not value.isdigit():
            raise ValidationError(_("Введите целое число."))
        if not 5 <= int(value) <= 120:
            raise ValidationError(_("От 5 до 120 секунд."))
        field.clean = int(value)

    def validate_color(self, field):
        if not HEX_COLOR.match((field.data or "").strip()):
            raise ValidationError(_("Цвет должен быть вида #0b6bcb."))

    def validate_privacy_policy_url(self, field):
        value = (field.data or "").strip()
        if value and not re.match(r"^https?://[^\s/?#]+\.[^\s/?#]+(/\S*)?$", value):
            raise ValidationError(
                _("Адрес должен начинаться с https://, например https://shop.example/privacy.")
            )

    def validate_visitor_phone(self, field):
        value = (field.data or "").strip()
        field.clean = None
        if not value:
            return
        try:
            field.clean = visitor_number(value)
        except ValueError:
            raise ValidationError(
                _(
                    "Нужен российский номер вида +7 495 123-45-67 или 8 800 123-45-67, без добавочного."
                )
            ) from None

    def validate_timezone(self, field):
        if schedule.valid_timezone((field.data or "").strip()) is None:
            raise ValidationError(_("Неизвестный часовой пояс. Нужен вида Europe/Moscow."))

    def validate_days_off(self, field):
        clean = []
        for n, line in enumerate((field.data or "").splitlines(), 1):
            if not line.strip():
                continue
            try:
                clean += schedule.parse_days_off([line.strip()])
            except ValueError:
                raise ValidationError(
                    _(
                        "Строка %(n)s: «%(value)s» — не дата вида 2026-12-31.",
                        n=n,
                        value=line.strip(),
                    )
                ) from None
        field.clean = sorted(set(clean))

    def validate_countries(self, field):
        clean: dict[str, int] = {}
        for n, line in enumerate((field.data or "").splitlines(), 1):
            if not line.strip():
                continue
            try:
                clean.update(setup.parse_countries([line.strip()]))
            except setup.SetupError:
                raise ValidationError(
                    _(
                        "Строка %(n)s: «%(value)s» — нужен код страны (не RU) и лимит в день "
                        "от 1 до 1000, например KZ=20.",
                        n=n,
                        value=line.strip(),
                    )
                ) from None
        field.clean = clean

    def _limit(self, field, kind, base):
        value = (field.data or "").strip()
        field.clean = None
        if not value:
            return
        try:
            field.clean = setup.check_own_limit(kind, value)
        except setup.LooserLimitError:
            raise ValidationError(
                _(
                    "«%(value)s» не строже ограничений сервера (%(base)s) и ничего не изменит. "
                    "Свои ограничения могут только ужесточать.",
                    value=value,
                    base=base,
                )
            ) from None
        except setup.SetupError:
            raise ValidationError(_("Нужны ограничения вида 1/30minute;2/day.")) from None

    def validate_limit_per_number(self, field):
        config = current_app.config
        base = f"{config['RATELIMIT_WIDGET_NUMBER']}; {config['RATELIMIT_NUMBER']}"
        self._limit(field, "per_number", base)

    def validate_limit_cap(self, field):
        self._limit(field, "cap", current_app.config["WIDGET_CAP"])


for _key in UI_TEXTS["ru"]:
    setattr(WidgetForm, f"text_{_key}", _text_field(_key))
for _day in schedule.DAYS:
    setattr(
        WidgetForm,
        f"day_{_day}",
        StringField(DAY_NAMES[_day], validators=[Optional(), Length(max=200)]),
    )


def text_fields(form: WidgetForm):
    return [form[f"text_{key}"] for key in UI_TEXTS["ru"]]


def day_fields(form: WidgetForm):
    return [form[f"day_{day}"] for day in schedule.DAYS]


def fill_from_widget(form: WidgetForm, widget: Widget) -> None:
    """Show a saved widget's settings in the form."""
    form.name.data = widget.name
    form.origins.data = "\n".join(display_origin(o) for o in widget.origins or [])
    form.language.data = widget.language
    form.ring_strategy.data = widget.ring_strategy
    form.ring_timeout.data = widget.ring_timeout
    form.color.data = widget.color
    form.position.data = widget.position
    form.privacy_policy_url.data = widget.privacy_policy_url or ""
    form.visitor_phone.data = shown(widget.visitor_phone) if widget.visitor_phone else ""
    form.ask_name.data = widget.ask_name
    for key, text in owner_texts(widget, primary_language(widget)).items():
        form[f"text_{key}"].data = text if key in UI_TEXTS["ru"] else ""
    if widget.hours is None:
        form.hours_mode.data = "default"
    elif schedule.parse_hours(widget.hours) == schedule.parse_hours(schedule.ALWAYS_OPEN):
        form.hours_mode.data = "always"
    else:
        form.hours_mode.data = "custom"
    week = schedule.parse_hours(
        widget.hours if widget.hours is not None else schedule.DEFAULT_HOURS
    )
    for day in schedule.DAYS:
        form[f"day_{day}"].data = ", ".join(f"{s}-{e}" for s, e in week[day])
    form.timezone.data = widget.timezone
    form.days_off.data = "\n".join(widget.days_off or [])
    form.public_holidays.data = widget.public_holidays
    form.countries.data = "\n".join(f"{c}={n}" for c, n in (widget.countries or {}).items())
    form.limit_per_number.data = (widget.limits or {}).get("per_number", "")
    form.limit_cap.data = (widget.limits or {}).get("cap", "")


def validate_hours(form: WidgetForm) -> dict | None:
    """The week from the day fields (custom hours); errors go next to each day."""
    week = {}
    ok = True
    for day in schedule.DAYS:
        field = form[f"day_{day}"]
        try:
            week[day] = schedule.parse_hours({day: (field.data or "").strip()})[day]
        except ValueError as exc:
            message = str(exc).split(": ", 1)[-1]
            field.errors = [*field.errors, message]
            ok = False
    return week if ok else None
