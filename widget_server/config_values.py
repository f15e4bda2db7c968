"""How a ``WIDGET_*`` value is read: one strict parser per kind of setting.

Each raises ``ValueError`` with words for the person setting it; ``config.load_settings``
adds the variable's name.
"""

from __future__ import annotations

import math


def _bool(raw: str) -> bool:
    value = raw.strip().lower()
    if value in {"1", "true", "yes", "on"}:
        return True
    if value in {"0", "false", "no", "off"}:
        return False
    raise ValueError("expected true/false, yes/no, on/off or 1/0")


def _bool_or_auto(raw: str) -> bool | None:
    """A yes/no setting that may also be left to the app: ``auto`` is None."""
    if raw.strip().lower() == "auto":
        return None
    try:
        return _bool(raw)
    except ValueError:
        raise ValueError("expected auto, true/false, yes/no, on/off or 1/0") from None


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


def _at_least_180(raw: str) -> int:
    value = int(raw)
    if value < 180:
        raise ValueError("must be at least 180 (3 minutes)")
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


def _telegram_token(raw: str) -> str:
    value = raw.strip()
    bot_id, _, secret = value.partition(":")
    if not bot_id.isdigit() or len(secret) < 20 or any(c.isspace() for c in value):
        raise ValueError("must look like 123456789:AA… (the token @BotFather gave)")
    return value


def _amocrm_url(raw: str) -> str:
    value = _url(raw)
    if "{subdomain}" not in value:
        raise ValueError("must contain {subdomain}")
    return value


def _text(raw: str) -> str:
    return raw.strip()


def _port(raw: str) -> int:
    value = int(raw)
    if not 1 <= value <= 65535:
        raise ValueError("must be a TCP port, 1–65535")
    return value


def _email_address(raw: str) -> str:
    from email.utils import parseaddr

    value = raw.strip()
    _name, address = parseaddr(value)
    if not address or "@" not in address or any(c.isspace() for c in address):
        raise ValueError(
            "must be an e-mail address, e.g. widget@shop.example or Name <a@b.example>"
        )
    return value


def _smtp_security(raw: str) -> str:
    value = raw.strip().lower()
    if value not in {"starttls", "ssl", "none"}:
        raise ValueError("must be starttls, ssl or none")
    return value


def _log_format(raw: str) -> str:
    value = raw.strip().lower()
    if value not in {"text", "json"}:
        raise ValueError("must be text or json")
    return value


def _worker_class(raw: str) -> str:
    value = raw.strip().lower()
    if value not in {"gevent", "gthread"}:
        raise ValueError("must be gevent or gthread")
    return value


def _token(raw: str) -> str:
    value = raw.strip()
    if len(value) < 16 or any(c.isspace() for c in value):
        raise ValueError("must be at least 16 characters, without spaces")
    return value


def _limits(raw: str) -> str:
    from limits import parse_many

    parse_many(raw)  # raises ValueError on a malformed rate string
    return raw.strip()
