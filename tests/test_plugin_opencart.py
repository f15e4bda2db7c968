"""The OpenCart 4 extension in a real OpenCart 4.0.2.3, uploaded as its .ocmod.zip in the admin.

The store is the shared copy of OpenCart's ``upload/`` folder unpacked into a temporary folder,
installed by its own ``install/cli_install.php`` into a MariaDB database of its own and served
by ``php -S``; the widget on its storefront places a callback against the PBX simulator.
Needs PHP with gd, curl, zip, mbstring, xml and mysql (.ci/setup.sh installs them), the running
MariaDB that .ci/setup.sh starts, and ``../shared/vendor/opencart-4.0.2.3.tar.xz`` beside the
repository.
"""

from __future__ import annotations

import os
import re
import secrets
import shutil
import signal
import socket
import subprocess
import tarfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import requests

from embed.build_plugins import build
from widget_server.dispatch.schedule import ALWAYS_OPEN
from widget_server.extensions import db
from widget_server.pbx.directory import find_pbx
from widget_server.setup import add_widget
from widget_server.visitor.embed import snippets

from .conftest import build_stack

pytestmark = [pytest.mark.browser, pytest.mark.php, pytest.mark.mariadb]

REPO = Path(__file__).resolve().parents[1]
SHARED_COPY = "shared/vendor/opencart-4.0.2.3.tar.xz"
PHP_MODULES = {"gd", "curl", "zip", "mbstring", "xml", "mysqli"}
ADMIN_PASSWORD = "oc-" + secrets.token_hex(8)  # OpenCart takes 5 to 20 characters
FORM = "extension/callback_widget/module/callback_widget"
ROW = "#extension tr:has-text('Callback Widget')"  # in the installer's and the modules' lists
EXCLUDED = "checkout/*\naccount/login"
PHP_PROBLEM = re.compile(r"PHP (Warning|Notice|Deprecated|Fatal error|Parse error)")


@dataclass
class Store:
    url: str
    root: Path
    stack: Any
    widget_key: str
    db_name: str
    server_log: Path
    context: Any  # a browser context signed in to the admin
    token: str  # the admin's user_token

    def sql(self, query: str) -> str:
        return _mariadb(query, self.db_name)

    def admin(self, route: str, query: str = "") -> Any:
        """A new admin tab on ``route``, the user token in its address as OpenCart wants it."""
        tab = self.context.new_page()
        tab.goto(f"{self.url}/admin/index.php?route={route}&user_token={self.token}{query}")
        return tab

    def save_settings(self, status: bool | None = None, **fields: str) -> Any:
        """Fill the extension's settings form and save it (OpenCart posts it by AJAX)."""
        form = self.admin(FORM)
        for name, value in fields.items():
            form.fill(f"#input-{name.replace('_', '-')}", value)
        if status is not None:
            form.set_checked("#input-status", status)
        form.click("button[form=form-module]")
        form.wait_for_selector("#alert .alert, .invalid-feedback.d-block")
        return form

    def modules(self) -> Any:
        """Extensions > Extensions > Modules, its list loaded."""
        tab = self.admin("marketplace/extension", "&type=module")
        tab.wait_for_selector(ROW)
        return tab


def _require(ok: bool, reason: str) -> None:
    """Skip on a developer machine without the store's needs; CI must have them all."""
    if not ok:
        if os.environ.get("CI") == "true":
            pytest.fail(reason)
        pytest.skip(reason)


