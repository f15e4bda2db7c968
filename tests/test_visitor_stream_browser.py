"""The widget follows a request over the status stream, and polls when there is none.

The stream is the app's own ``GET /api/v1/requests/<handle>/events`` (contract 5); for the
fallback, the browser's request for it is answered 404 (a proxy that drops the path, say).
"""

from __future__ import annotations

import pytest
from flask import jsonify

from .conftest import build_stack
from .test_visitor_widget_browser import RECORD_STATUSES

pytestmark = pytest.mark.browser


@pytest.fixture(params=["stream", "stream-404"])
def streaming_stack(request, tmp_path):
    stack, stop = build_stack(tmp_path, time_scale=0.25)
    if request.param == "stream-404":
        # The app still says it streams, but the path answers 404 (a proxy dropping it).
        stack.app.view_functions["widget.request_events"] = lambda handle: (
            jsonify({"error": "not_found"}),
            404,
        )
    yield stack, request.param
    stop()


def order_a_call(page, stack):
    page.goto(f"{stack.shop_url}/")
    page.wait_for_selector("callback-widget .cbw-fab")
    page.evaluate(RECORD_STATUSES)
    page.click("callback-widget .cbw-fab")
    page.fill("#cbw-phone", "9161234567")
    page.select_option("#cbw-group", "102")
    page.check("#cbw-consent")
    page.click("callback-widget button[type=submit]")
    page.wait_for_function("() => window.__statuses.includes('finished')", timeout=20000)
    return page.evaluate("() => window.__statuses")


def test_every_stage_reaches_the_page_over_the_stream_or_by_polling(page, streaming_stack):
    stack, kind = streaming_stack
    asked = []
    page.on("request", lambda r: "/api/v1/requests/" in r.url and asked.append(r.url))
    statuses = order_a_call(page, stack)
    assert statuses.index("calling_visitor") < statuses.index("connected")
    assert statuses.index("connected") < statuses.index("finished")
    streams = [url for url in asked if "/events" in url]
    polls = [url for url in asked if "/events" not in url and "/cancel" not in url]
    assert len(streams) == 1  # opened once; EventSource's own retries would add more
    if kind == "stream":
        assert polls == []  # every stage came pushed
    else:
        assert len(polls) >= 3  # the fallback polled through the stages


# Each poll's answer and when the page had it, by the page's own clock: a timestamp taken in
# this process could lag behind an event under load and shrink a gap.
RECORD_POLLS = """() => {
    const fetchOriginal = window.fetch;
    window.__polls = [];
    window.fetch = async (...args) => {
        const response = await fetchOriginal(...args);
        const url = String(args[0].url || args[0]);
        const method = (args[1] && args[1].method) || 'GET';
        if (url.includes('/api/v1/requests/') && !/[/](events|cancel)/.test(url) && method === 'GET')
            response.clone().json().then((body) => window.__polls.push([performance.now(), body.status]));
        return response;
    };
}"""


def test_without_the_stream_a_call_in_talk_is_polled_more_slowly(page, tmp_path):
    stack, stop = build_stack(
        tmp_path,
        time_scale=0.25,
        sim_overrides={"TALK_SECONDS": 40},  # 10 s of talk
        app_overrides={"STATUS_POLL_MS": 300, "STATUS_POLL_TALKING_MS": 2000},
    )
    stack.app.view_functions["widget.request_events"] = lambda handle: (
        jsonify({"error": "not_found"}),
        404,
    )
    page.add_init_script(f"({RECORD_POLLS})()")
    try:
        order_a_call(page, stack)
        answers = page.evaluate("() => window.__polls")
    finally:
        stop()
    gaps = {"connected": [], "before": []}
    for (at, status), (next_at, _) in zip(answers, answers[1:], strict=False):
        if status == "connected":
            gaps["connected"].append((next_at - at) / 1000)
        elif status in ("queued", "calling_operator", "calling_visitor"):
            gaps["before"].append((next_at - at) / 1000)
    assert len(gaps["connected"]) >= 2, answers
    assert min(gaps["connected"]) >= 1.8, gaps  # every 2 s once talking
    assert sorted(gaps["before"])[len(gaps["before"]) // 2] < 1.0, gaps  # every 300 ms before
