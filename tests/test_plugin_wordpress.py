"""The WordPress plugin in a real WordPress (Debian's), installed from its zip through the admin.

The site is Debian's WordPress copied to a temporary folder with its own MariaDB database,
served by ``php -S``; the widget on it places a callback against the PBX simulator.
Needs the packages and the running MariaDB that .ci/setup.sh installs and starts.
"""

from __future__ import annotations

import os
import re
import secrets
import shutil
import signal
import socket
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import unquote

import pytest
import requests

from embed.build_plugins import build
from widget_server.dispatch.schedule import ALWAYS_OPEN
from widget_server.extensions import db
from widget_server.pbx.directory import find_pbx
from widget_server.setup import add_widget
from widget_server.visitor.embed import snippets

from .conftest import build_stack

pytestmark = [pytest.mark.browser, pytest.mark.php, pytest.mark.wordpress, pytest.mark.mariadb]

WORDPRESS = Path("/usr/share/wordpress")
ADMIN_PASSWORD = "wp-admin-" + secrets.token_hex(8)

# Creates a page from the command line (test setup, not the code under test).
NEW_PAGE = """<?php
$_SERVER['HTTP_HOST'] = $argv[2];
$_SERVER['REQUEST_URI'] = '/';
require $argv[1] . '/wp-load.php';
echo wp_insert_post(array('post_type' => 'page', 'post_status' => 'publish',
    'post_title' => $argv[3], 'post_content' => $argv[4]), true);
"""

GET_OPTION = """<?php
$_SERVER['HTTP_HOST'] = $argv[2];
$_SERVER['REQUEST_URI'] = '/';
require $argv[1] . '/wp-load.php';
echo json_encode(get_option($argv[3], null));
"""

SET_OPTION = """<?php
$_SERVER['HTTP_HOST'] = $argv[2];
$_SERVER['REQUEST_URI'] = '/';
require $argv[1] . '/wp-load.php';
// Straight to the table: update_option would refuse a site language whose core files
// (wordpress-l10n) are not installed, and only the plugin's translation matters here.
$wpdb->replace($wpdb->options, array('option_name' => $argv[3], 'option_value' => $argv[4], 'autoload' => 'yes'));
"""


