"""Settings: code defaults overridden by ``WIDGET_*`` environment variables.

Every setting is parsed strictly; a malformed value stops the app with a
message naming the variable, instead of running with a surprise.
"""

from __future__ import annotations

import math
import os
from collections.abc import Callable, Mapping
from typing import Any

PLACEHOLDER_SECRET_KEYS = {"", "dev", "change-me", "changeme", "secret", "placeholder"}


class ConfigError(ValueError):
    """A setting from the environment has a value we cannot use."""


def _bool(raw: str) -> bool:
    value = raw.strip().lower()
    if value in {"1", "true", "yes", "on"}:
        return True
    if value in {"0", "false", "no", "off"}:
        return False
    raise ValueError("expected true/false, yes/no, on/off or 1/0")


def _positive_int(raw: str) -> int:
    value = int(raw)
    if value < 1:
        raise ValueError("must be at least 1")
    return value


def _non_negative_int(raw: str) -> int:
    value = int(raw)
    if value < 0:
        raise ValueError("must not be negative")
    return value


def _positive_float(raw: str) -> float:
    value = float(raw)
    if not math.isfinite(value) or value <= 0:  # float() also takes "nan" and "inf"
        raise ValueError("must be a number greater than 0")
    return value


def _url(raw: str) -> str:
    value = raw.strip().rstrip("/")
    if not value.startswith(("http://", "https://")):
        raise ValueError("must start with http:// or https://")
    return value


def _text(raw: str) -> str:
    return raw.strip()


def _limits(raw: str) -> str:
    from limits import parse_many

    parse_many(raw)  # raises ValueError on a malformed rate string
    return raw.strip()


# name -> (parser, default, description). The README's configuration table mirrors this.
SETTINGS: dict[str, tuple[Callable[[str], Any], Any, str]] = {
    "SECRET_KEY": (
        _text,
        "dev",
        "Signs sessions and keys the number hashes. Required in production.",
    ),
    "DATABASE_URL": (_text, None, "SQLAlchemy URL. Default: SQLite file in the instance folder."),
    "REDIS_URL": (_text, None, "Redis for rate limits and the task queue (needed for >1 process)."),
    "PUBLIC_URL": (
        _url,
        "http://127.0.0.1:8000",
        "Public base URL of this service (snippets, webhooks).",
    ),
    "WORKERS": (_positive_int, 1, "gunicorn worker processes for `widget-server run`."),
    "THREADS": (_positive_int, 8, "Threads per gunicorn worker."),
    "QUEUE_WORKERS": (_positive_int, 2, "Task-queue worker threads started by `run`/`worker`."),
    "PBX_CONNECT_TIMEOUT": (_positive_float, 3.0, "Seconds to connect to the PBX API."),
    "PBX_TIMEOUT": (_positive_float, 10.0, "Seconds to wait for a PBX API answer."),
    "TRUSTED_PROXIES": (_non_negative_int, 0, "Reverse proxies in front of the app (ProxyFix)."),
    "RATELIMIT_IP": (_limits, "3/10minute;10/hour", "Callback requests per client IP per widget."),
    "RATELIMIT_IP_GLOBAL": (_limits, "20/hour", "Callback requests per client IP, all widgets."),
    "RATELIMIT_NUMBER": (_limits, "1/2minute;3/hour;5/day", "Callbacks per number, all widgets."),
    "MAX_BODY_BYTES": (_positive_int, 4096, "Largest widget API request body."),
    "STATUS_POLL_MS": (_positive_int, 500, "How often the widget polls call status."),
    "LOG_LEVEL": (_text, "INFO", "Python logging level."),
    "DEV": (_bool, False, "Local development mode (allows the placeholder secret key)."),
}


def load_settings(environ: Mapping[str, str] | None = None) -> dict[str, Any]:
    """Return the settings dict from defaults and ``WIDGET_*`` variables.

    :raise ConfigError: a variable is set to a value its parser refuses.
    """
    environ = os.environ if environ is None else environ
    settings: dict[str, Any] = {}
    for name, (parser, default, _doc) in SETTINGS.items():
        raw = environ.get(f"WIDGET_{name}")
        if raw is None or raw == "":
            settings[name] = default
            continue
        try:
            settings[name] = parser(raw)
        except (ValueError, TypeError) as exc:
            raise ConfigError(f"WIDGET_{name}={raw!r} is not valid: {exc}") from None
    if settings["LOG_LEVEL"].upper() not in {"DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"}:
        raise ConfigError(f"WIDGET_LOG_LEVEL={settings['LOG_LEVEL']!r} is not a logging level")
    return settings


def has_placeholder_secret(config: Mapping[str, Any]) -> bool:
    """True when the secret key is missing, a known placeholder or too short."""
    key = str(config.get("SECRET_KEY") or "")
    return key.lower() in PLACEHOLDER_SECRET_KEYS or len(key) < 16
