"""Issue 26: a JSON error under /api/ and /pbx/ keeps the headers of the HTTP error it stands for."""

from __future__ import annotations

import pytest

from .test_visitor_api import SHOP, build_site


@pytest.fixture
def site(tmp_path):
    return build_site(tmp_path)


@pytest.mark.parametrize(
    ("method", "path", "allowed"),
    [
        ("PUT", "/api/v1/widgets/{key}/config", {"GET"}),
        ("DELETE", "/api/v1/widgets/{key}/requests", {"POST"}),
        ("GET", "/api/v1/widgets/{key}/beacon", {"POST"}),
        ("GET", "/pbx/some-account/call_events", {"POST"}),
    ],
)
def test_a_method_not_allowed_answer_says_which_methods_are(site, method, path, allowed):
    response = site.client.open(
        path.format(key=site.ru_key), method=method, headers={"Origin": SHOP}
    )
    assert response.status_code == 405
    assert response.json["error"] == "method_not_allowed"
    assert response.content_type == "application/json"
    offered = {m.strip() for m in response.headers["Allow"].split(",")}
    assert allowed <= offered, offered


def test_a_method_not_allowed_on_the_config_page_still_says_which_methods_are(site):
    response = site.client.put("/admin/login")
    assert response.status_code == 405 and "GET" in response.headers["Allow"]
