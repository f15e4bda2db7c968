"""The requests log: filters, each request's timeline, recordings, CSV export, report as junk."""

from __future__ import annotations

from flask import render_template

from . import bp
from .access import login_required


@bp.get("/requests")
@login_required
def requests_list():
    # Placeholder until this section is built.
    return render_template("admin/placeholder.html", title="Заявки")
