"""A widget's analytics goals, behavioural triggers and A/B test: the stored shape and the look's.

Stored in ``Widget.lead_settings`` (JSON, None: everything off)::

    {"analytics": {"metrica_id": "12345678", "ga4": true},
     "triggers": {"after_seconds": 20, "scroll_percent": null, "exit_intent": false,
                  "return_visit": false, "paths": ["/catalog/*"], "snooze_days": 7},
     "ab": {"started": "2026-12-01", "weight_a": 50,
            "a": {"texts": {"title": "…"}, "triggers": null},
            "b": {"texts": {"button": "…"}, "triggers": {"after_seconds": 10, …}}}}

What the widget reads is ``look_extras`` (visitor/look_extras.py), built from it here
and always complete: a widget never configured gets every trigger off.
"""

from __future__ import annotations

from typing import Any

VARIANT_TEXTS = ("title", "intro", "button")
TRIGGER_KEYS = ("after_seconds", "scroll_percent", "exit_intent", "return_visit", "paths")


def default_triggers() -> dict[str, Any]:
    return {
        "after_seconds": None,
        "scroll_percent": None,
        "exit_intent": False,
        "return_visit": False,
        "paths": [],
        "snooze_days": None,
    }


def _int_or_none(value: Any, low: int, high: int) -> int | None:
    if isinstance(value, bool) or not isinstance(value, int):
        return None
    return value if low <= value <= high else None


def triggers_of(raw: Any) -> dict[str, Any]:
    """The triggers in the look's shape, whatever was stored (unknown keys dropped)."""
    triggers = default_triggers()
    if not isinstance(raw, dict):
        return triggers
    triggers["after_seconds"] = _int_or_none(raw.get("after_seconds"), 1, 3600)
    triggers["scroll_percent"] = _int_or_none(raw.get("scroll_percent"), 1, 100)
    triggers["snooze_days"] = _int_or_none(raw.get("snooze_days"), 1, 365)
    triggers["exit_intent"] = raw.get("exit_intent") is True
    triggers["return_visit"] = raw.get("return_visit") is True
    paths = raw.get("paths")
    if isinstance(paths, list):
        triggers["paths"] = [p for p in paths if isinstance(p, str) and p.startswith("/")]
    return triggers


def analytics_of(settings: dict[str, Any]) -> dict[str, Any]:
    raw = settings.get("analytics") if isinstance(settings.get("analytics"), dict) else {}
    metrica = raw.get("metrica_id")
    return {
        "metrica_id": metrica if isinstance(metrica, str) and metrica.isdigit() else None,
        "ga4": raw.get("ga4") is True,
    }


def ab_of(settings: dict[str, Any]) -> dict[str, Any] | None:
    """The running A/B test as stored, None when none runs."""
    ab = settings.get("ab")
    return ab if isinstance(ab, dict) and isinstance(ab.get("a"), dict) else None


def variants_of(settings: dict[str, Any]) -> list[dict[str, Any]] | None:
    """The look's ``variants``: both variants with their weights, or None when no test runs."""
    ab = ab_of(settings)
    if ab is None:
        return None
    weight_a = _int_or_none(ab.get("weight_a"), 0, 100)
    weight_a = 50 if weight_a is None else weight_a
    widget_triggers = triggers_of(settings.get("triggers"))
    variants = []
    for vid, weight in (("a", weight_a), ("b", 100 - weight_a)):
        raw = ab.get(vid) or {}
        texts = raw.get("texts") if isinstance(raw.get("texts"), dict) else {}
        own = raw.get("triggers")
        variants.append(
            {
                "id": vid,
                "weight": weight,
                "texts": {k: v for k, v in texts.items() if k in VARIANT_TEXTS and v},
                # A variant's triggers replace the widget's only for the keys it sets.
                "triggers": triggers_of({**widget_triggers, **own})
                if isinstance(own, dict)
                else None,
            }
        )
    return variants


def winner_settings(settings: dict[str, Any], vid: str) -> tuple[dict[str, str], dict[str, Any]]:
    """Making variant ``vid`` the default: (its texts for ``Widget.texts``, the new settings).

    The test ends; the winner's own triggers, if it had any, become the widget's.
    """
    ab = ab_of(settings) or {}
    variant = ab.get(vid) or {}
    texts = {k: v for k, v in (variant.get("texts") or {}).items() if k in VARIANT_TEXTS and v}
    new = {k: v for k, v in settings.items() if k != "ab"}
    if isinstance(variant.get("triggers"), dict):
        merged = {**triggers_of(settings.get("triggers")), **variant["triggers"]}
        new["triggers"] = triggers_of(merged)
    return texts, new
