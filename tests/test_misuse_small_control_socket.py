"""Issue 26: two `widget-server run` of one user do not share gunicorn's control socket.

gunicorn (25.1+) opens a control socket at ``$XDG_RUNTIME_DIR/gunicorn.ctl`` or
``~/.gunicorn/gunicorn.ctl`` by default: one path per user, so a second installation
took the first one's over. The service does not use it (systemd and signals run it), so
it is off (ops/server.py).
"""

from __future__ import annotations

import signal
from pathlib import Path

import pytest
import requests

from widget_server.database import upgrade_to_head
from widget_server.ops.server import WidgetServer

from .real_service import free_port, service_environment, start_run

pytestmark = pytest.mark.stack


def _sockets_under(folder: Path) -> list[Path]:
    return [path for path in folder.rglob("*") if path.is_socket() or path.suffix == ".ctl"]


def test_two_installations_of_one_user_run_side_by_side_without_a_shared_control_socket(
    tmp_path,
):
    home, runtime = tmp_path / "home", tmp_path / "runtime"
    home.mkdir()
    runtime.mkdir()
    started = []
    try:
        for name, extra in (("one", {}), ("two", {"XDG_RUNTIME_DIR": str(runtime)})):
            instance = tmp_path / name / "instance"
            instance.mkdir(parents=True)
            url = f"sqlite:///{instance / 'widget.sqlite3'}"
            upgrade_to_head(url)
            port = free_port()
            env = service_environment(instance, url, port, HOME=str(home))
            env.pop("XDG_RUNTIME_DIR", None)  # the first: gunicorn's default is under ~
            env.update(extra)
            started.append(start_run(env, port, tmp_path / f"{name}.log"))
        assert not (home / ".gunicorn").exists()
        assert _sockets_under(home) == [] and _sockets_under(runtime) == []
        first, second = started
        assert first.stop(signal.SIGTERM) == 0
        # The second one lives on, its own: stopping the first took nothing of it.
        assert requests.get(f"{second.url}/readyz", timeout=5).status_code == 200
    finally:
        for service in started:
            service.kill()


def test_the_server_settings_turn_gunicorns_control_socket_off():
    server = WidgetServer.__new__(WidgetServer)
    server.host, server.port, server.metrics_dir = "127.0.0.1", 8000, "/nonexistent"
    server.settings = {
        "WORKERS": 1,
        "WORKER_CLASS": "gthread",
        "THREADS": 4,
        "WORKER_CONNECTIONS": 100,
        "QUEUE_IN_WEB": True,
    }
    server.usage, server.callable, server.prog = None, None, None
    server.cfg = None
    server.do_load_config()
    if "control_socket_disable" in server.cfg.settings:  # gunicorn 25.1 and later
        assert server.cfg.control_socket_disable is True
