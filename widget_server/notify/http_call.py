"""One JSON call to a channel's API (Telegram, Bitrix24, amoCRM), its failures in words.

Owner-entered addresses (a Bitrix24 portal, an amoCRM account) go through the
outbound policy (``outbound.session``: public addresses only, pinned, no redirects).
Every call, the installation's own Telegram API too, has the outbound deadline over
the whole call and takes an answer of at most ``outbound.ANSWER_LIMIT`` (1 MB).
The error text never carries the URL: a Telegram URL holds the bot token and a
Bitrix24 webhook URL its secret code.
"""

from __future__ import annotations

from typing import Any

import requests
from flask import current_app

from .. import outbound
from .channel_error import ChannelError


def timeout() -> tuple[float, float]:
    seconds = float(current_app.config.get("CHANNEL_TIMEOUT") or 10.0)
    return (min(seconds, 5.0), seconds)


def call_json(
    method: str,
    url: str,
    *,
    owner_url: bool,
    json: Any = None,
    headers: dict[str, str] | None = None,
) -> tuple[int, Any]:
    """Send one request; return (HTTP status, parsed JSON body or None).

    :raise ChannelError: ``timeout``, ``unreachable``, ``not_allowed`` or ``http`` (an
        answer over the cap); never with the URL.
    """
    http = outbound.session(timeout(), public_only=owner_url)
    try:
        with http:
            response = http.request(
                method, url, json=json, headers=headers, timeout=timeout(), allow_redirects=False
            )
            status, body = response.status_code, _body(response)
    except outbound.InvalidIPAddress:
        raise ChannelError("not_allowed") from None
    except outbound.AnswerTooLarge as exc:
        raise ChannelError(
            "http", detail=f"the answer is larger than {outbound.in_words(exc.limit)}"
        ) from None
    except requests.Timeout:  # the outbound deadline too
        raise ChannelError("timeout") from None
    except requests.RequestException as exc:
        raise ChannelError("unreachable", detail=type(exc).__name__) from None
    return status, body


def _body(response: requests.Response) -> Any:
    try:
        return response.json()
    except ValueError:
        return None
