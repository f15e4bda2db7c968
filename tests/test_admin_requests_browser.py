"""A request's timeline in real Chromium: the recording plays through our server."""

from __future__ import annotations

import pytest

from .conftest import build_stack
from .test_admin_requests import finished_call


@pytest.fixture
def live(tmp_path):
    stack, stop = build_stack(tmp_path)
    yield stack
    stop()


def sign_in_browser(page, base_url: str) -> None:
    page.goto(f"{base_url}/admin/sign-in")
    page.fill("#email", "owner@example.com")
    page.fill("#password", "correct horse")
    page.click("main button[type=submit]")
    page.wait_for_url(f"{base_url}/admin/")


@pytest.mark.browser
def test_the_recording_on_a_timeline_loads_and_plays_in_chromium(live, page):
    failed: list[str] = []
    page.on("response", lambda r: r.status >= 400 and failed.append(r.url))
    rid = finished_call(live)
    sign_in_browser(page, live.service_url)
    page.goto(f"{live.service_url}/admin/requests")
    page.click(f'tr[data-request-id="{rid}"] a')
    page.wait_for_url(f"{live.service_url}/admin/requests/{rid}")
    audio = page.locator("audio")
    assert audio.count() == 1
    # preload="none" keeps the page from asking the PBX for a link nobody plays: load it now.
    audio.evaluate("a => a.load()")
    page.wait_for_function(
        "() => { const a = document.querySelector('audio'); return a.error || a.readyState >= 2 }",
        timeout=30_000,
    )
    state = audio.evaluate(
        "a => ({error: a.error && a.error.code, ready: a.readyState, duration: a.duration})"
    )
    assert state["error"] is None
    assert state["ready"] >= 2 and state["duration"] > 1.0  # the simulator's tone is 1.5 s
    played = audio.evaluate(
        "a => { a.muted = true; return a.play().then(() => 'playing', e => e.name) }"
    )
    assert played == "playing"
    page.wait_for_function("() => document.querySelector('audio').currentTime > 0.2")
    assert failed == []  # every page, stylesheet, script and the recording itself
    # The one load error left is Chromium's own /favicon.ico guess, which Playwright
    # does not report as a response; anything else (a CSP violation) fails the test.
    others = [e for e in page.console_errors if not e.startswith("Failed to load resource")]
    assert others == []
