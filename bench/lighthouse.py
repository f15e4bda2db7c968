"""Lighthouse on the sample shop, with the widget and without it: what the widget costs a page.

Lighthouse 12.2.3 (npm, run through npx at that exact version) drives Debian's Chromium
(CHROME_PATH=/usr/bin/chromium): mobile form factor, simulated throttling, 4x CPU slowdown,
performance only. Each page is measured RUNS times, alternating; the medians are printed:
LCP, TBT, the long tasks attributed to the widget's scripts, and the bytes transferred.
"Without" is the same shop page with the embed snippet taken out, served beside it.
Goals (issue 14): LCP and TBT within 50 ms of the page without the widget, no long task
from the widget over 20 ms.
Run: python bench/lighthouse.py [runs]
"""

from __future__ import annotations

import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
from pathlib import Path

import requests
from stack import BenchStack, free_port
from werkzeug.serving import make_server

LIGHTHOUSE = "lighthouse@12.2.3"
CHROMIUM = "/usr/bin/chromium"
CHROME_FLAGS = "--headless --no-sandbox --disable-gpu --disable-background-networking"
SNIPPET = re.compile(r'<script async src="[^"]*/embed\.js"[^>]*></script>')
GOAL_MS = 50
LONG_TASK_GOAL_MS = 20


def page_without_widget(shop_url: str):
    """The shop's page, snippet removed; everything else fetched from the shop itself."""

    def app(environ, start_response):
        path = environ.get("PATH_INFO", "/")
        upstream = requests.get(shop_url + path, timeout=10)
        body = upstream.content
        if path == "/":
            body = SNIPPET.sub("", upstream.text).encode()
        content_type = upstream.headers.get("Content-Type", "text/html")
        start_response(f"{upstream.status_code} OK", [("Content-Type", content_type)])
        return [body]

    server = make_server("127.0.0.1", free_port(), app, threaded=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, f"http://127.0.0.1:{server.server_port}/"


def lighthouse(url: str, out: Path) -> dict:
    env = {**os.environ, "CHROME_PATH": CHROMIUM}
    cmd = ["npx", "--yes", LIGHTHOUSE, url, "--quiet", "--only-categories=performance"]
    cmd += ["--form-factor=mobile", "--throttling-method=simulate"]
    cmd += ["--throttling.cpuSlowdownMultiplier=4", f"--chrome-flags={CHROME_FLAGS}"]
    cmd += ["--output=json", f"--output-path={out}"]
    subprocess.run(cmd, env=env, check=True, timeout=300, capture_output=True)
    return json.loads(out.read_text())


def figures(report: dict, widget_origin: str) -> dict[str, float]:
    audits = report["audits"]
    tasks = (audits.get("long-tasks", {}).get("details") or {}).get("items", [])
    widget_tasks = [t["duration"] for t in tasks if str(t.get("url", "")).startswith(widget_origin)]
    return {
        "lcp": audits["largest-contentful-paint"]["numericValue"],
        "tbt": audits["total-blocking-time"]["numericValue"],
        "bytes": audits["total-byte-weight"]["numericValue"],
        "widget_long_task": max(widget_tasks, default=0.0),
    }


def main() -> int:
    if not (shutil.which("npx") and os.path.exists(CHROMIUM)):
        print("npx (npm) and /usr/bin/chromium are needed")
        return 1
    runs = int(sys.argv[1]) if len(sys.argv) > 1 else 5
    stack = BenchStack().start(with_worker=False)
    bare, bare_url = page_without_widget(stack.shop_url)
    results: dict[str, list[dict[str, float]]] = {"with widget": [], "without widget": []}
    try:
        with tempfile.TemporaryDirectory() as tmp:
            for i in range(runs):
                for label, url in (
                    ("with widget", stack.shop_url + "/"),
                    ("without widget", bare_url),
                ):
                    report = lighthouse(url, Path(tmp) / f"{i}.json")
                    results[label].append(figures(report, stack.service_url))
    finally:
        bare.shutdown()
        stack.stop()
    median = {
        label: {k: statistics.median(r[k] for r in rs) for k in rs[0]}
        for label, rs in results.items()
    }
    for label, m in median.items():
        print(
            f"{label:<15}: LCP {m['lcp']:7.0f} ms  TBT {m['tbt']:5.0f} ms  "
            f"widget's longest task {m['widget_long_task']:4.0f} ms  {m['bytes'] / 1024:6.1f} KB "
            f"(median of {runs})"
        )
    with_, without = median["with widget"], median["without widget"]
    for name in ("lcp", "tbt"):
        delta = with_[name] - without[name]
        verdict = "OK" if delta <= GOAL_MS else f"MISSED by {delta - GOAL_MS:.0f} ms"
        print(
            f"goal: {name.upper()} within {GOAL_MS} ms of the page without: {delta:+.0f} ms {verdict}"
        )
    task = with_["widget_long_task"]
    verdict = "OK" if task <= LONG_TASK_GOAL_MS else "MISSED"
    print(f"goal: no widget task over {LONG_TASK_GOAL_MS} ms: {task:.0f} ms {verdict}")
    print(f"transferred with the widget: +{(with_['bytes'] - without['bytes']) / 1024:.1f} KB")
    return 0


if __name__ == "__main__":
    sys.exit(main())
