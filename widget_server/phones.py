"""Visitor phone numbers: parse, allow-list, normalise, mask.

Only numbers that phonenumbers' metadata says are valid Russian mobile or
geographic numbers are callable. +7 is shared with Kazakhstan, so the region
is checked, not just the country code; 8-800, 8-809 and other special ranges
fail the number-type check. Abkhazia's +7 840/940 count as the country ``AB``.
"""

from __future__ import annotations

import hashlib
import hmac
import re
from collections.abc import Iterable

import phonenumbers
from phonenumbers import PhoneNumberType

MAX_INPUT_LENGTH = 32
# Only ASCII digits and the usual separators: Unicode digits that phonenumbers
# would quietly convert are refused, so what the visitor sees is what we dial.
_ALLOWED_CHARS = re.compile(r"^[0-9+()\-.\s]+$")
# An extension after the number ("доб. 5", "ext 12", "#5"): we can dial the number but
# never the extension, so the visitor is told that rather than "10 digits after +7".
_EXTENSION = re.compile(r"(?:доб\.?|добавочный|ext\.?|extension|x|#)\s*\d{1,6}\s*$", re.IGNORECASE)
_CALLABLE_TYPES = {
    PhoneNumberType.MOBILE,
    PhoneNumberType.FIXED_LINE,
    PhoneNumberType.FIXED_LINE_OR_MOBILE,
}


class PhoneError(ValueError):
    """The input is not a number we may call; ``code`` says why."""

    def __init__(self, code: str):
        super().__init__(code)
        self.code = code  # "required" | "invalid" | "extension" | "not_allowed"


# Our own deny list on top of phonenumbers' types, since its metadata lags new
# ranges: the whole Russian 80x non-geographic block (8-800/8-804 free phone,
# 8-809 premium rate and their neighbours) is never called.
DENY_PREFIXES = tuple(f"+780{d}" for d in range(10))

# Abkhazia's +7 840 (fixed) and +7 940 (mobile) ranges: phonenumbers files them
# under RU, but Russian operators bill them as international calls. They count as
# a country of their own, "AB", called only where an owner allowed AB.
ABKHAZIA = "AB"
_REGION_PREFIXES = {"+7840": ABKHAZIA, "+7940": ABKHAZIA}


def normalize_phone(raw: object, countries: Iterable[str] = ()) -> str:
    """Return the E.164 form (``+79161234567``) of a callable number.

    Russian mobile and geographic numbers always; numbers of the other
    ``countries`` (ISO codes an owner enabled) only when asked for with ``+``.

    :raise PhoneError: empty, malformed, or not a number we may call.
    """
    if raw is None or (isinstance(raw, str) and not raw.strip()):
        raise PhoneError("required")
    if isinstance(raw, str) and len(raw) <= MAX_INPUT_LENGTH and _EXTENSION.search(raw):
        raise PhoneError("extension")
    if not isinstance(raw, str) or len(raw) > MAX_INPUT_LENGTH or not _ALLOWED_CHARS.match(raw):
        raise PhoneError("invalid")
    digits = re.sub(r"\D", "", raw)
    if raw.strip().startswith("+"):
        candidate = "+" + digits
    elif len(digits) == 11 and digits[0] in "78":
        candidate = "+7" + digits[1:]
    elif len(digits) == 10:
        candidate = "+7" + digits
    else:
        raise PhoneError("invalid")
    try:
        number = phonenumbers.parse(candidate, None)
    except phonenumbers.NumberParseException:
        raise PhoneError("invalid") from None
    if not phonenumbers.is_valid_number(number):
        raise PhoneError("invalid")
    e164 = phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)
    region = region_of(e164)
    if region != "RU" and region not in {c.upper() for c in countries}:
        raise PhoneError("not_allowed")
    if phonenumbers.number_type(number) not in _CALLABLE_TYPES:
        raise PhoneError("not_allowed")
    if e164.startswith(DENY_PREFIXES):
        raise PhoneError("not_allowed")
    return e164


def region_of(e164: str) -> str:
    """ISO region of a normalised number (``RU``, ``KZ`` …; ``AB`` for Abkhazia's +7 840/940)."""
    for prefix, region in _REGION_PREFIXES.items():
        if e164.startswith(prefix):
            return region
    return phonenumbers.region_code_for_number(phonenumbers.parse(e164, None)) or ""


def digits_of(value: str | None) -> str:
    """Digits of a PBX number field (``sip:79161234567@host``, ``8916…``) in 7XXXXXXXXXX form."""
    if not value:
        return ""
    value = value.strip()
    if value.startswith("sip:"):
        value = value[4:]
    value = value.split("@", 1)[0]
    digits = re.sub(r"\D", "", value)
    if len(digits) == 11 and digits.startswith("8"):
        digits = "7" + digits[1:]
    return digits


def mask_phone(number: str | None) -> str:
    """Mask a number for logs, keeping the country code and the last two digits."""
    if not number:
        return ""
    digits = re.sub(r"\D", "", number)
    if len(digits) <= 4:
        return "*" * len(digits)
    return f"+{digits[0]}{'*' * (len(digits) - 3)}{digits[-2:]}"


def number_key(number: str, secret: str) -> str:
    """Keyed hash of a number for rate-limit keys, so counters never hold the number."""
    return hmac.new(secret.encode(), number.encode(), hashlib.sha256).hexdigest()[:32]
