"""The service's front page: what runs here and where to look next."""

from __future__ import annotations

from flask import Blueprint, current_app, render_template

from .. import __version__

bp = Blueprint("home", __name__)


@bp.get("/")
def index():
    """A plain page for whoever opens the service's address."""
    return render_template(
        "home.html", version=__version__, public_url=current_app.config["PUBLIC_URL"]
    )
