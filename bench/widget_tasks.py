"""The longest main-thread task on the sample shop page at 4x CPU, with and without the widget.

Chromium (Playwright, Debian's /usr/bin/chromium) loads the page with its CPU slowed 4x
(DevTools' Emulation.setCPUThrottlingRate) and records a performance trace until the widget's
button is drawn (and, in the "intent" case, the pointer went over it and the panel loaded) and
a second has passed. Printed: the longest top-level task on the page's main thread, and the
longest stretch of the widget's own code within one task (its script evaluations and its event
handlers and timers; what runs after an `await` – drawing the button once the look arrived –
Chromium's trace does not attribute to a script, so it shows in the first figure only). The shop page has no script of its own,
so a longest task above the page's without the widget is the widget's. Lighthouse lists long
tasks only from 50 ms; this measures below that, for issue 14's goal of none over 20 ms.
The baseline, in the same run: the page without the widget whose own inline script makes one
cross-origin fetch() of the same look document after the load event, as the widget does: the
browser's own cost of a page's first request from script, with no widget code at all.
Median of RUNS.
Run: python bench/widget_tasks.py [runs]
"""

from __future__ import annotations

import json
import statistics
import sys
import tempfile
from pathlib import Path

from lighthouse import page_without_widget
from playwright.sync_api import sync_playwright
from stack import BenchStack

CHROMIUM = "/usr/bin/chromium"
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"]
GOAL_MS = 20


def longest_tasks(trace: dict, origin: str) -> tuple[float, float]:
    """(longest task, longest stretch of widget code in one task) on the main thread, in ms.

    The widget's stretch in a task is the time its script evaluations and calls (event
    handlers, timers) take there; a load or pointer event's task also runs the page's own work.
    """
    events = trace["traceEvents"]
    main = next(
        (e["pid"], e["tid"])
        for e in events
        if e.get("name") == "thread_name" and e["args"].get("name") == "CrRendererMain"
    )
    on_main = [e for e in events if (e.get("pid"), e.get("tid")) == main and e.get("ph") == "X"]
    tasks = [e for e in on_main if e["name"] == "ThreadControllerImpl::RunTask"] or [
        e for e in on_main if e["name"] == "RunTask"
    ]
    widget_code = [
        e
        for e in on_main
        if e["name"] in ("EvaluateScript", "FunctionCall")
        and str((e.get("args", {}).get("data") or {}).get("url", "")).startswith(origin + "/")
    ]
    longest = max((t.get("dur", 0) for t in tasks), default=0) / 1000
    shares = []
    for task in tasks:
        start, end = task["ts"], task["ts"] + task.get("dur", 0)
        inside = [c for c in widget_code if start <= c["ts"] <= end]
        # Outermost calls only: a handler's own nested calls are inside its duration.
        outer = [
            c
            for c in inside
            if not any(
                o is not c and o["ts"] <= c["ts"] <= o["ts"] + o.get("dur", 0) for o in inside
            )
        ]
        shares.append(sum(c.get("dur", 0) for c in outer) / 1000)
    return longest, max(shares, default=0.0)


def one_run(browser, url: str, origin: str, trace_file: Path, intent: bool) -> tuple[float, float]:
    page = browser.new_page(viewport={"width": 412, "height": 823})
    cdp = page.context.new_cdp_session(page)
    cdp.send("Emulation.setCPUThrottlingRate", {"rate": 4})
    categories = ["devtools.timeline", "disabled-by-default-devtools.timeline", "toplevel"]
    browser.start_tracing(page=page, path=str(trace_file), categories=categories)
    page.goto(url)
    if intent is not None:
        page.wait_for_selector("callback-widget .cbw-fab")
    if intent:
        page.hover("callback-widget .cbw-fab")
        page.wait_for_function("() => !!document.querySelector('script[src*=panel]')")
    page.wait_for_timeout(1000)
    browser.stop_tracing()
    page.close()
    return longest_tasks(json.loads(trace_file.read_text()), origin)


def main() -> int:
    runs = int(sys.argv[1]) if len(sys.argv) > 1 else 5
    stack = BenchStack().start(with_worker=False)
    bare, bare_url = page_without_widget(stack.service_url)
    look = f"{stack.service_url}/api/v1/widgets/{stack.widget_key}/look"
    one_fetch = (
        f'addEventListener("load",()=>setTimeout(()=>fetch("{look}",{{credentials:"omit"}})))'
    )
    fetching, fetching_url = page_without_widget(stack.service_url, one_fetch)
    widget = stack.service_url
    cases = {  # label: page, intent (None: no widget), whose code is measured
        "without the widget": (bare_url, None, widget),
        "bare page, one fetch()": (fetching_url, None, fetching_url.rstrip("/")),
        "with it, page load": (stack.shop_url + "/", False, widget),
        "with it, + first intent": (stack.shop_url + "/", True, widget),
    }
    results: dict[str, list[tuple[float, float]]] = {label: [] for label in cases}
    try:
        with sync_playwright() as p, tempfile.TemporaryDirectory() as tmp:
            browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
            for i in range(runs):
                for label, (url, intent, origin) in cases.items():
                    trace = Path(tmp) / f"{i}.json"
                    results[label].append(one_run(browser, url, origin, trace, intent))
            browser.close()
    finally:
        bare.shutdown()
        fetching.shutdown()
        stack.stop()
    for label, values in results.items():
        longest = statistics.median(v[0] for v in values)
        widget = statistics.median(v[1] for v in values)
        whose = "its script" if label.startswith("bare") else "widget code"
        print(
            f"{label:<24}: longest task {longest:5.1f} ms, {whose} in one task {widget:5.1f} ms "
            f"at 4x CPU (median of {runs})"
        )
    with_widget = [label for label, (_url, intent, _origin) in cases.items() if intent is not None]
    worst = max(statistics.median(v[1] for v in results[k]) for k in with_widget)
    verdict = "OK" if worst <= GOAL_MS else f"MISSED by {worst - GOAL_MS:.0f} ms"
    baseline = statistics.median(v[1] for v in results["bare page, one fetch()"])
    print(
        f"goal: no widget task over {GOAL_MS} ms: its longest {worst:.1f} ms {verdict}; "
        f"a bare page's one fetch() alone: {baseline:.1f} ms"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
