"""Serving the built widget (``embed/dist``): the loader and the panel it loads on intent.

WhiteNoise answers these files ahead of Flask, as a CDN would: the gzip and brotli
copies the build made, ETag and 304, and cache headers by URL. ``/embed.js`` (the
latest loader) is cached briefly so updates reach sites within minutes; everything
under ``/embed/<version>/`` (the pinned loader, the content-hashed panel) forever.
"""

from __future__ import annotations

import base64
import hashlib
import json
from functools import lru_cache
from pathlib import Path

from flask import Blueprint, Flask, abort, current_app
from whitenoise import WhiteNoise

from ..version import __version__

bp = Blueprint("embed", __name__)

LATEST_MAX_AGE = 300
PINNED_PREFIX = f"/embed/{__version__}/"
LOADER = "embed.js"


def dist_dir(embed_dir: str | Path) -> Path:
    """Where ``npm run build`` in ``embed/`` writes the widget (packaged into the wheel)."""
    return Path(embed_dir) / "dist"


@lru_cache(maxsize=4)
def _integrity(path: str, mtime: float) -> str:
    digest = hashlib.sha384(Path(path).read_bytes()).digest()
    return "sha384-" + base64.b64encode(digest).decode()


def loader_integrity(embed_dir: str | Path) -> str:
    """The Subresource Integrity hash of the loader (which pins the panel's own hash)."""
    path = dist_dir(embed_dir) / LOADER
    if not path.is_file():
        raise FileNotFoundError(f"{path}: the widget is not built (run `make widget`)")
    return _integrity(str(path), path.stat().st_mtime)


@lru_cache(maxsize=64)
def _content_etag(path: str, mtime: float, size: int) -> str:
    return '"' + hashlib.sha256(Path(path).read_bytes()).hexdigest()[:32] + '"'


def _headers(headers, path: str, url: str) -> None:
    # From the bytes, not WhiteNoise's mtime and size: a wheel gives every file one fixed
    # mtime, so /embed.js of the next release, if no longer, would look unchanged.
    stat = Path(path).stat()
    headers["ETag"] = _content_etag(path, stat.st_mtime, stat.st_size)
    # Any site may load the widget; SRI with crossorigin needs CORS on it, and
    # Timing-Allow-Origin lets the page's own performance tools see its timings.
    headers["Access-Control-Allow-Origin"] = "*"
    headers["Cross-Origin-Resource-Policy"] = "cross-origin"
    headers["Timing-Allow-Origin"] = "*"
    headers["X-Content-Type-Options"] = "nosniff"
    if url.startswith(PINNED_PREFIX):
        headers["Cache-Control"] = "public, max-age=31536000, immutable"
    else:
        headers["Cache-Control"] = f"public, max-age={LATEST_MAX_AGE}"
    if url.endswith("/" + LOADER):
        headers["X-Widget-Integrity"] = _integrity(path, Path(path).stat().st_mtime)


def serve_built_widget(app: Flask) -> None:
    """Put WhiteNoise in front of the app for the built widget's files."""
    dist = dist_dir(app.config["EMBED_DIR"])
    static = WhiteNoise(app.wsgi_app, max_age=LATEST_MAX_AGE, add_headers_function=_headers)
    if (dist / LOADER).is_file():
        static.add_files(str(dist), prefix=PINNED_PREFIX)
        static.add_file_to_dictionary("/" + LOADER, str(dist / LOADER))
    app.wsgi_app = static  # type: ignore[method-assign]


@bp.get("/embed.js")
def latest():
    """The current loader. WhiteNoise answers it; Flask only when the widget is not built."""
    abort(404)


@bp.get(f"/embed/{__version__}/embed.js")
def pinned():
    """This release's loader, cacheable forever; its hash goes in the SRI snippet."""
    abort(404)


def after_load(src: str, widget_key: str, integrity: str = "") -> str:
    """The after-load snippet: a script that adds the loader's tag once the page has loaded.

    The page's own content has the network and the main thread to itself until it has loaded
    and painted; the loader is requested at the next idle moment (at the latest 2 s after the
    load event, so a page that is never idle still gets it; at once in a browser without
    requestIdleCallback), and Lighthouse's simulated LCP then leaves it out. The CMS
    plugins print the same script (embed/*), strings escaped alike.
    """

    def js(value: str) -> str:  # a JavaScript string that cannot end the script element
        quoted = json.dumps(value)
        return quoted.replace("<", "\\u003C").replace(">", "\\u003E").replace("&", "\\u0026")

    sets = f's.src={js(src)};s.setAttribute("data-widget",{js(widget_key)});'
    if integrity:
        sets += f's.integrity={js(integrity)};s.crossOrigin="anonymous";'
    return (
        '<script>(function(w,d){function load(){var s=d.createElement("script");s.async=true;'
        f"{sets}d.body.appendChild(s)}}"
        "function idle(){w.requestIdleCallback?"
        "w.requestIdleCallback(load,{timeout:2000}):setTimeout(load)}"
        'd.readyState==="complete"?idle():w.addEventListener("load",idle)})'
        "(window,document)</script>"
    )


def snippets(public_url: str, widget_key: str) -> dict[str, str]:
    """The embed snippets: always-latest, pinned with SRI, and latest loaded after the page."""
    integrity = loader_integrity(current_app.config["EMBED_DIR"])
    base = public_url.rstrip("/")
    latest_tag = f'<script async src="{base}/embed.js" data-widget="{widget_key}"></script>'
    pinned_tag = (
        f'<script async src="{base}/embed/{__version__}/embed.js" data-widget="{widget_key}" '
        f'integrity="{integrity}" crossorigin="anonymous"></script>'
    )
    later = after_load(f"{base}/embed.js", widget_key)
    return {"latest": latest_tag, "pinned": pinned_tag, "after_load": later}
