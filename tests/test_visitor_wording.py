"""Small words the visitor reads: the call to action, extensions, waits in minutes."""

from __future__ import annotations

import pytest

from widget_server.phones import PhoneError, normalize_phone
from widget_server.visitor.texts import LANGUAGES, UI_TEXTS, api_error, wait_words


@pytest.mark.parametrize(
    "typed",
    [
        "+7 495 123-45-67 доб. 5",
        "+7 495 123-45-67 доб 125",
        "8 (495) 123-45-67 Доб.5",
        "+7 495 123 45 67 ext. 12",
        "+7 495 123 45 67 x12",
        "84951234567#5",
    ],
)
def test_a_number_with_an_extension_is_told_about_extensions(typed):
    with pytest.raises(PhoneError) as caught:
        normalize_phone(typed)
    assert caught.value.code == "extension"


@pytest.mark.parametrize("typed", ["+7 495 123-45-67", "8 495 1234567", "not a number x"])
def test_a_number_without_an_extension_is_not_mistaken_for_one(typed):
    try:
        normalize_phone(typed)
    except PhoneError as error:
        assert error.code != "extension"


def test_the_extension_message_says_what_to_do_instead():
    assert "доб" in api_error("ru", "phone_extension")
    assert "mobile or direct number" in api_error("en", "phone_extension")
    assert "10 цифр" not in api_error("ru", "phone_extension")


@pytest.mark.parametrize(
    ("seconds", "ru", "en"),
    [(1, "1 с", "1 s"), (59, "59 с", "59 s"), (60, "1 мин", "1 min"), (551, "10 мин", "10 min")],
)
def test_a_wait_is_said_in_minutes_once_it_reaches_one(seconds, ru, en):
    assert (wait_words("ru", seconds), wait_words("en", seconds)) == (ru, en)


def test_the_429_message_says_minutes_not_hundreds_of_seconds():
    assert api_error("ru", "rate_limited", seconds=551) == (
        "Слишком много запросов. Попробуйте через 10 мин."
    )
    assert "551" not in api_error("en", "rate_limited", seconds=551)


def test_the_send_button_is_a_call_to_action_and_says_why_it_is_disabled():
    assert UI_TEXTS["ru"]["submit"] == "Позвоните мне"
    assert UI_TEXTS["en"]["submit"] == "Call me now"
    assert "согласие" in UI_TEXTS["ru"]["submit_hint"]
    assert "consent" in UI_TEXTS["en"]["submit_hint"]


def test_the_intro_promises_no_time_the_countdown_could_contradict():
    for language in LANGUAGES:
        intro = UI_TEXTS[language]["intro"]
        assert not any(word in intro for word in ("минут", "секунд", "minute", "second"))


def test_both_languages_have_the_same_widget_texts():
    assert set(UI_TEXTS["ru"]) == set(UI_TEXTS["en"])
