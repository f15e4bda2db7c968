"""Capacity of one machine on PostgreSQL + Redis, as in production.

1. Submit throughput: the highest rate at which the p95 of creating a callback request stays
   under 150 ms, for a bare Flask JSON endpoint, one `widget-server run` instance and two
   (wrk, closed loop, a sweep over connection counts). The queue workers are paused meanwhile
   (SIGSTOP), so this is the web tier; the pipeline (the queue worker dialling the simulator,
   which plays each call back as signed webhooks) is then timed on the backlog it left.
2. Live status: N visitors poll their request's status every WIDGET_STATUS_POLL_MS; probe
   visitors among them measure the delay from the simulator sending a PBX event to the first
   poll that shows it. The largest N whose p95 delay stays within 1 s holds.
3. Memory: RSS of the gunicorn workers and the queue worker, idle and under load, against a
   bare Flask gunicorn worker.

The PostgreSQL server comes from TEST_DATABASE_URL or POSTGRES_TEST_SERVER (a fresh database is
created and dropped); Redis is started here. Needs wrk (apt-get install wrk).
Run: python bench/scale.py [seconds per step]   (2-3 minutes with the default of 3)
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import random
import re
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import requests
import sqlalchemy as sa
from live_stream import scheduled_widget, stream_step
from stack import CLI, ROOT, BenchStack, free_port, gunicorn_command, percentile, submit, wait_for

BENCH = Path(__file__).resolve().parent
P95_TARGET_MS = 150.0
STATUS_TARGET_S = 1.0
POLL_S = 0.5  # WIDGET_STATUS_POLL_MS default
CONNECTIONS = [1, 2, 4, 8, 16]
VISITORS = [50, 100, 200, 400]
PROBES = 12
STREAM_VISITORS = [500, 1000, 2000]  # goal: 2,000 within 1 s p95, each stage <= 300 ms p95
STREAM_STAGE_TARGET_S = 0.3
STREAM_VISITORS_GOAL = 2000
SUBMIT_RATIO_GOAL = 0.2
IDLE_STACK_GOAL_MB = 150.0
# Same server settings for the app and the bare endpoint: 2 worker processes for 2 cores.
WORKERS, THREADS = 2, 8
_blocks = iter(range(100))


# -- helpers ------------------------------------------------------------------------------
def start_redis() -> tuple[subprocess.Popen, str]:
    port = free_port()
    server = subprocess.Popen(
        ["/usr/bin/redis-server", "--port", str(port), "--bind", "127.0.0.1"]
        + ["--save", "", "--appendonly", "no"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 10
    while socket.socket().connect_ex(("127.0.0.1", port)) != 0:
        if time.monotonic() > deadline:
            raise RuntimeError("redis-server did not start")
        time.sleep(0.05)
    return server, f"redis://127.0.0.1:{port}/0"


def create_database(server_url: str, prefix: str) -> tuple[sa.Engine, str, str]:
    """A fresh database on the PostgreSQL server of ``server_url``: (admin engine, name, URL)."""
    admin = sa.create_engine(server_url, isolation_level="AUTOCOMMIT", poolclass=sa.pool.NullPool)
    name = f"{prefix}_{uuid.uuid4().hex[:10]}"
    with admin.connect() as conn:
        conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    url = sa.make_url(server_url).set(database=name).render_as_string(hide_password=False)
    return admin, name, url


def drop_database(admin: sa.Engine, name: str) -> None:
    with admin.connect() as conn:
        conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


def wrk_step(urls: list[str], connections: int, seconds: int, origin: str | None) -> dict:
    """One wrk per URL at once, connections split between them; rps summed, worst p95."""
    procs = []
    for url in urls:
        cmd = ["wrk", "-t1", f"-c{max(1, connections // len(urls))}", f"-d{seconds}s"]
        cmd += ["-s", str(BENCH / "scale_submit.lua")]
        if origin:
            cmd += ["-H", f"Origin: {origin}"]
        cmd += [url, "--", str(next(_blocks))]
        procs.append(subprocess.Popen(cmd, stdout=subprocess.PIPE, text=True))
    rps, p95, errors = 0.0, 0.0, 0
    for proc in procs:
        out = proc.communicate(timeout=seconds + 30)[0]
        rps += float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
        p95 = max(p95, int(re.search(r"P95_US (\d+)", out).group(1)) / 1000)
        bad = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", out)
        errors += int(bad.group(1)) if bad else 0
        errors += sum(int(n) for n in re.findall(r"(?:connect|read|write|timeout) (\d+)", out))
    return {"c": connections, "rps": rps, "p95": p95, "errors": errors}


def sweep(urls: list[str], seconds: int, origin: str | None) -> list[dict]:
    steps = []
    for connections in CONNECTIONS:
        step = wrk_step(urls, connections, seconds, origin)
        steps.append(step)
        print(
            f"    c={connections:<3} {step['rps']:8.1f} req/s  p95 {step['p95']:7.1f} ms"
            f"  errors {step['errors']}",
            flush=True,
        )
        if step["p95"] > 3 * P95_TARGET_MS and connections >= 4:
            break  # well past the target: more connections only queue
    return steps


def best(steps: list[dict]) -> dict:
    ok = [s for s in steps if s["p95"] < P95_TARGET_MS and s["errors"] == 0]
    return max(ok, key=lambda s: s["rps"]) if ok else {"c": 0, "rps": 0.0, "p95": float("nan")}


def rss_mb(pid: int) -> float:
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return 0.0


def pss_mb(pid: int) -> float:
    """Proportional set size: pages shared between processes counted once, split among them."""
    with open(f"/proc/{pid}/smaps_rollup") as rollup:
        for line in rollup:
            if line.startswith("Pss:"):
                return int(line.split()[1]) / 1024
    return 0.0


def children(pid: int) -> list[int]:
    found = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/stat") as stat:
                    if int(stat.read().rsplit(")", 1)[1].split()[1]) == pid:
                        found.append(int(entry))
            except OSError:
                continue
    return found


def cmdline(pid: int) -> str:
    with open(f"/proc/{pid}/cmdline", "rb") as f:
        return f.read().replace(b"\0", b" ").decode()


def is_queue_worker(pid: int) -> bool:
    command = cmdline(pid)
    return "ops.worker" in command or "cli worker" in command


def instance_rss(arbiter: int) -> dict[str, list[float]]:
    """RSS of a `widget-server run`: gunicorn's master, its workers and its queue worker."""
    web, queue = [], []
    for pid in children(arbiter):
        (queue if is_queue_worker(pid) else web).append(rss_mb(pid))
    return {"master": [rss_mb(arbiter)], "web": web, "queue": queue}


