"""`widget-server run` (gunicorn's gevent worker, SQLite, no Redis) holding many live status
streams open: they hold no thread, and a queue worker's changes reach them from another
process. As shipped on one machine the queue runs inside the web worker; either way each
process loads only what it uses."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
import requests

from widget_server.ops.lean import unused_drivers
from widget_server.pbx.sim import start_sim_thread

from .conftest import SIM_CLIENT_ID, SIM_SIGN_KEY, database_url
from .real_service import prepare_site, service_environment
from .sse_client import EventStream
from .test_abuse_limits import _free_port

SHOP = "https://shop.example"
OPEN_STREAMS = 200


def _children(pid: int) -> list[int]:
    found = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                stat = Path(f"/proc/{entry}/stat").read_text()
            except OSError:
                continue
            if int(stat.rsplit(")", 1)[1].split()[1]) == pid:
                found.append(int(entry))
    return found


def _cmdline(pid: int) -> str:
    return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()


@pytest.fixture
def served(tmp_path):
    """`run` with a queue worker process of its own (as beside several web workers), on SQLite."""
    with _running(tmp_path, {"WIDGET_QUEUE_IN_WEB": "0"}) as running:
        yield running


def _gone(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return True
    return state in {"Z", "X"}  # a zombie holds no locks


@contextlib.contextmanager
def _running(tmp_path, extra_env: dict[str, str]):
    """`widget-server run` on a fresh SQLite database, its widget dialling the simulator."""
    instance = tmp_path / "instance"
    instance.mkdir()
    db_url = database_url(tmp_path)
    sim = start_sim_thread(
        {"CLIENT_ID": SIM_CLIENT_ID, "SIGN_KEY": SIM_SIGN_KEY, "TIME_SCALE": 0.02}
    )
    port = _free_port()
    service = f"http://127.0.0.1:{port}"
    key = prepare_site(tmp_path, instance, db_url, sim.url, port)
    env = service_environment(
        instance,
        db_url,
        port,
        WIDGET_THREADS="2",  # a thread per stream would leave none for anything else
        WIDGET_STATUS_WATCH_POLL_MS="100",
        WIDGET_STREAMS_PER_IP="1000",  # every stream here comes from 127.0.0.1
        **extra_env,
    )
    process = subprocess.Popen(
        [sys.executable, "-m", "widget_server.ops.cli", "run", "--port", str(port)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=(tmp_path / "service.log").open("ab"),
        start_new_session=True,
    )
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                requests.get(f"{service}/embed.js", timeout=1)
                break
            except requests.RequestException:
                assert time.monotonic() < deadline, "the service did not start"
                time.sleep(0.2)
        yield service, key, process, env
    finally:
        with contextlib.suppress(ProcessLookupError):  # a test may have stopped it already
            os.killpg(process.pid, signal.SIGCONT)
            os.killpg(process.pid, signal.SIGTERM)
        process.wait(timeout=30)
        sim.stop()


def _submit(service: str, key: str, phone: str) -> str:
    response = requests.post(
        f"{service}/api/v1/widgets/{key}/requests",
        json={"phone": phone, "consent": True, "group": "101"},
        headers={"Origin": SHOP},
        timeout=30,
    )
    assert response.status_code == 202, response.text
    return response.json()["handle"]


def test_two_hundred_open_streams_leave_the_server_free_and_hear_the_queue_workers_changes(
    served,
):
    service, key, process, env = served
    workers = [pid for pid in _children(process.pid) if "ops.worker" in _cmdline(pid)]
    assert len(workers) == 1, "run starts one queue worker"
    # Nothing is dialled, so every request stays queued. Killed, not stopped: a stopped
    # worker may hold the queue's SQLite lock and every enqueue would wait on it; the kernel
    # drops a dead process's locks.
    os.kill(workers[0], signal.SIGKILL)
    deadline = time.monotonic() + 10
    while not _gone(workers[0]):
        assert time.monotonic() < deadline, "the queue worker did not die"
        time.sleep(0.05)
    with ThreadPoolExecutor(8) as pool:
        handles = list(
            pool.map(
                lambda i: _submit(service, key, f"+7916{3000000 + i:07d}"), range(OPEN_STREAMS)
            )
        )
    # A keep-alive comes every 15 s; the default 20 s of silence leaves too little room on a
    # loaded machine while the worker dials all 200 at once and their events pour in.
    streams = [
        EventStream(service, f"/api/v1/requests/{h}/events", SHOP, timeout=60) for h in handles
    ]
    worker = None
    try:
        assert [s.next_message()["status"] for s in streams] == ["queued"] * OPEN_STREAMS

        # With all of them open (and two threads configured), the server still answers.
        late = _submit(service, key, "+79164000001")
        poll = requests.get(
            f"{service}/api/v1/requests/{late}", headers={"Origin": SHOP}, timeout=10
        )
        assert poll.status_code == 200 and poll.json()["status"] == "queued"

        # A queue worker, another process, dials: its changes reach the open streams.
        worker = subprocess.Popen(
            [sys.executable, "-m", "widget_server.ops.worker"],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        first = streams[0].messages()
        assert first[-1]["final"] is True
        assert first[-1]["status"] == "finished"
        assert "connected" in [m["status"] for m in first]
    finally:
        for s in streams:
            s.close()
        if worker is not None:
            worker.terminate()
            worker.wait(timeout=30)


def _modules_loaded_by(script: str, tmp_path) -> set[str]:
    """The modules a fresh interpreter running ``script`` has loaded (its last line's JSON),
    with this test's database and no other WIDGET_ setting."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("WIDGET_")}
    env.update(
        WIDGET_INSTANCE_PATH=str(tmp_path / "instance"),
        WIDGET_DATABASE_URL=database_url(tmp_path),
        WIDGET_SECRET_KEY="test-secret-key-0123456789abcdef",
    )
    out = subprocess.run(
        [sys.executable, "-c", script],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    return set(json.loads(out.stdout.strip().splitlines()[-1]))


def test_the_queue_worker_loads_neither_the_web_nor_migrations(tmp_path):
    script = (
        "import json, sys\n"
        "import widget_server.ops.worker as worker\n"
        "loaded = lambda: sorted(k for k, v in sys.modules.items() if v is not None)\n"
        "worker.run_worker = lambda app: print(json.dumps(loaded()))\n"
        "sys.exit(worker.main())\n"
    )
    modules = _modules_loaded_by(script, tmp_path)

    assert "widget_server.dispatch.tasks" in modules, "the worker's app has its tasks"
    web = {m for m in modules if m.startswith(("widget_server.admin", "widget_server.visitor.api"))}
    assert not web, f"the queue worker imported the web's modules: {sorted(web)}"
    assert not {m for m in modules if m.split(".")[0] in {"alembic", "gunicorn", "gevent"}}
    # Without Redis (and on SQLite, when this pass runs on it), huey is kept from loading
    # the drivers it does not need (10 MB).
    on_sqlite = database_url(tmp_path).startswith("sqlite")
    unused = {"redis"} | ({"psycopg"} if on_sqlite else set())
    assert not {m for m in modules if m.split(".")[0] in unused}


def test_a_process_loads_the_drivers_of_the_stores_it_is_set_to_use_and_no_others():
    assert unused_drivers({"REDIS_URL": None, "DATABASE_URL": None}) == ["redis", "psycopg"]
    assert unused_drivers({"REDIS_URL": "", "DATABASE_URL": "sqlite:////x.db"}) == [
        "redis",
        "psycopg",
    ]
    at_scale = {
        "REDIS_URL": "redis://127.0.0.1:6379/0",
        "DATABASE_URL": "postgresql+psycopg://widget@db/widget",
    }
    assert unused_drivers(at_scale) == []


def test_the_web_worker_app_loads_no_migrations(tmp_path):
    script = (
        "import json, sys\n"
        "from widget_server import create_app\n"
        "create_app()\n"
        "print(json.dumps(sorted(sys.modules)))\n"
    )
    modules = _modules_loaded_by(script, tmp_path)

    assert "widget_server.visitor.api" in modules and "widget_server.admin" in modules
    assert not {m for m in modules if m.split(".")[0] == "alembic"}


def test_run_on_one_machine_is_two_processes_with_the_queue_in_the_web_worker_and_calls_go_out(
    tmp_path,
):
    with _running(tmp_path, {}) as (service, key, process, _env):  # the defaults: no Redis
        kids = _children(process.pid)
        assert len(kids) == 1, "gunicorn's one web worker, no queue worker process"
        assert "ops.worker" not in _cmdline(kids[0])

        handle = _submit(service, key, "+79164000002")
        messages = EventStream(service, f"/api/v1/requests/{handle}/events", SHOP).messages()

        assert messages[-1]["status"] == "finished"
        assert "connected" in [m["status"] for m in messages]


def test_gunicorns_master_loads_neither_flask_nor_the_database_layer():
    script = (
        "import json, sys\n"
        "import widget_server.ops.server\n"
        "print(json.dumps(sorted(k for k, v in sys.modules.items() if v is not None)))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=60, check=True
    )
    modules = {m.split(".")[0] for m in json.loads(out.stdout.strip().splitlines()[-1])}

    assert "gunicorn" in modules
    assert not modules & {"flask", "sqlalchemy", "huey", "redis", "psycopg", "alembic"}


def _mapped_libraries(pid: int) -> set[str]:
    return {line.split()[-1] for line in Path(f"/proc/{pid}/maps").read_text().splitlines()}


def test_gunicorns_running_master_never_loads_gevent_while_its_web_worker_runs_on_it(served):
    _service, _key, process, _env = served
    web = [pid for pid in _children(process.pid) if "ops.worker" not in _cmdline(pid)]
    assert len(web) == 1

    def has_gevent(pid):
        return any("/gevent/" in path for path in _mapped_libraries(pid))

    assert has_gevent(web[0]), "the web worker is gunicorn's gevent worker"
    assert not has_gevent(process.pid), "gunicorn's master loaded gevent"
