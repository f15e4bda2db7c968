"""A Cyrillic (.рф) site in real Chromium: its punycode Origin matches the origin its owner typed."""

from __future__ import annotations

from urllib.parse import urlsplit

import pytest

from widget_server.extensions import db
from widget_server.models import Widget
from widget_server.visitor.origins import normalize_origin

from .conftest import CHROMIUM, CHROMIUM_ARGS

pytestmark = pytest.mark.browser

SHOP_RF = "xn--80aairftm.xn--p1ai"  # магазин.рф


@pytest.fixture
def rf_browser(browser):
    """A second Chromium on the same Playwright, where магазин.рф resolves to this machine."""
    rf = browser.browser_type.launch(
        executable_path=CHROMIUM,
        args=[*CHROMIUM_ARGS, f"--host-resolver-rules=MAP {SHOP_RF} 127.0.0.1"],
    )
    yield rf
    rf.close()


def test_a_widget_saved_for_a_cyrillic_site_appears_there_for_its_visitors(rf_browser, stack):
    port = urlsplit(stack.shop_url).port
    with stack.app.app_context():
        widget = db.session.scalar(db.select(Widget))
        widget.origins = [normalize_origin(f"http://магазин.рф:{port}")]  # as the owner typed it
        db.session.commit()
    page = rf_browser.new_page()
    config_answers = []
    page.on(
        "response",
        lambda r: (
            "/api/v1/widgets/" in r.url
            and "/beacon" not in r.url
            and config_answers.append(r.status)
        ),
    )
    page.goto(f"http://магазин.рф:{port}/")
    assert page.evaluate("() => location.origin") == f"http://{SHOP_RF}:{port}"
    page.wait_for_selector("callback-widget .cbw-fab", timeout=10000)
    assert config_answers and set(config_answers) == {200}
