"""The widget's number for visitors (``Widget.visitor_phone``): a number they may call
themselves, which the widget offers as a ``tel:`` link where no call will come (issue 28).

Any valid Russian number the owner answers, 8-800 included (the visitor dials it, not us:
``phones.normalize_phone`` is for the numbers we call). Stored as E.164, shown in the
international form, sent in the look document as ``call_us``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import phonenumbers

from .texts import CALL_US, pick_language

if TYPE_CHECKING:
    from ..models import Widget

MAX_INPUT_LENGTH = 32


def visitor_number(raw: str) -> str:
    """The E.164 form of a number visitors may call (``+74951234567``).

    :raise ValueError: not a valid Russian number, or one with an extension (a ``tel:``
        link cannot dial one reliably).
    """
    text = (raw or "").strip()
    if not text or len(text) > MAX_INPUT_LENGTH:
        raise ValueError("invalid")
    try:
        number = phonenumbers.parse(text, "RU")
    except phonenumbers.NumberParseException:
        raise ValueError("invalid") from None
    if number.extension or not phonenumbers.is_valid_number(number):
        raise ValueError("invalid")
    if phonenumbers.region_code_for_number(number) != "RU":
        raise ValueError("invalid")
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def shown(e164: str) -> str:
    """``+7 495 123-45-67``: how the number reads on the form and in the widget."""
    number = phonenumbers.parse(e164, None)
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.INTERNATIONAL)


# In the widget's button the number never breaks across lines ("123-45-" / "67"): no-break
# spaces and hyphens; the words before it may wrap on a narrow phone.
UNBROKEN = str.maketrans({" ": "\u00a0", "-": "\u2011"})


def call_us(widget: Widget, language: str) -> dict[str, Any] | None:
    """The look's ``call_us``: the link's address and words, or None without a number."""
    if not widget.visitor_phone:
        return None
    number = shown(widget.visitor_phone).translate(UNBROKEN)
    return {
        "href": "tel:" + widget.visitor_phone,
        "text": CALL_US[pick_language(language)].format(number=number),
    }
