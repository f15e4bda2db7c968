"""Installation admins manage owners: list, create, reset, remove."""

from __future__ import annotations

from flask import render_template

from . import bp
from .access import admin_required


@bp.get("/users")
@admin_required
def users_list():
    # Placeholder until this section is built.
    return render_template("admin/placeholder.html", title="Пользователи")
