"""Fixtures: an app on a temporary database, and a live stack over real loopback HTTP.

The live stack is our service, the PBX simulator and the sample shop, each a
real HTTP server on its own port, plus the task-queue consumer.

Tests that need something of the machine carry a marker (``browser``, ``redis``,
``nginx``, ``postgres``, ``php``, ``wordpress``, ``mariadb``, ``gettext``, ``openssl``);
when it is missing, the test is skipped with the reason, or fails under ``CI=true``.
``stack`` marks tests that start our own servers as subprocesses (they need nothing
installed, only time); ``csrf`` turns CSRF protection on for a test's apps.

Databases: a SQLite file in the test's ``tmp_path`` (a copy of one migrated per session),
or, when ``TEST_DATABASE_URL``
names a PostgreSQL server (``postgresql+psycopg://widget:widget@127.0.0.1:5432/postgres``),
a fresh PostgreSQL database per test, cloned from a template migrated once per session
and dropped when the test ends. ``database_url(tmp_path)`` is the URL ``make_app`` uses,
for tests that hand it to a subprocess or the command line.
"""

from __future__ import annotations

import copy
import os
import shutil
from pathlib import Path
from typing import Any

import pytest
import requests

from widget_server import create_app, setup
from widget_server.database import upgrade_to_head
from widget_server.dev.sample_shop import create_shop_app
from widget_server.dispatch.queue import start_consumer_threads
from widget_server.dispatch.schedule import ALWAYS_OPEN
from widget_server.extensions import db, limiter
from widget_server.pbx import directory
from widget_server.pbx.sim import start_sim_thread

from .live_stack import ServerThread, Stack
from .pg_databases import PostgresDatabases
from .system_needs import CHROMIUM, NEEDS, SETUP_HINT, PopenGuard, missing

SIM_CLIENT_ID = "TESTCLIENT000000000000000000001"
SIM_SIGN_KEY = "TESTKEY00000000000000000000000001"
TEST_SECRET = "test-secret-key-0123456789abcdef"


_popen_guard = PopenGuard()


def pytest_configure(config):
    _popen_guard.install()


def pytest_collection_modifyitems(items):
    # The browser fixtures are here, so every test using them is a browser test.
    for item in items:
        if {"browser", "page"} & set(getattr(item, "fixturenames", ())):
            item.add_marker(pytest.mark.browser)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_protocol(item, nextitem):
    # Fixtures of any scope start during their first test, so that test answers for them.
    _popen_guard.item = item
    try:
        return (yield)
    finally:
        _popen_guard.item = None


def _running_test_marked(name: str) -> bool:
    item = _popen_guard.item
    return item is not None and item.get_closest_marker(name) is not None


def pytest_runtest_setup(item):
    """A marked test whose binary or server is missing: skipped, or failed under CI=true."""
    for marker in sorted({m.name for m in item.iter_markers()} & NEEDS.keys()):
        what = missing(marker)
        if what is None:
            continue
        reason = f"needs {what} (marker {marker}); {SETUP_HINT}"
        if os.environ.get("CI") == "true":
            pytest.fail(f"CI=true: {reason}", pytrace=False)
        pytest.skip(reason)


@pytest.fixture(autouse=True)
def _clean_environment(monkeypatch):
    for name in list(os.environ):
        if name.startswith("WIDGET_"):
            monkeypatch.delenv(name)
    # The simulator and the webhook receivers listen on loopback; subprocesses inherit
    # this. The outbound policy's own tests build apps with it off.
    monkeypatch.setenv("WIDGET_ALLOW_PRIVATE_NETWORKS", "1")


POSTGRES = (
    PostgresDatabases(os.environ["TEST_DATABASE_URL"])
    if os.environ.get("TEST_DATABASE_URL")
    else None
)
_test_apps: list[Any] = []


_sqlite_template: dict[str, Path] = {}


@pytest.fixture(scope="session", autouse=True)
def _sqlite_template_dir(tmp_path_factory):
    """Where this session (this xdist worker) keeps its migrated SQLite database."""
    _sqlite_template["dir"] = tmp_path_factory.mktemp("template")


def _fresh_sqlite(path: Path) -> None:
    """Put a database at head at ``path``: a copy of one migrated once per session."""
    template = _sqlite_template.get("file")
    if template is None:
        template = _sqlite_template["dir"] / "widget.sqlite3"
        upgrade_to_head(f"sqlite:///{template}")
        _sqlite_template["file"] = template
    path.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(template, path)


