"""Site origins: normalising what owners type and what browsers send.

Host names are kept in their ASCII (IDNA, punycode) form, the one browsers send in
``Origin``: ``https://магазин.рф`` is stored and compared as ``https://xn--….xn--p1ai``
and shown to the owner in Cyrillic again (``display_origin``).
"""

from __future__ import annotations

import ipaddress
import re
from urllib.parse import urlsplit

import idna

_DEFAULT_PORTS = {"http": 80, "https": 443}
# An ASCII label as browsers accept it (underscores included, as in real sub-domains).
_ASCII_LABEL = re.compile(r"^[a-z0-9_](?:[a-z0-9_-]{0,61}[a-z0-9_])?$")


class OriginError(ValueError):
    """Not a usable site origin."""


class HostNameError(OriginError):
    """The host is not a valid domain name (a space, ``*``, an empty label …)."""


def ascii_host(host: str) -> str:
    """``Магазин.РФ`` → ``xn--80aairftm.xn--p1ai``; ASCII names lower-cased and checked.

    :raise HostNameError: not a valid host name.
    """
    host = host.lower()
    if ":" in host:  # IPv6, from inside [brackets]
        try:
            return str(ipaddress.IPv6Address(host))
        except ValueError:
            raise HostNameError(host) from None
    if not host.isascii():
        try:
            host = idna.encode(host, uts46=True).decode("ascii")
        except idna.IDNAError:
            raise HostNameError(host) from None
    labels = host.split(".")
    if len(host) > 253 or not all(_ASCII_LABEL.match(label) for label in labels):
        raise HostNameError(host)
    for label in labels:
        if label.startswith("xn--"):
            try:
                idna.decode(label)
            except idna.IDNAError:
                raise HostNameError(host) from None
    return host


def display_origin(origin: str) -> str:
    """A stored origin for the owner's eyes: ``https://xn--80aairftm.xn--p1ai`` → ``https://магазин.рф``."""
    scheme, sep, rest = origin.partition("://")
    host, colon, port = rest.partition(":") if not rest.startswith("[") else (rest, "", "")
    if not sep or "xn--" not in host:
        return origin
    try:
        return f"{scheme}://{idna.decode(host)}{colon}{port}"
    except idna.IDNAError:
        return origin


def normalize_origin(value: str) -> str:
    """``https://Shop.Example:443/`` → ``https://shop.example``; IDN hosts in ASCII form.

    :raise HostNameError: the host is not a valid name (a subclass of OriginError).
    :raise OriginError: not an http(s) origin with a host.
    """
    raw = (value or "").strip()
    try:
        parts = urlsplit(raw)
    except ValueError:  # e.g. "https://[::1": an unclosed IPv6 bracket
        raise OriginError(f"{raw!r} is not a site address like https://shop.example") from None
    if parts.scheme not in _DEFAULT_PORTS or not parts.hostname:
        raise OriginError(f"{raw!r} is not a site address like https://shop.example")
    if (
        parts.username
        or parts.password
        or parts.query
        or parts.fragment
        or parts.path not in ("", "/")
    ):
        raise OriginError(f"{raw!r} must be only scheme and host, like https://shop.example")
    try:
        port = parts.port
    except ValueError:
        raise OriginError(f"{raw!r} has an invalid port") from None
    host = ascii_host(parts.hostname)
    if ":" in host:
        host = f"[{host}]"
    if port and port != _DEFAULT_PORTS[parts.scheme]:
        return f"{parts.scheme}://{host}:{port}"
    return f"{parts.scheme}://{host}"


def site_origin(value: str) -> str:
    """What an owner typed for their site, as the origin browsers send.

    The owner may type it as they see it: ``chai-shop.ru`` (https is assumed),
    ``www.chai-shop.ru/catalog/`` (the page's path, query and fragment go: a widget works
    on every page of the site), ``http://chai-shop.ru`` (kept as http), or a full origin.

    :raise HostNameError: the host is not a valid name.
    :raise OriginError: no host, a scheme other than http(s), or a login in the address.
    """
    raw = (value or "").strip()
    if "://" not in raw:
        if ":" in raw.split("/", 1)[0] and not re.match(r"^[^:/]+:\d+(/|$)", raw):
            # "ftp:shop", "mailto:a@b": a scheme without "//", not a host with a port
            raise OriginError(f"{raw!r} is not a site address")
        raw = raw.lstrip("/")
        host = re.split(r"[:/?#]", raw, maxsplit=1)[0].lower()
        # A site on this machine or a bare IP address is plain http; a domain, https.
        raw = ("http://" if host == "localhost" or _is_ip(host) else "https://") + raw
    try:
        parts = urlsplit(raw)
        parts.port  # noqa: B018 - an invalid port raises here
    except ValueError:
        raise OriginError(f"{raw!r} is not a site address") from None
    if parts.scheme.lower() not in _DEFAULT_PORTS or not parts.hostname:
        raise OriginError(f"{raw!r} is not a site address")
    if parts.username or parts.password:
        raise OriginError(f"{raw!r} has a login in it")
    return normalize_origin(f"{parts.scheme.lower()}://{parts.netloc}")


def _is_ip(host: str) -> bool:
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return False
    return True


def request_origin(origin_header: str | None, referer_header: str | None) -> str | None:
    """The page's origin from ``Origin``, else from ``Referer``; None when neither is usable."""
    for candidate in (origin_header, referer_header):
        if not candidate or candidate == "null":
            continue
        try:
            parts = urlsplit(candidate)
        except ValueError:
            return None
        if parts.scheme and parts.netloc:
            try:
                return normalize_origin(f"{parts.scheme}://{parts.netloc}")
            except OriginError:
                return None
    return None