@dataclass
class WordPress:
    url: str
    root: Path
    stack: Any
    widget_key: str
    pages: dict[str, int]
    context: Any  # a browser context logged in as the administrator

    def php(self, script: str, *args: str) -> str:
        path = self.root.parent / "cli.php"
        path.write_text(script)
        host = self.url.removeprefix("http://")
        done = subprocess.run(
            ["php", str(path), str(self.root), host, *args],
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert done.returncode == 0, done.stdout + done.stderr
        return done.stdout

    def page_url(self, name: str) -> str:
        return f"{self.url}/?page_id={self.pages[name]}"

    def save_settings(self, **fields: str) -> Any:
        """Fill the plugin's settings form in the admin and submit it; return the result page."""
        admin = self.context.new_page()
        admin.goto(f"{self.url}/wp-admin/options-general.php?page=callback-widget")
        for name, value in fields.items():
            admin.fill(f"#callback_widget_{name}", value)
        admin.click("#submit")
        admin.wait_for_selector(".notice, .error, .updated")
        return admin


def _mariadb(sql: str) -> str:
    done = subprocess.run(
        ["mariadb", "--user=root", "-N", "-e", sql], capture_output=True, text=True, timeout=30
    )
    if done.returncode != 0:
        pytest.fail(
            "MariaDB is needed for the WordPress test (as root over its Unix socket); "
            f"run sudo .ci/setup.sh first: {done.stderr.strip()}"
        )
    return done.stdout.strip()


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _copy_wordpress(root: Path) -> None:
    assert (WORDPRESS / "wp-settings.php").is_file(), (
        "Debian's wordpress package is needed: sudo .ci/setup.sh"
    )
    # wp-admin and the top-level files are copied so their __DIR__ is the new site;
    # wp-includes is only ever reached through ABSPATH, so a link will do.
    shutil.copytree(
        WORDPRESS,
        root,
        ignore=shutil.ignore_patterns("wp-includes", "wp-content", "wp-config.php", ".htaccess"),
    )
    (root / "wp-includes").symlink_to(WORDPRESS / "wp-includes")
    for sub in ("plugins", "uploads", "upgrade", "themes"):
        (root / "wp-content" / sub).mkdir(parents=True)
    theme = WORDPRESS / "wp-content/themes/twentytwentythree"
    assert theme.is_dir(), "wordpress-theme-twentytwentythree is needed"
    (root / "wp-content/themes/twentytwentythree").symlink_to(theme)


def _wp_config(url: str, db_name: str, db_user: str, db_password: str, socket_path: str) -> str:
    keys = "".join(
        f"define('{name}', '{secrets.token_hex(32)}');\n"
        for name in (
            "AUTH_KEY",
            "SECURE_AUTH_KEY",
            "LOGGED_IN_KEY",
            "NONCE_KEY",
            "AUTH_SALT",
            "SECURE_AUTH_SALT",
            "LOGGED_IN_SALT",
            "NONCE_SALT",
        )
    )
    return f"""<?php
define('DB_NAME', '{db_name}');
define('DB_USER', '{db_user}');
define('DB_PASSWORD', '{db_password}');
define('DB_HOST', 'localhost:{socket_path}');
define('DB_CHARSET', 'utf8mb4');
define('DB_COLLATE', '');
{keys}$table_prefix = 'wp_';
define('WP_HOME', '{url}');
define('WP_SITEURL', '{url}');
// No internet here, and nothing a test should wait for: no update checks, no cron.
define('WP_HTTP_BLOCK_EXTERNAL', true);
define('AUTOMATIC_UPDATER_DISABLED', true);
define('WP_AUTO_UPDATE_CORE', false);
define('DISABLE_WP_CRON', true);
define('FS_METHOD', 'direct');
// Every notice goes to the log, which the tests read for the plugin's own.
define('WP_DEBUG', true);
define('WP_DEBUG_DISPLAY', false);
define('WP_DEBUG_LOG', __DIR__ . '/../debug.log');
if (!defined('ABSPATH')) {{ define('ABSPATH', __DIR__ . '/'); }}
require_once ABSPATH . 'wp-settings.php';
"""


def _wait_http(url: str, server: subprocess.Popen, log: Path) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if server.poll() is not None:
            pytest.fail(f"php -S exited: {log.read_text()[-2000:]}")
        try:
            requests.get(url, timeout=5)
            return
        except requests.ConnectionError:
            time.sleep(0.1)
    pytest.fail("php -S did not answer within 30 s")


@pytest.fixture(scope="module")
def wp(tmp_path_factory, browser):
    """A fresh WordPress with the plugin uploaded, activated and set up through its admin."""
    tmp = tmp_path_factory.mktemp("wordpress")
    socket_path = _mariadb("SELECT @@socket")
    db_name = "wptest_" + secrets.token_hex(4)
    db_user, db_password = db_name, secrets.token_hex(12)
    stop_stack = server = context = None
    try:
        _mariadb(
            f"CREATE DATABASE {db_name} CHARACTER SET utf8mb4; "
            f"CREATE USER '{db_user}'@'localhost' IDENTIFIED BY '{db_password}'; "
            f"GRANT ALL ON {db_name}.* TO '{db_user}'@'localhost';"
        )
        stack, stop_stack = build_stack(tmp / "stack")
        port = _free_port()
        url = f"http://127.0.0.1:{port}"
        root = tmp / "site"
        _copy_wordpress(root)
        (root / "wp-config.php").write_text(
            _wp_config(url, db_name, db_user, db_password, socket_path)
        )
        log = tmp / "php-server.log"
        with log.open("w") as out:
            server = subprocess.Popen(
                ["php", "-S", f"127.0.0.1:{port}", "-t", str(root)],
                cwd=root,
                stdout=out,
                stderr=subprocess.STDOUT,
                env={"PATH": "/usr/bin:/bin", "PHP_CLI_SERVER_WORKERS": "4"},
                start_new_session=True,  # its own process group: the workers stop with it
            )
        _wait_http(f"{url}/wp-login.php", server, log)

        # WordPress's own installer, over HTTP.
        installed = requests.post(
            f"{url}/wp-admin/install.php?step=2",
            data={
                "weblog_title": "Test shop",
                "user_name": "admin",
                "admin_password": ADMIN_PASSWORD,
                "admin_password2": ADMIN_PASSWORD,
                "pw_weak": "1",
                "admin_email": "admin@example.com",
                "blog_public": "0",
                "language": "",
            },
            timeout=60,
        )
        assert "Success!" in installed.text, installed.text[-2000:]

        # The owner adds a widget for this site's origin.
        with stack.app.app_context():
            widget = add_widget(
                find_pbx(stack.account_public_id), [url], [("101", "Sales")], ring_timeout=5
            )
            widget.hours, widget.public_holidays = ALWAYS_OPEN, False
            db.session.commit()
            widget_key = widget.public_key

        site = WordPress(url, root, stack, widget_key, {}, None)
        site.pages["contacts"] = int(
            site.php(
                NEW_PAGE,
                "Contacts",
                '<p>[callback_button text="Order a call"]</p>'
                '<p><a class="callback-widget-open" href="tel:+74950000000">Phone us</a></p>',
            )
        )
        site.pages["checkout"] = int(site.php(NEW_PAGE, "Checkout", "<p>Pay here.</p>"))
        site.pages["plain button"] = int(site.php(NEW_PAGE, "Button", "<p>[callback_button]</p>"))
        site.pages["members"] = int(site.php(NEW_PAGE, "Members", "<p>Members only.</p>"))
        site.pages["delivery"] = int(site.php(NEW_PAGE, "Доставка", "<p>Курьером.</p>"))

        # The administrator logs in, uploads the built zip, activates the plugin.
        zip_path = build(tmp / "dist")["wordpress"]
        context = browser.new_context(viewport={"width": 1280, "height": 900})
        context.set_default_timeout(60_000)
        site.context = context
        admin = context.new_page()
        admin.goto(f"{url}/wp-login.php")
        admin.fill("#user_login", "admin")
        admin.fill("#user_pass", ADMIN_PASSWORD)
        admin.click("#wp-submit")
        admin.wait_for_url(re.compile(r"/wp-admin/"))
        admin.goto(f"{url}/wp-admin/plugin-install.php?tab=upload")
        admin.set_input_files("#pluginzip", str(zip_path))
        admin.click("#install-plugin-submit")
        admin.wait_for_selector("text=Plugin installed successfully.")
        admin.click("a:has-text('Activate Plugin')")
        admin.wait_for_selector("text=Plugin activated.")
        admin.close()

        saved = site.save_settings(
            service_url=stack.service_url,
            widget_key=widget_key,
            exclude=f"{site.pages['checkout']}\n/members/*\n/доставка/",
        )
        assert "Settings saved." in saved.text_content(".notice, .updated")
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
        _mariadb(f"DROP DATABASE IF EXISTS {db_name}; DROP USER IF EXISTS '{db_user}'@'localhost';")


def widget_tags(html: str) -> list[str]:
    """What each of the page's after-load scripts sets on the widget's script it adds."""
    return re.findall(
        r"<script[^>]*>\s*\(function\(w,d\)\{function load\(\)\{.*?s\.async=true;(.*?)d\.body", html
    )


def open_widget_page(page, url: str) -> None:
    page.set_default_timeout(60_000)  # a loaded two-core machine: WordPress pages are slow
    page.goto(url)
    page.wait_for_selector("callback-widget .cbw-fab")


def test_the_plugin_installed_from_its_zip_adds_the_widget_script_after_the_page_loads(wp):
    html = requests.get(f"{wp.url}/", timeout=30).text
    assert widget_tags(html) == [
        f's.src="{wp.stack.service_url}/embed.js";s.setAttribute("data-widget","{wp.widget_key}");'
    ]
    assert "/embed.js" not in html.replace(widget_tags(html)[0], "")  # no tag of its own
    assert "callback-widget/assets/triggers.js" in html


def test_a_visitor_of_the_wordpress_site_orders_a_callback_through_the_widget(page, wp):
    open_widget_page(page, f"{wp.url}/")
    page.click("callback-widget .cbw-fab")
    page.fill("#cbw-phone", "9165554433")
    page.check("#cbw-consent")
    page.click("callback-widget button[type=submit]")
    calls = wp.stack.wait_until(
        lambda: [
            c
            for c in wp.stack.sim_requests("call_back")
            if c["body"]["request_number"] == "+79165554433"
        ],
        timeout=60,
        message="the simulator's call_back for the visitor",
        interval=0.2,
    )
    assert calls[0]["body"]["from_pin"]
    page.wait_for_function(
        "() => document.querySelector('callback-widget').getAttribute('data-status') !== 'idle'"
    )
    assert page.console_errors == []


def test_the_shortcode_button_and_the_css_class_open_the_widget(page, wp):
    open_widget_page(page, wp.page_url("contacts"))
    url = page.url
    page.click("button.callback-widget-button[data-callback-widget]")
    page.wait_for_selector("callback-widget .cbw-dlg", state="visible")  # opens async
    page.keyboard.press("Escape")
    assert page.is_hidden("callback-widget .cbw-dlg")
    page.click("a.callback-widget-open")
    page.wait_for_selector("callback-widget .cbw-dlg", state="visible")  # opens async
    assert page.url == url  # the tel: link did not navigate


def test_pages_excluded_by_id_or_by_path_get_no_widget_script(wp):
    assert widget_tags(requests.get(wp.page_url("checkout"), timeout=30).text) == []
    members = requests.get(wp.page_url("members"), timeout=30)
    assert members.url.endswith("/members/")  # pretty permalinks: the path rule applies
    assert widget_tags(members.text) == []
    delivery = requests.get(wp.page_url("delivery"), timeout=30)
    assert unquote(delivery.url).endswith("/доставка/")  # a Cyrillic rule, a percent-encoded path
    assert widget_tags(delivery.text) == []
    assert len(widget_tags(requests.get(wp.page_url("contacts"), timeout=30).text)) == 1


def test_the_settings_form_refuses_a_malformed_key_and_keeps_the_saved_one(wp):
    admin = wp.save_settings(widget_key="not-a-key")
    assert "The widget key starts with wk_" in admin.text_content("#setting-error-widget_key")
    assert admin.input_value("#callback_widget_widget_key") == wp.widget_key
    admin.close()


def test_the_pinned_release_is_loaded_with_its_integrity_hash(page, wp):
    with wp.stack.app.app_context():
        pinned = snippets(wp.stack.service_url, wp.widget_key)["pinned"]
    version = re.search(r"/embed/([^/]+)/embed\.js", pinned).group(1)
    integrity = re.search(r'integrity="([^"]+)"', pinned).group(1)
    wp.save_settings(version=version, integrity=integrity).close()
    tags = widget_tags(requests.get(f"{wp.url}/", timeout=30).text)
    assert tags == [
        f's.src="{wp.stack.service_url}/embed/{version}/embed.js";'
        f's.setAttribute("data-widget","{wp.widget_key}");'
        f's.integrity="{integrity}";s.crossOrigin="anonymous";'
    ]
    # Chromium checks the hash: the widget only appears if it matches.
    open_widget_page(page, f"{wp.url}/")
    assert page.console_errors == []


def test_on_a_russian_site_the_plugin_speaks_russian(wp):
    english = requests.get(wp.page_url("plain button"), timeout=30).text
    assert ">Call me back</button>" in english
    wp.php(SET_OPTION, "WPLANG", "ru_RU")
    try:
        russian = requests.get(wp.page_url("plain button"), timeout=30).text
    finally:
        wp.php(SET_OPTION, "WPLANG", "")
    assert '<html lang="ru-RU">' in russian
    assert ">Перезвоните мне</button>" in russian


def readme_snippet(marker: str) -> str:
    text = (Path(__file__).resolve().parent.parent / "embed/README.md").read_text("utf-8")
    return re.search(rf"<!-- {marker} -->\s*```html\n(.*?)```", text, re.S).group(1)


def test_the_any_other_site_snippets_of_the_readme_work_on_a_plain_page(page, wp):
    # A static page on the same origin as the WordPress site (an allowed origin of the widget).
    loader = readme_snippet("tag-manager-snippet")
    loader = loader.replace("https://HOST", wp.stack.service_url).replace("wk_...", wp.widget_key)
    (wp.root / "plain.html").write_text(
        "<!doctype html><html><head><title>Plain</title></head><body>"
        '<a href="#callback">Call me</a>'
        + loader
        + readme_snippet("hash-link-snippet")
        + "</body></html>"
    )
    open_widget_page(page, f"{wp.url}/plain.html")
    page.click("a[href='#callback']")
    page.wait_for_selector("callback-widget .cbw-dlg", state="visible")  # opens async
    assert page.url == f"{wp.url}/plain.html"
    assert page.console_errors == []


def test_the_plugin_raised_no_php_notice_or_warning(wp):
    log = wp.root.parent / "debug.log"
    lines = log.read_text().splitlines() if log.exists() else []
    assert [line for line in lines if "callback-widget" in line] == []


def test_deleting_the_plugin_removes_its_settings(wp):
    assert wp.php(GET_OPTION, "callback_widget_settings") != "null"
    admin = wp.context.new_page()
    admin.on("dialog", lambda dialog: dialog.accept())
    admin.goto(f"{wp.url}/wp-admin/plugins.php")
    admin.click("tr[data-slug='callback-widget'] .deactivate a")
    admin.wait_for_selector("text=Plugin deactivated.")
    admin.click("tr[data-slug='callback-widget'] .delete a")
    admin.wait_for_selector("text=Callback Widget was successfully deleted.")
    admin.close()
    assert wp.php(GET_OPTION, "callback_widget_settings") == "null"
    assert not (wp.root / "wp-content/plugins/callback-widget").exists()
    assert widget_tags(requests.get(f"{wp.url}/", timeout=30).text) == []