def queue_workers(arbiter: int) -> list[int]:
    return [pid for pid in children(arbiter) if is_queue_worker(pid)]


def pause(pids: list[int]) -> None:
    for pid in pids:
        os.kill(pid, signal.SIGSTOP)


def resume(pids: list[int]) -> None:
    for pid in pids:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGCONT)


class PeakRss:
    """The highest RSS of an instance's processes while the block runs (sampled twice a second)."""

    def __init__(self, arbiter: int):
        self.arbiter, self.stop = arbiter, threading.Event()
        self.peak: dict[str, list[float]] = {"master": [], "web": [], "queue": []}

    def _run(self) -> None:
        while not self.stop.wait(0.5):
            now = instance_rss(self.arbiter)
            for kind, values in now.items():
                old, values = self.peak[kind], sorted(values)
                pairs = zip(old, values, strict=False)  # a restarted worker may come and go
                self.peak[kind] = [max(a, b) for a, b in pairs] if old else values

    def __enter__(self):
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.stop.set()
        self.thread.join()


def final_count(db_url: str) -> tuple[int, int]:
    """(requests that are final, all requests) in the bench database."""
    from widget_server.statuses import FINAL

    engine = sa.create_engine(db_url, poolclass=sa.pool.NullPool)
    with engine.connect() as conn:
        done = conn.execute(
            sa.text("SELECT count(*) FROM callback_requests WHERE status = ANY(:s)"),
            {"s": sorted(str(s) for s in FINAL)},
        ).scalar_one()
        total = conn.execute(sa.text("SELECT count(*) FROM callback_requests")).scalar_one()
    engine.dispose()
    return done, total


