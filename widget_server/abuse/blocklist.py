"""Numbers never to call: opt-outs (everywhere) and owners' block lists (their widgets).

Only a keyed hash of a number is stored, so the list cannot be read back as numbers.
A blocked number's requests are still stored and answered like any other, but held:
never dialled (``abuse/decide.py``).
"""

from __future__ import annotations

from flask import current_app
from sqlalchemy import delete, or_, select

from ..extensions import db
from ..models import CallbackRequest, NumberBlock
from ..phones import number_key


def _hash(phone: str) -> str:
    return number_key(phone, current_app.config["SECRET_KEY"])


def _owner_clause(owner_id: int | None):
    return NumberBlock.owner_id.is_(None) if owner_id is None else NumberBlock.owner_id == owner_id


def is_blocked(owner_id: int, phone: str) -> bool:
    """True when the number opted out, or the owner blocked it."""
    return (
        db.session.scalar(
            select(NumberBlock.id)
            .where(
                NumberBlock.number_hash == _hash(phone),
                or_(NumberBlock.owner_id.is_(None), NumberBlock.owner_id == owner_id),
            )
            .limit(1)
        )
        is not None
    )


def block(phone: str, *, owner_id: int | None, source: str) -> bool:
    """Block a number everywhere (``owner_id`` None) or for one owner; False if it already was."""
    key = _hash(phone)
    if db.session.scalar(
        select(NumberBlock.id).where(NumberBlock.number_hash == key, _owner_clause(owner_id))
    ):
        return False
    db.session.add(NumberBlock(number_hash=key, owner_id=owner_id, source=source))
    db.session.commit()
    return True


def unblock(phone: str, *, owner_id: int | None) -> int:
    """Lift a block; returns how many were lifted."""
    count = db.session.execute(
        delete(NumberBlock).where(NumberBlock.number_hash == _hash(phone), _owner_clause(owner_id))
    ).rowcount
    db.session.commit()
    return count


def report_junk(request_id: int, owner_id: int) -> CallbackRequest:
    """Put a request's number on its owner's block list."""
    req = db.session.get(CallbackRequest, request_id)
    if req is None or req.widget.owner_id != owner_id:
        raise LookupError(f"no request {request_id} for this owner")
    block(req.phone, owner_id=owner_id, source="junk")
    return req
