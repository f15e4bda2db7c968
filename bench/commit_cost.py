"""What a durable 202 costs a submit: SQLite's ``synchronous=FULL`` (as shipped: the WAL is
synced at every commit, so an accepted request survives a power cut) against ``NORMAL``
(synced only at checkpoints: the last seconds of requests are lost in a crash, see
tests/test_durability_crash.py), next to a bare Flask JSON endpoint in the same run.

Both variants are `widget-server run`'s web app alone (no queue worker: the submit path
only) on the same instance settings; ``NORMAL`` is put back by a ``sitecustomize`` on
the server's ``PYTHONPATH`` that adds the old pragma after the shipped ones. wrk, one
connection (a submit's own latency, the syncs included) and eight (throughput), ROUNDS
rounds alternating the variants; medians.
Run: python bench/commit_cost.py [seconds] [rounds]
"""

from __future__ import annotations

import shutil
import statistics
import sys
import tempfile
from pathlib import Path

from stack import BenchStack, bare_endpoint
from throughput import wrk

NORMAL_AGAIN = """
from sqlalchemy import event

from widget_server import database

_shipped = database.configure_engine


def configure_engine(engine):
    _shipped(engine)
    if engine.dialect.name == "sqlite":
        @event.listens_for(engine, "connect")
        def _normal(dbapi_connection, _record):
            dbapi_connection.execute("PRAGMA synchronous=NORMAL")


database.configure_engine = configure_engine
"""


def _measure(url: str, seconds: int, headers: dict[str, str]) -> dict[str, float]:
    one = wrk(url, seconds, headers, connections=1)
    eight = wrk(url, seconds, headers, connections=8)
    return {"p50_ms_1": one["p50_ms"], "rps_1": one["rps"], "rps_8": eight["rps"]}


def main() -> int:
    if not shutil.which("wrk"):
        print("wrk is needed: apt-get install wrk")
        return 1
    seconds = int(sys.argv[1]) if len(sys.argv) > 1 else 8
    rounds = int(sys.argv[2]) if len(sys.argv) > 2 else 3
    patch = Path(tempfile.mkdtemp(prefix="commit-cost-"))
    (patch / "sitecustomize.py").write_text(NORMAL_AGAIN)
    variants = {
        "synchronous=FULL (as shipped)": {},
        "synchronous=NORMAL (before)": {"PYTHONPATH": str(patch)},
    }
    results: dict[str, list[dict[str, float]]] = {"bare": [], **{v: [] for v in variants}}
    try:
        for _ in range(rounds):
            with bare_endpoint() as url:
                results["bare"].append(_measure(url, seconds, {}))
            for label, env in variants.items():
                stack = BenchStack(extra_env=env).start(with_worker=False)
                try:
                    url = f"{stack.service_url}/api/v1/widgets/{stack.widget_key}/requests"
                    results[label].append(_measure(url, seconds, {"Origin": stack.shop_url}))
                finally:
                    stack.stop()
    finally:
        shutil.rmtree(patch, ignore_errors=True)

    def median(label: str, key: str) -> float:
        return statistics.median(run[key] for run in results[label])

    print(f"medians of {rounds} rounds, {seconds} s each")
    line = (
        "{:<40} p50 {:6.2f} ms one at a time  {:7.1f} req/s (1 conn)  {:7.1f} req/s (8 conns)  {}"
    )
    for label in results:
        ratio = (
            ""
            if label == "bare"
            else f"ratio to bare {median(label, 'rps_8') / median('bare', 'rps_8'):.3f}"
        )
        name = "bare Flask JSON endpoint" if label == "bare" else f"submit, {label}"
        print(
            line.format(
                name,
                median(label, "p50_ms_1"),
                median(label, "rps_1"),
                median(label, "rps_8"),
                ratio,
            )
        )
    full, normal = list(variants)
    extra = median(full, "p50_ms_1") - median(normal, "p50_ms_1")
    print(
        f"a durable 202 costs {extra:+.2f} ms per submit (one at a time), throughput "
        f"{median(full, 'rps_8') / median(normal, 'rps_8'):.2f}x of NORMAL's at 8 connections"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
