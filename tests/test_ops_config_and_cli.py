"""Settings from the environment, the production checks, and the ``widget-server`` command."""

from __future__ import annotations

import re
import secrets
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from widget_server import create_app
from widget_server.config import (
    SETTINGS,
    ConfigError,
    has_placeholder_secret,
    load_settings,
    queue_in_web,
)
from widget_server.ops.cli import main
from widget_server.ops.server import check_production_settings
from widget_server.pbx.sim import start_sim_thread
from widget_server.setup import LooserLimitError, check_own_limit

from .conftest import SIM_CLIENT_ID, SIM_SIGN_KEY

SECRET = "cli-test-secret-0123456789abcdef"


# -- load_settings -------------------------------------------------------------------------
def test_every_setting_has_its_default_when_nothing_is_set():
    settings = load_settings({})
    assert settings == {name: default for name, (_parser, default, _doc) in SETTINGS.items()}
    assert settings["RATELIMIT_NUMBER"] == "1/2minute;3/hour;5/day"
    assert settings["MAX_BODY_BYTES"] == 4096
    assert settings["DEV"] is False


def test_an_empty_variable_counts_as_unset():
    assert load_settings({"WIDGET_WORKERS": "", "WIDGET_PUBLIC_URL": ""})["WORKERS"] == 1


def test_well_formed_values_are_parsed_to_their_types():
    settings = load_settings(
        {
            "WIDGET_WORKERS": "4",
            "WIDGET_PBX_TIMEOUT": "2.5",
            "WIDGET_DEV": "yes",
            "WIDGET_PUBLIC_URL": "https://widgets.example/ ",
            "WIDGET_RATELIMIT_IP": "5/minute;50/day",
            "WIDGET_TRUSTED_PROXIES": "0",
            "WIDGET_LOG_LEVEL": "debug",
        }
    )
    assert settings["WORKERS"] == 4
    assert settings["PBX_TIMEOUT"] == 2.5
    assert settings["DEV"] is True
    assert settings["PUBLIC_URL"] == "https://widgets.example"
    assert settings["RATELIMIT_IP"] == "5/minute;50/day"
    assert settings["TRUSTED_PROXIES"] == 0


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("WORKERS", "two"),
        ("WORKERS", "0"),
        ("WORKERS", "1.5"),
        ("THREADS", "-3"),
        ("MAX_BODY_BYTES", "4k"),
        ("TRUSTED_PROXIES", "-1"),
        ("PBX_TIMEOUT", "0"),
        ("PBX_TIMEOUT", "soon"),
        ("PBX_TIMEOUT", "nan"),
        ("PBX_TIMEOUT", "inf"),
        ("PBX_CONNECT_TIMEOUT", "NaN"),
        ("PBX_CONNECT_TIMEOUT", "-1"),
        ("DEV", "maybe"),
        ("DEV", "2"),
        ("PUBLIC_URL", "widgets.example"),
        ("PUBLIC_URL", "ftp://widgets.example"),
        ("RATELIMIT_IP", "lots"),
        ("RATELIMIT_NUMBER", "1 per fortnight"),
        ("RATELIMIT_IP_GLOBAL", "20/hour;;x"),
        ("LOG_LEVEL", "LOUD"),
        ("QUEUE_IN_WEB", "sometimes"),
    ],
)
def test_a_malformed_value_stops_with_an_error_naming_the_variable(name, value):
    with pytest.raises(ConfigError) as caught:
        load_settings({f"WIDGET_{name}": value})
    assert f"WIDGET_{name}" in str(caught.value)


REDIS = "redis://127.0.0.1:6379/0"


@pytest.mark.parametrize(
    ("environ", "inside"),
    [
        ({}, True),
        ({"WIDGET_QUEUE_IN_WEB": "auto"}, True),
        ({"WIDGET_REDIS_URL": REDIS}, True),
        ({"WIDGET_REDIS_URL": REDIS, "WIDGET_WORKERS": "2"}, False),
        ({"WIDGET_REDIS_URL": REDIS, "WIDGET_WORKERS": "4", "WIDGET_QUEUE_IN_WEB": "Auto"}, False),
        ({"WIDGET_QUEUE_IN_WEB": "0"}, False),
        ({"WIDGET_QUEUE_IN_WEB": "off"}, False),
        ({"WIDGET_REDIS_URL": REDIS, "WIDGET_WORKERS": "2", "WIDGET_QUEUE_IN_WEB": "1"}, True),
    ],
)
def test_the_queue_runs_in_the_only_web_worker_unless_told_otherwise(environ, inside):
    assert queue_in_web(load_settings(environ)) is inside


