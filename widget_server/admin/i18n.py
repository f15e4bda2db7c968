"""Config page strings: Russian is the source text, English comes from a catalogue.

Each feature module adds its own English strings with ``add_english`` next to the
views that use them, so the catalogue stays beside the code. A string with no
English entry shows in Russian (and a test lists any such string on the pages).
"""

from __future__ import annotations

from flask import g, request, session

LANGUAGES = ("ru", "en")
DEFAULT_LANGUAGE = "ru"

_ENGLISH: dict[str, str] = {}


def add_english(catalogue: dict[str, str]) -> None:
    """Register English translations keyed by the Russian source text."""
    _ENGLISH.update(catalogue)


def gettext(text: str, **values) -> str:
    """Translate ``text`` into the page language, then fill ``{name}`` placeholders."""
    if g.get("lang", DEFAULT_LANGUAGE) == "en":
        text = _ENGLISH.get(text, text)
    return text.format(**values) if values else text


_ = gettext


def missing_english(texts) -> list[str]:
    return [t for t in texts if t not in _ENGLISH]


def pick_language(owner) -> str:
    """The language chosen on this session, else the owner's, else the browser's, else Russian."""
    chosen = session.get("lang")
    if chosen in LANGUAGES:
        return chosen
    if owner is not None and owner.language in LANGUAGES:
        return owner.language
    best = request.accept_languages.best_match(LANGUAGES)
    return best or DEFAULT_LANGUAGE


add_english(
    {
        "Обратный звонок": "Callback",
        "Сводка": "Dashboard",
        "Заявки": "Requests",
        "Виджеты": "Widgets",
        "АТС": "PBX",
        "Профиль": "Account",
        "Пользователи": "Users",
        "Выйти": "Sign out",
        "Войти": "Sign in",
        "Язык": "Language",
        "Главное меню": "Main menu",
        "Перейти к содержимому": "Skip to content",
        "Сохранить": "Save",
        "Отмена": "Cancel",
        "Удалить": "Delete",
        "Изменения сохранены.": "Changes saved.",
        "Исправьте ошибки в форме.": "Please correct the errors in the form.",
        "Страница не найдена.": "Page not found.",
        "Форма устарела. Обновите страницу и отправьте её ещё раз.": (
            "The form has expired. Reload the page and submit it again."
        ),
        "Войдите, чтобы продолжить.": "Please sign in to continue.",
        "Раздел в разработке.": "This section is being built.",
    }
)
