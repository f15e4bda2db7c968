"""Running for real: gunicorn for the web, a huey consumer (``worker.py``) for background work."""

from __future__ import annotations

import argparse
import logging
import os
import shutil
import subprocess
import sys
from typing import Any

from gunicorn.app.base import BaseApplication

from .. import create_app
from ..config import ConfigError, has_placeholder_secret, load_settings, queue_in_web
from . import gevent_worker, slots
from . import metrics_dir as metrics
from .lean import skip_unused_drivers

log = logging.getLogger(__name__)


def check_production_settings(config: dict[str, Any]) -> None:
    """Refuse settings that are only safe on a developer's machine.

    :raise RuntimeError: with the fix in the message.
    """
    if has_placeholder_secret(config) and not config.get("DEV"):
        raise RuntimeError(
            "WIDGET_SECRET_KEY is missing, a placeholder or not random enough (at least 32 "
            "random characters). Set it to a long random value, e.g. "
            "`python -c 'import secrets; print(secrets.token_hex(32))'`."
        )
    if config["WORKERS"] > 1 and not config.get("REDIS_URL"):
        raise RuntimeError(
            "WIDGET_WORKERS > 1 needs WIDGET_REDIS_URL: rate limits kept in one process's memory "
            "would not be shared, multiplying every limit by the number of workers."
        )


def run_production(host: str, port: int) -> None:
    """Start the queue worker (inside the web worker when there is one, else a child process;
    ``WIDGET_QUEUE_IN_WEB``: ``config.queue_in_web``), then serve with gunicorn until stopped."""
    settings = load_settings()
    check_production_settings(settings)
    if settings["LOG_FORMAT"] is None:
        # JSON lines for log collectors, text for people (the demo runs with WIDGET_DEV);
        # the workers and the queue worker child read the choice from the environment.
        settings["LOG_FORMAT"] = "text" if settings["DEV"] else "json"
        os.environ["WIDGET_LOG_FORMAT"] = settings["LOG_FORMAT"]
    # A fresh directory per start: counters from a previous run must not be summed in.
    metrics_dir = metrics.fresh_multiprocess_dir()
    metrics.use_multiprocess_dir(metrics_dir)
    WidgetServer(host, port, settings, metrics_dir).run()


class WidgetServer(BaseApplication):
    """gunicorn with our settings; the app is built in each worker, never in the master."""

    def __init__(self, host: str, port: int, settings: dict[str, Any], metrics_dir: str):
        self.host, self.port, self.settings, self.metrics_dir = host, port, settings, metrics_dir
        self.worker_process: subprocess.Popen | None = None
        self.consumer = None
        self.app = None  # built by load(), in the worker
        super().__init__()

    def load_config(self):
        settings = self.settings
        in_web = queue_in_web(settings)
        options = {
            "bind": f"{self.host}:{self.port}",
            "workers": settings["WORKERS"],
            # gevent: an open live status stream (visitor/stream.py) is a greenlet
            # waiting on an event, not a thread; gthread keeps one thread per stream.
            "worker_class": gevent_worker.PATH
            if settings["WORKER_CLASS"] == "gevent"
            else settings["WORKER_CLASS"],
            "threads": settings["THREADS"],
            "worker_connections": settings["WORKER_CONNECTIONS"],
            "timeout": 30,
            "graceful_timeout": 10,
            "keepalive": 5,
            # The app writes its own access line (route, not path; request id).
            "accesslog": None,
            "on_starting": (lambda _arbiter: None) if in_web else self._start_worker,
            "on_exit": self._stop_worker,
            "child_exit": lambda _arbiter, worker: metrics.mark_process_dead(worker.pid),
            "worker_exit": self._worker_exit,
        }
        if in_web:
            options["post_worker_init"] = self._start_queue_here
        if "control_socket_disable" in self.cfg.settings:  # gunicorn 25.1 and later
            # gunicorn's control socket (for gunicornc) defaults to one path per user,
            # ~/.gunicorn/gunicorn.ctl or $XDG_RUNTIME_DIR/gunicorn.ctl, so a second
            # installation of the same user took the first one's over. Nothing here uses
            # it: systemd and signals start, reload and stop the service. Off, rather than
            # a path in the instance folder, which can pass the 108-byte limit of a socket
            # path and would be one more way into a running server.
            options["control_socket_disable"] = True
        for key, value in options.items():
            self.cfg.set(key, value)

    def load(self):
        skip_unused_drivers(self.settings)  # in the worker: the master never loads them
        self.app = create_app()
        if self.settings["WORKER_CLASS"] == "gevent":
            slots.limit_requests(self.app, self.settings["THREADS"])
        return self.app

    def _start_worker(self, _arbiter):
        self.worker_process = subprocess.Popen([sys.executable, "-m", "widget_server.ops.worker"])

    def _stop_worker(self, _arbiter):
        process = self.worker_process
        if process and process.poll() is None:
            process.terminate()
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                process.kill()
        shutil.rmtree(self.metrics_dir, ignore_errors=True)

    def _start_queue_here(self, _worker):
        """The queue in the web worker: it also runs the queue's consumer (under gevent,
        its threads are greenlets); periodic jobs are claimed once per slot by one consumer."""
        from ..dispatch.queue import start_consumer_threads  # in the worker: never the master

        self.consumer = self.app.extensions["queue"].consumer(self.settings["QUEUE_WORKERS"])
        start_consumer_threads(self.consumer)
        log.info("queue consumer running in web worker %s", os.getpid())

    def _worker_exit(self, _arbiter, _worker):
        """In the web worker, as it exits: stop its queue consumer, keep its funnel counts,
        close its connections (the last one out checkpoints SQLite's WAL)."""
        if self.consumer is not None:
            self.consumer.stop(graceful=True)
        if self.app is not None:
            from ..database import release  # in the worker: never the master
            from ..insight.counter import flush_before_exit  # in the worker: never the master

            flush_before_exit(self.app)
            release(self.app)


def main(argv: list[str] | None = None) -> int:
    """``python -m widget_server.ops.server``: what ``widget-server run`` becomes.

    The command line execs this module, so gunicorn's master loads gunicorn and the
    settings only, not the command line's modules (its workers load the app).
    """
    parser = argparse.ArgumentParser(prog="widget-server run")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8000)
    args = parser.parse_args(argv)
    try:
        run_production(args.host, args.port)
    except (ConfigError, RuntimeError) as exc:
        print(f"Error: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":  # pragma: no cover - the process `widget-server run` becomes
    sys.exit(main())
