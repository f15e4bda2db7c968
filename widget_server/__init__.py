"""widget_server: a self-hosted "call me back" widget on the Rostelecom Virtual PBX API."""

from __future__ import annotations

import os
from datetime import timedelta
from pathlib import Path
from typing import Any

from flask import Flask

__version__ = "0.1.0"

_PACKAGE_DIR = Path(__file__).resolve().parent


def resource_dir(name: str) -> Path:
    """Top-level ``templates``/``static``/``embed``: in the wheel or beside the package."""
    bundled = _PACKAGE_DIR / "_data" / name
    return bundled if bundled.is_dir() else _PACKAGE_DIR.parent / name


def create_app(test_config: dict[str, Any] | None = None) -> Flask:
    """Build the app: settings, extensions, blueprints."""
    from werkzeug.middleware.proxy_fix import ProxyFix

    from . import config as settings
    from .extensions import babel, csrf, current_language, db, limiter
    from .ops.logs import configure_logging, init_request_logging

    instance_path = os.environ.get("WIDGET_INSTANCE_PATH") or None
    app = Flask(
        __name__,
        instance_path=os.path.abspath(instance_path) if instance_path else None,
        instance_relative_config=True,
        template_folder=str(resource_dir("templates")),
        static_folder=str(resource_dir("static")),
    )
    app.config.from_mapping(settings.load_settings())
    if test_config:
        app.config.from_mapping(test_config)
    os.makedirs(app.instance_path, exist_ok=True)

    app.config.setdefault(
        "SQLALCHEMY_DATABASE_URI",
        app.config["DATABASE_URL"]
        or f"sqlite:///{os.path.join(app.instance_path, 'widget.sqlite3')}",
    )
    from .database import engine_options

    app.config.setdefault(
        "SQLALCHEMY_ENGINE_OPTIONS", engine_options(app.config["SQLALCHEMY_DATABASE_URI"])
    )
    app.config.setdefault("RATELIMIT_STORAGE_URI", app.config["REDIS_URL"] or "memory://")
    app.config.setdefault("RATELIMIT_STRATEGY", "moving-window")
    # The per-IP HTTP limits let requests through when the store is down; the dial
    # decision (abuse_limits) fails closed on its own: held, never dialled.
    app.config.setdefault("RATELIMIT_SWALLOW_ERRORS", True)
    if str(app.config["RATELIMIT_STORAGE_URI"]).startswith(("redis://", "rediss://")):
        # Short timeouts: a dead store must not hold a request thread for long.
        app.config.setdefault(
            "RATELIMIT_STORAGE_OPTIONS", {"socket_timeout": 1.0, "socket_connect_timeout": 1.0}
        )
    # Retry-After is set by our own 429 answers; the X-RateLimit-* headers would
    # describe whichever of several limits flask-limiter picked.
    app.config.setdefault("RATELIMIT_HEADERS_ENABLED", False)
    app.config.setdefault("QUEUE_PATH", os.path.join(app.instance_path, "queue.sqlite3"))
    app.config.setdefault("EMBED_DIR", str(resource_dir("embed")))
    # Config page sessions: HttpOnly and SameSite=Lax always; Secure except in local
    # development and tests, which run on plain http://127.0.0.1.
    # Flask's own defaults already fill these keys, so setdefault would keep Flask's
    # (no SameSite, not Secure, 31 days): set them unless the caller chose otherwise.
    session_cookie = {
        "SESSION_COOKIE_SECURE": not (app.config["DEV"] or app.testing),
        "SESSION_COOKIE_HTTPONLY": True,
        "SESSION_COOKIE_SAMESITE": "Lax",
        "SESSION_COOKIE_NAME": "widget_session",
        "PERMANENT_SESSION_LIFETIME": timedelta(hours=12),
    }
    for name, value in session_cookie.items():
        if name not in (test_config or {}):
            app.config[name] = value
    # CSRF tokens live as long as the session, so a form left open is still accepted.
    app.config.setdefault("WTF_CSRF_TIME_LIMIT", None)
    configure_logging(app.config["LOG_LEVEL"], app.config["LOG_FORMAT"] or "text")

    if app.config["TRUSTED_PROXIES"]:
        n = app.config["TRUSTED_PROXIES"]
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=n, x_proto=n, x_host=n)  # type: ignore[method-assign]

    db.init_app(app)
    limiter.init_app(app)
    csrf.init_app(app)
    babel.init_app(app, locale_selector=current_language, default_locale="ru")
    from .database import configure_engine
    from .dispatch.queue import init_queue

    with app.app_context():
        configure_engine(db.engine)
    from . import retention
    from .dispatch import ringing
    from .notify import tasks as notify_tasks

    init_queue(app, (ringing, notify_tasks, retention))

    from . import admin, errors
    from .ops import health, metrics
    from .pbx import webhooks
    from .visitor import api as widget_api
    from .visitor import embed as embed_assets
    from .visitor import home, opt_out

    app.register_blueprint(widget_api.bp)
    app.register_blueprint(webhooks.bp)
    app.register_blueprint(embed_assets.bp)
    app.register_blueprint(home.bp)
    app.register_blueprint(opt_out.bp)
    app.register_blueprint(admin.bp)
    app.register_blueprint(health.bp)
    init_request_logging(app)
    metrics.init_app(app)  # also registers /metrics
    errors.register(app)
    limiter.exempt(webhooks.bp)
    limiter.exempt(embed_assets.bp)
    limiter.exempt(home.bp)
    limiter.exempt(health.bp)
    limiter.exempt(metrics.bp)
    # CSRF protects the config page's cookie sessions. The public API and the
    # webhooks carry no cookies (CORS, origin checks, signatures instead), and the
    # opt-out form is public: a forged cross-site post could do nothing a direct one can't.
    for public in (widget_api.bp, webhooks.bp, embed_assets.bp, opt_out.bp, health.bp, metrics.bp):
        csrf.exempt(public)
    return app
