"""Text colours of the config page's badges meet WCAG AA (4.5:1), computed from admin.css."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

CSS = (Path(__file__).resolve().parent.parent / "static" / "admin" / "admin.css").read_text()


def luminance(hex_color: str) -> float:
    """WCAG 2.x relative luminance of ``#rrggbb`` (or ``#rgb``)."""
    value = hex_color.lstrip("#")
    if len(value) == 3:
        value = "".join(c * 2 for c in value)
    channels = [int(value[i : i + 2], 16) / 255 for i in (0, 2, 4)]
    linear = [c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4 for c in channels]
    return 0.2126 * linear[0] + 0.7152 * linear[1] + 0.0722 * linear[2]


def contrast(one: str, other: str) -> float:
    high, low = sorted((luminance(one), luminance(other)), reverse=True)
    return (high + 0.05) / (low + 0.05)


def colour(value: str) -> str:
    """A declaration's colour, with ``var(--x)`` looked up in ``:root``."""
    value = value.strip()
    named = re.fullmatch(r"var\((--[\w-]+)\)", value)
    if named:
        value = re.search(rf"{named.group(1)}:\s*(#[0-9a-fA-F]{{3,6}})", CSS).group(1)
    assert re.fullmatch(r"#[0-9a-fA-F]{3,6}", value), value
    return value


def rule(selector: str) -> dict[str, str]:
    body = re.search(rf"{re.escape(selector)}\s*\{{([^}}]*)\}}", CSS).group(1)
    return {k.strip(): v.strip() for k, v in (d.split(":", 1) for d in body.split(";") if ":" in d)}


def test_the_contrast_formula_matches_known_pairs():
    assert round(contrast("#000000", "#ffffff"), 1) == 21.0
    assert round(contrast("#9a6700", "#fef0c7"), 2) == 4.29  # the failure axe reported (4.28)


@pytest.mark.parametrize("badge", [".badge-ok", ".badge-bad", ".badge-warn"])
def test_every_badge_text_has_at_least_4_5_to_1_on_its_background(badge):
    declarations = rule(badge)
    ratio = contrast(colour(declarations["color"]), colour(declarations["background"]))
    assert ratio >= 4.5, f"{badge}: {ratio:.2f}:1"


def test_warning_text_also_reads_on_a_white_card():
    assert contrast(colour("var(--warn)"), "#ffffff") >= 4.5
