"""Site origins: normalising what owners type and what browsers send."""

from __future__ import annotations

from urllib.parse import urlsplit

_DEFAULT_PORTS = {"http": 80, "https": 443}


class OriginError(ValueError):
    """Not a usable site origin."""


def normalize_origin(value: str) -> str:
    """``https://Shop.Example:443/`` → ``https://shop.example``.

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
    host = parts.hostname.lower()
    if ":" in host:
        host = f"[{host}]"
    if port and port != _DEFAULT_PORTS[parts.scheme]:
        return f"{parts.scheme}://{host}:{port}"
    return f"{parts.scheme}://{host}"


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
