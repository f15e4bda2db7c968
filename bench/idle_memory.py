"""`widget-server run` idle on one machine's defaults (SQLite, no Redis): memory per process.

The stack as `pip install` leaves it ("as shipped": one web worker (gevent) that runs the task
queue too, WIDGET_QUEUE_IN_WEB's auto with one web worker), then with a queue worker process of
its own (=0, auto's choice beside several) and the queue in the web worker (=1); RSS and PSS (shared
pages split between processes) after start and one request, next to issue 14's goal and a bare
Python interpreter measured in the same run. `scale.py` measures the same on PostgreSQL + Redis.
Run: python bench/idle_memory.py
"""

from __future__ import annotations

import subprocess
import sys
import time

from scale import IDLE_STACK_GOAL_MB, idle_stacks, rss_mb
from stack import BenchStack


def bare_interpreter_mb() -> float:
    with subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)"]) as bare:
        time.sleep(1)
        mb = rss_mb(bare.pid)
        bare.kill()
    return mb


def main() -> int:
    stack = BenchStack().start(with_worker=False)  # SQLite, no Redis: the defaults
    try:
        found = idle_stacks(stack)
    finally:
        stack.stop()
    print(f"bare Python interpreter: {bare_interpreter_mb():.0f} MB RSS")
    print(f"`widget-server run`, SQLite, no Redis, idle (goal <= {IDLE_STACK_GOAL_MB:.0f} MB RSS):")
    for label, m in found.items():
        parts = ", ".join(f"{name} {mb:.0f}" for name, mb in m["rss"].items())
        verdict = "OK" if m["rss_total"] <= IDLE_STACK_GOAL_MB else "MISSED"
        print(
            f"  {label:<14} RSS total {m['rss_total']:.0f} MB ({parts}); "
            f"PSS total {m['pss_total']:.0f} MB  {verdict}"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
