"""Serving the simulator with werkzeug's threaded server, in the foreground or a thread."""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass
from typing import Any

from flask import Flask
from werkzeug.serving import BaseWSGIServer, make_server

from .app import create_sim_app
from .state import SimState

log = logging.getLogger("widget_server.pbx.sim")

# serve_forever's default 0.5 s poll makes every stop() wait that long.
POLL_INTERVAL = 0.05


def run_sim(
    host: str = "127.0.0.1", port: int = 8090, config: dict[str, Any] | None = None
) -> None:
    """Serve the simulator until interrupted (Ctrl+C)."""
    app = create_sim_app(config)
    server = make_server(host, port, app, threaded=True)
    log.info("PBX simulator listening on http://%s:%s", host, server.server_port)
    try:
        server.serve_forever(poll_interval=POLL_INTERVAL)
    except KeyboardInterrupt:
        pass
    finally:
        app.extensions["pbx_sim"].shutdown()
        server.server_close()


@dataclass
class RunningSim:
    """A simulator served from a background thread (tests, demo)."""

    app: Flask
    server: BaseWSGIServer
    thread: threading.Thread

    @property
    def url(self) -> str:
        return f"http://{self.server.host}:{self.server.server_port}"

    @property
    def state(self) -> SimState:
        return self.app.extensions["pbx_sim"]

    def stop(self) -> None:
        self.state.shutdown()
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(timeout=5)


def start_sim_thread(
    config: dict[str, Any] | None = None,
    host: str = "127.0.0.1",
    port: int = 0,
    poll_interval: float = POLL_INTERVAL,
) -> RunningSim:
    """Start a simulator on ``host:port`` (0 = any free port) in a daemon thread.

    ``poll_interval`` bounds how long ``stop()`` waits; test suites lower it.
    """
    app = create_sim_app(config)
    server = make_server(host, port, app, threaded=True)
    thread = threading.Thread(
        target=server.serve_forever,
        kwargs={"poll_interval": poll_interval},
        name="pbx-sim-server",
        daemon=True,
    )
    thread.start()
    return RunningSim(app, server, thread)
