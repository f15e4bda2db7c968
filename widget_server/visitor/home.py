"""The service's front page: what runs here and where to look next."""

from __future__ import annotations

from flask import Blueprint, current_app, render_template

from ..version import __version__

bp = Blueprint("home", __name__)

# The page has no scripts, styles or frames of its own; nobody may frame it either.
CONTENT_SECURITY_POLICY = (
    "default-src 'none'; img-src 'self'; base-uri 'none'; form-action 'self'; "
    "frame-ancestors 'none'"
)


@bp.get("/")
def index():
    """A plain page for whoever opens the service's address."""
    html = render_template(
        "home.html", version=__version__, public_url=current_app.config["PUBLIC_URL"]
    )
    return html, {
        "Content-Security-Policy": CONTENT_SECURITY_POLICY,
        "X-Frame-Options": "DENY",
        "X-Content-Type-Options": "nosniff",
        "Referrer-Policy": "same-origin",
    }
