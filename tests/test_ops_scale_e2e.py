"""Several instances end to end: two `widget-server run` instances and two `widget-server worker`
processes on one fresh PostgreSQL database and one Redis, behind nginx running the example
config of docs/deploy/nginx.conf (TLS with a throwaway certificate), set up with the CLI as an
operator would.

nginx's pool is instance A only, so the visitor's browser is served by A, while the PBX
simulator posts its signed events straight to instance B. The PostgreSQL server comes from
TEST_DATABASE_URL or POSTGRES_TEST_SERVER (a server where the test may CREATE DATABASE).
"""

from __future__ import annotations

import contextlib
import getpass
import os
import re
import signal
import subprocess
import sys
import threading
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path

import pytest
import requests
import sqlalchemy as sa
from werkzeug.serving import make_server

from widget_server.dev.sample_shop import create_shop_app
from widget_server.pbx.sim import start_sim_thread

from .conftest import SIM_CLIENT_ID, SIM_SIGN_KEY
from .test_abuse_limits import _free_port, start_redis, stop_redis

ROOT = Path(__file__).resolve().parent.parent
NGINX = "/usr/sbin/nginx"
DOCS_NGINX = ROOT / "docs" / "deploy" / "nginx.conf"
CLI = [sys.executable, "-m", "widget_server.ops.cli"]
SECRET = "scale-e2e-secret-5b0e8f13c7a24d96e1f0a3b8c6d2"
# Shipped per-number limits (one call per number per 2 minutes); a prefix limit of 5 an hour
# to count a limit above one, across instances, without the one-active-call rule in the way.
NUMBER_LIMIT = "1/2minute;3/hour;5/day"
PREFIX_LIMIT = 5

# The wrapper nginx needs around a conf.d file: everything of the test's own, nothing of the docs.
NGINX_MAIN = """
daemon off;
user {user};
worker_processes 1;
pid {dir}/nginx.pid;
error_log {dir}/error.log warn;
events {{ worker_connections 512; }}
http {{
  access_log {dir}/access.log;
  client_body_temp_path {dir}/body;
  proxy_temp_path {dir}/proxy;
  fastcgi_temp_path {dir}/fastcgi;
  uwsgi_temp_path {dir}/uwsgi;
  scgi_temp_path {dir}/scgi;
  include {dir}/widget-server.conf;
}}
"""


def postgres_server_url() -> str:
    url = os.environ.get("TEST_DATABASE_URL") or os.environ.get("POSTGRES_TEST_SERVER")
    if not url:
        pytest.fail(
            "this test needs a PostgreSQL server where it may CREATE DATABASE: set "
            "POSTGRES_TEST_SERVER (or TEST_DATABASE_URL) to a SQLAlchemy URL such as "
            "postgresql+psycopg://widget:widget@127.0.0.1:5432/postgres "
            "(sudo .ci/setup.sh starts one)"
        )
    return url


def nginx_config_from_docs(substitutions: dict[str, str]) -> str:
    """docs/deploy/nginx.conf with only its lines marked "# CHANGE" edited."""
    text = DOCS_NGINX.read_text()
    for old, new in substitutions.items():
        lines = [line for line in text.splitlines() if old in line]
        assert lines, f"docs/deploy/nginx.conf no longer contains {old!r}"
        assert all("# CHANGE" in line for line in lines), (
            f"{old!r} is replaced by the test but not marked '# CHANGE' in the docs: {lines}"
        )
        text = text.replace(old, new)
    return text


def self_signed_cert(directory: Path) -> tuple[Path, Path]:
    cert, key = directory / "cert.pem", directory / "key.pem"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1"]
        + ["-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1"]
        + ["-keyout", str(key), "-out", str(cert)],
        check=True,
        capture_output=True,
    )
    return cert, key


def wait_http(url: str, seconds: float = 60, **kwargs) -> None:
    session = requests.Session()
    session.trust_env = False  # else REQUESTS_CA_BUNDLE from the environment wins over verify
    deadline = time.monotonic() + seconds
    while True:
        try:
            if session.get(url, timeout=2, **kwargs).status_code == 200:
                return
        except requests.RequestException:
            pass
        assert time.monotonic() < deadline, f"{url} did not come up in {seconds}s"
        time.sleep(0.2)


