"""The task-queue worker process: the queue's app only (``create_app(web=False)``).

``widget-server run`` starts it as ``python -m widget_server.ops.worker``, which loads
neither the command line's modules nor gunicorn nor the web's blueprints;
``widget-server worker`` runs the same loop.
"""

from __future__ import annotations

import logging
import sys

from flask import Flask

from .. import create_app
from ..config import ConfigError, load_settings
from ..database import release
from .lean import skip_unused_drivers

log = logging.getLogger(__name__)


def run_worker(app: Flask) -> None:
    """Run the task-queue consumer in this process until SIGINT/SIGTERM."""
    queue = app.extensions["queue"]
    consumer = queue.consumer(app.config["QUEUE_WORKERS"])
    log.info("queue worker started with %s threads", app.config["QUEUE_WORKERS"])
    consumer.run()


def main() -> int:
    # huey imports gevent when it is installed (for greenlet workers, which this process
    # does not use: it runs threads); gevent and zope.interface are 6 MB of RSS for nothing.
    sys.modules.setdefault("gevent", None)  # type: ignore[arg-type]
    try:
        skip_unused_drivers(load_settings())
        app = create_app(web=False)
    except ConfigError as exc:
        print(f"Error: {exc}", file=sys.stderr)
        return 1
    try:
        with app.app_context():
            run_worker(app)
    finally:
        release(app)  # the last connection out checkpoints SQLite's WAL
    return 0


if __name__ == "__main__":  # pragma: no cover - the process `widget-server run` starts
    sys.exit(main())
