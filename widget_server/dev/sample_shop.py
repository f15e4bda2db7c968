"""The demo's sample shop: another origin whose pages carry only the embed snippet.

It shows the demo's widget, or any widget of the installation named by ``?key=`` (the
widget page's "Открыть на демо-магазине"): the service lets the shop's origin show any
widget in a demo installation only (``dev/installation.py``).
"""

from __future__ import annotations

import re

from flask import Flask, Response, render_template, request

from ..config import resource_dir
from ..visitor.embed import after_load as after_load_snippet

SHOP_CSS = """
body{margin:0;font:16px/1.5 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;color:#1d2329;background:#f6f7f9}
header{background:#1d2329;color:#fff;padding:16px 24px;display:flex;justify-content:space-between;align-items:center}
header a{color:#fff}
main{max-width:960px;margin:0 auto;padding:24px}
.grid{display:grid;grid-template-columns:repeat(auto-fill,minmax(220px,1fr));gap:16px}
.card{background:#fff;border-radius:12px;padding:16px;box-shadow:0 1px 3px rgba(0,0,0,.08)}
.price{font-weight:700;font-size:20px}
.own-button{background:none;color:#fff;border:2px solid #fff;border-radius:8px;padding:8px 14px;font:inherit;cursor:pointer}
footer{max-width:960px;margin:0 auto;padding:24px;color:#59636e;font-size:14px}
.shown-key{font-size:14px;color:#59636e;overflow-wrap:anywhere}
"""
# A widget key as the service makes them (``wk_`` and URL-safe characters); anything else in
# ``?key=`` is ignored and the demo's own widget shown.
WIDGET_KEY = re.compile(r"^[A-Za-z0-9_-]{1,64}$")


def create_shop_app(
    service_url: str, widget_key: str, *, strict_csp_paths: tuple[str, ...] = ("/csp",)
) -> Flask:
    """A tiny shop site embedding the widget from ``service_url``."""
    app = Flask("sample_shop", template_folder=str(resource_dir("templates")))
    service_url = service_url.rstrip("/")

    def page(strict: bool, after_load: bool = False) -> Response:
        asked = request.args.get("key", "")
        key = asked if WIDGET_KEY.match(asked) else widget_key
        # after_load: the config page's after-load snippet instead of the plain tag.
        snippet = after_load_snippet(f"{service_url}/embed.js", key)
        html = render_template(
            "sample_shop/index.html",
            service_url=service_url,
            widget_key=key,
            other_widget=key != widget_key,
            strict=strict,
            after_load_snippet=snippet if after_load else None,
        )
        response = Response(html, mimetype="text/html")
        if strict:
            # Only our script and API origins: no inline script or style anywhere.
            response.headers["Content-Security-Policy"] = (
                f"default-src 'none'; script-src {service_url}; connect-src {service_url}; "
                "style-src 'self'; img-src 'self' data:; base-uri 'none'; form-action 'none'"
            )
        return response

    @app.get("/")
    def index():
        return page(strict=False)

    @app.get("/after-load")
    def after_load():
        return page(strict=False, after_load=True)

    for path in strict_csp_paths:
        app.add_url_rule(path, f"strict{path}", lambda: page(strict=True))

    @app.get("/shop.css")
    def css():
        return Response(SHOP_CSS, mimetype="text/css")

    @app.get("/favicon.ico")
    def favicon():
        return Response(status=204)

    @app.get("/privacy")
    def privacy():
        return render_template("sample_shop/privacy.html")

    return app
