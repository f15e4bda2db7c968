"""Number handling inside the simulator: scenario keys and masking for logs."""

from __future__ import annotations

import re

# 9-15 digits, possibly spaced or dashed, standing on their own (or after "sip:").
# The guards keep uuids ("…-f8331366b8a2") and timestamps ("… 05:29:19") intact.
_PHONE_LIKE = re.compile(r"(?<![\w-])\+?\d(?:[\s()-]*\d){8,14}(?![\w:-])")


def normalise_number(raw: str | None) -> str:
    """E.164 digits of a visitor number: ``8 (900) 000-00-01`` -> ``79000000001``."""
    digits = re.sub(r"\D", "", raw or "")
    if len(digits) == 11 and digits.startswith("8"):
        digits = "7" + digits[1:]
    return digits


def mask_phone(text: str | None) -> str:
    """Mask every phone number in ``text``, keeping 4 leading and 2 trailing digits.

    ``+79161234567`` -> ``+7916*****67``; ``sip:79161234567@host`` keeps its
    wrapper. Used for everything the simulator logs.
    """
    if not text:
        return ""
    return _PHONE_LIKE.sub(_mask_match, text)


def _mask_match(match: re.Match[str]) -> str:
    number = match.group()
    digits = re.sub(r"\D", "", number)
    plus = "+" if number.startswith("+") else ""
    return plus + digits[:4] + "*" * (len(digits) - 6) + digits[-2:]