def database_url(tmp_path: Path) -> str:
    """The database URL ``make_app(tmp_path)`` uses (SQLite file or this test's PostgreSQL)."""
    if POSTGRES is not None:
        return POSTGRES.database_for(tmp_path)
    return f"sqlite:///{tmp_path / 'widget.sqlite3'}"


@pytest.fixture(autouse=True)
def _test_databases():
    """Close the test's apps' connections and drop its PostgreSQL databases.

    Module-scoped fixtures (a stack shared by a module's tests) are set up before this
    function-scoped one, so what they made is kept until the session ends.
    """
    apps_before = len(_test_apps)
    databases_before = len(POSTGRES.created) if POSTGRES is not None else 0
    yield
    while len(_test_apps) > apps_before:
        app = _test_apps.pop()
        with app.app_context():
            for engine in db.engines.values():
                engine.dispose()
    if POSTGRES is not None:
        POSTGRES.drop_created(since=databases_before)


def pytest_sessionfinish(session, exitstatus):
    if POSTGRES is not None:
        POSTGRES.drop_all()


# flask-limiter's one Limiter keeps what the first app's config set (default limits, the
# strategy, on or off) for every later app in the process; each test app starts afresh.
_LIMITER_SETTINGS = [name for name in vars(limiter) if name.startswith("_default_limits_")]
_LIMITER_SETTINGS += [name for name in vars(limiter) if name.startswith("_application_limits_")]
_LIMITER_SETTINGS += ["enabled", "_swallow_errors", "_fail_on_first_breach", "_headers_enabled"]
_LIMITER_SETTINGS += ["_strategy", "_retry_after", "_key_prefix", "_request_identifier"]
_LIMITER_SETTINGS += ["_storage_options", "_header_mapping"]
_LIMITER_PRISTINE = {name: copy.deepcopy(getattr(limiter, name)) for name in _LIMITER_SETTINGS}


def _fresh_limiter() -> None:
    for name, value in _LIMITER_PRISTINE.items():
        setattr(limiter, name, copy.deepcopy(value))
    limiter.limit_manager.set_default_limits([])
    limiter.limit_manager.set_application_limits([])


def make_app(tmp_path: Path, **overrides: Any):
    fresh_copy = database_url(tmp_path)
    config = {
        "TESTING": True,
        "SECRET_KEY": TEST_SECRET,
        "SQLALCHEMY_DATABASE_URI": fresh_copy,
        "QUEUE_PATH": str(tmp_path / "queue.sqlite3"),
        "RATELIMIT_STORAGE_URI": "memory://",
        # Tests run at any hour: no night guard, and widgets without hours always open.
        # Working-hours tests turn it back on.
        "NIGHT_GUARD": False,
        # Tests that post without the widget need no form token; bot-defence tests turn it on.
        "FORM_TOKENS": False,
        # Admin tests post forms without first fetching a token; tests marked csrf have it on.
        "WTF_CSRF_ENABLED": _running_test_marked("csrf"),
        # Test stand-ins (simulator, webhook receivers) listen on loopback; the outbound
        # policy's own tests turn this off.
        "ALLOW_PRIVATE_NETWORKS": True,
    }
    config.update(overrides)
    os.environ["WIDGET_INSTANCE_PATH"] = str(tmp_path / "instance")
    sqlite_file = tmp_path / "widget.sqlite3"
    new_sqlite = POSTGRES is None and not sqlite_file.exists()
    if new_sqlite and config["SQLALCHEMY_DATABASE_URI"] == fresh_copy:
        _fresh_sqlite(sqlite_file)
    _fresh_limiter()
    app = create_app(config)
    _test_apps.append(app)
    # A test database copied from the template is already at head; any other gets migrated.
    if app.config["SQLALCHEMY_DATABASE_URI"] != fresh_copy or (POSTGRES is None and not new_sqlite):
        upgrade_to_head(app.config["SQLALCHEMY_DATABASE_URI"])
    with app.app_context():
        limiter.reset()
    return app


@pytest.fixture
def app(tmp_path):
    return make_app(tmp_path)


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def runner(app):
    return app.test_cli_runner()


