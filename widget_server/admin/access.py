"""Who may see what: sign-in required, admins only, and owner-scoped lookups (404 otherwise)."""

from __future__ import annotations

import hashlib
import hmac
from functools import wraps

from flask import abort, current_app, flash, g, redirect, request, url_for

from ..extensions import db
from .i18n import _

# The largest id an INTEGER column holds (PostgreSQL's is 32-bit): a larger number in
# an address names nothing, and the database would refuse the query itself.
MAX_ID = 2**31 - 1


def password_stamp(owner) -> str:
    """A short keyed digest of the owner's password state.

    Sessions and reset links carry it; any password change gives a new one, so
    every session and link issued before the change stops working at once.
    """
    state = f"{owner.id}:{owner.password_hash}:{owner.password_changed_at}"
    key = str(current_app.config["SECRET_KEY"]).encode()
    return hmac.new(key, state.encode(), hashlib.sha256).hexdigest()[:24]


def login_required(view):
    @wraps(view)
    def wrapped(*args, **kwargs):
        if g.owner is None:
            flash(_("Войдите, чтобы продолжить."), "info")
            return redirect(url_for("admin.sign_in", next=request.full_path.rstrip("?")))
        return view(*args, **kwargs)

    return wrapped


def admin_required(view):
    @login_required
    @wraps(view)
    def wrapped(*args, **kwargs):
        if not g.owner.is_admin:
            abort(404)  # the page's existence is not advertised to owners
        return view(*args, **kwargs)

    return wrapped


def owned_or_404(model, object_id):
    """The signed-in owner's object with this id; another owner's answers 404, like a missing one."""
    obj = db.session.get(model, object_id) if 0 < object_id <= MAX_ID else None
    if obj is None or _owner_id_of(obj) != g.owner.id:
        abort(404)
    return obj


def _owner_id_of(obj) -> int | None:
    # Widgets and PBX accounts carry owner_id; requests, attempts and groups reach
    # it through their widget or account.
    if hasattr(obj, "owner_id"):
        return obj.owner_id
    for parent in ("widget", "account", "request"):
        if hasattr(obj, parent):
            return _owner_id_of(getattr(obj, parent))
    raise TypeError(f"no owner known for {type(obj).__name__}")