def drain(db_url: str, seconds: float) -> float:
    """Requests the pipeline brings to a final state per second, watched for ``seconds``."""
    first, total = final_count(db_url)
    start = time.monotonic()
    while time.monotonic() - start < seconds:
        time.sleep(1)
        done, total = final_count(db_url)
        if done == total:
            break
    return (done - first) / (time.monotonic() - start)


# -- live status ---------------------------------------------------------------------------
async def _get(conn, path: bytes, host: bytes, origin: bytes) -> dict:
    reader, writer = conn
    writer.write(
        b"GET " + path + b" HTTP/1.1\r\nHost: " + host + b"\r\nOrigin: " + origin + b"\r\n\r\n"
    )
    head = await reader.readuntil(b"\r\n\r\n")
    length = int(re.search(rb"(?i)content-length:\s*(\d+)", head).group(1))
    body = await reader.readexactly(length)
    if not head.startswith(b"HTTP/1.1 200"):
        raise RuntimeError(head.split(b"\r\n")[0].decode())
    return json.loads(body)


async def visitor(port, handle, origin, stop, deadline, seen, stats):
    """Poll like the widget: the next poll POLL_S after the last answer.

    A probe (``seen`` given) polls until its request is finished; the others until ``stop``.
    """
    loop = asyncio.get_running_loop()
    await asyncio.sleep(random.uniform(0, POLL_S))
    conn = None
    host = f"127.0.0.1:{port}".encode()
    path = f"/api/v1/requests/{handle}".encode()
    while loop.time() < deadline and not (
        "finished" in seen if seen is not None else stop.is_set()
    ):
        started = time.time()
        try:
            if conn is None:
                conn = await asyncio.open_connection("127.0.0.1", port)
            status = await _get(conn, path, host, origin.encode())
        except (OSError, asyncio.IncompleteReadError, RuntimeError, AttributeError) as exc:
            stats["errors"].append(type(exc).__name__ + str(exc)[:40])
            conn = None
            await asyncio.sleep(POLL_S)
            continue
        now = time.time()
        stats["latency"].append(now - started)
        if seen is not None:
            seen.setdefault(status["status"], now)
        await asyncio.sleep(POLL_S)
    if conn:
        conn[1].close()


async def status_step(stack: BenchStack, port: int, background: list[str], n: int) -> dict:
    loop = asyncio.get_running_loop()
    warmup, probe_span = 1.5, 4.0
    begun = loop.time()
    deadline = begun + warmup + probe_span + 12
    stop = asyncio.Event()
    stats: dict[str, list] = {"latency": [], "errors": []}
    tasks = [
        asyncio.create_task(visitor(port, h, stack.shop_url, stop, deadline, None, stats))
        for h in background[: n - PROBES]
    ]
    probe_tasks = []
    await asyncio.sleep(warmup)
    session = requests.Session()
    probes = []
    for i in range(PROBES):
        phone = f"+7917{next(_blocks):02d}{i:05d}"
        handle = await asyncio.to_thread(
            submit, session, stack.service_url, stack.widget_key, stack.shop_url, phone
        )
        seen: dict[str, float] = {}
        probes.append((phone, seen))
        probe_tasks.append(
            asyncio.create_task(visitor(port, handle, stack.shop_url, stop, deadline, seen, stats))
        )
        await asyncio.sleep(probe_span / PROBES)
    await asyncio.gather(*probe_tasks)  # every probe saw its call end, or the deadline passed
    stop.set()
    await asyncio.gather(*tasks)
    duration = loop.time() - begun
    calls = await asyncio.to_thread(
        lambda: requests.get(f"{stack.sim_url}/_sim/calls", timeout=10).json()
    )
    delays = []
    for phone, seen in probes:
        call = next((c for c in calls if str(c.get("visitor", "")).endswith(phone[1:])), None)
        if call is None:
            delays.append(float("inf"))
            continue
        sent = {e["state"]: e["time"] for e in call["events"]}
        for event, status in (("connected", "connected"), ("end", "finished")):
            if event in sent:
                delays.append(seen.get(status, float("inf")) - sent[event])
    return {
        "n": n,
        "polls_per_s": len(stats["latency"]) / duration,
        "target_polls_per_s": n / POLL_S,
        "poll_p95_ms": percentile(stats["latency"], 95) * 1000 if stats["latency"] else 0,
        "delay_p50": percentile(delays, 50),
        "delay_p95": percentile(delays, 95),
        "errors": len(stats["errors"]),
    }


