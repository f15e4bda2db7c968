"""Config page sessions: started on sign-in, ended on the server at sign-out.

The session lives in a signed cookie; each carries a random id, and signing out
records that id until the cookie would have expired anyway, so a copy of the
cookie stops working at once.
"""

from __future__ import annotations

import secrets
import time

from flask import current_app, g, session
from sqlalchemy import delete

from ..extensions import db
from ..models import EndedSession, Owner, utcnow
from .access import password_stamp


def start_session(owner: Owner) -> None:
    """A fresh session (new id and CSRF token) for this owner, keeping the language."""
    lang = session.get("lang")
    session.clear()
    session["owner_id"] = owner.id
    session["sid"] = secrets.token_urlsafe(18)
    session["stamp"] = password_stamp(owner)
    session["auth_at"] = time.time()
    if lang:
        session["lang"] = lang
    session.permanent = True
    g.owner = owner


def is_live(owner: Owner | None) -> bool:
    """The cookie's session belongs to this owner, predates no password change, and
    was not signed out (a session without an id predates sign-out on the server)."""
    sid = session.get("sid")
    return (
        owner is not None
        and session.get("stamp") == password_stamp(owner)
        and bool(sid)
        and db.session.get(EndedSession, sid) is None
    )


def end_session() -> None:
    """Sign out: this session's id is refused from now on; the language is kept."""
    sid = session.get("sid")
    if sid:
        now = utcnow()
        db.session.execute(delete(EndedSession).where(EndedSession.expires_at < now))
        lifetime = current_app.permanent_session_lifetime
        db.session.merge(EndedSession(sid=sid, expires_at=now + lifetime))
        db.session.commit()
    lang = session.get("lang")
    session.clear()
    if lang:
        session["lang"] = lang
