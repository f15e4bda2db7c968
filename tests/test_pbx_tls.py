"""TLS to the PBX API over loopback, with a chain root → intermediate → leaf like Rostelecom's.

The server sends leaf + intermediate (as api.cloudpbx.rt.ru does); what the owner
pastes decides whether it is trusted, on top of the usual CA store.
"""

from __future__ import annotations

import shutil
import ssl
import subprocess
import threading
from pathlib import Path
from typing import Any

import pytest

from widget_server.pbx import tls
from widget_server.pbx.client import PbxError

from .test_pbx_client import _client, _pbx_app, _serve

# Every test here makes throwaway certificates with the openssl command.
pytestmark = pytest.mark.openssl


def _openssl(*args: str) -> None:
    openssl = shutil.which("openssl")
    assert openssl, "the TLS tests need the openssl command"
    subprocess.run([openssl, *args], check=True, capture_output=True)


def _ca(folder: Path, name: str, issuer: tuple[Path, Path] | None = None) -> tuple[Path, Path]:
    """A CA certificate and key; self-signed when no issuer is given."""
    cert, key, ext = folder / f"{name}.pem", folder / f"{name}.key", folder / f"{name}.ext"
    ext.write_text("basicConstraints=critical,CA:TRUE\nkeyUsage=critical,keyCertSign,cRLSign\n")
    if issuer is None:
        _openssl(
            "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
            "-subj", f"/CN={name}", "-keyout", str(key), "-out", str(cert),
            "-addext", "basicConstraints=critical,CA:TRUE",
            "-addext", "keyUsage=critical,keyCertSign,cRLSign",
        )  # fmt: skip
        return cert, key
    _sign(folder, name, issuer, ext)
    return cert, key


def _sign(folder: Path, name: str, issuer: tuple[Path, Path], ext: Path) -> None:
    cert, key, csr = folder / f"{name}.pem", folder / f"{name}.key", folder / f"{name}.csr"
    _openssl(
        "req", "-new", "-newkey", "rsa:2048", "-nodes", "-subj", f"/CN={name}",
        "-keyout", str(key), "-out", str(csr),
    )  # fmt: skip
    _openssl(
        "x509", "-req", "-in", str(csr), "-CA", str(issuer[0]), "-CAkey", str(issuer[1]),
        "-CAcreateserial", "-days", "2", "-extfile", str(ext), "-out", str(cert),
    )  # fmt: skip


def _leaf(folder: Path, issuer: tuple[Path, Path]) -> tuple[Path, Path]:
    ext = folder / "leaf.ext"
    ext.write_text("basicConstraints=CA:FALSE\nsubjectAltName=IP:127.0.0.1\n")
    _sign(folder, "leaf", issuer, ext)
    return folder / "leaf.pem", folder / "leaf.key"


@pytest.fixture(scope="module")
def chain(tmp_path_factory) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("chain")
    root = _ca(folder, "Test Trusted Root CA")
    sub = _ca(folder, "Test Trusted Sub CA", issuer=root)
    leaf, leaf_key = _leaf(folder, sub)
    served = folder / "served.pem"
    served.write_text(leaf.read_text() + sub[0].read_text())
    other_root = _ca(folder, "Other System Root")
    return {
        "root": root[0],
        "sub": sub[0],
        "leaf": leaf,
        "served": served,
        "key": leaf_key,
        "other_root": other_root[0],
    }


def _https_pbx(cert_chain: Path, key: Path):
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert_chain, key)
    seen: list[dict[str, Any]] = []
    stop = threading.Event()
    server, thread = _serve(_pbx_app(seen, stop), ssl_context=context)
    return server, thread, stop, f"https://127.0.0.1:{server.server_port}"


@pytest.fixture
def rt_pbx(chain):
    server, thread, stop, url = _https_pbx(chain["served"], chain["key"])
    yield url
    stop.set()
    server.shutdown()
    server.server_close()
    thread.join(timeout=5)


def test_without_a_bundle_the_test_chain_is_refused_as_a_tls_error(rt_pbx):
    with pytest.raises(PbxError) as caught:
        _client(rt_pbx).users_info()
    assert caught.value.result == "tls"


def test_pasting_the_root_ca_makes_the_whole_chain_trusted(rt_pbx, chain):
    data = _client(rt_pbx, ca_bundle=chain["root"].read_text()).users_info()
    assert data["result"] == "0"


def test_pasting_root_and_sub_ca_together_works(rt_pbx, chain):
    bundle = chain["root"].read_text() + chain["sub"].read_text()
    assert _client(rt_pbx, ca_bundle=bundle).users_info()["result"] == "0"


def test_pasting_only_the_panels_own_certificate_works_as_a_partial_chain(rt_pbx, chain):
    leaf = chain["leaf"].read_text()
    assert tls.has_end_certificate(leaf)
    assert _client(rt_pbx, ca_bundle=leaf).users_info()["result"] == "0"


def test_a_root_ca_alone_does_not_switch_on_partial_chain_checking(chain):
    root = chain["root"].read_text()
    assert not tls.has_end_certificate(root)
    flags = tls.trust_context(root).verify_flags
    assert not flags & ssl.VERIFY_X509_PARTIAL_CHAIN
    assert tls.trust_context(chain["leaf"].read_text()).verify_flags & (
        ssl.VERIFY_X509_PARTIAL_CHAIN
    )


def test_an_unrelated_pasted_certificate_does_not_make_the_chain_trusted(rt_pbx, chain):
    with pytest.raises(PbxError) as caught:
        _client(rt_pbx, ca_bundle=chain["other_root"].read_text()).users_info()
    assert caught.value.result == "tls"


def test_the_system_store_still_works_alongside_a_pasted_bundle(chain, monkeypatch, tmp_path):
    # A server signed by a CA only the "system" knows (SSL_CERT_FILE), while the
    # account's bundle holds another CA: the bundle is added, not put in its place.
    folder = tmp_path
    system_root = _ca(folder, "System Root")
    leaf, key = _leaf(folder, system_root)
    monkeypatch.setenv("SSL_CERT_FILE", str(system_root[0]))
    server, thread, stop, url = _https_pbx(leaf, key)
    try:
        bundle = chain["root"].read_text()
        # A fresh bundle text, so no context cached before SSL_CERT_FILE was set is reused.
        bundle += "\n"
        assert _client(url, ca_bundle=bundle).users_info()["result"] == "0"
    finally:
        stop.set()
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)
