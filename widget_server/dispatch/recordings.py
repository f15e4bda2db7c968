"""Call recordings: checking that the PBX has one, and opening it for a listen.

``get_record`` links are one-time and bound to our IP, so none is kept: each
listen asks the PBX for a fresh one.
"""

from __future__ import annotations

from flask import current_app

from ..extensions import db
from ..models import CallAttempt
from ..pbx.client import PbxError, client_for


def fetch_recording(attempt_id: int) -> None:
    """Check that a recorded call's file can be had (it may lag the end); raises to retry."""
    attempt = db.session.get(CallAttempt, attempt_id)
    if attempt is None or not attempt.session_id or attempt.recording == "available":
        return
    try:
        client_for(attempt.request.widget.pbx_account).get_record(
            attempt.session_id, current_app.config.get("EGRESS_IP")
        )
    except PbxError as exc:
        attempt.recording = "pending"
        db.session.commit()
        raise RuntimeError(f"recording not ready: {exc.message}") from None
    attempt.recording = "available"
    db.session.commit()


def open_recording(attempt: CallAttempt):
    """A fresh one-time ``get_record`` link for a call, opened as a stream.

    Returns the streaming ``requests.Response``; the caller closes it.

    :raise PbxError: the PBX has no recording (yet) or the download failed.
    """
    client = client_for(attempt.request.widget.pbx_account)
    url = client.get_record(attempt.session_id, current_app.config.get("EGRESS_IP"))
    return client.open_record(url)
