"""Which client a request comes from, for rate limiting.

The address is ``request.remote_addr``, which ProxyFix rewrites only for the
configured number of trusted proxies, so a forged X-Forwarded-For is ignored.
IPv6 clients are counted per /64, since one subscriber usually holds a whole /64.
"""

from __future__ import annotations

import ipaddress

from flask import request


def client_network(address: str | None) -> str:
    """Return the rate-limit identity for an address (IPv4 itself, IPv6 its /64)."""
    if not address:
        return "unknown"
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return address
    if isinstance(ip, ipaddress.IPv6Address):
        if ip.ipv4_mapped:
            return str(ip.ipv4_mapped)
        return str(ipaddress.IPv6Network(f"{ip}/64", strict=False))
    return str(ip)


def client_ip_key() -> str:
    """flask-limiter key function."""
    return client_network(request.remote_addr)