@dataclass
class Cluster:
    """The running installation and what the test needs to reach it."""

    nginx_url: str
    a_url: str
    b_url: str
    shop_url: str
    widget_key: str
    cert: Path
    db_url: str
    sim: object
    logs: dict[str, Path]
    children: list[subprocess.Popen] = field(default_factory=list)

    def engine(self) -> sa.Engine:
        return sa.create_engine(self.db_url, poolclass=sa.pool.NullPool)

    def call_backs(self) -> list[dict]:
        return [r for r in self.sim.state.requests_snapshot() if r["method"] == "call_back"]

    def statuses(self, phones: list[str]) -> dict[str, str]:
        engine = self.engine()
        try:
            with engine.connect() as conn:
                rows = conn.execute(
                    sa.text("SELECT phone, status FROM callback_requests WHERE phone = ANY(:p)"),
                    {"p": phones},
                ).all()
        finally:
            engine.dispose()
        return {phone: status for phone, status in rows}

    def assert_alive(self) -> None:
        for child in self.children:
            assert child.poll() is None, f"{child.args} exited with {child.returncode}"


def _kill_group(child: subprocess.Popen) -> None:
    """Stop a child and everything it started (gunicorn workers, the queue worker)."""
    if child.poll() is None:
        with contextlib.suppress(ProcessLookupError, subprocess.TimeoutExpired):
            os.killpg(child.pid, signal.SIGTERM)
            child.wait(timeout=15)
    with contextlib.suppress(ProcessLookupError):
        os.killpg(child.pid, signal.SIGKILL)  # leftovers of the group, even if the leader exited
    if child.poll() is None:
        child.wait(timeout=5)


