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
import os
import socket
from urllib.parse import urlsplit

import requests
from flask import current_app, has_app_context
from requests_hardened import Config, HTTPSession
from requests_hardened.ip_filter import InvalidIPAddress
from requests_hardened.ip_filter_adapter import IPFilterAdapter

from .pbx.tls import TrustAdapter, trust_context
from .version import __version__

__all__ = ["InvalidIPAddress", "OutboundError", "allow_private", "check_url", "session"]


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


class _PinnedTrustAdapter(TrustAdapter, IPFilterAdapter):
    """https:// to a checked, pinned public address, trusting a pasted CA bundle too."""


def session(timeout: tuple[float, float], *, ca_bundle: str | None = None) -> requests.Session:
    """A session for owner-supplied addresses: public addresses only (pinned), no redirects.

    ``ca_bundle``: PEM the owner pasted, trusted on top of the usual CAs (``pbx/tls.py``).
    """
    filtering = not allow_private()
    http = HTTPSession(
        Config(
            ip_filter_enable=filtering,
            ip_filter_allow_loopback_ips=False,
            never_redirect=True,
            default_timeout=timeout,
            user_agent_override=f"widget-server/{__version__}",
        )
    )
    if ca_bundle:
        context = trust_context(ca_bundle)
        adapter = (
            _PinnedTrustAdapter(context, is_https_proto=True)
            if filtering
            else TrustAdapter(context)
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
