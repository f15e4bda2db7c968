"""Widgets: create, edit with a live preview, pause, delete, embed snippet, test call."""

from __future__ import annotations

from flask import render_template

from . import bp
from .access import login_required


@bp.get("/widgets")
@login_required
def widgets_list():
    # Placeholder until this section is built.
    return render_template("admin/placeholder.html", title="Виджеты")