def test_a_bad_queue_in_web_value_says_what_it_may_be():
    with pytest.raises(ConfigError, match="expected auto, true/false"):
        load_settings({"WIDGET_QUEUE_IN_WEB": "sometimes"})


# -- production checks ------------------------------------------------------------------------
def _prod(**changes):
    settings = load_settings({"WIDGET_SECRET_KEY": "3f9c2a7be14d8065c91fa3b27d4e6081"})
    settings.update(changes)
    return settings


def test_sound_production_settings_pass():
    check_production_settings(_prod())
    check_production_settings(_prod(WORKERS=4, REDIS_URL="redis://127.0.0.1:6379/0"))


@pytest.mark.parametrize(
    "key",
    [
        "dev",
        "DEV",
        "change-me",
        "secret",
        "",
        None,
        "short-key-123",
        "aaaaaaaaaaaaaaaa",  # 16 characters, as the old rule allowed
        "0123456789abcdef",
        "a" * 64,
        "abababababababababababababababababab",
    ],
)
def test_production_refuses_a_placeholder_or_short_secret_key(key):
    assert has_placeholder_secret({"SECRET_KEY": key})
    with pytest.raises(RuntimeError, match="WIDGET_SECRET_KEY"):
        check_production_settings(_prod(SECRET_KEY=key))


@pytest.mark.parametrize(
    "key", [secrets.token_hex(32), secrets.token_urlsafe(32)], ids=["token_hex", "token_urlsafe"]
)
def test_production_takes_a_key_of_32_random_bytes(key):
    assert not has_placeholder_secret({"SECRET_KEY": key})


def test_the_placeholder_key_is_allowed_in_dev_mode():
    check_production_settings(_prod(SECRET_KEY="dev", DEV=True))


def test_the_default_settings_are_refused_for_production():
    with pytest.raises(RuntimeError, match="WIDGET_SECRET_KEY"):
        check_production_settings(load_settings({}))


def test_several_workers_without_redis_are_refused():
    with pytest.raises(RuntimeError, match="WIDGET_REDIS_URL"):
        check_production_settings(_prod(WORKERS=2))


# -- the command line ---------------------------------------------------------------------------
class Cli:
    """Runs ``widget-server`` against a database in a temporary folder."""

    def __init__(self, tmp_path: Path):
        self.db_path = tmp_path / "cli.sqlite3"
        self.env = {
            "WIDGET_INSTANCE_PATH": str(tmp_path / "instance"),
            "WIDGET_DATABASE_URL": f"sqlite:///{self.db_path}",
            "WIDGET_SECRET_KEY": SECRET,
            "WIDGET_ALLOW_PRIVATE_NETWORKS": "1",
            "WIDGET_PUBLIC_URL": "https://widgets.example",
        }
        self.runner = CliRunner()

    def __call__(self, *args: str, input: str | None = None):
        return self.runner.invoke(main, list(args), env=self.env, input=input)

    def ok(self, *args: str, input: str | None = None) -> str:
        result = self(*args, input=input)
        assert result.exit_code == 0, result.output
        return result.output

    def query(self, sql: str, *params):
        with sqlite3.connect(self.db_path) as conn:
            return conn.execute(sql, params).fetchall()


@pytest.fixture
def cli(tmp_path):
    return Cli(tmp_path)


@pytest.fixture
def sim():
    running = start_sim_thread({"CLIENT_ID": SIM_CLIENT_ID, "SIGN_KEY": SIM_SIGN_KEY})
    yield running
    running.stop()


