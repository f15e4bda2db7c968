"""The CMS plugins' PHP: every file passes ``php -l``, and each module's own PHP tests pass.

1C-Bitrix cannot be installed here; its tests run the module against small stand-ins with
the real CMS signatures (embed/bitrix/tests). The WordPress plugin's settings logic is
unit-tested the same way (embed/wordpress/tests); the plugin as a whole runs in a real
WordPress in test_plugin_wordpress.py. The OpenCart extension runs in a real OpenCart 4.0.2.3
in test_plugin_opencart.py; its stand-in tests (embed/opencart/tests) keep what that does not
cover: the event and form of the older 4.0 releases, refused values and escaping.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

EMBED = Path(__file__).resolve().parent.parent / "embed"
PHP_FILES = sorted(
    p for cms in ("wordpress", "bitrix", "opencart") for p in (EMBED / cms).rglob("*.php")
)


def php(*args: str) -> subprocess.CompletedProcess:
    assert shutil.which("php"), "PHP is needed: sudo .ci/setup.sh"
    return subprocess.run(["php", *args], capture_output=True, text=True, timeout=120)


def test_there_are_php_files_of_all_three_plugins_to_check():
    folders = {p.relative_to(EMBED).parts[0] for p in PHP_FILES}
    assert folders == {"wordpress", "bitrix", "opencart"}
    assert len(PHP_FILES) >= 20


@pytest.mark.php
@pytest.mark.parametrize("path", PHP_FILES, ids=lambda p: str(p.relative_to(EMBED)))
def test_every_php_file_of_the_plugins_passes_php_lint(path):
    done = php("-l", str(path))
    assert done.returncode == 0, done.stdout + done.stderr


@pytest.mark.php
def test_the_wordpress_plugin_validates_settings_and_excludes_pages():
    done = php(str(EMBED / "wordpress/tests/run.php"))
    assert done.returncode == 0, done.stdout + done.stderr
    assert done.stdout.startswith("OK ")


@pytest.mark.php
def test_the_bitrix_module_installs_saves_its_settings_and_adds_the_script():
    done = php(str(EMBED / "bitrix/tests/run.php"))
    assert done.returncode == 0, done.stdout + done.stderr
    assert done.stdout.startswith("OK ")


@pytest.mark.php
# 4.0.0.0 adds events field by field, 4.0.1.x from an array; both join route and method with "|".
@pytest.mark.parametrize("version", ["4.0.0.0", "4.0.1.1"])
def test_the_opencart_extension_registers_its_event_and_refuses_bad_settings_in_older_releases(
    version,
):
    done = php(str(EMBED / "opencart/tests/run.php"), version)
    assert done.returncode == 0, done.stdout + done.stderr
    assert done.stdout.startswith(f"OK {version} ")


@pytest.mark.php
def test_wordpress_plugin_files_refuse_direct_access():
    plugin = EMBED / "wordpress/callback-widget"
    for path in plugin.rglob("*.php"):
        text = path.read_text("utf-8")
        if path.name == "uninstall.php":
            assert "defined( 'WP_UNINSTALL_PLUGIN' ) || exit;" in text
        elif path.name != "index.php":
            assert "defined( 'ABSPATH' ) || exit;" in text, path
        if path.name != "index.php":
            done = php("-d", "display_errors=1", str(path))
            assert done.returncode == 0 and done.stdout == "", (path, done.stdout + done.stderr)


@pytest.mark.php
def test_bitrix_pages_refuse_direct_access():
    done = php("-d", "display_errors=1", str(EMBED / "bitrix/widgetserver.callback/options.php"))
    assert done.stdout == ""
