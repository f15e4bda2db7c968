"""Call recordings: checking that the PBX has one, and opening it for a listen.

``get_record`` links are one-time and bound to our IP, so none is kept: each
listen asks the PBX for a fresh one.
"""

from __future__ import annotations

import logging

import requests
from flask import current_app

from .. import outbound
from ..extensions import db
from ..models import CallAttempt
from ..pbx.client import PbxClient, PbxError, client_for, cut_off

log = logging.getLogger(__name__)

# A recording is streamed to the owner's browser as it comes: an hour of 8 kHz WAV is
# 58 MB. Its headers come within the outbound deadline, the whole file within
# RECORDING_SECONDS (a slow browser paces the download).
RECORDING_LIMIT = 100 * outbound.MB
RECORDING_SECONDS = 600.0


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
    return open_link(client, url)


def open_link(client: PbxClient, url: str) -> requests.Response:
    """GET a ``get_record`` link as a stream; the caller reads and closes it.

    :raise PbxError: when the file cannot be had (link used or expired, no recording,
        over ``RECORDING_LIMIT``), or the link points away from the PBX or at something
        that is not audio.
    """
    if not outbound.same_site(url, client.credentials.api_url):
        log.warning("get_record link to another host than the PBX API refused")
        raise PbxError(
            "the recording link points away from the PBX API",
            result="bad-response",
            retryable=False,
        )
    try:
        response = client.fetch(
            "GET", url, stream=True, max_bytes=RECORDING_LIMIT, stream_for=RECORDING_SECONDS
        )
    except outbound.InvalidIPAddress:
        raise PbxError(
            "the recording link is not a public internet address",
            result="bad-response",
            retryable=False,
        ) from None
    except (outbound.DeadlineExceeded, outbound.AnswerTooLarge) as exc:
        raise cut_off(exc, "the recording link") from None
    except requests.exceptions.RequestException as exc:
        raise PbxError(
            f"recording download failed ({exc.__class__.__name__})",
            result="connection",
            retryable=True,
        ) from None
    if response.status_code != 200:
        response.close()
        raise PbxError(
            f"recording download answered HTTP {response.status_code}",
            result=f"http-{response.status_code}",
            retryable=False,
            http_status=response.status_code,
        )
    kind = response.headers.get("Content-Type", "").split(";")[0].strip().lower()
    if not kind.startswith("audio/"):
        response.close()
        raise PbxError(
            f"the recording link answered {kind or 'no type'}, not audio",
            result="bad-response",
            retryable=False,
        )
    return response