@pytest.fixture
def cli_with_pbx(cli, sim):
    """An initialised database with an owner and a synced PBX account (id 1)."""
    cli.ok("init-db")
    cli.ok("create-owner", "owner@shop.example", input="correct horse battery\n")
    cli.ok(
        "add-pbx",
        "--owner",
        "owner@shop.example",
        "--api-url",
        sim.url,
        "--client-id",
        SIM_CLIENT_ID,
        "--sign-key",
        SIM_SIGN_KEY,
        "--domain",
        "demo.cloudpbx.rt.ru",
    )
    cli.ok("sync-groups", "1")
    return cli


def test_init_db_can_be_run_twice(cli):
    assert "up to date" in cli.ok("init-db")
    assert "up to date" in cli.ok("init-db")
    tables = {row[0] for row in cli.query("SELECT name FROM sqlite_master WHERE type='table'")}
    assert {"owners", "pbx_accounts", "widgets", "callback_requests", "call_events"} <= tables


def test_create_owner_reads_the_password_from_stdin(cli):
    cli.ok("init-db")
    output = cli.ok("create-owner", "Owner@Shop.Example", input="correct horse battery\n")
    assert "owner@shop.example created" in output
    [(email, password_hash)] = cli.query("SELECT email, password_hash FROM owners")
    assert email == "owner@shop.example"
    assert password_hash.startswith("$argon2")
    assert "correct horse" not in password_hash


def test_a_too_short_password_is_refused_with_a_clear_error(cli):
    cli.ok("init-db")
    result = cli("create-owner", "owner@shop.example", input="short\n")
    assert result.exit_code != 0
    assert "at least 8 characters" in result.output
    assert "Traceback" not in result.output
    assert cli.query("SELECT count(*) FROM owners") == [(0,)]


def test_the_same_owner_cannot_be_created_twice(cli):
    cli.ok("init-db")
    cli.ok("create-owner", "owner@shop.example", input="correct horse battery\n")
    result = cli("create-owner", "owner@shop.example", input="another password\n")
    assert result.exit_code != 0
    assert "already exists" in result.output


def test_add_pbx_prints_the_account_id_and_the_webhook_url(cli):
    cli.ok("init-db")
    cli.ok("create-owner", "owner@shop.example", input="correct horse battery\n")
    output = cli.ok(
        "add-pbx",
        "--owner",
        "owner@shop.example",
        "--api-url",
        "https://api-test.cloudpbx.rt.ru/",
        "--client-id",
        "CLIENT0001",
        "--sign-key",
        "KEY0001",
    )
    assert re.search(r"PBX account id: 1\b", output)
    [(public_id, api_url, sign_key)] = cli.query(
        "SELECT public_id, api_url, sign_key FROM pbx_accounts WHERE id = 1"
    )
    url = re.search(r"(https?://\S+)", output.split("Webhook base URL", 1)[1]).group(1)
    assert url == f"https://widgets.example/pbx/{public_id}"
    assert url.endswith(f"/pbx/{public_id}")
    assert api_url == "https://api-test.cloudpbx.rt.ru"
    assert sign_key == "KEY0001"
    assert "KEY0001" not in output


def test_add_pbx_for_an_unknown_owner_fails_clearly(cli):
    cli.ok("init-db")
    result = cli(
        "add-pbx",
        "--owner",
        "nobody@shop.example",
        "--api-url",
        "https://api-test.cloudpbx.rt.ru",
        "--client-id",
        "C",
        "--sign-key",
        "K",
    )
    assert result.exit_code != 0
    assert "no owner" in result.output


def test_sync_groups_fetches_the_directory_from_the_pbx(cli, sim):
    cli.ok("init-db")
    cli.ok("create-owner", "owner@shop.example", input="correct horse battery\n")
    cli.ok(
        "add-pbx",
        "--owner",
        "owner@shop.example",
        "--api-url",
        sim.url,
        "--client-id",
        SIM_CLIENT_ID,
        "--sign-key",
        SIM_SIGN_KEY,
        "--domain",
        "demo.cloudpbx.rt.ru",
    )
    output = cli.ok("sync-groups", "1")
    assert "5 users, 2 groups." in output
    assert "group 101: Отдел продаж — members 201, 202, 203" in output
    assert "group 102: Сервис — members 204, 203" in output
    calls = [r for r in sim.state.requests_snapshot() if r["method"] == "users_info"]
    assert len(calls) == 1 and calls[0]["signature_ok"] is True
    assert cli.query("SELECT pin FROM pbx_groups ORDER BY pin") == [("101",), ("102",)]


