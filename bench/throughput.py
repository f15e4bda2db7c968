"""Requests per second of creating a callback request vs a bare Flask JSON endpoint.

All run under the same gunicorn settings (gthread, 1 worker, 8 threads) and are loaded by
wrk (2 threads, 8 connections) over loopback for a bounded time. "API only" is the web app
alone; "full pipeline" is `widget-server run` with its queue worker placing every call on the
simulator, which plays each one back as webhooks to the same server.
Run: python bench/throughput.py [seconds]
"""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

from stack import BenchStack, bare_endpoint

BENCH = Path(__file__).resolve().parent


def wrk(
    url: str,
    seconds: int,
    headers: dict[str, str],
    script: str = "submit.lua",
    *,
    connections: int = 8,
) -> dict[str, float]:
    threads = min(2, connections)
    cmd = [
        *("wrk", f"-t{threads}", f"-c{connections}", f"-d{seconds}s", "--latency"),
        *("-s", str(BENCH / script)),
    ]
    for name, value in headers.items():
        cmd += ["-H", f"{name}: {value}"]
    out = subprocess.run(
        [*cmd, url], capture_output=True, text=True, check=True, timeout=seconds + 30
    ).stdout
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))

    def ms(label: str) -> float:
        value, unit = re.search(rf"{label}\s+([\d.]+)(us|ms|s)", out).groups()
        return float(value) * {"us": 0.001, "ms": 1.0, "s": 1000.0}[unit]

    non2xx = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", out)
    return {
        "rps": rps,
        "p50_ms": ms("50%"),
        "p99_ms": ms("99%"),
        "non_2xx": float(non2xx.group(1)) if non2xx else 0.0,
    }


def main() -> int:
    if not shutil.which("wrk"):
        print("wrk is needed: apt-get install wrk")
        return 1
    seconds = int(sys.argv[1]) if len(sys.argv) > 1 else 10
    with bare_endpoint() as url:
        baseline = wrk(url, seconds, {})
    runs = {}
    for label, with_worker in (("API only (no queue worker)", False), ("full pipeline", True)):
        stack = BenchStack(time_scale=0.05).start(with_worker=with_worker)
        try:
            runs[label] = wrk(
                f"{stack.service_url}/api/v1/widgets/{stack.widget_key}/requests",
                seconds,
                {"Origin": stack.shop_url},
            )
        finally:
            stack.stop()
    line = "{:<34}: {:8.1f} req/s  p50 {:6.1f} ms  p99 {:7.1f} ms  non-2xx {}"
    print(
        line.format(
            "bare Flask JSON endpoint",
            baseline["rps"],
            baseline["p50_ms"],
            baseline["p99_ms"],
            int(baseline["non_2xx"]),
        )
    )
    for label, run in runs.items():
        print(
            line.format(
                f"create request, {label}",
                run["rps"],
                run["p50_ms"],
                run["p99_ms"],
                int(run["non_2xx"]),
            )
        )
        print(f"{'':<34}  ratio to bare: {run['rps'] / baseline['rps']:.3f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
