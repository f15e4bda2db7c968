"""Bar chart geometry for server-rendered inline SVG (templates draw it; no JavaScript).

Only numbers come out of here; the templates put them into SVG presentation
attributes, which the page's Content Security Policy allows (style attributes it would not).
"""

from __future__ import annotations

import math
from dataclasses import dataclass


@dataclass(frozen=True)
class Bar:
    label: str
    value: float
    x: float
    y: float
    width: float
    height: float
    text: str  # the value as shown
    # An optional part of the bar drawn over it (e.g. the connected share of a day).
    part_y: float = 0.0
    part_height: float = 0.0


@dataclass(frozen=True)
class Tick:
    value: float
    pos: float
    text: str


@dataclass(frozen=True)
class Chart:
    width: int
    height: int
    bars: list[Bar]
    ticks: list[Tick]
    plot_left: float
    plot_top: float
    plot_right: float
    plot_bottom: float
    label_every: int = 1  # column charts: label every n-th column


def nice_max(value: float) -> float:
    """A round axis maximum at or above ``value`` (1, 2, 5 × 10^n)."""
    if value <= 0:
        return 1.0
    exponent = math.floor(math.log10(value))
    for step in (1, 2, 5, 10):
        candidate = step * 10**exponent
        if candidate >= value:
            return float(candidate)
    return float(10 ** (exponent + 1))


def _ticks(top: float, to_pos, fmt) -> list[Tick]:
    """Axis lines at whole steps: every unit up to 5, else fifths of a 1-2-5 maximum."""
    count = int(top) if top <= 5 else 5
    return [
        Tick(top * i / count, to_pos(top * i / count), fmt(top * i / count))
        for i in range(count + 1)
    ]


def columns(
    labels: list[str],
    values: list[float],
    parts: list[float] | None = None,
    *,
    width: int = 640,
    height: int = 240,
    fmt=lambda v: f"{v:g}",
) -> Chart:
    """Vertical bars, one per label; a zero value gets no bar (only its place on the axis)."""
    left, right, top, bottom = 40.0, width - 10.0, 12.0, height - 28.0
    top_value = nice_max(max(values, default=0))
    slot = (right - left) / max(len(values), 1)
    bar_width = max(1.0, slot * 0.7)

    def y_of(v: float) -> float:
        return bottom - (bottom - top) * v / top_value

    bars = []
    for i, (label, value) in enumerate(zip(labels, values, strict=True)):
        if value <= 0:
            continue
        x = left + slot * i + (slot - bar_width) / 2
        part = parts[i] if parts else 0
        bars.append(
            Bar(
                label,
                value,
                round(x, 2),
                round(y_of(value), 2),
                round(bar_width, 2),
                round(bottom - y_of(value), 2),
                fmt(value),
                part_y=round(y_of(part), 2),
                part_height=round(bottom - y_of(part), 2),
            )
        )
    # Label as many days as fit (a date label is about 40 px wide).
    label_every = max(1, math.ceil(44 / slot)) if slot else 1
    return Chart(
        width,
        height,
        bars,
        _ticks(top_value, y_of, fmt),
        left,
        top,
        right,
        bottom,
        label_every,
    )


def column_positions(chart: Chart, count: int) -> list[float]:
    """x of the centre of each column slot (for the axis labels)."""
    slot = (chart.plot_right - chart.plot_left) / max(count, 1)
    return [round(chart.plot_left + slot * (i + 0.5), 2) for i in range(count)]


def rows(
    labels: list[str],
    values: list[float | None],
    *,
    width: int = 480,
    row_height: int = 50,
    maximum: float | None = None,
    fmt=lambda v: f"{v:g}",
) -> Chart:
    """Horizontal bars, one row per label (the label above its bar); None shows "—", no bar.

    Labels sit above the bars rather than beside them so that long department and
    widget names fit on a phone.
    """
    left, right, top = 0.0, width - 80.0, 4.0
    known = [v for v in values if v is not None]
    top_value = maximum if maximum is not None else nice_max(max(known, default=0))
    bottom = top + row_height * len(labels)
    bars = []
    for i, (label, value) in enumerate(zip(labels, values, strict=True)):
        length = 0.0 if not value else (right - left) * min(value, top_value) / top_value
        bars.append(
            Bar(
                label,
                value if value is not None else 0,
                left,
                round(top + row_height * i + 24, 2),
                round(length, 2),
                16.0,
                "—" if value is None else fmt(value),
            )
        )
    return Chart(width, int(bottom), bars, [], left, top, right, bottom)
