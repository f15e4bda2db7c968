"""Latency over 50 calls each, against `widget-server run` and the simulator on loopback.

1. send → PBX: from the visitor's POST leaving the client to the simulator receiving `call_back`.
2. PBX event → page: from the simulator sending `calling` (visitor leg), `connected` and `end`
   to the widget in Chromium showing the matching status (MutationObserver on `data-status`).

Both clocks are this machine's wall clock. Run: python bench/latency.py [calls]
"""

from __future__ import annotations

import random
import sys
import time

import requests
from stack import BenchStack, percentile

CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
# Which simulator event should make the page show which status.
EVENT_TO_STATUS = {"connected": "connected", "end": "finished"}


def send_to_pbx(stack: BenchStack, calls: int) -> list[float]:
    latencies = []
    session = requests.Session()
    for i in range(calls):
        number = f"+7916{5000000 + i:07d}"
        sent = time.time()
        response = session.post(
            f"{stack.service_url}/api/v1/widgets/{stack.widget_key}/requests",
            json={"phone": number, "consent": True, "group": "101"},
            headers={"Origin": stack.shop_url},
            timeout=10,
        )
        response.raise_for_status()
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            hits = [
                r
                for r in session.get(f"{stack.sim_url}/_sim/requests", timeout=5).json()
                if r["method"] == "call_back"
                and (r.get("body") or {}).get("request_number") == number
            ]
            if hits:
                latencies.append(hits[0]["time"] - sent)
                break
            time.sleep(0.01)
        else:
            raise RuntimeError(f"call_back for call {i} never reached the simulator")
    return latencies


def event_to_page(stack: BenchStack, calls: int) -> dict[str, list[float]]:
    from playwright.sync_api import sync_playwright

    results: dict[str, list[float]] = {state: [] for state in EVENT_TO_STATUS}
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path="/usr/bin/chromium", args=CHROMIUM_ARGS)
        page = browser.new_page()
        rng = random.Random(2)
        for i in range(calls):
            number = f"916{6000000 + i:07d}"
            # Events land at fixed offsets from the submit, and the widget's polls are
            # phase-locked to the submit too: a random pace per call samples every phase.
            requests.post(
                f"{stack.sim_url}/_sim/config",
                json={"time_scale": rng.uniform(0.1, 0.2)},
                timeout=5,
            )
            page.goto(f"{stack.shop_url}/")
            page.wait_for_selector("callback-widget .cbw-fab")
            page.evaluate("""() => {
                window.__seen = {};
                const host = document.querySelector('callback-widget');
                new MutationObserver(() => {
                    const s = host.getAttribute('data-status');
                    if (!(s in window.__seen)) window.__seen[s] = Date.now() / 1000;
                }).observe(host, {attributes: true, attributeFilter: ['data-status']});
            }""")
            page.evaluate("() => CallbackWidget.open()")
            page.fill("input[type=tel]", number)
            page.check("input[type=checkbox]")
            page.click("button[type=submit]")
            page.wait_for_function(
                "() => window.__seen && 'finished' in window.__seen", timeout=30000
            )
            seen = page.evaluate("() => window.__seen")
            calls_now = requests.get(f"{stack.sim_url}/_sim/calls", timeout=5).json()
            call = next(c for c in calls_now if str(c.get("visitor", "")).endswith(number))
            sent_at = {e["state"]: e["time"] for e in call["events"]}
            for state, status in EVENT_TO_STATUS.items():
                results[state].append(seen[status] - sent_at[state])
        browser.close()
    return results


def report(label: str, values: list[float]) -> None:
    ms = [v * 1000 for v in values]
    print(
        f"{label:<38} p50 {percentile(ms, 50):7.1f} ms   p95 {percentile(ms, 95):7.1f} ms   (n={len(ms)})"
    )


def main() -> int:
    calls = int(sys.argv[1]) if len(sys.argv) > 1 else 50
    stack = BenchStack(time_scale=0.05).start()
    try:
        report("send → simulator receives call_back", send_to_pbx(stack, calls))
        for state, values in event_to_page(stack, calls).items():
            report(f"PBX '{state}' event → page shows it", values)
    finally:
        stack.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
