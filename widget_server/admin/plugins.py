"""The CMS plugins, downloadable from the widget page and pre-filled where the CMS allows.

The archive is built in memory per request from the plugin folders under ``EMBED_DIR``
(``embed/`` in a checkout, ``widget_server/_data/embed`` in the wheel), in the layout
``embed/build_plugins.py`` makes. WordPress and 1C-Bitrix read their settings' defaults
from a PHP array, so the service address and the widget key go in there: the widget
shows on the site as soon as the plugin is switched on. OpenCart keeps its settings in
its database only, so its archive is the plain one and the page says what to paste.
"""

from __future__ import annotations

import gzip
import io
import re
import tarfile
import zipfile
from dataclasses import dataclass
from pathlib import Path

from flask import Response, abort, current_app

from ..models import Widget
from .access import login_required, owned_or_404
from .blueprint import bp

FIXED_TIME = (2020, 1, 1, 0, 0, 0)
FIXED_EPOCH = 1577836800
SKIP_DIRS = {"tests", "__pycache__"}


@dataclass(frozen=True)
class Plugin:
    folder: str  # under EMBED_DIR
    prefix: str  # the folder inside the archive
    filename: str
    kind: str  # zip | tar.gz
    settings_file: str | None  # the PHP file whose defaults are pre-filled


PLUGINS = {
    "wordpress": Plugin(
        "wordpress/callback-widget",
        "callback-widget/",
        "callback-widget.zip",
        "zip",
        "includes/options.php",
    ),
    "bitrix": Plugin(
        "bitrix/widgetserver.callback",
        "widgetserver.callback/",
        "widgetserver.callback.tar.gz",
        "tar.gz",
        "lib/settings.php",
    ),
    "opencart": Plugin("opencart/callback_widget", "", "callback_widget.ocmod.zip", "zip", None),
}
_DEFAULT = re.compile(r"('(service_url|widget_key)'\s*=>\s*)''")


def available() -> dict[str, bool]:
    """Which plugins this installation can hand out (a wheel may ship without them)."""
    base = Path(current_app.config["EMBED_DIR"])
    return {cms: (base / plugin.folder).is_dir() for cms, plugin in PLUGINS.items()}


def _php_string(value: str) -> str:
    return "'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'"


def prefill(source: str, service_url: str, widget_key: str) -> str:
    """The settings file with the two defaults filled in (PHP single-quoted strings)."""
    values = {"service_url": service_url, "widget_key": widget_key}
    return _DEFAULT.sub(lambda m: m.group(1) + _php_string(values[m.group(2)]), source)


def _files(folder: Path) -> list[Path]:
    return sorted(
        p
        for p in folder.rglob("*")
        if p.is_file()
        and p.name != ".DS_Store"
        and not SKIP_DIRS.intersection(p.relative_to(folder).parts[:-1])
    )


def _entries(plugin: Plugin, widget: Widget) -> list[tuple[str, bytes]]:
    folder = Path(current_app.config["EMBED_DIR"]) / plugin.folder
    service = current_app.config["PUBLIC_URL"].rstrip("/")
    entries = []
    for path in _files(folder):
        relative = path.relative_to(folder).as_posix()
        data = path.read_bytes()
        if relative == plugin.settings_file:
            data = prefill(data.decode("utf-8"), service, widget.public_key).encode("utf-8")
        entries.append((plugin.prefix + relative, data))
    return entries


def archive(plugin: Plugin, widget: Widget) -> bytes:
    buffer = io.BytesIO()
    if plugin.kind == "zip":
        with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as out:
            for name, data in _entries(plugin, widget):
                info = zipfile.ZipInfo(name, FIXED_TIME)
                info.external_attr, info.compress_type = 0o644 << 16, zipfile.ZIP_DEFLATED
                out.writestr(info, data)
        return buffer.getvalue()
    with tarfile.open(fileobj=buffer, mode="w", format=tarfile.PAX_FORMAT) as out:
        for name, data in _entries(plugin, widget):
            info = tarfile.TarInfo(name)
            info.size, info.mtime, info.mode = len(data), FIXED_EPOCH, 0o644
            out.addfile(info, io.BytesIO(data))
    return gzip.compress(buffer.getvalue(), mtime=0)


@bp.get("/widgets/<int:widget_id>/plugins/<cms>")
@login_required
def widget_plugin(widget_id: int, cms: str):
    widget = owned_or_404(Widget, widget_id)
    plugin = PLUGINS.get(cms)
    if plugin is None or not available()[cms]:
        abort(404)
    kind = "application/zip" if plugin.kind == "zip" else "application/gzip"
    response = Response(archive(plugin, widget), mimetype=kind)
    response.headers["Content-Disposition"] = f'attachment; filename="{plugin.filename}"'
    return response


@bp.record_once
def _template_global(state) -> None:
    state.app.jinja_env.globals["plugins_available"] = available
