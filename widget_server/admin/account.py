"""The owner's own account: password change, phone for test calls, language, notifications."""

from __future__ import annotations

from flask import render_template

from . import bp
from .access import login_required


@bp.get("/account")
@login_required
def account():
    # Placeholder until this section is built.
    return render_template("admin/placeholder.html", title="Профиль")
