"""Requests per second of the funnel beacon vs a bare Flask JSON endpoint, and its database writes.

Same settings as throughput.py (gunicorn gthread, 1 worker, 8 threads; wrk 2 threads,
8 connections, loopback). The beacon checks the widget's origin (cached) and adds one to a
counter in memory; the counter is written to ``funnel_days`` at most once a minute, so a
run shorter than a minute should leave the table empty however many beacons it sent.
Run: python bench/beacon.py [seconds]
"""

from __future__ import annotations

import shutil
import sqlite3
import sys

from stack import BenchStack, bare_endpoint
from throughput import wrk


def funnel_rows(stack: BenchStack) -> tuple[int, int]:
    """(rows, impressions + opens) in funnel_days of the stack's SQLite database."""
    database = next(stack.tmp.rglob("widget.sqlite3"))
    with sqlite3.connect(database) as conn:
        rows, total = conn.execute(
            "SELECT COUNT(*), COALESCE(SUM(impressions + opens), 0) FROM funnel_days"
        ).fetchone()
    return rows, total


def main() -> int:
    if not shutil.which("wrk"):
        print("wrk is needed: apt-get install wrk")
        return 1
    seconds = int(sys.argv[1]) if len(sys.argv) > 1 else 8
    with bare_endpoint() as url:
        baseline = wrk(url, seconds, {}, script="beacon.lua")
    stack = BenchStack(extra_env={"WIDGET_RATELIMIT_BEACON": "100000000/minute"})
    stack.start(with_worker=False)
    try:
        run = wrk(
            f"{stack.service_url}/api/v1/widgets/{stack.widget_key}/beacon",
            seconds,
            {"Origin": stack.shop_url},
            script="beacon.lua",
        )
        rows, counted = funnel_rows(stack)
    finally:
        stack.stop()
    line = "{:<26}: {:8.1f} req/s  p50 {:6.1f} ms  p99 {:7.1f} ms  non-2xx {}"
    for label, r in (("bare Flask JSON endpoint", baseline), ("funnel beacon", run)):
        print(line.format(label, r["rps"], r["p50_ms"], r["p99_ms"], int(r["non_2xx"])))
    print(f"{'':<26}  ratio to bare: {run['rps'] / baseline['rps']:.3f}")
    sent = int(run["rps"] * seconds)
    print(
        f"beacons sent ≈ {sent}; funnel_days rows written during the run: {rows} ({counted} counted)"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
