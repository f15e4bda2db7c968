"""The built widget (embed/dist): current with its sources, within budget, served as a CDN would."""

from __future__ import annotations

import base64
import gzip
import hashlib
import json
import os
import re
import shutil
import subprocess
from pathlib import Path

import brotli
import pytest

from widget_server import __version__
from widget_server.visitor.embed import after_load

from .test_visitor_api import site  # noqa: F401 - the app fixture these tests share

EMBED = Path(__file__).resolve().parents[1] / "embed"
DIST = EMBED / "dist"
MANIFEST = json.loads((EMBED / "build-manifest.json").read_text())
PANEL = MANIFEST["panel"]


def sources_hash() -> str:
    """What build.mjs hashes: every source, the build script and the lock file, then the version."""
    digest = hashlib.sha256()
    src = EMBED / "src"
    names = sorted(  # src/features/ too, as build.mjs reads them
        f"src/{p.relative_to(src).as_posix()}"
        for p in src.rglob("*")
        if p.suffix in (".js", ".css")
    )
    for name in [*names, "build.mjs", "package-lock.json"]:
        digest.update(name.encode() + b"\0" + (EMBED / name).read_bytes() + b"\0")
    digest.update(__version__.encode())
    return digest.hexdigest()


def test_the_built_widget_was_made_from_the_sources_as_they_are_now():
    assert MANIFEST["sources_sha256"] == sources_hash(), "embed/dist is stale: run `make widget`"
    assert MANIFEST["version"] == __version__


def test_a_rebuild_gives_the_committed_files_byte_for_byte():
    if not (EMBED / "node_modules" / "esbuild").is_dir() or shutil.which("node") is None:
        message = "embed/node_modules is missing: run `cd embed && npm ci` (.ci/setup.sh does)"
        if os.environ.get("CI") == "true":
            pytest.fail(message)
        pytest.skip(message)
    check = subprocess.run(
        ["node", "build.mjs", "--check"], cwd=EMBED, capture_output=True, text=True, timeout=120
    )
    assert check.returncode == 0, check.stderr


def test_the_loader_and_everything_together_stay_within_their_gzip_budgets():
    loader = (DIST / "embed.js.gz").stat().st_size
    total = loader + (DIST / f"{PANEL}.gz").stat().st_size
    budgets = MANIFEST["budgets"]
    assert loader <= budgets["loader_gzip"], f"loader {loader} B gzipped"
    assert total <= budgets["total_gzip"], f"loader + panel {total} B gzipped"


@pytest.mark.parametrize("name", ["embed.js", PANEL])
def test_the_precompressed_copies_hold_the_same_bytes(name):
    raw = (DIST / name).read_bytes()
    assert gzip.decompress((DIST / f"{name}.gz").read_bytes()) == raw
    assert brotli.decompress((DIST / f"{name}.br").read_bytes()) == raw


def test_the_loader_pins_the_panel_by_its_versioned_name_and_integrity_hash():
    loader = (DIST / "embed.js").read_text()
    digest = base64.b64encode(hashlib.sha384((DIST / PANEL).read_bytes()).digest()).decode()
    assert f"/embed/{__version__}/{PANEL}" in loader.replace('"/embed/"+"', '"/embed/')
    assert f"sha384-{digest}" in loader
    assert re.fullmatch(r"panel\.[0-9a-f]{12}\.js", PANEL)


# -- served as a CDN would ---------------------------------------------------------------------
def test_the_latest_loader_is_sent_brotli_compressed_and_briefly_cached(site):  # noqa: F811
    response = site.client.get("/embed.js", headers={"Accept-Encoding": "gzip, br"})
    assert response.status_code == 200
    assert response.headers["Content-Encoding"] == "br"
    assert response.get_data() == (DIST / "embed.js.br").read_bytes()
    assert response.headers["Cache-Control"] == "public, max-age=300"
    assert "Accept-Encoding" in response.headers["Vary"]
    for name, value in {
        "Access-Control-Allow-Origin": "*",
        "Cross-Origin-Resource-Policy": "cross-origin",
        "Timing-Allow-Origin": "*",
        "X-Content-Type-Options": "nosniff",
    }.items():
        assert response.headers[name] == value


def test_a_client_without_brotli_gets_gzip_and_one_without_either_the_plain_file(site):  # noqa: F811
    zipped = site.client.get("/embed.js", headers={"Accept-Encoding": "gzip"})
    assert zipped.headers["Content-Encoding"] == "gzip"
    assert gzip.decompress(zipped.get_data()) == (DIST / "embed.js").read_bytes()
    plain = site.client.get("/embed.js", headers={"Accept-Encoding": "identity"})
    assert "Content-Encoding" not in plain.headers
    assert plain.get_data() == (DIST / "embed.js").read_bytes()


def test_a_revalidation_of_the_loader_is_a_304(site):  # noqa: F811
    etag = site.client.get("/embed.js").headers["ETag"]
    # From the content: a wheel's files all have one mtime, so mtime and size could repeat.
    assert etag == '"' + hashlib.sha256((DIST / "embed.js").read_bytes()).hexdigest()[:32] + '"'
    again = site.client.get("/embed.js", headers={"If-None-Match": etag})
    assert again.status_code == 304
    assert again.get_data() == b""


@pytest.mark.parametrize("name", ["embed.js", PANEL])
def test_versioned_files_are_cached_for_a_year_and_immutable(site, name):  # noqa: F811
    response = site.client.get(f"/embed/{__version__}/{name}", headers={"Accept-Encoding": "br"})
    assert response.status_code == 200
    assert response.mimetype == "text/javascript"
    assert response.headers["Cache-Control"] == "public, max-age=31536000, immutable"
    assert response.headers["Timing-Allow-Origin"] == "*"
    assert response.headers["Access-Control-Allow-Origin"] == "*"


def test_nothing_but_the_built_files_is_served_under_embed(site):  # noqa: F811
    assert site.client.get(f"/embed/{__version__}/../build-manifest.json").status_code == 404
    assert site.client.get("/embed/0.0.0-old/embed.js").status_code == 404
    assert site.client.get(f"/{PANEL}").status_code == 404


def test_the_readme_shows_the_after_load_snippet_the_config_page_gives():
    readme = (EMBED / "README.md").read_text("utf-8")
    shown = re.search(r"<!-- after-load-snippet -->\s*```html\n(.*?)\n```", readme, re.S).group(1)
    assert shown == after_load("https://HOST/embed.js", "wk_...")


def test_the_after_load_snippet_escapes_whatever_could_end_its_script_or_its_strings():
    html = after_load('https://cb.example/</script><b>"&', "wk_0123456789", "sha384-abc")

    assert html.startswith("<script>") and html.count("</script>") == 1 and "<b>" not in html
    assert '\\u003C/script\\u003E\\u003Cb\\u003E\\"\\u0026"' in html
    assert 's.integrity="sha384-abc";s.crossOrigin="anonymous";' in html
