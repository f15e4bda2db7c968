"""Issue 15 in real Chromium: the requests log refreshes itself while open."""

from __future__ import annotations

import pytest

from .conftest import make_app
from .test_admin_requests import add_request, seed_owner
from .test_admin_widgets_browser import LiveApp, sign_in, watch_csp

pytestmark = pytest.mark.browser


@pytest.fixture
def live(tmp_path):
    app = make_app(tmp_path)
    app.config["REQUESTS_REFRESH_MS"] = 300  # the page's own 5 s, shortened for the test
    server = LiveApp(app)
    ids = seed_owner(app)
    yield server, ids
    server.stop()


def test_a_new_request_appears_in_the_open_log_without_a_reload_keeping_the_filter(live, page):
    server, ids = live
    first = add_request(server.app, ids, source_utm_source="yandex")
    sign_in(page, server.url)
    page.goto(f"{server.url}/admin/requests?source=yandex")
    page.wait_for_selector(f'tr[data-request-id="{first}"]')
    page.evaluate("window.__notReloaded = true")
    page.fill("#campaign", "typing…")  # what the owner is typing survives a refresh

    newer = add_request(server.app, ids, source_utm_source="yandex", lead_status="in_work")
    hidden = add_request(server.app, ids, source_utm_source="google")
    page.wait_for_selector(f'tr[data-request-id="{newer}"]', timeout=10_000)

    ids_shown = page.eval_on_selector_all(
        "tr[data-request-id]", "rows => rows.map(r => Number(r.dataset.requestId))"
    )
    assert ids_shown == [newer, first] and hidden not in ids_shown  # the filter is kept
    assert page.evaluate("window.__notReloaded") is True
    assert page.input_value("#campaign") == "typing…"
    badge = page.locator(f'tr[data-request-id="{newer}"] [data-lead-status]')
    assert badge.inner_text() == "В работе"
    assert page.console_errors == []


def test_the_lead_panel_and_the_leads_tab_render_under_the_strict_policy(live, page):
    server, ids = live
    add_request(server.app, ids, source_utm_source="yandex", connect_after=20)
    watch_csp(page)
    sign_in(page, server.url)
    page.goto(f"{server.url}/admin/")
    page.wait_for_selector("[data-heat-map]")
    # The heat map's shades come from funnel.css, a file: no inline style to block.
    shaded = page.eval_on_selector(
        "table.heat td.heat-4", "td => getComputedStyle(td).backgroundColor"
    )
    assert shaded == "rgb(11, 107, 203)"
    page.goto(f"{server.url}/admin/widgets/{ids['shop']}/leads")
    page.fill("#after_seconds", "0")
    page.click("#leads-form button[type=submit]")
    page.wait_for_selector("#after_seconds-error")
    assert page.inner_text("#after_seconds-error") == "От 1 до 3600 секунд."
    assert page.get_attribute("#after_seconds", "aria-invalid") == "true"
    # The refused form itself answers 400, which Chromium logs; nothing else may fail.
    others = [e for e in page.console_errors if "status of 400" not in e]
    assert page.csp_violations == [] and others == []