def idle_stacks(stack: BenchStack) -> dict[str, dict]:
    """`widget-server run` (one web worker) on the stack's stores, idle after a first request:
    RSS and PSS of each process as shipped (WIDGET_QUEUE_IN_WEB unset: auto, which puts the
    queue in the one web worker), with the queue worker as a process of its own (=0, auto's
    choice beside several web workers) and inside the web worker (=1)."""
    found = {}
    for label, extra in (
        ("as shipped", {}),
        ("queue process", {"WIDGET_QUEUE_IN_WEB": "0"}),
        ("queue in web", {"WIDGET_QUEUE_IN_WEB": "1"}),
    ):
        port = free_port()
        env = dict(stack.env, WIDGET_WORKERS="1", **extra)
        proc = subprocess.Popen(
            [*CLI, "run", "--port", str(port)],
            env=env,
            cwd=ROOT,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        try:
            wait_for(f"http://127.0.0.1:{port}/embed.js")
            requests.get(f"http://127.0.0.1:{port}/api/v1/openapi.json", timeout=10)
            time.sleep(3)
            pids = [proc.pid, *children(proc.pid)]
            roles = {proc.pid: "master"}
            roles.update((p, "queue" if is_queue_worker(p) else "web") for p in pids[1:])
            found[label] = {
                "rss": {roles[p]: rss_mb(p) for p in pids},
                "rss_total": sum(rss_mb(p) for p in pids),
                "pss_total": sum(pss_mb(p) for p in pids),
            }
        finally:
            proc.terminate()
            proc.wait(timeout=20)
    return found


def live_stream_steps(stack: BenchStack, session: requests.Session) -> list[dict]:
    """N visitors each holding the live status stream open; the largest N within 1 s p95."""
    print("live status: N visitors on the stream (Server-Sent Events), one instance", flush=True)
    key = scheduled_widget(stack)
    with ThreadPoolExecutor(4) as pool:
        waiting = list(
            pool.map(
                lambda i: submit(session, stack.service_url, key, stack.shop_url, f"+7920{i:07d}"),
                range(max(STREAM_VISITORS)),
            )
        )
    steps = []
    for n in STREAM_VISITORS:
        step = asyncio.run(
            stream_step(stack, stack.service_port, waiting, n, PROBES, submit, next(_blocks))
        )
        delays = step.pop("delays")
        step.update(delay_p50=percentile(delays, 50), delay_p95=percentile(delays, 95))
        steps.append(step)
        print(
            f"    N={n:<5} streams open {step['opened']:5d} (still open at the end "
            f"{step['held_open']})  event→seen p50 {step['delay_p50'] * 1000:.0f} ms  "
            f"p95 {step['delay_p95'] * 1000:.0f} ms  errors {step['errors']} "
            f"{' '.join(step['error_kinds'])}",
            flush=True,
        )
    return steps  # every step, a miss included: the goal is the figure at 2,000


# -- main ------------------------------------------------------------------------------------
def main() -> int:
    if not shutil.which("wrk"):
        print("wrk is needed: apt-get install wrk")
        return 1
    server_url = os.environ.get("TEST_DATABASE_URL") or os.environ.get("POSTGRES_TEST_SERVER")
    if not server_url:
        print("set POSTGRES_TEST_SERVER to a PostgreSQL server where a database may be created,")
        print("e.g. postgresql+psycopg://widget:widget@127.0.0.1:5432/postgres")
        return 1
    seconds = int(sys.argv[1]) if len(sys.argv) > 1 and sys.argv[1].isdigit() else 3
    started = time.monotonic()
    admin, db_name, db_url = create_database(server_url, "widget_bench")
    redis, redis_url = start_redis()
    extra: list[subprocess.Popen] = []
    paused: list[int] = []
    stack = None
    results: dict = {}
    try:
        print("bare Flask JSON endpoint (gunicorn gthread, 2 workers x 8 threads)", flush=True)
        port = free_port()
        bare = subprocess.Popen(
            gunicorn_command(
                port, "bare_app:app", "--chdir", str(BENCH), "-w", str(WORKERS), "--threads", "8"
            ),
            cwd=ROOT,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        extra.append(bare)
        wait_for(f"http://127.0.0.1:{port}/")
        results["bare_rss"] = [rss_mb(p) for p in children(bare.pid)]
        results["bare"] = best(sweep([f"http://127.0.0.1:{port}/json"], seconds, None))
        bare.terminate()
        bare.wait(timeout=15)

        env = {
            "WIDGET_DATABASE_URL": db_url,
            "WIDGET_REDIS_URL": redis_url,
            "WIDGET_WORKERS": str(WORKERS),
            "WIDGET_THREADS": str(THREADS),
        }
        stack = BenchStack(time_scale=0.05, extra_env=env).start()
        arbiter_a = stack.children[-1].pid
        time.sleep(2)
        results["idle"] = instance_rss(arbiter_a)
        results["shipped"] = idle_stacks(stack)
        url_a = f"{stack.service_url}/api/v1/widgets/{stack.widget_key}/requests"
        wrk_step([url_a], 4, 2, stack.shop_url)  # warm-up (imports, pools), not counted

        # The stream first, on a server nothing ran on yet but the warm-up.
        requests.post(f"{stack.sim_url}/_sim/config", json={"time_scale": 0.25}, timeout=5)
        results["stream"] = live_stream_steps(stack, requests.Session())
        if "stream" in sys.argv[2:]:  # `scale.py 3 stream`: the live stream alone
            summarise_stream(results["stream"])
            return 0

        print("live status: N visitors polling every 500 ms, one instance", flush=True)
        # The other visitors' requests are held (stored, never dialled: a widget with a cap of
        # one call a day), so that their polls load the server without a backlog of calls.
        out = stack._cli(
            "add-widget", "--pbx", stack.pbx_id, "--origin", stack.shop_url, "--group", "101"
        )
        held_key = out.split("Widget key:")[1].split()[0]
        stack._cli("set-limits", "--widget", held_key, "--cap", "1/day")
        session = requests.Session()
        with ThreadPoolExecutor(4) as pool:
            background = list(
                pool.map(
                    lambda i: submit(
                        session, stack.service_url, held_key, stack.shop_url, f"+7918{i:07d}"
                    ),
                    range(max(VISITORS)),
                )
            )
        drain(db_url, 20)
        requests.post(f"{stack.sim_url}/_sim/config", json={"time_scale": 0.25}, timeout=5)
        results["status"] = []
        for n in VISITORS:
            step = asyncio.run(status_step(stack, stack.service_port, background, n))
            results["status"].append(step)
            print(
                f"    N={n:<4} polls {step['polls_per_s']:6.0f}/s of "
                f"{step['target_polls_per_s']:.0f}  poll p95 {step['poll_p95_ms']:6.1f} ms  "
                f"event→seen p50 {step['delay_p50']:.2f} s  p95 {step['delay_p95']:.2f} s  "
                f"errors {step['errors']}",
                flush=True,
            )
            if step["delay_p95"] > STATUS_TARGET_S:
                break  # the first N that misses the target ends the search
        requests.post(f"{stack.sim_url}/_sim/config", json={"time_scale": 0.05}, timeout=5)

        # The web tier alone: the queue workers are paused (SIGSTOP), so the calls of the
        # accepted requests wait in Redis instead of competing for the two cores; then the
        # pipeline's own rate is measured on that backlog with the worker running again.
        print("one instance: submits, web tier (its queue worker paused)", flush=True)
        paused.extend(queue_workers(arbiter_a))
        with PeakRss(arbiter_a) as peak:
            pause(paused)
            results["one"] = best(sweep([url_a], seconds, stack.shop_url))
            resume(paused)
            print("pipeline: the backlog dialled, played and settled", flush=True)
            results["drain"] = drain(db_url, 4 * seconds)
        results["loaded"] = peak.peak
        print(f"    {results['drain']:.1f} requests/s brought to a final state", flush=True)

        print("two instances on this machine: submits, web tier", flush=True)
        b_port = free_port()
        b = subprocess.Popen(
            [*CLI, "run", "--port", str(b_port)],
            env=stack.env,
            cwd=ROOT,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        extra.append(b)
        wait_for(f"http://127.0.0.1:{b_port}/embed.js")
        time.sleep(1)
        paused.extend(queue_workers(b.pid))
        pause(paused)
        url_b = f"http://127.0.0.1:{b_port}/api/v1/widgets/{stack.widget_key}/requests"
        wrk_step([url_b], 4, 2, stack.shop_url)  # warm-up (imports, pools), not counted
        results["two"] = best(sweep([url_a, url_b], seconds, stack.shop_url))
    finally:
        resume(paused)
        for proc in extra:
            if proc.poll() is None:
                proc.terminate()
                proc.wait(timeout=20)
        if stack:
            stack.stop()
        redis.terminate()
        redis.wait(timeout=10)
        drop_database(admin, db_name)
    summarise(results, time.monotonic() - started)
    return 0


def summarise_stream(steps: list[dict]) -> None:
    holding = [s for s in steps if s["delay_p95"] <= STATUS_TARGET_S and not s["errors"]]
    best_stream = max(holding, key=lambda s: s["n"]) if holding else None
    print(
        f"  visitors on the live stream with p95 event→seen <= 1 s: "
        f"{best_stream['n'] if best_stream else 0} (goal {STREAM_VISITORS_GOAL})"
    )
    for s in steps:
        print(
            f"    N={s['n']:<5} p50 {s['delay_p50'] * 1000:.0f} ms, p95 {s['delay_p95'] * 1000:.0f}"
            f" ms (goal each stage <= {STREAM_STAGE_TARGET_S * 1000:.0f} ms p95), "
            f"errors {s['errors']}"
        )


def summarise(r: dict, elapsed: float) -> None:
    bare = r["bare"]["rps"] or float("nan")
    print(f"\nSummary (2-core machine, PostgreSQL + Redis, {elapsed:.0f} s)")
    print(f"  highest submit rate with p95 < {P95_TARGET_MS:.0f} ms (web tier):")
    for label, key in (
        ("bare Flask JSON", "bare"),
        ("one instance", "one"),
        ("two instances", "two"),
    ):
        s = r[key]
        print(
            f"    {label:<16} {s['rps']:7.1f} req/s (c={s['c']}, p95 {s['p95']:.1f} ms)"
            f"  ratio to bare {s['rps'] / bare:.3f}"
        )
    print(f"    goal: one instance >= {SUBMIT_RATIO_GOAL}x bare")
    print(f"  pipeline (queue worker, PBX, webhooks): {r['drain']:.1f} requests/s made final")
    holding = [s["n"] for s in r["status"] if s["delay_p95"] <= STATUS_TARGET_S]
    print(f"  visitors polling live status with p95 event→seen <= 1 s: {max(holding or [0])}")
    summarise_stream(r["stream"])
    print("  memory (RSS, MB):")
    print(f"    bare Flask gunicorn worker    {', '.join(f'{m:.0f}' for m in r['bare_rss'])}")
    for label, key in (("idle", "idle"), ("under load", "loaded")):
        parts = "   ".join(
            f"{kind} {', '.join(f'{m:.0f}' for m in r[key].get(kind, []))}"
            for kind in ("master", "web", "queue")
        )
        print(f"    {label:<11} {parts}")
    idle = sum(sum(values) for values in r["idle"].values())
    print(f"    this bench's instance (2 web workers) idle: {idle:.0f} MB")
    print(
        f"  `widget-server run` as shipped (1 web worker), idle (goal <= {IDLE_STACK_GOAL_MB:.0f} MB RSS):"
    )
    for label, m in r["shipped"].items():
        parts = ", ".join(f"{name.strip()} {mb:.0f}" for name, mb in m["rss"].items())
        print(
            f"    {label:<14} RSS total {m['rss_total']:.0f} MB ({parts}); "
            f"PSS total {m['pss_total']:.0f} MB"
        )


if __name__ == "__main__":
    sys.exit(main())
