"""Dialling capacity against a PBX slow to answer: a burst of visitors from distinct
numbers on one owner's widget, the simulator answering every call_back 8 s late
(`WIDGET_SIM_ANSWER_SECONDS`), `widget-server run` as shipped (gevent, the queue in the
web worker) with `WIDGET_QUEUE_WORKERS` at 2 (the old default: the baseline), 8 (today's
default) and 32.

Prints for each: submit → call_back sent (the simulator's receipt clock) p50 and p95,
and call_backs sent per second over the burst. One account may hold its share of the
workers plus what it borrows (bulkhead.py), so one owner alone gets all but a quarter.

Run: python bench/dial_capacity.py [visitors] [answer seconds]   (about 5 minutes)
"""

from __future__ import annotations

import sys
import time
from concurrent.futures import ThreadPoolExecutor

import requests
from stack import BenchStack, percentile, submit
from tenants import placed_at

WORKERS = (2, 8, 32)


def burst(stack: BenchStack, visitors: int) -> dict:
    sent: dict[str, float] = {}

    def one(n: int) -> None:
        phone = f"+7916{5_000_000 + n:07d}"
        sent[phone[-10:]] = time.time()
        submit(requests.Session(), stack.service_url, stack.widget_key, stack.shop_url, phone)

    with ThreadPoolExecutor(8) as pool:
        list(pool.map(one, range(visitors)))
    deadline = time.monotonic() + 900
    while time.monotonic() < deadline:
        placed = placed_at(stack)
        if all(digits in placed for digits in sent):
            break
        time.sleep(0.5)
    else:
        raise RuntimeError("not every visitor was dialled within 15 minutes")
    lags = [placed[digits] - at for digits, at in sent.items()]
    span = max(placed[d] for d in sent) - min(sent.values())
    return {"p50": percentile(lags, 50), "p95": percentile(lags, 95), "rate": len(sent) / span}


def main() -> None:
    visitors = int(sys.argv[1]) if len(sys.argv) > 1 else 40
    answer = sys.argv[2] if len(sys.argv) > 2 else "8"
    found = {}
    for workers in WORKERS:
        stack = BenchStack(
            time_scale=0.05,
            extra_env={"WIDGET_QUEUE_WORKERS": str(workers), "WIDGET_SIM_ANSWER_SECONDS": answer},
        ).start()
        try:
            found[workers] = burst(stack, visitors)
        finally:
            stack.stop()
        print(f"workers {workers}: {found[workers]}", flush=True)
    print(
        f"\n{visitors} visitors at once, one owner, the PBX answering each call_back {answer} s late"
    )
    print(f"{'WIDGET_QUEUE_WORKERS':<22}{'p50 s':>8}{'p95 s':>8}{'dials/s':>10}{'× baseline':>12}")
    base = found[WORKERS[0]]["rate"]
    for workers, row in found.items():
        print(
            f"{workers:<22}{row['p50']:>8.1f}{row['p95']:>8.1f}{row['rate']:>10.2f}"
            f"{row['rate'] / base:>12.1f}"
        )


if __name__ == "__main__":
    main()
