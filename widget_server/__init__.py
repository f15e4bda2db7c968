"""widget_server: a self-hosted "call me back" widget on the Rostelecom Virtual PBX API."""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from flask import Blueprint, Flask

from .version import __version__

__all__ = ["__version__", "create_app"]


def create_app(test_config: dict[str, Any] | None = None, *, web: bool = True) -> Flask:
    """Build the app: settings, extensions, the queue, blueprints.

    ``web=False`` is the queue worker's app: no blueprints and no request hooks, so
    that process never imports the config page or the public API.
    """
    # Imported here, as in flaskr: importing any submodule runs this package's
    # __init__, which must neither build the app nor load all of it (not even Flask:
    # gunicorn's master, ops/server.py, never needs it).
    from flask import Flask

    from . import config, database, extensions, instance, retention  # in the factory
    from .dispatch import queue  # in the factory (see above)
    from .dispatch import tasks as dispatch_tasks  # in the factory (see above)
    from .insight import tasks as insight_tasks  # in the factory (see above)
    from .notify import tasks as notify_tasks  # in the factory (see above)
    from .ops import logs  # in the factory (see above)

    instance_path = os.environ.get("WIDGET_INSTANCE_PATH") or None
    app = Flask(
        __name__,
        instance_path=os.path.abspath(instance_path) if instance_path else None,
        instance_relative_config=True,
        template_folder=str(config.resource_dir("templates")),
        static_folder=str(config.resource_dir("static")),
    )
    app.config.from_mapping(config.load_settings())
    app.config.from_mapping(test_config or {})
    config.apply_defaults(app, chosen=test_config or {})
    instance.secure(app)
    uri = app.config["SQLALCHEMY_DATABASE_URI"]
    app.config.setdefault("SQLALCHEMY_ENGINE_OPTIONS", database.engine_options(uri))
    logs.configure_logging(app.config["LOG_LEVEL"], app.config["LOG_FORMAT"] or "text")

    extensions.db.init_app(app)
    extensions.limiter.init_app(app)
    extensions.csrf.init_app(app)
    extensions.babel.init_app(app, locale_selector=extensions.current_language, default_locale="ru")
    with app.app_context():
        database.configure_engine(extensions.db.engine)
    queue.init_queue(app, (dispatch_tasks, notify_tasks, retention, insight_tasks))
    if web:
        _add_web(app)
    return app


def _add_web(app: Flask) -> None:
    """What serves HTTP: the blueprints, the request hooks, the proxy fix."""
    from werkzeug.middleware.proxy_fix import ProxyFix

    from . import admin, errors, extensions  # the web's parts: the queue worker never loads them
    from .ops import health, logs, metrics  # the web's parts (see above)
    from .pbx import webhooks  # the web's parts (see above)
    from .visitor import api, edge, embed, home, opt_out  # the web's parts; edge: WSGI layers

    if n := app.config["TRUSTED_PROXIES"]:
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=n, x_proto=n, x_host=n)  # type: ignore[method-assign]
    for bp in (api.bp, webhooks.bp, embed.bp, home.bp, opt_out.bp, admin.bp, health.bp):
        app.register_blueprint(bp)
    # In this order: both put their first hook ahead of all others.
    logs.init_request_logging(app)
    metrics.init_app(app)  # also registers /metrics
    errors.register(app)
    # The public ones; True: it keeps rate limits of its own.
    public = {api.bp: True, opt_out.bp: True, webhooks.bp: False, embed.bp: False}
    _exempt(extensions, public | {home.bp: False, health.bp: False, metrics.bp: False})
    edge.install(app)


def _exempt(extensions, public: dict[Blueprint, bool]) -> None:
    # CSRF protects the config page's cookie sessions. The public API and the
    # webhooks carry no cookies (CORS, origin checks, signatures instead), and the
    # opt-out form is public: a forged cross-site post could do nothing a direct one can't.
    for bp, rate_limited in public.items():
        extensions.csrf.exempt(bp)
        if not rate_limited:
            extensions.limiter.exempt(bp)
