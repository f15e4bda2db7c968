"""A request's source as the widget sends it (``"source"`` and ``"variant"`` of the submit body).

Everything is optional and nothing here refuses a request: a visitor must never lose
their callback over a malformed campaign tag. Values that are not strings are dropped,
strings are trimmed and capped, and the two addresses are kept only when they are
http(s) URLs.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

# Field of the body's "source" object -> (column, longest value kept).
SOURCE_FIELDS: dict[str, tuple[str, int]] = {
    "utm_source": ("source_utm_source", 200),
    "utm_medium": ("source_utm_medium", 200),
    "utm_campaign": ("source_utm_campaign", 200),
    "utm_term": ("source_utm_term", 200),
    "utm_content": ("source_utm_content", 200),
    "yclid": ("source_yclid", 200),
    "gclid": ("source_gclid", 200),
    "referrer": ("source_referrer", 1000),
    "landing_page": ("source_landing_page", 1000),
}
URL_FIELDS = {"referrer", "landing_page"}
VARIANTS = ("a", "b")


def is_web_url(value: str) -> bool:
    """An absolute http(s) URL with a host (no ``javascript:``, no relative paths)."""
    try:
        parts = urlsplit(value)
    except ValueError:
        return False
    return parts.scheme in ("http", "https") and bool(parts.hostname)


def clean_source(raw: Any) -> dict[str, str]:
    """The body's ``source`` object as ``{column: value}``, only the fields worth keeping."""
    if not isinstance(raw, dict):
        return {}
    clean: dict[str, str] = {}
    for name, (column, longest) in SOURCE_FIELDS.items():
        value = raw.get(name)
        if not isinstance(value, str):
            continue
        value = "".join(ch for ch in value.strip() if ch.isprintable())
        if not value or (name in URL_FIELDS and not is_web_url(value)):
            continue
        clean[column] = value[:longest]
    return clean


def clean_variant(raw: Any) -> str | None:
    """``"a"`` or ``"b"``, anything else is no variant."""
    return raw if raw in VARIANTS else None


def source_of(req) -> dict[str, str | None]:
    """A stored request's source as the body named it (``utm_source`` …), for the webhook and views."""
    return {name: getattr(req, column) for name, (column, _len) in SOURCE_FIELDS.items()}


def source_label(req) -> str:
    """One short word for where a request came from: utm_source, else the referrer's host, else direct."""
    if req.source_utm_source:
        return req.source_utm_source
    if req.source_yclid:
        return "yandex (yclid)"
    if req.source_gclid:
        return "google (gclid)"
    if req.source_referrer:
        return urlsplit(req.source_referrer).hostname or ""
    return ""
