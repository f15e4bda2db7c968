"""The service's front page: plain, with a strict CSP, and not framed by other sites."""

from __future__ import annotations


def test_the_front_page_sends_a_strict_csp_and_refuses_to_be_framed(client):
    response = client.get("/")
    assert response.status_code == 200
    csp = response.headers["Content-Security-Policy"]
    assert "default-src 'none'" in csp and "frame-ancestors 'none'" in csp
    assert "script-src" not in csp and "unsafe-inline" not in csp
    assert response.headers["X-Frame-Options"] == "DENY"
    assert response.headers["X-Content-Type-Options"] == "nosniff"


def test_the_front_page_needs_nothing_its_csp_forbids(client):
    page = client.get("/").text
    assert "<script" not in page and "<style" not in page and " style=" not in page
    assert "<iframe" not in page and "<link" not in page
