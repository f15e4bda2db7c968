"""Serving the embed script: ``/embed.js`` (latest) and a pinned, immutable copy for SRI."""

from __future__ import annotations

import base64
import hashlib
from functools import lru_cache
from pathlib import Path

from flask import Blueprint, Response, abort, current_app

from ..version import __version__

bp = Blueprint("embed", __name__)


@lru_cache(maxsize=4)
def _script(path: str, mtime: float) -> tuple[bytes, str]:
    data = Path(path).read_bytes()
    integrity = "sha384-" + base64.b64encode(hashlib.sha384(data).digest()).decode()
    return data, integrity


def widget_script() -> tuple[bytes, str]:
    """The widget's bytes and their Subresource Integrity hash."""
    path = Path(current_app.config["EMBED_DIR"]) / "widget.js"
    if not path.is_file():
        abort(404)
    return _script(str(path), path.stat().st_mtime)


def _serve(max_age: int, immutable: bool = False) -> Response:
    data, integrity = widget_script()
    response = Response(data, mimetype="text/javascript")
    cache = f"public, max-age={max_age}" + (", immutable" if immutable else "")
    response.headers["Cache-Control"] = cache
    # Any site may load the script (SRI with crossorigin needs CORS on it).
    response.headers["Access-Control-Allow-Origin"] = "*"
    response.headers["Cross-Origin-Resource-Policy"] = "cross-origin"
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["X-Widget-Integrity"] = integrity
    return response


@bp.get("/embed.js")
def latest():
    """The current widget, briefly cached so updates reach sites within minutes."""
    return _serve(300)


@bp.get(f"/embed/{__version__}/embed.js")
def pinned():
    """This release's widget, cacheable forever; its hash goes in the SRI snippet."""
    return _serve(31536000, immutable=True)


def snippets(public_url: str, widget_key: str) -> dict[str, str]:
    """The two embed snippets: always-latest, and pinned with SRI."""
    _data, integrity = widget_script()
    base = public_url.rstrip("/")
    latest_tag = f'<script async src="{base}/embed.js" data-widget="{widget_key}"></script>'
    pinned_tag = (
        f'<script async src="{base}/embed/{__version__}/embed.js" data-widget="{widget_key}" '
        f'integrity="{integrity}" crossorigin="anonymous"></script>'
    )
    return {"latest": latest_tag, "pinned": pinned_tag}
