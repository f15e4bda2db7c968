"""The one policy for every address a site owner supplies: webhooks today, and the PBX
API address, its ``get_record`` links and the CRM and messenger integrations.

An owner must not be able to make the server fetch its own network for her (SSRF):
cloud metadata, the simulator, ``/readyz``, a database port. So an owner-supplied
address must resolve to public addresses only, the request goes to the very address
that was checked (no DNS rebinding between the check and the connection) and
redirects are never followed. requests-hardened (Saleor's, well kept) does the
resolving, the pinning, the SNI and the refusal at connection time; this module adds
the save-time check and the words a person reads.

``WIDGET_ALLOW_PRIVATE_NETWORKS`` lifts the refusal for installations whose PBX
stand-in or relay lives on their own network (the demo, the simulator, tests).

An owner's address may also answer slowly or hugely on purpose (issue 26): a read
timeout bounds each read, not the answer, so one byte every few seconds held a queue
worker for ever, and an answer was read whole into memory. Every request through
``session`` therefore has a deadline over the whole call (connect, send, headers and
body) and a cap on the answer's size (``ANSWER_LIMIT`` unless the caller names one);
how is in ``outbound_bounds.py``.
"""

from __future__ import annotations

import ipaddress
import os
import socket
from typing import Any
from urllib.parse import urlsplit

import requests
from flask import current_app, has_app_context
from requests_hardened import Config, HTTPSession
from requests_hardened.ip_filter import InvalidIPAddress
from requests_hardened.ip_filter_adapter import IPFilterAdapter

from .outbound_bounds import MB, AnswerTooLarge, DeadlineExceeded, WatchedAdapter, bounded, in_words
from .pbx.tls import TrustAdapter, trust_context
from .version import __version__

__all__ = [
    "ANSWER_LIMIT",
    "MB",
    "AnswerTooLarge",
    "DeadlineExceeded",
    "InvalidIPAddress",
    "OutboundError",
    "allow_private",
    "check_url",
    "fetch",
    "in_words",
    "session",
]

# A webhook receiver's, a CRM's or a messenger's answer is a few hundred bytes.
ANSWER_LIMIT = 1 * MB
DEFAULT_DEADLINE = 20.0  # WIDGET_PBX_DEADLINE's default


class OutboundError(ValueError):
    """An owner-supplied address the service will not contact; ``str()`` says why and
    ``reason`` is ``"scheme"`` (not https://, or no host) or ``"private"``."""

    def __init__(self, message: str, reason: str):
        super().__init__(message)
        self.reason = reason


def allow_private() -> bool:
    """True when this installation lets owners point the service at private networks:
    the app's setting, or outside an app (a script, a test) the environment's."""
    if has_app_context():
        return bool(current_app.config.get("ALLOW_PRIVATE_NETWORKS"))
    raw = os.environ.get("WIDGET_ALLOW_PRIVATE_NETWORKS", "")
    return raw.strip().lower() in {"1", "true", "yes", "on"}


def is_public(address: str) -> bool:
    """A globally routable unicast address (not loopback, private, link-local, ULA, CGNAT,
    multicast, reserved or documentation ranges)."""
    ip = ipaddress.ip_address(address)
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped:
        ip = ip.ipv4_mapped
    return ip.is_global and not ip.is_multicast


def check_url(url: str, *, schemes: tuple[str, ...] = ("https",)) -> str:
    """Refuse an address the service would not contact; return it stripped.

    A host that does not resolve now is accepted (DNS can fail for a moment): the
    connection-time check still applies to every request.

    :raise OutboundError: a wrong scheme, no host, or a host that is not public.
    """
    url = (url or "").strip()
    parts = urlsplit(url)
    allowed = schemes + (("http",) if allow_private() else ())
    if parts.scheme not in allowed or not parts.hostname:
        raise OutboundError(
            f"{url!r}: the address must start with {' or '.join(allowed)}://", "scheme"
        )
    if allow_private():
        return url
    try:
        port = parts.port or (443 if parts.scheme == "https" else 80)
        found = socket.getaddrinfo(parts.hostname, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError, ValueError):
        return url
    if any(not is_public(sockaddr[0]) for *_, sockaddr in found):
        raise OutboundError(
            f"{parts.hostname} is not a public internet address; the service only "
            "contacts public addresses",
            "private",
        )
    return url


