"""The plugins' installable archives: layouts each CMS's installer expects, and their contents."""

from __future__ import annotations

import gettext
import json
import re
import shutil
import subprocess
import sys
import tarfile
import zipfile
from pathlib import Path

import pytest

from embed.build_plugins import build, plugin_version

ROOT = Path(__file__).resolve().parent.parent
WP = ROOT / "embed/wordpress/callback-widget"
XGETTEXT_KEYWORDS = ["__", "_e", "esc_html__", "esc_html_e", "esc_attr__", "esc_attr_e", "_x:1,2c"]


@pytest.fixture(scope="module")
def archives(tmp_path_factory):
    return build(tmp_path_factory.mktemp("plugins"))


def test_the_wordpress_zip_has_the_plugin_folder_at_its_root(archives):
    names = zipfile.ZipFile(archives["wordpress"]).namelist()
    assert archives["wordpress"].name == f"callback-widget-{plugin_version()}.zip"
    assert all(n.startswith("callback-widget/") for n in names)
    for needed in (
        "callback-widget/callback-widget.php",
        "callback-widget/uninstall.php",
        "callback-widget/readme.txt",
        "callback-widget/assets/triggers.js",
        "callback-widget/languages/callback-widget.pot",
        "callback-widget/languages/callback-widget-ru_RU.mo",
    ):
        assert needed in names
    header = zipfile.ZipFile(archives["wordpress"]).read("callback-widget/callback-widget.php")
    assert b"Plugin Name:       Callback Widget" in header
    assert b"Text Domain:       callback-widget" in header


def test_the_bitrix_archive_holds_the_module_folder_in_the_standard_layout(archives):
    with tarfile.open(archives["bitrix"]) as archive:
        names = archive.getnames()
        assert all(n.startswith("widgetserver.callback/") for n in names)
        for needed in (
            "install/index.php",
            "install/version.php",
            "include.php",
            "options.php",
            "lang/ru/options.php",
            "lang/en/options.php",
            "lang/ru/install/index.php",
            "lang/en/install/index.php",
        ):
            assert f"widgetserver.callback/{needed}" in names
        version = archive.extractfile("widgetserver.callback/install/version.php").read()
    assert f"'VERSION' => '{plugin_version()}'".encode() in version
    assert not any("/tests/" in n for n in names)


def test_the_opencart_archive_is_an_ocmod_zip_with_install_json_at_its_root(archives):
    assert archives["opencart"].name == "callback_widget.ocmod.zip"
    archive = zipfile.ZipFile(archives["opencart"])
    names = archive.namelist()
    assert json.loads(archive.read("install.json"))["version"] == plugin_version()
    for needed in (
        "admin/controller/module/callback_widget.php",
        "admin/view/template/module/callback_widget.twig",
        "admin/language/en-gb/module/callback_widget.php",
        "admin/language/ru-ru/module/callback_widget.php",
        "catalog/controller/module/callback_widget.php",
    ):
        assert needed in names
    assert {n.split("/")[0] for n in names} == {"install.json", "admin", "catalog"}


def test_the_archives_are_reproducible(archives, tmp_path):
    again = build(tmp_path)
    for cms, path in archives.items():
        assert again[cms].read_bytes() == path.read_bytes(), cms


def test_every_plugin_carries_the_same_version():
    version = plugin_version()
    assert f"define( 'CALLBACK_WIDGET_VERSION', '{version}' );" in (
        WP / "callback-widget.php"
    ).read_text("utf-8")
    assert f"Stable tag: {version}" in (WP / "readme.txt").read_text("utf-8")
    assert f"'VERSION' => '{version}'" in (
        ROOT / "embed/bitrix/widgetserver.callback/install/version.php"
    ).read_text("utf-8")


def test_the_russian_translation_covers_every_string_of_the_pot():
    pot = (WP / "languages/callback-widget.pot").read_text("utf-8")
    msgids = [
        "".join(re.findall(r'"(.*)"', block)).replace('\\"', '"')
        for block in re.findall(r'^msgid ((?:".*"\n)+)msgstr', pot, re.M)
    ]
    msgids = [m for m in msgids if m]
    with (WP / "languages/callback-widget-ru_RU.mo").open("rb") as mo:
        catalog = gettext.GNUTranslations(mo)
    assert len(msgids) >= 15
    for msgid in msgids:
        assert catalog.gettext(msgid) != msgid, msgid
    assert catalog.gettext("Call me back") == "Перезвоните мне"


@pytest.mark.gettext
def test_the_pot_lists_every_translatable_string_of_the_plugin():
    assert shutil.which("xgettext"), "gettext is needed: sudo .ci/setup.sh"
    sources = sorted(str(p.relative_to(WP)) for p in WP.rglob("*.php"))
    keywords = [f"--keyword={k}" for k in XGETTEXT_KEYWORDS]
    fresh = subprocess.run(
        ["xgettext", "--language=PHP", "--from-code=UTF-8", "--omit-header", *keywords, "-o", "-"]
        + sources,
        cwd=WP,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    ids = re.compile(r"^msgid ((?:\".*\"\n)+)", re.M)
    pot = (WP / "languages/callback-widget.pot").read_text("utf-8")
    assert set(ids.findall(fresh)) <= set(ids.findall(pot))


def test_make_plugins_runs_the_build_script(tmp_path):
    dry = subprocess.run(
        ["make", "-n", "plugins"], cwd=ROOT, capture_output=True, text=True, check=True
    )
    assert "embed/build_plugins.py" in dry.stdout
    done = subprocess.run(
        [sys.executable, "embed/build_plugins.py", "--out", str(tmp_path)],
        cwd=ROOT,
        capture_output=True,
        text=True,
    )
    assert done.returncode == 0, done.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(
        [
            f"callback-widget-{plugin_version()}.zip",
            f"widgetserver.callback-{plugin_version()}.tar.gz",
            "callback_widget.ocmod.zip",
        ]
    )