# The live stack's settings: generous limits, real-time waits scaled down
# (production: 15 min, 3 min, 90 s).
STACK_CONFIG = {
    "PBX_TIMEOUT": 1.5,
    "PBX_CONNECT_TIMEOUT": 1.0,
    "RATELIMIT_NUMBER": "100/minute",
    "RATELIMIT_IP": "1000/minute",
    "RATELIMIT_IP_GLOBAL": "1000/minute",
    "RATELIMIT_WIDGET_NUMBER": "100/minute",
    "RATELIMIT_PREFIX": "1000/minute",
    "NEW_WIDGET_CAP": "1000/minute",
    "DISPATCH_DEADLINE": 4,
    "VISITOR_RETRY_DELAY": 1,
    "UNKNOWN_CALL_GRACE": 2,
    "UNPLACED_CHECK_AFTER": 1,  # the simulator's journal is complete at once
}


def _stack_site(sim, shop_url: str, *, group_rounds: int, **widget_options):
    """The owner, the PBX account on the simulator and the shop's widget (in an app context)."""
    owner = setup.create_owner("owner@example.com", "correct horse")
    account = directory.add_pbx(owner, sim.url, SIM_CLIENT_ID, SIM_SIGN_KEY, "demo.cloudpbx.rt.ru")
    requests.post(
        f"{sim.url}/_sim/config", json={"webhook_base": directory.webhook_base(account)}, timeout=5
    )
    directory.sync_groups(account)
    widget = setup.add_widget(
        account,
        [shop_url],
        [("101", "Отдел продаж"), ("102", "Сервис")],
        privacy_policy_url=f"{shop_url}/privacy",
        **widget_options,
    )
    widget.group_rounds = group_rounds
    widget.round_pause = 1
    widget.hours, widget.public_holidays = ALWAYS_OPEN, False  # callable at any time
    db.session.commit()
    return account, widget


def build_stack(
    tmp_path: Path,
    *,
    group_rounds: int = 1,
    start_consumer: bool = True,
    time_scale: float = 0.02,
    ring_timeout: int = 5,
    ring_strategy: str = "sequential",
    sim_overrides: dict | None = None,
    app_overrides: dict | None = None,
):
    sim_config = {"CLIENT_ID": SIM_CLIENT_ID, "SIGN_KEY": SIM_SIGN_KEY, "TIME_SCALE": time_scale}
    sim = start_sim_thread({**sim_config, "SLOW_SECONDS": 3, **(sim_overrides or {})})
    # Both listen before their apps exist (these need each other's URL), so no port is
    # ever let go and taken by a parallel test.
    apps: dict[str, Any] = {}
    service = ServerThread(lambda env, start: apps["service"](env, start))
    shop = ServerThread(lambda env, start: apps["shop"](env, start))
    config = {"PUBLIC_URL": service.url, **STACK_CONFIG, **(app_overrides or {})}
    app = make_app(tmp_path, **config)
    with app.app_context():
        account, widget = _stack_site(
            sim,
            shop.url,
            group_rounds=group_rounds,
            ring_timeout=ring_timeout,
            ring_strategy=ring_strategy,
        )
        widget_key, public_id = widget.public_key, account.public_id
    apps["shop"] = create_shop_app(service.url, widget_key)
    apps["service"] = app
    consumer = app.extensions["queue"].consumer(workers=3)
    if start_consumer:
        start_consumer_threads(consumer)
    stack = Stack(app, sim, service.url, shop.url, widget_key, public_id)

    def stop():
        consumer.stop(graceful=False)
        sim.stop()
        service.stop()
        shop.stop()

    return stack, stop


@pytest.fixture
def stack(tmp_path):
    stack, stop = build_stack(tmp_path)
    yield stack
    stop()


CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


@pytest.fixture(scope="session")
def browser():
    """One Chromium for every browser test (Playwright allows one sync instance at a time)."""
    # Imported here so that a session without browser tests never loads Playwright.
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        chromium = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


@pytest.fixture
def page(browser):
    """A desktop-sized page that records console errors in ``page.console_errors``."""
    context = browser.new_context(viewport={"width": 1280, "height": 800})
    page = context.new_page()
    page.console_errors = []
    page.on("console", lambda m: m.type == "error" and page.console_errors.append(m.text))
    page.on("pageerror", lambda e: page.console_errors.append(str(e)))
    yield page
    context.close()


@pytest.fixture
def owner_heard(monkeypatch):
    """The owner has a channel that tells a person of a missed request, so the visitor is
    promised a call back (how a channel counts is tests/test_notify_reach.py's subject)."""
    monkeypatch.setattr("widget_server.visitor.status.someone_will_hear", lambda owner: True)
