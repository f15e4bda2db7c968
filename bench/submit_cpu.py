"""Where a submit's CPU goes, by process, under the real server on PostgreSQL + Redis.

`widget-server run` as `scale.py` starts it (2 gunicorn workers, gevent, 8 request slots each;
its queue worker paused, so this is the web tier), loaded by wrk with the same script of
fresh numbers. For each connection count: submits per second and the CPU seconds each process
group spent per submit (from /proc/<pid>/stat), against the bare Flask JSON endpoint's CPU
per request under the same load. A ratio to bare is bounded by CPU when the web workers' CPU
per submit times the rate fills the cores. `profile_submit.py` then says where in Python.
The PostgreSQL server comes from TEST_DATABASE_URL or POSTGRES_TEST_SERVER (a fresh database is
created and dropped); Redis is started here. Needs wrk.
Run: python bench/submit_cpu.py [seconds per step]
"""

from __future__ import annotations

import os
import subprocess
import sys
import time

from scale import (
    children,
    create_database,
    drop_database,
    pause,
    queue_workers,
    resume,
    start_redis,
    wrk_step,
)
from stack import ROOT, BenchStack, free_port, gunicorn_command, wait_for

CONNECTIONS = [1, 2, 4, 8]
TICKS = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pids: list[int]) -> float:
    """User + system CPU of ``pids`` so far (a process gone meanwhile counts 0)."""
    total = 0.0
    for pid in pids:
        try:
            with open(f"/proc/{pid}/stat") as stat:
                fields = stat.read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += (int(fields[11]) + int(fields[12])) / TICKS
    return total


def postgres_pids() -> list[int]:
    found = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/cmdline", "rb") as cmd:
                    if cmd.read().startswith(b"postgres"):
                        found.append(int(entry))
            except OSError:
                continue
    return found


def measured(url: str, connections: int, seconds: int, origin, groups) -> dict:
    """One wrk step; CPU ms per request of each group of processes, and of wrk itself."""
    groups = {name: pids() for name, pids in groups.items()}  # backends come and go
    before = {name: cpu_seconds(pids) for name, pids in groups.items()}
    own = os.times()
    step = wrk_step([url], connections, seconds, origin)
    spent = os.times()
    count = max(1.0, step["rps"] * seconds)
    cpu = {name: (cpu_seconds(pids) - before[name]) * 1000 / count for name, pids in groups.items()}
    wrk_s = (spent.children_user + spent.children_system) - (
        own.children_user + own.children_system
    )
    cpu["wrk"] = wrk_s * 1000 / count
    return {**step, "cpu": cpu}


def report(label: str, step: dict) -> None:
    parts = ", ".join(f"{name} {ms:.2f}" for name, ms in step["cpu"].items())
    print(
        f"  {label} c={step['c']:<2} {step['rps']:8.1f} req/s  p95 {step['p95']:6.1f} ms  "
        f"errors {step['errors']}  CPU ms per request: {parts}",
        flush=True,
    )


def main() -> int:
    server_url = os.environ.get("TEST_DATABASE_URL") or os.environ.get("POSTGRES_TEST_SERVER")
    if not server_url:
        print("set POSTGRES_TEST_SERVER to a PostgreSQL server where a database may be created")
        return 1
    seconds = int(sys.argv[1]) if len(sys.argv) > 1 else 5
    admin, name, db_url = create_database(server_url, "widget_cpu")
    redis, redis_url = start_redis()
    port = free_port()
    bare_cmd = gunicorn_command(port, "bare_app:app", "--chdir", str(ROOT / "bench"))
    bare_cmd[bare_cmd.index("-w") + 1] = "2"  # as scale.py's baseline: 2 workers x 8 threads
    bare = subprocess.Popen(bare_cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    env = {"WIDGET_DATABASE_URL": db_url, "WIDGET_REDIS_URL": redis_url}
    env |= {"WIDGET_WORKERS": "2", "WIDGET_THREADS": "8"}
    stack, paused = None, []
    try:
        wait_for(f"http://127.0.0.1:{port}/json")
        print("bare Flask JSON endpoint (gunicorn gthread, 2 workers x 8 threads)", flush=True)
        bare_groups = {"bare workers": lambda: children(bare.pid)}
        for connections in CONNECTIONS:
            url = f"http://127.0.0.1:{port}/json"
            report("bare", measured(url, connections, seconds, None, bare_groups))
        bare.terminate()
        stack = BenchStack(extra_env=env).start()
        arbiter = stack.children[-1].pid
        paused = queue_workers(arbiter)
        pause(paused)
        url = f"{stack.service_url}/api/v1/widgets/{stack.widget_key}/requests"
        wrk_step([url], 4, 2, stack.shop_url)  # warm-up (imports, pools), not counted
        time.sleep(0.5)
        print("submits, one instance, web tier (its queue worker paused)", flush=True)
        groups = {
            "web workers": lambda: [p for p in children(arbiter) if p not in paused],
            "postgres": postgres_pids,
            "redis": lambda: [redis.pid],
        }
        for connections in CONNECTIONS:
            report("submit", measured(url, connections, seconds, stack.shop_url, groups))
    finally:
        resume(paused)
        if bare.poll() is None:
            bare.terminate()
        if stack:
            stack.stop()
        redis.terminate()
        drop_database(admin, name)
    return 0


if __name__ == "__main__":
    sys.exit(main())