def test_sync_groups_with_a_wrong_key_reports_what_the_pbx_said(cli, sim):
    cli.ok("init-db")
    cli.ok("create-owner", "owner@shop.example", input="correct horse battery\n")
    cli.ok(
        "add-pbx",
        "--owner",
        "owner@shop.example",
        "--api-url",
        sim.url,
        "--client-id",
        SIM_CLIENT_ID,
        "--sign-key",
        "WRONG-KEY",
    )
    result = cli("sync-groups", "1")
    assert result.exit_code != 0
    assert "the PBX said" in result.output and "http-403" in result.output


def test_add_widget_prints_the_key_and_all_three_snippets(cli_with_pbx):
    output = cli_with_pbx.ok(
        "add-widget",
        "--pbx",
        "1",
        "--origin",
        "https://Shop.Example/",
        "--group",
        "101=Продажи",
        "--group",
        "102",
    )
    key = re.search(r"Widget key: (wk_[0-9a-f]+)", output).group(1)
    assert f'data-widget="{key}"' in output
    assert 'src="https://widgets.example/embed.js"' in output
    pinned = re.search(r'<script[^>]*integrity="sha384-[A-Za-z0-9+/=]+"[^>]*>', output)
    assert pinned and f'data-widget="{key}"' in pinned.group(0)
    assert 'crossorigin="anonymous"' in pinned.group(0)
    after_load = re.search(r"<script>\(function\(w,d\).*?</script>", output)
    assert after_load and f'"data-widget","{key}"' in after_load.group(0)
    assert 's.src="https://widgets.example/embed.js"' in after_load.group(0)
    [(origins,)] = cli_with_pbx.query("SELECT origins FROM widgets WHERE public_key = ?", key)
    assert origins == '["https://shop.example"]'
    labels = cli_with_pbx.query("SELECT label FROM widget_groups ORDER BY position")
    assert labels == [("Продажи",), ("Сервис",)]


@pytest.mark.parametrize(
    ("origin", "message"),
    [
        ("shop.example", "is not a site address"),
        ("ftp://shop.example", "is not a site address"),
        ("https://shop.example/catalog", "must be only scheme and host"),
    ],
)
def test_add_widget_with_a_bad_origin_fails_with_a_clear_message(cli_with_pbx, origin, message):
    result = cli_with_pbx("add-widget", "--pbx", "1", "--origin", origin, "--group", "101")
    assert result.exit_code != 0
    assert message in result.output
    assert "Traceback" not in result.output
    assert cli_with_pbx.query("SELECT count(*) FROM widgets") == [(0,)]


def test_add_widget_with_an_unknown_group_pin_fails_with_a_clear_message(cli_with_pbx):
    result = cli_with_pbx(
        "add-widget", "--pbx", "1", "--origin", "https://shop.example", "--group", "999"
    )
    assert result.exit_code != 0
    assert "group 999 is not on this PBX" in result.output
    assert "101, 102" in result.output
    assert cli_with_pbx.query("SELECT count(*) FROM widgets") == [(0,)]


def test_add_widget_for_an_unknown_pbx_fails_with_a_clear_message(cli_with_pbx):
    result = cli_with_pbx(
        "add-widget", "--pbx", "7", "--origin", "https://shop.example", "--group", "101"
    )
    assert result.exit_code != 0
    assert "no PBX account 7" in result.output


def test_a_malformed_setting_makes_the_command_fail_with_its_name(cli):
    cli.env["WIDGET_WORKERS"] = "many"
    result = cli("init-db")
    assert result.exit_code != 0
    assert "WIDGET_WORKERS" in result.output
    assert "Traceback" not in result.output


def _widget_key(cli) -> str:
    output = cli.ok(
        "add-widget", "--pbx", "1", "--origin", "https://shop.example", "--group", "101"
    )
    return re.search(r"Widget key: (wk_[0-9a-f]+)", output).group(1)