@pytest.fixture(scope="module")
def cluster(tmp_path_factory):
    assert os.path.exists(NGINX), "nginx is needed for this test: apt-get install nginx-light"
    server_url = postgres_server_url()
    tmp = tmp_path_factory.mktemp("scale")
    children: list[subprocess.Popen] = []
    cleanups: list = []
    admin = sa.create_engine(server_url, isolation_level="AUTOCOMMIT", poolclass=sa.pool.NullPool)
    db_name = f"widget_scale_{uuid.uuid4().hex[:12]}"
    with admin.connect() as conn:
        conn.execute(sa.text(f'CREATE DATABASE "{db_name}"'))
    db_url = sa.make_url(server_url).set(database=db_name).render_as_string(hide_password=False)
    try:
        redis_server, redis_url = start_redis()
        cleanups.append(lambda: stop_redis(redis_server))
        sim = start_sim_thread(
            {"CLIENT_ID": SIM_CLIENT_ID, "SIGN_KEY": SIM_SIGN_KEY, "TIME_SCALE": 0.05}
        )
        cleanups.append(sim.stop)
        a_port, b_port, https_port, http_port = (_free_port() for _ in range(4))
        nginx_url = f"https://127.0.0.1:{https_port}"
        shop_port = _free_port()
        shop_url = f"http://127.0.0.1:{shop_port}"
        base_env = {k: v for k, v in os.environ.items() if not k.startswith("WIDGET_")}
        base_env["WIDGET_ALLOW_PRIVATE_NETWORKS"] = "1"  # the simulator is on loopback
        base_env.update(
            WIDGET_DATABASE_URL=db_url,
            WIDGET_REDIS_URL=redis_url,
            WIDGET_SECRET_KEY=SECRET,
            WIDGET_PUBLIC_URL=nginx_url,
            WIDGET_TRUSTED_PROXIES="1",  # nginx, as docs/deploy/nginx.conf says
            WIDGET_WORKERS="2",
            WIDGET_THREADS="4",
            WIDGET_QUEUE_WORKERS="2",
            WIDGET_LOG_LEVEL="INFO",
            WIDGET_PBX_TIMEOUT="3",
            WIDGET_RATELIMIT_NUMBER=NUMBER_LIMIT,
            WIDGET_RATELIMIT_PREFIX=f"{PREFIX_LIMIT}/hour",
            # Every test request comes from 127.0.0.1: the per-address and per-widget limits
            # are raised so that the per-number and per-prefix limits decide.
            WIDGET_RATELIMIT_IP="1000/minute",
            WIDGET_RATELIMIT_IP_GLOBAL="1000/minute",
            WIDGET_NEW_WIDGET_CAP="1000/minute",
            WIDGET_NIGHT_GUARD="0",  # the test runs at any hour
            # The race posts without the widget's single-use form token; bot defences have
            # their own tests.
            WIDGET_FORM_TOKENS="0",
        )

        def env_for(name: str) -> dict[str, str]:
            instance = tmp / name
            instance.mkdir(exist_ok=True)
            return dict(base_env, WIDGET_INSTANCE_PATH=str(instance))

        def cli(*args: str, stdin: str | None = None) -> str:
            done = subprocess.run(
                [*CLI, *args],
                env=env_for("cli"),
                input=stdin,
                capture_output=True,
                text=True,
                cwd=ROOT,
                timeout=120,
            )
            assert done.returncode == 0, f"widget-server {args[0]} failed: {done.stderr[-2000:]}"
            return done.stdout

        # Set up exactly as an operator would.
        cli("init-db")
        cli("create-owner", "agency@example.com", stdin="agency password 1\n")
        out = cli(
            "add-pbx",
            "--owner",
            "agency@example.com",
            "--api-url",
            sim.url,
            "--client-id",
            SIM_CLIENT_ID,
            "--sign-key",
            SIM_SIGN_KEY,
            "--domain",
            "demo.cloudpbx.rt.ru",
        )
        pbx_id = re.search(r"PBX account id: (\S+)", out).group(1)
        hook = re.search(r"\(Адрес внешней системы\): (\S+)", out).group(1)
        assert hook.startswith(f"{nginx_url}/pbx/")
        # The PBX's events go to instance B, not through nginx (whose pool is A).
        b_url = f"http://127.0.0.1:{b_port}"
        requests.post(
            f"{sim.url}/_sim/config",
            json={"webhook_base": hook.replace(nginx_url, b_url)},
            timeout=5,
        ).raise_for_status()
        cli("sync-groups", pbx_id)
        out = cli(
            "add-widget",
            "--pbx",
            pbx_id,
            "--origin",
            shop_url,
            "--group",
            "101=Отдел продаж",
            "--group",
            "102=Сервис",
            "--ring-timeout",
            "5",
        )
        widget_key = re.search(r"Widget key: (\S+)", out).group(1)

        logs: dict[str, Path] = {}

        def start(name: str, *args: str) -> None:
            logs[name] = tmp / f"{name}.log"
            with open(logs[name], "wb") as log:
                children.append(
                    subprocess.Popen(
                        [*CLI, *args],
                        env=env_for(name),
                        cwd=ROOT,
                        stdout=log,
                        stderr=subprocess.STDOUT,
                        start_new_session=True,  # a process group, killed whole at teardown
                    )
                )

        start("app-a", "run", "--port", str(a_port))
        start("app-b", "run", "--port", str(b_port))
        start("worker-1", "worker")
        start("worker-2", "worker")

        conf_dir = tmp / "nginx"
        conf_dir.mkdir()
        cert, key = self_signed_cert(conf_dir)
        a_addr = f"127.0.0.1:{a_port}"
        site = nginx_config_from_docs(
            {
                "10.0.0.11:8000": a_addr,
                "10.0.0.12:8000": a_addr,
                "/var/cache/nginx/widget-server": str(conf_dir / "cache"),
                "listen 80;": f"listen 127.0.0.1:{http_port};",
                "listen 443 ssl http2;": f"listen 127.0.0.1:{https_port} ssl http2;",
                "/etc/letsencrypt/live/callback.example.ru/fullchain.pem": str(cert),
                "/etc/letsencrypt/live/callback.example.ru/privkey.pem": str(key),
            }
        )
        (conf_dir / "widget-server.conf").write_text(site)
        # Workers as this user: nginx's default (nobody) cannot write the cache in a private tmp.
        main = NGINX_MAIN.format(dir=conf_dir, user=getpass.getuser())
        (conf_dir / "nginx.conf").write_text(main)
        check = subprocess.run(
            [NGINX, "-t", "-c", str(conf_dir / "nginx.conf"), "-p", str(conf_dir)],
            capture_output=True,
            text=True,
        )
        assert check.returncode == 0, f"nginx refuses the docs config: {check.stderr}"
        children.append(
            subprocess.Popen(
                [NGINX, "-c", str(conf_dir / "nginx.conf"), "-p", str(conf_dir)],
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
                start_new_session=True,
            )
        )

        shop = make_server(
            "127.0.0.1", shop_port, create_shop_app(nginx_url, widget_key), threaded=True
        )
        threading.Thread(target=shop.serve_forever, daemon=True).start()
        cleanups.append(lambda: (shop.shutdown(), shop.server_close()))

        # Ready as a load balancer sees it: the database, Redis and the queue answer.
        wait_http(f"http://{a_addr}/readyz")
        wait_http(f"{b_url}/readyz")
        wait_http(f"{nginx_url}/readyz", verify=str(cert))
        cluster = Cluster(
            nginx_url, f"http://{a_addr}", b_url, shop_url, widget_key, cert, db_url, sim, logs
        )
        cluster.children = children
        cluster.assert_alive()
        yield cluster
    finally:
        for child in reversed(children):
            _kill_group(child)
        for cleanup in reversed(cleanups):
            cleanup()
        with admin.connect() as conn:
            conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{db_name}" WITH (FORCE)'))
        admin.dispose()


