"""What a TLS connection to the PBX API shows: the leaf's subject and issuer, and
whether it verifies with the account's trust (``pbx.tls.trust_context``).

Python 3.11 has no ``get_verified_chain()``: only the leaf is named, and when
verification fails the owner is told how to see the whole chain with openssl.
"""

from __future__ import annotations

import socket
import ssl
from urllib.parse import urlsplit

import certifi

from .. import outbound
from .tls import trust_context

TIMEOUT = 5.0


def _names(pairs) -> str:
    """``((('commonName', 'x'),), …)`` as ``commonName=x, …``."""
    return ", ".join(f"{k}={v}" for rdn in pairs or () for k, v in rdn)


def _context(ca_bundle: str | None) -> ssl.SSLContext:
    if ca_bundle:
        return trust_context(ca_bundle)
    context = ssl.create_default_context(cafile=certifi.where())
    context.load_default_certs()
    return context


def probe(api_url: str, ca_bundle: str | None = None) -> dict:
    """A TLS handshake with the API host; a dict of what it showed (stored as-is)."""
    parts = urlsplit(api_url)
    host, port = parts.hostname or "", parts.port or 443
    seen = {"host": host, "port": port, "verified": None, "subject": "", "issuer": ""}
    if parts.scheme != "https":
        return dict(seen, error="not https")
    advice = f"openssl s_client -connect {host}:{port} -servername {host} -showcerts"
    try:
        outbound.check_url(api_url)
        with (
            socket.create_connection((host, port), timeout=TIMEOUT) as raw,
            _context(ca_bundle).wrap_socket(raw, server_hostname=host) as tls,
        ):
            cert = tls.getpeercert() or {}
            return dict(
                seen,
                verified=True,
                subject=_names(cert.get("subject")),
                issuer=_names(cert.get("issuer")),
                version=tls.version(),
            )
    except ssl.SSLCertVerificationError as exc:
        return dict(seen, verified=False, error=str(exc.verify_message or exc)[:200], advice=advice)
    except outbound.OutboundError as exc:
        return dict(seen, error=str(exc)[:200])
    except (OSError, ssl.SSLError) as exc:
        return dict(seen, error=f"{exc.__class__.__name__}: {exc}"[:200], advice=advice)
