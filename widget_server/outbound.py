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
"""

from __future__ import annotations

import ipaddress
import socket
from urllib.parse import urlsplit

import requests
from flask import current_app, has_app_context
from requests_hardened import Config, HTTPSession
from requests_hardened.ip_filter import InvalidIPAddress

from .version import __version__

__all__ = ["InvalidIPAddress", "OutboundError", "allow_private", "check_url", "session"]


class OutboundError(ValueError):
    """An owner-supplied address the service will not contact; ``str()`` says why and
    ``reason`` is ``"scheme"`` (not https://, or no host) or ``"private"``."""

    def __init__(self, message: str, reason: str):
        super().__init__(message)
        self.reason = reason


def allow_private() -> bool:
    """True when this installation lets owners point the service at private networks."""
    return bool(has_app_context() and current_app.config.get("ALLOW_PRIVATE_NETWORKS"))


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


def session(timeout: tuple[float, float]) -> requests.Session:
    """A session for owner-supplied addresses: public addresses only (pinned), no redirects."""
    return HTTPSession(
        Config(
            ip_filter_enable=not allow_private(),
            ip_filter_allow_loopback_ips=False,
            never_redirect=True,
            default_timeout=timeout,
            user_agent_override=f"widget-server/{__version__}",
        )
    )