def _post(url: str, phone: str, cluster: Cluster, barrier: threading.Barrier) -> int | str:
    session = requests.Session()
    session.trust_env = False
    barrier.wait(timeout=30)
    response = session.post(
        f"{url}/api/v1/widgets/{cluster.widget_key}/requests",
        json={"phone": phone, "consent": True, "group": "101"},
        headers={"Origin": cluster.shop_url},
        verify=str(cluster.cert),
        timeout=60,
    )
    if response.status_code == 429 and "json" not in response.headers.get("Content-Type", ""):
        return "429 from nginx"  # the app's own refusals are JSON; nginx's are not
    return response.status_code


def race(cluster: Cluster, phones: list[str]) -> list[tuple[str, int | str]]:
    """POST all at once, alternately through nginx (instance A) and straight to instance B."""
    barrier = threading.Barrier(len(phones))
    results: list[tuple[str, int | str] | None] = [None] * len(phones)

    def one(i: int) -> None:
        url = cluster.nginx_url if i % 2 == 0 else cluster.b_url
        try:
            results[i] = (phones[i], _post(url, phones[i], cluster, barrier))
        except Exception as exc:  # noqa: BLE001 - reported by the assertion below
            results[i] = (phones[i], repr(exc))

    threads = [threading.Thread(target=one, args=(i,)) for i in range(len(phones))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert all(r is not None for r in results), "some requests never finished"
    return results  # type: ignore[return-value]


def wait_final(cluster: Cluster, phones: list[str], seconds: float = 90) -> dict[str, str]:
    from widget_server.statuses import FINAL as final

    deadline = time.monotonic() + seconds
    while True:
        statuses = cluster.statuses(phones)
        if len(statuses) == len(phones) and set(statuses.values()) <= final:
            return statuses
        assert time.monotonic() < deadline, f"requests not final after {seconds}s: {statuses}"
        time.sleep(0.5)


@pytest.mark.nginx
@pytest.mark.redis
@pytest.mark.postgres
@pytest.mark.stack
@pytest.mark.openssl
def test_fifty_racing_requests_over_two_instances_get_exactly_the_limit_and_each_is_dialled_once(
    cluster,
):
    same = race(cluster, ["+79165550001"] * 50)
    codes = [code for _, code in same]
    assert codes.count(202) == 1, f"one call per number per 2 minutes; got {codes}"
    assert codes.count(429) == 49, codes

    time.sleep(2.5)  # nginx's per-address burst (docs: 20 r/s, burst 40) refills
    prefix = [f"+7916556{i:04d}" for i in range(50)]  # one prefix, fifty numbers
    shared = race(cluster, prefix)
    codes = [code for _, code in shared]
    assert codes.count(202) == PREFIX_LIMIT, f"{PREFIX_LIMIT} per prefix an hour; got {codes}"
    assert codes.count(429) == 50 - PREFIX_LIMIT, codes
    accepted = ["+79165550001"] + [phone for phone, code in shared if code == 202]

    statuses = wait_final(cluster, accepted)
    assert set(statuses.values()) == {"finished"}, statuses
    time.sleep(2)  # room for a second dial of any request to show up
    dialled = [r["body"]["request_number"].lstrip("+") for r in cluster.call_backs()]
    for phone in accepted:
        times = dialled.count(phone.lstrip("+"))
        assert times == 1, f"{phone} dialled {times} times"
    refused = {phone.lstrip("+") for phone, code in shared if code != 202}
    assert not refused & set(dialled), "a refused number was dialled"
    engine = cluster.engine()
    try:
        with engine.connect() as conn:
            stored = conn.execute(
                sa.text("SELECT count(*) FROM callback_requests WHERE phone = ANY(:p)"),
                {"p": sorted({p for p, _ in same + shared})},
            ).scalar_one()
            attempts = conn.execute(
                sa.text(
                    "SELECT r.phone, count(a.id) FROM callback_requests r "
                    "JOIN call_attempts a ON a.request_id = r.id "
                    "WHERE r.phone = ANY(:p) GROUP BY r.phone"
                ),
                {"p": accepted},
            ).all()
    finally:
        engine.dispose()
    assert stored == len(accepted), "refused requests must not be stored"
    assert dict(attempts) == {phone: 1 for phone in accepted}
    cluster.assert_alive()


@pytest.mark.browser
@pytest.mark.nginx
@pytest.mark.redis
@pytest.mark.postgres
@pytest.mark.stack
@pytest.mark.openssl
def test_a_visitor_served_by_one_instance_sees_the_call_whose_events_reached_the_other(
    cluster, browser
):
    cluster.sim.state.update_config({"TIME_SCALE": 0.3})  # slow enough to see "connected"
    context = browser.new_context(ignore_https_errors=True)  # the test's own certificate
    try:
        page = context.new_page()
        errors: list[str] = []
        page.on("pageerror", lambda e: errors.append(str(e)))
        page.goto(f"{cluster.shop_url}/")
        page.wait_for_selector("callback-widget .cbw-fab")
        page.evaluate("""() => {
            window.__seen = [];
            const host = document.querySelector('callback-widget');
            new MutationObserver(() => {
                const s = host.getAttribute('data-status');
                if (window.__seen[window.__seen.length - 1] !== s) window.__seen.push(s);
            }).observe(host, {attributes: true, attributeFilter: ['data-status']});
        }""")
        page.evaluate("() => CallbackWidget.open()")
        page.fill("input[type=tel]", "+7 916 557-00-01")
        page.check("input[type=checkbox]")
        page.click("button[type=submit]")
        page.wait_for_function(
            "() => document.querySelector('callback-widget')"
            ".getAttribute('data-status') === 'finished'",
            timeout=60000,
        )
        seen = page.evaluate("() => window.__seen")
    finally:
        context.close()
        cluster.sim.state.update_config({"TIME_SCALE": 0.05})
    assert "connected" in seen, seen
    assert not errors, errors
    calls = [
        c
        for c in cluster.sim.state.calls_snapshot()
        if str(c.get("visitor") or "").endswith("9165570001")
    ]
    assert len(calls) == 1
    assert {e["status"] for e in calls[0]["events"]} == {200}, calls[0]["events"]
    # Who served what: the widget's requests reached A only (through nginx), the events B only.
    a_log = cluster.logs["app-a"].read_text(errors="replace")
    b_log = cluster.logs["app-b"].read_text(errors="replace")
    assert "/call_events" in b_log and "/call_events" not in a_log
    assert re.search(r"GET /api/v1/requests/\S+", a_log)
    assert not re.search(r"GET /api/v1/requests/\S+", b_log)


def _env_file(text: str, *, commented: bool) -> dict[str, str]:
    """KEY=value lines of a systemd environment file; with ``commented``, "#KEY=value" too."""
    found = {}
    for line in text.splitlines():
        line = line.strip()
        if commented and re.match(r"#WIDGET_\w+=", line):
            line = line[1:]
        match = re.match(r"(WIDGET_\w+)=(.*)", line)
        if match:
            value = match.group(2)
            if len(value) > 1 and value[0] == value[-1] == '"':
                value = value[1:-1]
            found[match.group(1)] = value
    return found


def test_the_example_environment_file_names_every_setting_and_cannot_run_with_its_empty_key():
    from widget_server.config import SETTINGS, load_settings
    from widget_server.ops.server import check_production_settings

    text = (ROOT / "docs" / "deploy" / "widget-server.env").read_text()
    documented = _env_file(text, commented=True)
    missing = sorted(f"WIDGET_{name}" for name in SETTINGS if f"WIDGET_{name}" not in documented)
    assert not missing, f"docs/deploy/widget-server.env does not mention {missing}"
    settings = load_settings(documented)  # every example value parses
    assert settings["TRUSTED_PROXIES"] == 1 and settings["WORKERS"] >= 2
    with pytest.raises(RuntimeError, match="WIDGET_SECRET_KEY"):
        check_production_settings(load_settings(_env_file(text, commented=False)))


@pytest.mark.parametrize("unit", ["widget-server.service", "widget-server-worker@.service"])
def test_the_example_systemd_units_start_commands_the_cli_knows(unit):
    from click.testing import CliRunner

    from widget_server.ops.cli import main

    text = (ROOT / "docs" / "deploy" / unit).read_text()
    exec_start = re.search(r"^ExecStart=\S+/widget-server (.+)$", text, re.MULTILINE)
    assert exec_start, f"{unit} has no ExecStart running widget-server"
    args = exec_start.group(1).split()
    assert args[0] in {"run", "worker"}
    # Options are parsed before --help answers: a wrong one fails here.
    result = CliRunner().invoke(main, [*args, "--help"])
    assert result.exit_code == 0, result.output
    assert "EnvironmentFile=/etc/widget-server/widget-server.env" in text
