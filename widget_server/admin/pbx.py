"""PBX connection: credentials, connection check, webhook address, group and user sync."""

from __future__ import annotations

from flask import render_template

from . import bp
from .access import login_required


@bp.get("/pbx")
@login_required
def pbx_list():
    # Placeholder until this section is built.
    return render_template("admin/placeholder.html", title="АТС")
