"""The text colour on the owner's accent colour, decided here so the loader need not."""

from __future__ import annotations

import re

_HEX = re.compile(r"^#([0-9a-fA-F]{3}){1,2}$")
DARK_TEXT, LIGHT_TEXT = "#111", "#fff"


def _channel(hex_pair: str) -> float:
    value = int(hex_pair, 16) / 255
    return value / 12.92 if value <= 0.03928 else ((value + 0.055) / 1.055) ** 2.4


def text_on(color: str | None) -> str | None:
    """Dark text on a light accent (relative luminance above 0.3, as WCAG counts it), else
    white; None for what is not a hex colour (the widget then keeps its default blue)."""
    if not color or not _HEX.match(color):
        return None
    digits = color[1:]
    if len(digits) == 3:
        digits = "".join(d * 2 for d in digits)
    red, green, blue = (_channel(digits[i : i + 2]) for i in (0, 2, 4))
    return DARK_TEXT if 0.2126 * red + 0.7152 * green + 0.0722 * blue > 0.3 else LIGHT_TEXT
