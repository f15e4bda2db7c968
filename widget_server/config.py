"""Settings: code defaults overridden by ``WIDGET_*`` environment variables.

Every setting is parsed strictly; a malformed value stops the app with a
message naming the variable, instead of running with a surprise.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from datetime import timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .config_values import (
    _amocrm_url,
    _at_least_180,
    _bool,
    _bool_or_auto,
    _email_address,
    _limits,
    _log_format,
    _non_negative_int,
    _port,
    _positive_float,
    _positive_int,
    _smtp_security,
    _telegram_token,
    _text,
    _token,
    _url,
    _worker_class,
)

if TYPE_CHECKING:
    from flask import Flask

_PACKAGE_DIR = Path(__file__).resolve().parent
PLACEHOLDER_SECRET_KEYS = {"", "dev", "change-me", "changeme", "secret", "placeholder"}
SECRET_SETTINGS = {"SECRET_KEY", "SMTP_PASSWORD", "METRICS_TOKEN", "TELEGRAM_BOT_TOKEN"}


class ConfigError(ValueError):
    """A setting from the environment has a value we cannot use."""


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
    "THREADS": (
        _positive_int,
        8,
        "Threads per gunicorn worker (gthread); under gevent, requests running at once.",
    ),
    "WORKER_CLASS": (
        _worker_class,
        "gevent",
        "gevent (live status streams hold no thread) or gthread (WIDGET_THREADS threads).",
    ),
    "WORKER_CONNECTIONS": (
        _positive_int,
        5000,
        "gevent: most connections per gunicorn worker, open status streams included.",
    ),
    # Jobs mostly wait on a PBX: eight keep a slow PBX (seconds per answer) from bounding the
    # dialling rate; a quarter of them always stays free for other accounts (bulkhead.py).
    "QUEUE_WORKERS": (_positive_int, 32, "Task-queue worker threads started by `run`/`worker`."),
    # None (auto): inside the web worker when there is one, see queue_in_web().
    "QUEUE_IN_WEB": (
        _bool_or_auto,
        None,
        "`run` runs the task queue inside each web worker instead of a process of its own.",
    ),
    "BODY_TIMEOUT": (
        _positive_float,
        10.0,
        "gevent: seconds a client has to send a request's body before it is refused (408).",
    ),
    "PBX_CONNECT_TIMEOUT": (_positive_float, 3.0, "Seconds to connect to the PBX API."),
    "PBX_TIMEOUT": (_positive_float, 10.0, "Seconds to wait for a PBX API answer."),
    "PBX_DEADLINE": (
        _positive_float,
        20.0,
        "Seconds a whole call to the PBX API or an owner's webhook or CRM may take, answer included.",
    ),
    "TRUSTED_PROXIES": (_non_negative_int, 0, "Reverse proxies in front of the app (ProxyFix)."),
    # Loose enough for a mobile carrier's CGNAT or an office behind one address: the
    # per-number limits carry the anti-bombing weight (threat-model.md, section 1).
    "RATELIMIT_IP": (
        _limits,
        "10/10minute;30/hour;100/day",
        "Callback requests per client IP per widget.",
    ),
    "RATELIMIT_IP_GLOBAL": (_limits, "60/hour", "Callback requests per client IP, all widgets."),
    "RATELIMIT_BEACON": (_limits, "60/minute", "Funnel beacons per client IP per widget."),
    "RATELIMIT_NUMBER": (_limits, "1/2minute;3/hour;5/day", "Callbacks per number, all widgets."),
    "RATELIMIT_WIDGET_NUMBER": (
        _limits,
        "1/5minute",
        "Callbacks per number through one widget; over it the visitor gets a 429.",
    ),
    "RATELIMIT_PREFIX": (
        _limits,
        "10/hour",
        "Callbacks per number prefix (all but the last 4 digits), all widgets; over it a 429.",
    ),
    "WIDGET_CAP": (
        _limits,
        "60/hour;300/day",
        "Calls per widget; over it requests are stored as held, not dialled, owner told hourly.",
    ),
    "NEW_WIDGET_CAP": (
        _limits,
        "10/hour;50/day",
        "The per-widget cap for widgets younger than 7 days.",
    ),
    "DISPATCH_DEADLINE": (
        _positive_int,
        900,
        "Seconds to keep retrying a PBX that fails before giving up.",
    ),
    "VISITOR_RETRY_DELAY": (
        _at_least_180,
        180,
        "Seconds before the one retry of a visitor who did not answer (≥ 180).",
    ),
    "UNKNOWN_CALL_GRACE": (
        _positive_int,
        90,
        "Seconds to wait for events of a call_back whose answer never came.",
    ),
    "UNPLACED_CHECK_AFTER": (
        _positive_int,
        1800,
        "Seconds after a call_back that never answered before the PBX's journal is asked "
        "whether it was placed.",
    ),
    "END_TIMEOUT": (
        _positive_int,
        1800,
        "Seconds after which a call with no end event is reconciled.",
    ),
    "EGRESS_IP": (_text, None, "This server's public IP; recording links are bound to it."),
    "NIGHT_GUARD": (
        _bool,
        True,
        "Never ring a visitor 21:00–09:00 their time, and apply the default Mon–Fri "
        "09:00–20:00 to widgets without hours. Off only for demos and tests.",
    ),
    "FORM_TOKENS": (
        _bool,
        True,
        "Bot defence: require the signed, single-use form token of the widget config, and a "
        "proof of work on bot signals. Off only for tests that post without the widget.",
    ),
    # Owner notifications by e-mail (notifications.py). No SMTP_HOST: e-mail is off.
    "SMTP_HOST": (_text, None, "SMTP server for owner e-mail; unset turns e-mail off."),
    "SMTP_PORT": (_port, 587, "SMTP server port."),
    "SMTP_USER": (_text, None, "SMTP login; unset sends without logging in."),
    "SMTP_PASSWORD": (_text, None, "SMTP password (never logged)."),
    "SMTP_FROM": (
        _email_address,
        None,
        "Sender address of owner e-mail. Default: SMTP_USER, else widget-server@<SMTP_HOST>.",
    ),
    "SMTP_SECURITY": (_smtp_security, "starttls", "starttls, ssl (implicit TLS) or none."),
    "SMTP_TIMEOUT": (_positive_float, 10.0, "Seconds to wait for the SMTP server."),
    # Telegram, Bitrix24 and amoCRM notifications (notify/telegram.py, bitrix24.py, amocrm.py).
    "TELEGRAM_BOT_TOKEN": (
        _telegram_token,
        None,
        "Token of this installation's Telegram bot (from @BotFather); unset turns Telegram off.",
    ),
    "TELEGRAM_API_URL": (_url, "https://api.telegram.org", "Telegram Bot API base URL."),
    "AMOCRM_API_URL": (
        _amocrm_url,
        "https://{subdomain}.amocrm.ru",
        "amoCRM API address; {subdomain} is the owner's account (kommo.com accounts too).",
    ),
    "CHANNEL_TIMEOUT": (
        _positive_float,
        10.0,
        "Seconds to wait for Telegram, Bitrix24 or amoCRM to answer.",
    ),
    # Config page accounts (admin/auth.py, admin/password_reset.py).
    "OPEN_SIGNUP": (_bool, False, "Anyone may create an owner account at /admin/sign-up."),
    "RATELIMIT_SIGNIN_IP": (
        _limits,
        "10/minute",
        "Sign-in, sign-up and password-reset posts per client IP.",
    ),
    "RATELIMIT_SIGNIN_EMAIL": (
        _limits,
        "5/15minute",
        "Failed sign-ins (and reset e-mails) per e-mail address.",
    ),
    "PASSWORD_RESET_SECONDS": (
        _positive_int,
        3600,
        "How long an e-mailed password-reset link works.",
    ),
    "MAX_BODY_BYTES": (_positive_int, 4096, "Largest widget API request body."),
    "STATUS_POLL_MS": (_positive_int, 500, "How often the widget polls call status."),
    "STATUS_POLL_TALKING_MS": (
        _positive_int,
        3000,
        "How often the widget polls once the call is talking (when the live stream fails).",
    ),
    "STATUS_WATCH_POLL_MS": (
        _positive_int,
        250,
        "Without Redis: how often one query checks every request a live stream watches.",
    ),
    "STREAMS_PER_IP": (
        _positive_int,
        20,
        "Live status streams one client IP (IPv6: /64) holds open per process; over it a 429.",
    ),
    "LOG_LEVEL": (_text, "INFO", "Python logging level."),
    "LOG_FORMAT": (
        _log_format,
        None,
        "text or json (one JSON object per line). Default: json under `run` unless DEV, else text.",
    ),
    "METRICS_TOKEN": (
        _token,
        None,
        "Bearer token for /metrics (at least 16 characters); unset, /metrics answers 404.",
    ),
    "DEV": (_bool, False, "Local development mode (allows the placeholder secret key)."),
    # A demo installation (``widget-server demo`` sets both; dev/installation.py). Never in
    # production: either one without WIDGET_DEV stops the app.
    "DEMO_SHOP": (
        _url,
        None,
        "The demo's sample shop: any widget may be shown there, and new widgets skip the "
        "first week's cap. Set by `widget-server demo`; needs WIDGET_DEV.",
    ),
    "DEMO_PBX": (
        _url,
        None,
        "The demo's PBX simulator, offered on the PBX form. Set by `widget-server demo`; "
        "needs WIDGET_DEV.",
    ),
    "ALLOW_PRIVATE_NETWORKS": (
        _bool,
        False,
        "Let owner-supplied addresses (webhooks, PBX API) be private, loopback or plain http "
        "(a PBX stand-in or relay on your own network; the demo and tests).",
    ),
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
            shown = "…" if name in SECRET_SETTINGS else repr(raw)  # secrets never echoed
            raise ConfigError(f"WIDGET_{name}={shown} is not valid: {exc}") from None
    if settings["LOG_LEVEL"].upper() not in {"DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"}:
        raise ConfigError(f"WIDGET_LOG_LEVEL={settings['LOG_LEVEL']!r} is not a logging level")
    for name in ("DEMO_SHOP", "DEMO_PBX"):
        if settings[name] and not settings["DEV"]:
            # A demo's exceptions (a shop that may show any widget, no first-week cap) must
            # never reach a production installation by a stray variable.
            raise ConfigError(
                f"WIDGET_{name} is for `widget-server demo` only: it needs WIDGET_DEV=1"
            )
    if bool(settings["SMTP_USER"]) != bool(settings["SMTP_PASSWORD"]):
        # The password itself never appears in a message.
        raise ConfigError("WIDGET_SMTP_USER and WIDGET_SMTP_PASSWORD must be set together")
    return settings


def queue_in_web(settings: Mapping[str, Any]) -> bool:
    """Whether ``run`` runs the task queue inside its web worker (WIDGET_QUEUE_IN_WEB).

    Left to auto, it does when ``run`` has one web worker (always so without Redis: ``run``
    refuses more): a process of its own would cost 70 MB for jobs that mostly wait on the PBX.
    With several web workers the queue keeps a process (and a core) of its own, rather than
    one consumer per web worker.
    """
    chosen = settings.get("QUEUE_IN_WEB")
    return settings.get("WORKERS", 1) == 1 if chosen is None else bool(chosen)


# A production key must be worth at least 32 random bytes' guessing: 32 characters or
# more (secrets.token_hex(32) gives 64, token_urlsafe(32) 43) and not a repeated few
# (a random hex key of that length shows all but a few of its 16 digits).
MIN_SECRET_LENGTH = 32
MIN_SECRET_DISTINCT = 10


def has_placeholder_secret(config: Mapping[str, Any]) -> bool:
    """True when the secret key is missing, a known placeholder, too short or not random."""
    key = str(config.get("SECRET_KEY") or "")
    return (
        key.lower() in PLACEHOLDER_SECRET_KEYS
        or len(key) < MIN_SECRET_LENGTH
        or len(set(key)) < MIN_SECRET_DISTINCT
    )


def resource_dir(name: str) -> Path:
    """Top-level ``templates``/``static``/``embed``: in the wheel or beside the package."""
    bundled = _PACKAGE_DIR / "_data" / name
    return bundled if bundled.is_dir() else _PACKAGE_DIR.parent / name


def apply_defaults(app: Flask, chosen: Mapping[str, Any]) -> None:
    """Fill the extensions' settings from ours, keeping what the caller set in ``chosen``.

    (The engine options follow from the database URL: ``database.engine_options``.)
    """
    config = app.config
    config.setdefault(
        "SQLALCHEMY_DATABASE_URI",
        config["DATABASE_URL"] or f"sqlite:///{os.path.join(app.instance_path, 'widget.sqlite3')}",
    )
    config.setdefault("RATELIMIT_STORAGE_URI", config["REDIS_URL"] or "memory://")
    config.setdefault("RATELIMIT_STRATEGY", "moving-window")
    # The per-IP HTTP limits let requests through when the store is down; the dial
    # decision (abuse/limits) fails closed on its own: held, never dialled.
    config.setdefault("RATELIMIT_SWALLOW_ERRORS", True)
    if str(config["RATELIMIT_STORAGE_URI"]).startswith(("redis://", "rediss://")):
        # Short timeouts: a dead store must not hold a request thread for long.
        config.setdefault(
            "RATELIMIT_STORAGE_OPTIONS", {"socket_timeout": 1.0, "socket_connect_timeout": 1.0}
        )
    # Retry-After is set by our own 429 answers; the X-RateLimit-* headers would
    # describe whichever of several limits flask-limiter picked.
    config.setdefault("RATELIMIT_HEADERS_ENABLED", False)
    config.setdefault("QUEUE_PATH", os.path.join(app.instance_path, "queue.sqlite3"))
    config.setdefault("EMBED_DIR", str(resource_dir("embed")))
    # Config page sessions: HttpOnly and SameSite=Lax always; Secure except in local
    # development and tests, which run on plain http://127.0.0.1.
    # Flask's own defaults already fill these keys, so setdefault would keep Flask's
    # (no SameSite, not Secure, 31 days): set them unless the caller chose otherwise.
    session_cookie = {
        "SESSION_COOKIE_SECURE": not (config["DEV"] or app.testing),
        "SESSION_COOKIE_HTTPONLY": True,
        "SESSION_COOKIE_SAMESITE": "Lax",
        "SESSION_COOKIE_NAME": "widget_session",
        "PERMANENT_SESSION_LIFETIME": timedelta(hours=12),
    }
    for name, value in session_cookie.items():
        if name not in chosen:
            config[name] = value
    # CSRF tokens live as long as the session, so a form left open is still accepted.
    config.setdefault("WTF_CSRF_TIME_LIMIT", None)
