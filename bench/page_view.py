"""What a page view costs the server: /embed.js, the look document (200 and 304), the old config;
and what a waiting visitor's status poll costs (the live stream's fallback).

Each is loaded by wrk (2 threads, 8 connections, GET) over loopback against `widget-server`'s
web app under the same gunicorn settings as the bare Flask JSON endpoint it is compared with
(bench/bare_app.py, gthread, 1 worker, 8 threads), all in one run. The widget's look is asked
with the shop's Origin, as a browser does; "304" sends the ETag back (a revalidation). The
polls go to the handles of POLLED waiting requests in turn (one handle may be polled 40 times
in 10 s), as issue 14's table measured them.
Goal (issue 14): the look at >= 0.8x the bare endpoint, a revalidation a 304.
Run: python bench/page_view.py [seconds]
"""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
import tempfile
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import requests
from stack import BenchStack, bare_endpoint, submit

BENCH = Path(__file__).resolve().parent
LOOK_GOAL = 0.8
POLLED = 400  # waiting requests: at ~1,000 polls/s, 25 per handle in 10 s, under its limit


def wrk(url: str, seconds: int, headers: dict[str, str], *script: str) -> dict[str, float]:
    cmd = ["wrk", "-t2", "-c8", f"-d{seconds}s", "--latency"]
    for name, value in headers.items():
        cmd += ["-H", f"{name}: {value}"]
    if script:  # a Lua script and its arguments
        cmd += ["-s", str(BENCH / script[0]), url, "--", *script[1:]]
    else:
        cmd.append(url)
    out = subprocess.run(
        cmd, capture_output=True, text=True, check=True, timeout=seconds + 30
    ).stdout
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
    value, unit = re.search(r"50%\s+([\d.]+)(us|ms|s)", out).groups()
    non2xx = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", out)
    return {
        "rps": rps,
        "p50_ms": float(value) * {"us": 0.001, "ms": 1.0, "s": 1000.0}[unit],
        "non_2xx": int(non2xx.group(1)) if non2xx else 0,
    }


def bare_baseline(seconds: int) -> dict[str, float]:
    with bare_endpoint() as url:
        return wrk(url, seconds, {})


def waiting_requests(stack: BenchStack, count: int) -> Path:
    """A file of ``count`` waiting requests' status paths (no worker runs: none is dialled)."""
    session = requests.Session()

    def one(i: int) -> str:
        phone = f"+7916{4000000 + i}"
        handle = submit(session, stack.service_url, stack.widget_key, stack.shop_url, phone)
        return f"/api/v1/requests/{handle}"

    with ThreadPoolExecutor(4) as pool:
        paths = list(pool.map(one, range(count)))
    listing = Path(tempfile.mkdtemp(prefix="widget-polls-")) / "paths.txt"
    listing.write_text("\n".join(paths) + "\n")
    return listing


def main() -> int:
    if not shutil.which("wrk"):
        print("wrk is needed: apt-get install wrk")
        return 1
    seconds = int(sys.argv[1]) if len(sys.argv) > 1 else 10
    baseline = bare_baseline(seconds)
    stack = BenchStack().start(with_worker=False)
    try:
        base, key, origin = stack.service_url, stack.widget_key, {"Origin": stack.shop_url}
        look = f"{base}/api/v1/widgets/{key}/look"
        first = requests.get(look, headers=origin, timeout=10)
        etag = first.headers["ETag"]
        loader = requests.get(
            f"{base}/embed.js", headers={"Accept-Encoding": "br"}, timeout=10, stream=True
        )
        loader_wire = len(loader.raw.read())  # as sent, not decoded
        cases = {
            "GET /embed.js (brotli)": (f"{base}/embed.js", {"Accept-Encoding": "br"}),
            "GET .../look (200)": (look, origin),
            "GET .../look (304, If-None-Match)": (look, {**origin, "If-None-Match": etag}),
            "GET .../config (old, no-store)": (f"{base}/api/v1/widgets/{key}/config", origin),
        }
        runs = {label: wrk(url, seconds, headers) for label, (url, headers) in cases.items()}
        polls = waiting_requests(stack, POLLED)
        runs["GET /requests/<handle> (a poll)"] = wrk(
            base + "/", seconds, origin, "poll_handles.lua", str(polls)
        )
        shutil.rmtree(polls.parent)
    finally:
        stack.stop()
    line = "{:<36}: {:8.1f} req/s  p50 {:6.2f} ms  ratio to bare {:5.2f}  non-2xx/3xx {}"
    print(line.format("bare Flask JSON endpoint (GET)", baseline["rps"], baseline["p50_ms"], 1, 0))
    # The old config keeps its 60/minute per-IP limit: most of wrk's requests get a 429.
    for label, run in runs.items():
        ratio = run["rps"] / baseline["rps"]
        print(line.format(label, run["rps"], run["p50_ms"], ratio, run["non_2xx"]))
    print(
        f"/embed.js on the wire: {loader_wire} B ({loader.headers.get('Content-Encoding')}),"
        f" {loader.headers['Cache-Control']}; look: {len(first.content)} B,"
        f" {first.headers['Cache-Control']}"
    )
    look_ratio = runs["GET .../look (200)"]["rps"] / baseline["rps"]
    verdict = "OK" if look_ratio >= LOOK_GOAL else f"MISSED by {LOOK_GOAL - look_ratio:.2f}"
    print(f"goal: look >= {LOOK_GOAL}x bare: {look_ratio:.2f}x {verdict}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
