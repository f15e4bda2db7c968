"""Trust for the PBX API: the usual CA store plus the certificates the owner pasted.

The panel's «Сертификат API» alone is not a chain: it fails with "self-signed
certificate in certificate chain". So a pasted bundle is added to certifi's and
the system's CAs (never put in their place), and when it holds a certificate
that is not a CA (the panel's own), that certificate is trusted as the end of a
partial chain (``VERIFY_X509_PARTIAL_CHAIN``).
"""

from __future__ import annotations

import hashlib
import ssl
import threading

import certifi
from requests.adapters import HTTPAdapter

_CONTEXTS: dict[str, ssl.SSLContext] = {}
_LOCK = threading.Lock()


def has_end_certificate(pem: str) -> bool:
    """Whether the bundle holds a certificate that is not a CA (a server's own)."""
    probe = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    probe.load_verify_locations(cadata=pem)
    stats = probe.cert_store_stats()
    return stats["x509"] > stats["x509_ca"]


def trust_context(pem: str) -> ssl.SSLContext:
    """A client context trusting certifi, the system store and ``pem``; one per bundle."""
    key = hashlib.sha256(pem.encode()).hexdigest()
    with _LOCK:
        context = _CONTEXTS.get(key)
        if context is None:
            context = ssl.create_default_context(cafile=certifi.where())
            context.load_default_certs()  # the system store (SSL_CERT_FILE / distro bundle)
            context.load_verify_locations(cadata=pem)
            if has_end_certificate(pem):
                context.verify_flags |= ssl.VERIFY_X509_PARTIAL_CHAIN
            _CONTEXTS[key] = context
        return context


class TrustAdapter(HTTPAdapter):
    """An HTTPS adapter verifying against one ``trust_context``; verification stays on."""

    def __init__(self, context: ssl.SSLContext, **kwargs):
        self._context = context
        super().__init__(**kwargs)

    def init_poolmanager(self, *args, **kwargs):
        kwargs["ssl_context"] = self._context
        return super().init_poolmanager(*args, **kwargs)

    def proxy_manager_for(self, *args, **kwargs):
        kwargs["ssl_context"] = self._context
        return super().proxy_manager_for(*args, **kwargs)

    def cert_verify(self, conn, url, verify, cert):
        super().cert_verify(conn, url, verify, cert)
        if verify is True:
            # The context already holds certifi's CAs: requests would have urllib3
            # load them into it again on every new connection.
            conn.ca_certs = conn.ca_cert_dir = None


def mount_bundle(session, pem: str) -> None:
    """Make ``session`` trust ``pem`` on top of the usual CAs for every https:// address."""
    session.mount("https://", TrustAdapter(trust_context(pem)))
