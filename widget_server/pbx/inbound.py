"""Answering ``get_number_info``: the PBX holds the inbound call until we answer.

Off (the default) the answer is immediate and empty, so the domain's own routing,
IVR and queues apply. On, a recent callback requester is routed to their last
operator, but only when the lookup is quick: a late answer holds the caller, so a
slow or failing database gives the empty answer instead.
"""

from __future__ import annotations

import logging
import time
from typing import Any

from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError

from ..dispatch.events import caller_info
from ..extensions import db
from ..models import PbxAccount
from ..phones import digits_of

log = logging.getLogger(__name__)

# The PBX's own wait is a platform setting nobody has published; stay well inside any.
LOOKUP_BUDGET_SECONDS = 0.5


def number_info(account: PbxAccount, payload: dict[str, Any]) -> dict[str, str]:
    """``displayName`` and ``PIN`` for the caller, or ``{}`` for normal routing."""
    if not account.route_inbound:
        return {}
    digits = digits_of(str(payload.get("from_number") or ""))
    if not digits:
        return {}
    started = time.monotonic()
    try:
        _bound_statements()
        info = caller_info(account, digits)
    except SQLAlchemyError as exc:
        db.session.rollback()
        log.warning("get_number_info lookup failed (%s): normal routing", exc.__class__.__name__)
        return {}
    elapsed = time.monotonic() - started
    if elapsed > LOOKUP_BUDGET_SECONDS:
        log.warning("get_number_info lookup took %.2f s: normal routing", elapsed)
        return {}
    if info.get("displayName"):
        # The name replaces what the operator's phone shows: keep the number in it.
        info["displayName"] = f"+{digits} · {info['displayName']}"
    return info


def _bound_statements() -> None:
    """On PostgreSQL, cut off any statement of this lookup that runs past the budget."""
    if db.session.get_bind().dialect.name == "postgresql":
        ms = int(LOOKUP_BUDGET_SECONDS * 1000)
        db.session.execute(text(f"SET LOCAL statement_timeout = {ms}"))