def configured_deadline() -> float:
    """Seconds a whole outbound call may take (``WIDGET_PBX_DEADLINE``): the app's
    setting, or outside an app the environment's."""
    if has_app_context():
        return float(current_app.config.get("PBX_DEADLINE") or DEFAULT_DEADLINE)
    try:
        seconds = float(os.environ.get("WIDGET_PBX_DEADLINE", ""))
    except ValueError:
        return DEFAULT_DEADLINE
    return seconds if seconds > 0 else DEFAULT_DEADLINE


class _FilteringAdapter(WatchedAdapter, IPFilterAdapter):
    """A checked, pinned public address."""


class _TrustingAdapter(WatchedAdapter, TrustAdapter):
    """https:// trusting a pasted CA bundle too."""


class _PinnedTrustAdapter(WatchedAdapter, TrustAdapter, IPFilterAdapter):
    """https:// to a checked, pinned public address, trusting a pasted CA bundle too."""


class BoundedSession(HTTPSession):
    """requests-hardened's session whose every request has a deadline over the whole
    call and a cap on its answer (``deadline=``/``max_bytes=`` per request)."""

    def __init__(self, config: Config, *, max_bytes: int = ANSWER_LIMIT):
        super().__init__(config)
        self.max_bytes = max_bytes

    def request(self, method, url, *args, deadline=None, max_bytes=None, stream_for=None, **kw):
        return bounded(
            super().request,
            method,
            url,
            *args,
            deadline=deadline or configured_deadline(),
            max_bytes=max_bytes or self.max_bytes,
            stream_for=stream_for,
            **kw,
        )


def fetch(http: requests.Session, method: str, url: str, **kwargs: Any) -> requests.Response:
    """``http.request`` within a deadline and a cap, for any session (``session``'s own
    also cut off a blocked read at the deadline; another's is only checked between reads).
    """
    if isinstance(http, BoundedSession):
        return http.request(method, url, **kwargs)
    return bounded(
        http.request,
        method,
        url,
        deadline=kwargs.pop("deadline", None) or configured_deadline(),
        max_bytes=kwargs.pop("max_bytes", None) or ANSWER_LIMIT,
        **kwargs,
    )


def session(
    timeout: tuple[float, float], *, ca_bundle: str | None = None, public_only: bool = True
) -> BoundedSession:
    """A session for owner-supplied addresses: public addresses only (pinned), no redirects,
    a deadline over each whole call and a cap on each answer.

    ``ca_bundle``: PEM the owner pasted, trusted on top of the usual CAs (``pbx/tls.py``).
    ``public_only=False``: an address of the installation's own settings (a messenger's
    API), which may be private, keeps the deadline and the cap.
    """
    filtering = public_only and not allow_private()
    http = BoundedSession(
        Config(
            ip_filter_enable=False,  # mounted below, with the watched connections
            ip_filter_allow_loopback_ips=False,
            never_redirect=True,
            default_timeout=timeout,
            user_agent_override=f"widget-server/{__version__}",
        )
    )
    for scheme in ("http", "https"):
        adapter = (
            _FilteringAdapter(is_https_proto=scheme == "https", allow_loopback=False)
            if filtering
            else WatchedAdapter()
        )
        http.mount(f"{scheme}://", adapter)
    if ca_bundle:
        context = trust_context(ca_bundle)
        adapter = (
            _PinnedTrustAdapter(context, is_https_proto=True)
            if filtering
            else _TrustingAdapter(context)
        )
        http.mount("https://", adapter)
    return http


def same_site(url: str, api_url: str) -> bool:
    """Whether ``url`` is on the API's own host or a sibling of it (``api.x.ru`` and
    ``records.x.ru``): where a ``get_record`` link may point."""
    host = (urlsplit(url).hostname or "").lower()
    api_host = (urlsplit(api_url).hostname or "").lower()
    if not host or not api_host:
        return False
    if host == api_host:
        return True
    try:
        ipaddress.ip_address(api_host.strip("[]"))
    except ValueError:
        pass
    else:
        return False  # an address literal has no siblings
    parent = api_host.split(".", 1)[1] if api_host.count(".") >= 2 else api_host
    return host == parent or host.endswith("." + parent)
