"""The widget editor's second language: the main texts and the department labels in the
other language, so that a visitor reading it never sees the owner's words mixed with
that language's defaults (``visitor.texts.look_language`` picks what is complete).

Stored as ``widgets.texts = {"ru": {...}, "en": {...}}`` once there are texts in both
languages (the older flat form is read as the widget's own language) and as
``widget_groups.label_en``.
"""

from __future__ import annotations

from flask import request
from wtforms import StringField, TextAreaField
from wtforms.validators import Length, Optional

from ..models import Widget
from ..visitor.texts import AUTO, UI_TEXTS, owner_texts, primary_language, ui_texts
from .i18n import N_
from .widget_forms import LONG_TEXTS, MAIN_TEXTS, TEXT_LABELS, TEXT_MAX, WidgetForm

LANGUAGE_NAMES = {"ru": N_("на русском"), "en": N_("на английском")}


def other_language(language: str | None) -> str:
    """The language the owner may add: English for a Russian (or browser's) widget."""
    return "ru" if language == "en" else "en"


def _field(key: str):
    validators = [Optional(), Length(max=TEXT_MAX, message=N_("Текст длиннее 500 символов."))]
    return (TextAreaField if key in LONG_TEXTS else StringField)(
        TEXT_LABELS[key], validators=validators
    )


for _key in MAIN_TEXTS:
    setattr(WidgetForm, f"other_{_key}", _field(_key))


def other_fields(form: WidgetForm) -> list:
    return [form[f"other_{key}"] for key in MAIN_TEXTS]


def fill_other(form: WidgetForm, widget: Widget) -> None:
    texts = owner_texts(widget, other_language(widget.language))
    for key in MAIN_TEXTS:
        form[f"other_{key}"].data = texts.get(key, "")


def _changed(language: str, values: dict[str, str | None]) -> dict[str, str]:
    defaults = UI_TEXTS[language]
    return {
        key: value.strip()
        for key, value in values.items()
        if key in defaults and (value or "").strip() and value.strip() != defaults[key]
    }


def texts_to_store(form: WidgetForm) -> dict:
    """The editor's texts in the stored form: flat while only one language has any."""
    language = form.language.data
    primary = "en" if language == "en" else "ru"
    own = _changed(primary, {key: form[f"text_{key}"].data for key in UI_TEXTS[primary]})
    other = _changed(
        other_language(language), {key: form[f"other_{key}"].data for key in MAIN_TEXTS}
    )
    return {primary: own, other_language(language): other} if other else own


def preview_texts(form: WidgetForm, language: str) -> dict[str, str]:
    """The texts the preview shows in ``language``, from the unsaved fields."""
    ours = language == ("en" if form.language.data == "en" else "ru")
    prefix = "text" if ours else "other"
    keys = UI_TEXTS[language] if ours else MAIN_TEXTS
    values = {key: form[f"{prefix}_{key}"].data for key in keys}
    return ui_texts(language, {k: v for k, v in values.items() if isinstance(v, str)})


def labels_en_from_request() -> dict[str, str]:
    """The posted English department labels: {pin: label}."""
    return {
        key[len("label_en-") :]: value.strip()[:120]
        for key, value in request.form.items()
        if key.startswith("label_en-") and value.strip()
    }


def labels_en_of(widget: Widget | None) -> dict[str, str]:
    return {
        wg.group.pin: wg.label_en for wg in (widget.offered_groups if widget else []) if wg.label_en
    }


def english_missing(widget: Widget) -> bool:
    """A widget shown to English readers (or set to the browser's language) without an
    English label for every department: such visitors get the Russian form."""
    if widget.language == "en" or primary_language(widget) == "en":
        return False
    wants_english = widget.language == AUTO
    return wants_english and not all(wg.label_en for wg in widget.offered_groups)
