"""Bombing drill: a few hundred requests for ONE victim number within a minute.

The attack comes from a distinct client address per request (X-Forwarded-For through one
trusted proxy, WIDGET_TRUSTED_PROXIES=1) across several widgets, while a normal-visitor thread
submits other numbers. Reports how many `call_back`s for the victim reached the simulator (the
goal: what the per-number limits allow, no more) and the p95 latency of the normal visitors'
submits. Loopback only, default limits, bounded in time.

Run: python bench/bombing_drill.py [attack_requests] [seconds]
"""

from __future__ import annotations

import itertools
import sys
import threading
import time
from collections import Counter

import requests
from stack import BenchStack, percentile

from widget_server.phones import digits_of

VICTIM = "+79161234567"
WIDGETS = 4
ATTACK_THREADS = 8


def post(session: requests.Session, stack: BenchStack, key: str, phone: str, ip: str):
    return session.post(
        f"{stack.service_url}/api/v1/widgets/{key}/requests",
        json={"phone": phone, "consent": True, "group": "101"},
        headers={"Origin": stack.shop_url, "X-Forwarded-For": ip},
        timeout=10,
    )


def attack(stack: BenchStack, keys: list[str], total: int, seconds: float) -> Counter:
    codes: Counter = Counter()
    counter = itertools.count()
    lock = threading.Lock()
    start = time.monotonic()
    interval = seconds / total

    def worker() -> None:
        session = requests.Session()
        while True:
            with lock:
                i = next(counter)
            if i >= total:
                return
            # Paced: request i leaves at start + i * interval.
            delay = start + i * interval - time.monotonic()
            if delay > 0:
                time.sleep(delay)
            ip = f"10.{(i >> 16) & 255}.{(i >> 8) & 255}.{i & 255}"  # a new address each time
            try:
                code = post(session, stack, keys[i % len(keys)], VICTIM, ip).status_code
            except requests.RequestException:
                code = "error"
            with lock:
                codes[code] += 1

    threads = [threading.Thread(target=worker) for _ in range(ATTACK_THREADS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return codes


def visitors(stack: BenchStack, keys: list[str], stop: threading.Event, out: dict) -> None:
    session = requests.Session()
    latencies: list[float] = []
    codes: Counter = Counter()
    for i in itertools.count():
        if stop.is_set():
            break
        phone = f"+7926{100 + i:03d}{i:04d}"  # distinct numbers and prefixes
        sent = time.perf_counter()
        try:
            code = post(session, stack, keys[i % len(keys)], phone, f"192.0.2.{i % 250 + 1}")
            codes[code.status_code] += 1
        except requests.RequestException:
            codes["error"] += 1
            continue
        latencies.append(time.perf_counter() - sent)
        time.sleep(0.3)
    out.update(latencies=latencies, codes=codes)


def main() -> None:
    total = int(sys.argv[1]) if len(sys.argv) > 1 else 300
    seconds = float(sys.argv[2]) if len(sys.argv) > 2 else 45.0
    stack = BenchStack(
        extra_env={
            # The shipped defaults, not the bench's lifted ones; one trusted proxy.
            "WIDGET_RATELIMIT_NUMBER": "",
            "WIDGET_RATELIMIT_IP": "",
            "WIDGET_RATELIMIT_IP_GLOBAL": "",
            "WIDGET_RATELIMIT_WIDGET_NUMBER": "",
            "WIDGET_RATELIMIT_PREFIX": "",
            "WIDGET_NEW_WIDGET_CAP": "",
            "WIDGET_TRUSTED_PROXIES": "1",
            "WIDGET_NIGHT_GUARD": "0",  # dial at any hour of the drill
        }
    ).start()
    try:
        keys = [stack.widget_key]
        for _ in range(WIDGETS - 1):
            out = stack._cli(
                "add-widget", "--pbx", stack.pbx_id, "--origin", stack.shop_url,
                "--group", "101=Отдел продаж",
            )  # fmt: skip
            keys.append(out.split("Widget key:")[1].split()[0])
        stop, normal = threading.Event(), {}
        visitor = threading.Thread(target=visitors, args=(stack, keys, stop, normal))
        visitor.start()
        began = time.monotonic()
        codes = attack(stack, keys, total, seconds)
        took = time.monotonic() - began
        stop.set()
        visitor.join()
        time.sleep(5)  # let the queue worker dispatch what was accepted
        calls = [
            r
            for r in requests.get(f"{stack.sim_url}/_sim/requests", timeout=10).json()
            if r["method"] == "call_back"
        ]
        victim = sum(
            digits_of(str(r["body"].get("request_number"))) == digits_of(VICTIM) for r in calls
        )
        lat = sorted(normal["latencies"])
        print(f"attack: {total} requests for one number in {took:.1f} s over {len(keys)} widgets,")
        print(f"        one client address each; answers {dict(codes)}")
        print(f"call_backs for the victim at the simulator: {victim}")
        print(f"call_backs for other numbers: {len(calls) - victim}")
        print(
            f"normal visitors: {len(lat)} submits, answers {dict(normal['codes'])}, "
            f"p50 {percentile(lat, 50) * 1000:.0f} ms, p95 {percentile(lat, 95) * 1000:.0f} ms"
        )
    finally:
        stack.stop()


if __name__ == "__main__":
    main()
