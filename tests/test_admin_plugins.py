"""The CMS plugins from the widget page: built per request, pre-filled where the CMS allows."""

from __future__ import annotations

import io
import subprocess
import tarfile
import zipfile

import pytest

from widget_server.extensions import db
from widget_server.models import Widget

from . import test_admin_widgets as widgets_page
from .test_admin_widgets import PUBLIC_URL, post_widget

app, client, account_id = widgets_page.app, widgets_page.client, widgets_page.account_id


@pytest.fixture
def widget(app, client, account_id):
    assert post_widget(client).status_code == 302
    with app.app_context():
        found = db.session.scalar(db.select(Widget))
        return found.id, found.public_key


def php_lint(source: bytes, tmp_path) -> None:
    path = tmp_path / "settings.php"
    path.write_bytes(source)
    done = subprocess.run(["php", "-l", str(path)], capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stdout + done.stderr


def test_the_widget_page_offers_the_three_plugins(client, widget):
    html = client.get(f"/admin/widgets/{widget[0]}").get_data(as_text=True)
    for cms in ("wordpress", "bitrix", "opencart"):
        assert f'href="/admin/widgets/{widget[0]}/plugins/{cms}"' in html
    assert f"ключ {widget[1]}" in html  # OpenCart: what to paste, in words


@pytest.mark.php
def test_the_wordpress_plugin_comes_with_the_service_and_the_key_filled_in(
    client, widget, tmp_path
):
    response = client.get(f"/admin/widgets/{widget[0]}/plugins/wordpress")
    assert response.status_code == 200
    assert 'filename="callback-widget.zip"' in response.headers["Content-Disposition"]
    with zipfile.ZipFile(io.BytesIO(response.data)) as archive:
        names = archive.namelist()
        options = archive.read("callback-widget/includes/options.php")
    assert "callback-widget/callback-widget.php" in names
    assert not [n for n in names if "/tests/" in n]
    assert f"'service_url' => '{PUBLIC_URL}'".encode() in options
    assert f"'widget_key'  => '{widget[1]}'".encode() in options
    php_lint(options, tmp_path)


@pytest.mark.php
def test_the_bitrix_module_comes_with_the_service_and_the_key_filled_in(client, widget, tmp_path):
    response = client.get(f"/admin/widgets/{widget[0]}/plugins/bitrix")
    assert response.status_code == 200
    with tarfile.open(fileobj=io.BytesIO(response.data), mode="r:gz") as archive:
        settings = archive.extractfile("widgetserver.callback/lib/settings.php").read()
    assert f"'service_url' => '{PUBLIC_URL}'".encode() in settings
    assert f"'widget_key' => '{widget[1]}'".encode() in settings
    php_lint(settings, tmp_path)


def test_the_opencart_extension_has_its_installer_layout(client, widget):
    response = client.get(f"/admin/widgets/{widget[0]}/plugins/opencart")
    with zipfile.ZipFile(io.BytesIO(response.data)) as archive:
        assert "install.json" in archive.namelist()


def test_another_owner_s_widget_or_an_unknown_cms_is_a_404(app, client, widget):
    assert client.get(f"/admin/widgets/{widget[0]}/plugins/joomla").status_code == 404
    assert client.get(f"/admin/widgets/{widget[0] + 1}/plugins/wordpress").status_code == 404