def _mariadb(sql: str, database: str = "") -> str:
    done = subprocess.run(
        ["mariadb", "--user=root", "-N", "-e", sql, *([database] if database else [])],
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert done.returncode == 0, done.stderr
    return done.stdout.strip()


def _tarball() -> Path:
    """``<repo>/../shared/vendor/…``; from a git worktree, beside its main checkout too."""
    places = [REPO.parent]
    git = REPO / ".git"
    if git.is_file():  # a worktree's .git says "gitdir: <main>/.git/worktrees/<name>"
        places.append(Path(git.read_text().split(":", 1)[1].strip()).parents[2].parent)
    found = [place / SHARED_COPY for place in places if (place / SHARED_COPY).is_file()]
    _require(bool(found), f"the OpenCart copy is not at {REPO.parent / SHARED_COPY}")
    return found[0]


def _check_needs() -> Path:
    """Skip (or fail, in CI) unless PHP, MariaDB and the OpenCart copy are at hand; the copy."""
    tarball = _tarball()
    _require(shutil.which("php") is not None, "PHP is needed: sudo .ci/setup.sh")
    modules = set(subprocess.run(["php", "-m"], capture_output=True, text=True).stdout.split())
    missing = PHP_MODULES - modules
    _require(not missing, f"PHP lacks {sorted(missing)}: sudo .ci/setup.sh")
    ping = shutil.which("mariadb-admin") and subprocess.run(
        ["mariadb-admin", "--user=root", "ping"], capture_output=True, timeout=30
    )
    _require(bool(ping) and ping.returncode == 0, "MariaDB is needed: sudo .ci/setup.sh")
    return tarball


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _install_opencart(tarball: Path, tmp: Path, url: str, db_name: str, db_password: str) -> Path:
    """Unpack the shared copy and run OpenCart's own command-line installer; return upload/."""
    with tarfile.open(tarball) as archive:
        archive.extractall(tmp, filter="data")
    root = tmp / "upload"
    shutil.copy(root / "config-dist.php", root / "config.php")
    shutil.copy(root / "admin/config-dist.php", root / "admin/config.php")
    done = subprocess.run(
        ["php", "install/cli_install.php", "install",
         "--username", "admin", "--password", ADMIN_PASSWORD, "--email", "admin@example.com",
         "--http_server", f"{url}/", "--db_driver", "mysqli",
         # "localhost" makes mysqli use MariaDB's Unix socket.
         "--db_hostname", "localhost", "--db_username", db_name, "--db_password", db_password,
         "--db_database", db_name, "--db_port", "3306", "--db_prefix", "oc_"],
        cwd=root,
        capture_output=True,
        text=True,
        timeout=300,
    )  # fmt: skip
    assert "SUCCESS" in done.stdout, done.stdout + done.stderr
    # As OpenCart asks once installed (its admin warns until then).
    shutil.rmtree(root / "install")
    return root


def _serve(root: Path, port: int, log: Path) -> subprocess.Popen:
    with log.open("w") as out:
        server = subprocess.Popen(
            ["php", "-S", f"127.0.0.1:{port}", "-t", str(root)],
            cwd=root,
            stdout=out,
            stderr=subprocess.STDOUT,
            env={"PATH": "/usr/bin:/bin", "PHP_CLI_SERVER_WORKERS": "4"},
            start_new_session=True,  # its own process group: the workers stop with it
        )
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if server.poll() is not None:
            pytest.fail(f"php -S exited: {log.read_text()[-2000:]}")
        try:
            requests.get(f"http://127.0.0.1:{port}/", timeout=10)
            return server
        except requests.ConnectionError:
            time.sleep(0.1)
    pytest.fail("php -S did not answer within 30 s")


def _sign_in(context: Any, url: str) -> str:
    """Sign in to the admin; return the user token OpenCart puts in every admin address."""
    tab = context.new_page()
    tab.goto(f"{url}/admin/")
    tab.fill("#input-username", "admin")
    tab.fill("#input-password", ADMIN_PASSWORD)
    tab.click("#form-login button[type=submit]")
    tab.wait_for_url(re.compile(r"route=common/dashboard&user_token="))
    token = re.search(r"user_token=(\w+)", tab.url).group(1)
    tab.close()
    return token


def _add_extension(store: Store, zip_path: Path) -> None:
    """Upload the zip in Extensions > Installer, install it, then install the module."""
    installer = store.admin("marketplace/installer")
    with installer.expect_file_chooser() as chooser:
        installer.click("#button-upload")
    chooser.value.set_files(str(zip_path))
    installer.click(f"{ROW} .btn-success")
    installer.wait_for_selector(f"{ROW} .btn-warning")  # installed: now it offers uninstall
    installer.close()
    modules = store.modules()
    modules.click(f"{ROW} .btn-success")
    modules.wait_for_selector(f"{ROW} a.btn-primary[href*='{FORM}']")  # Edit, now enabled
    modules.close()


def _add_widget(stack: Any, origin: str) -> str:
    """The owner adds a widget for the storefront's origin; return its key."""
    with stack.app.app_context():
        widget = add_widget(
            find_pbx(stack.account_public_id), [origin], [("101", "Sales")], ring_timeout=5
        )
        widget.hours, widget.public_holidays = ALWAYS_OPEN, False
        db.session.commit()
        return widget.public_key


@pytest.fixture(scope="module")
def store(tmp_path_factory, browser):
    """A fresh OpenCart with the extension uploaded, installed and set up through its admin."""
    tarball = _check_needs()
    tmp = tmp_path_factory.mktemp("opencart")
    db_name = "octest_" + secrets.token_hex(4)
    db_password = secrets.token_hex(12)
    stop_stack = server = context = None
    try:
        _mariadb(
            f"CREATE DATABASE {db_name} CHARACTER SET utf8mb4; "
            f"CREATE USER '{db_name}'@'localhost' IDENTIFIED BY '{db_password}'; "
            f"GRANT ALL ON {db_name}.* TO '{db_name}'@'localhost';"
        )
        port = _free_port()
        url = f"http://127.0.0.1:{port}"
        root = _install_opencart(tarball, tmp, url, db_name, db_password)
        server_log = tmp / "php-server.log"
        server = _serve(root, port, server_log)
        stack, stop_stack = build_stack(tmp / "stack")  # the service: another port, origin
        widget_key = _add_widget(stack, url)
        context = browser.new_context(viewport={"width": 1280, "height": 900})
        context.set_default_timeout(60_000)  # a loaded two-core machine
        context.on("dialog", lambda dialog: dialog.accept())  # OpenCart's "Are you sure?"
        token = _sign_in(context, url)
        site = Store(url, root, stack, widget_key, db_name, server_log, context, token)
        _add_extension(site, build(tmp / "dist")["opencart"])
        saved = site.save_settings(
            True, service_url=stack.service_url, widget_key=widget_key, exclude=EXCLUDED
        )
        assert saved.is_visible("#alert .alert-success"), saved.text_content("#content")
        saved.close()
        yield site
    finally:
        if context is not None:
            context.close()
        if server is not None:
            os.killpg(server.pid, signal.SIGTERM)
            server.wait(timeout=10)
        if stop_stack is not None:
            stop_stack()
        _mariadb(f"DROP DATABASE IF EXISTS {db_name}; DROP USER IF EXISTS '{db_name}'@'localhost';")


def widget_tags(html: str) -> list[str]:
    """What each of the page's after-load scripts sets on the widget's script it adds."""
    return re.findall(
        r"<script[^>]*>\s*\(function\(w,d\)\{function load\(\)\{.*?s\.async=true;(.*?)d\.body", html
    )


def storefront(store: Store, query: str = "") -> str:
    response = requests.get(f"{store.url}/index.php{query}", timeout=60)
    response.raise_for_status()
    return response.text


def test_the_extension_adds_its_after_load_script_once_to_the_head_of_storefront_pages(store):
    sets = (
        f's.src="{store.stack.service_url}/embed.js";'
        f's.setAttribute("data-widget","{store.widget_key}");'
    )
    for query in ("", "?route=product/product&product_id=40", "?route=product/category&path=20"):
        html = storefront(store, query)
        assert widget_tags(html) == [sets], query
        assert html.index(sets) < html.index("</head>"), query


def test_a_visitor_of_the_store_orders_a_callback_and_sees_it_finished(page, store):
    page.set_default_timeout(60_000)
    page.goto(f"{store.url}/index.php?route=product/product&product_id=40")
    page.click("callback-widget .cbw-fab")
    page.fill("#cbw-phone", "9165554433")
    page.check("#cbw-consent")
    page.click("callback-widget button[type=submit]")
    calls = store.stack.wait_until(
        lambda: [
            c
            for c in store.stack.sim_requests("call_back")
            if c["body"]["request_number"] == "+79165554433"
        ],
        timeout=60,
        message="the simulator's call_back for the visitor",
        interval=0.2,
    )
    assert calls[0]["body"]["from_pin"]
    page.wait_for_function(
        "() => document.querySelector('callback-widget').getAttribute('data-status') === 'finished'"
    )
    assert page.console_errors == []


def test_excluded_routes_get_no_widget_script(store):
    assert widget_tags(storefront(store, "?route=checkout/cart")) == []
    assert widget_tags(storefront(store, "?route=checkout/checkout")) == []
    assert widget_tags(storefront(store, "?route=account/login")) == []
    assert len(widget_tags(storefront(store, "?route=account/register"))) == 1


def test_the_settings_form_refuses_a_malformed_key_under_its_field_and_keeps_the_saved_one(store):
    form = store.save_settings(widget_key="not-a-key")
    assert "The widget key starts with wk_" in form.text_content("#error-widget-key")
    form.close()
    form = store.admin(FORM)
    assert form.input_value("#input-widget-key") == store.widget_key
    assert form.input_value("#input-exclude") == EXCLUDED
    assert form.is_checked("#input-status")
    form.close()


def test_the_pinned_release_is_loaded_with_its_integrity_hash(page, store):
    with store.stack.app.app_context():
        pinned = snippets(store.stack.service_url, store.widget_key)["pinned"]
    version = re.search(r"/embed/([^/]+)/embed\.js", pinned).group(1)
    integrity = re.search(r'integrity="([^"]+)"', pinned).group(1)
    form = store.save_settings(version=version, integrity=integrity)
    assert form.is_visible("#alert .alert-success")
    form.close()
    try:
        assert widget_tags(storefront(store)) == [
            f's.src="{store.stack.service_url}/embed/{version}/embed.js";'
            f's.setAttribute("data-widget","{store.widget_key}");'
            f's.integrity="{integrity}";s.crossOrigin="anonymous";'
        ]
        # Chromium checks the hash: the widget only appears if it matches.
        page.set_default_timeout(60_000)
        page.goto(f"{store.url}/")
        page.wait_for_selector("callback-widget .cbw-fab")
        assert page.console_errors == []
    finally:
        store.save_settings(version="", integrity="").close()


def test_in_a_russian_admin_the_settings_form_and_its_messages_are_in_russian(store):
    # OpenCart 4 ships English only and its Russian pack is not at hand: the store gets a
    # bare Russian language (what a pack registers; no core strings), and the admin's own
    # language switcher picks it. Core texts stay English; the extension's come from ru-ru.
    languages = store.admin("localisation/language.form")
    languages.fill("#input-name", "Русский")
    languages.fill("#input-code", "ru-ru")
    languages.fill("#input-locale", "ru_RU.UTF-8,ru_RU,russian")
    languages.check("#input-status")
    languages.click("button[form=form-language]")
    languages.wait_for_selector("#alert .alert-success")
    languages.close()
    switch = store.admin(FORM)
    try:
        switch.click("#nav-language .dropdown-toggle")
        with switch.expect_navigation():
            switch.click("#nav-language .dropdown-item[href='ru-ru']")
        assert switch.text_content("h1").strip() == "Виджет обратного звонка"
        assert switch.text_content("label[for=input-widget-key]").strip() == "Ключ виджета"
        switch.close()
        form = store.save_settings(widget_key="not-a-key")
        assert form.text_content("#error-widget-key").startswith("Ключ виджета начинается с wk_")
        form.close()
    finally:
        back = store.admin(FORM)
        back.click("#nav-language .dropdown-toggle")
        with back.expect_navigation():
            back.click("#nav-language .dropdown-item[href='en-gb']")
        assert back.text_content("h1").strip() == "Callback Widget"
        back.close()


def test_uninstalling_removes_the_event_and_the_settings(store):
    assert store.sql("SELECT COUNT(*) FROM oc_event WHERE code = 'callback_widget'") == "1"
    assert store.sql("SELECT COUNT(*) FROM oc_setting WHERE code = 'module_callback_widget'") != "0"
    modules = store.modules()
    modules.click(f"{ROW} .btn-danger")
    modules.wait_for_selector(f"{ROW} .btn-success")  # uninstalled: it offers install again
    modules.close()
    assert store.sql("SELECT COUNT(*) FROM oc_event WHERE code = 'callback_widget'") == "0"
    assert store.sql("SELECT COUNT(*) FROM oc_setting WHERE code = 'module_callback_widget'") == "0"
    assert widget_tags(storefront(store)) == []


def test_none_of_this_left_a_php_warning_or_notice_in_the_logs(store):
    # OpenCart's error handler writes to its own log; PHP's own messages go to php -S's.
    error_log = store.root / "system/storage/logs/error.log"
    logged = error_log.read_text() if error_log.exists() else ""
    assert logged.strip() == ""
    server = store.server_log.read_text()
    assert "[200]: GET /admin/index.php?route=extension/callback_widget" in server  # the right log
    assert [line for line in server.splitlines() if PHP_PROBLEM.search(line)] == []