def test_set_limits_refuses_a_limit_no_stricter_than_the_installations_as_the_config_page_does(
    cli_with_pbx, monkeypatch
):
    key = _widget_key(cli_with_pbx)
    # What the config page's form is told for the same value (setup.check_own_limit).
    for name, value in cli_with_pbx.env.items():
        monkeypatch.setenv(name, value)
    app = create_app({"TESTING": True})
    with app.app_context(), pytest.raises(LooserLimitError) as refused:
        check_own_limit("per_number", "5/minute")

    result = cli_with_pbx("set-limits", "--widget", key, "--per-number", "5/minute")

    assert result.exit_code != 0
    assert f"Error: --per-number {refused.value}\n" in result.output
    assert "not stricter than the installation's" in result.output
    assert cli_with_pbx.query("SELECT limits FROM widgets") == [("{}",)]  # unchanged


def test_set_limits_still_takes_a_stricter_limit_and_set_countries_a_known_country(cli_with_pbx):
    key = _widget_key(cli_with_pbx)
    output = cli_with_pbx.ok("set-limits", "--widget", key, "--per-number", "1/day")
    assert f"Widget {key}: own limits per number 1/day" in output
    output = cli_with_pbx.ok("set-countries", "--widget", key, "kz=20")
    assert "calls Russian numbers and KZ (up to 20 a day)." in output
    refused = cli_with_pbx("set-countries", "--widget", key, "RU=5")
    assert refused.exit_code != 0 and "a country code other than RU" in refused.output
    assert cli_with_pbx.query("SELECT limits, countries FROM widgets") == [
        ('{"per_number": "1/day"}', '{"KZ": 20}')
    ]


def test_a_widget_command_for_an_unknown_widget_says_so(cli_with_pbx):
    for args in (["set-limits", "--reset"], ["set-countries", "--none"], ["set-hours"]):
        result = cli_with_pbx(*args, "--widget", "wk_nope")
        assert result.exit_code != 0
        assert "no widget wk_nope" in result.output and "Traceback" not in result.output


def test_help_answers_without_loading_the_database_layer():
    script = (
        "import sys\n"
        "from click.testing import CliRunner\n"
        "from widget_server.ops.cli import main\n"
        "result = CliRunner().invoke(main, ['--help'])\n"
        "assert result.exit_code == 0 and 'set-notifications' in result.output\n"
        "print(sorted(m for m in ('sqlalchemy', 'argon2', 'widget_server.models') "
        "if m in sys.modules))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=60, check=True
    )
    assert done.stdout.strip() == "[]"


# Owners' deployments and docs/deploy call these: a rename or a lost option breaks them.
COMMANDS = {
    "init-db": set(),
    "create-owner": {"--admin"},
    "add-pbx": {"--owner", "--api-url", "--client-id", "--sign-key", "--domain", "--ca-bundle"},
    "sync-groups": set(),
    "add-widget": {
        "--pbx",
        "--origin",
        "--group",
        "--name",
        "--language",
        "--policy-url",
        "--ring-strategy",
        "--ring-timeout",
    },
    "set-hours": {
        "--widget",
        "--timezone",
        "--day",
        "--always-open",
        "--default-hours",
        "--day-off",
        "--clear-days-off",
        "--public-holidays",
        "--no-public-holidays",
    },
    "set-notifications": {
        "--owner",
        "--email",
        "--no-email",
        "--webhook-url",
        "--no-webhook",
        "--digest",
        "--no-digest",
        "--retention-days",
    },
    "forget-number": {"--owner"},
    "set-limits": {"--widget", "--per-number", "--cap", "--reset"},
    "set-countries": {"--widget", "--none"},
    "block": {"--owner"},
    "unblock": {"--owner"},
    "opt-in": set(),
    "report-junk": {"--owner"},
    "run": {"--host", "--port"},
    "worker": set(),
    "pbx-sim": {"--host", "--port"},
    "pbx-reconcile": {"--day", "--wait"},
    "pbx-check": {"--phone", "--wait", "--lang"},
    "demo": {"--service-port", "--shop-port", "--sim-port"},
}


def test_every_command_keeps_its_name_and_options():
    options = {
        name: {
            opt
            for param in command.params
            for opt in (*param.opts, *param.secondary_opts)
            if opt.startswith("--")
        }
        for name, command in main.commands.items()
    }
    assert options == COMMANDS
