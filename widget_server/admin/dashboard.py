"""The owner's overview: requests per day, share connected, time to connect, missed requests, per widget."""

from __future__ import annotations

from flask import render_template

from . import bp
from .access import login_required


@bp.get("/")
@login_required
def dashboard():
    # Placeholder until this section is built.
    return render_template("admin/placeholder.html", title="Сводка")
