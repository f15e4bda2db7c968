"""One hostile owner against the others: submit → call_back placed for an ordinary owner's
visitors, alone and while a hostile owner's PBX drips every answer a byte at a time under a
burst of that owner's requests. `widget-server run` as shipped (gevent, queue in the web
worker, default `WIDGET_QUEUE_WORKERS` and `WIDGET_PBX_DEADLINE`), SQLite, the simulator
for the ordinary owner, a dripping stand-in for the hostile one, all on loopback.

Prints, for each phase, the ordinary visitors' submit → call_back p50 and p95 (the
simulator's receipt clock), /healthz p95 meanwhile, and how many of the hostile PBX's
connections were open at once at most.

Run: python bench/tenants.py [visitors] [hostile_burst]
"""

from __future__ import annotations

import contextlib
import socket
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import requests
from stack import BenchStack, free_port, percentile, submit

USERS_INFO = (
    b'{"result":"0","resultMessage":"ok","users":[{"pin":"201","name":"op","is_operator":true}],'
    b'"groups":[{"pin":"101","name":"Sales","users_list":["201"]}]}'
)


class DrippingPbx(BaseHTTPRequestHandler):
    """users_info at once (so its groups can be read); anything else one byte every 2 s."""

    open_now = 0
    most_open = 0
    lock = threading.Lock()

    def log_message(self, *_args):  # quiet
        pass

    def do_POST(self):  # noqa: N802 - http.server's naming
        self.rfile.read(int(self.headers.get("Content-Length") or 0))
        if self.path.endswith("/users_info"):
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(USERS_INFO)))
            self.end_headers()
            self.wfile.write(USERS_INFO)
            return
        cls = type(self)
        with cls.lock:
            cls.open_now += 1
            cls.most_open = max(cls.most_open, cls.open_now)
        try:
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", "200")
            self.end_headers()
            for _ in range(200):
                self.wfile.write(b" ")
                self.wfile.flush()
                time.sleep(2)
        except OSError:
            pass  # the service gave up on us: what it should do
        finally:
            with cls.lock:
                cls.open_now -= 1


def hostile_site(stack: BenchStack) -> str:
    """The hostile owner, their account on the dripping PBX and a widget; its key."""
    port = free_port()
    server = ThreadingHTTPServer(("127.0.0.1", port), DrippingPbx)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    stack._cli("create-owner", "hostile@example.com", stdin="hostile-password\n")
    out = stack._cli(
        "add-pbx",
        *("--owner", "hostile@example.com", "--api-url", f"http://127.0.0.1:{port}"),
        *("--client-id", "HOSTILE", "--sign-key", "HOSTILEKEY"),
    )
    pbx_id = out.split("PBX account id:")[1].split()[0]
    stack._cli("sync-groups", pbx_id)
    out = stack._cli("add-widget", "--pbx", pbx_id, "--origin", stack.shop_url, "--group", "101")
    return out.split("Widget key:")[1].split()[0]


def placed_at(stack: BenchStack) -> dict[str, float]:
    """When the simulator received each call_back, by the visitor's last 10 digits."""
    found: dict[str, float] = {}
    for entry in requests.get(f"{stack.sim_url}/_sim/requests", timeout=10).json():
        if entry["method"] == "call_back":
            digits = "".join(c for c in str(entry["body"].get("request_number")) if c.isdigit())
            found.setdefault(digits[-10:], entry["time"])
    return found


def ordinary_visitors(stack: BenchStack, first: int, count: int) -> list[float]:
    """``count`` visitors of the ordinary owner, one every 0.3 s; submit → call_back seconds."""
    session, sent = requests.Session(), {}
    for n in range(first, first + count):
        phone = f"+7916{n:07d}"
        sent[phone[-10:]] = time.time()
        submit(session, stack.service_url, stack.widget_key, stack.shop_url, phone)
        time.sleep(0.3)
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline:
        placed = placed_at(stack)
        if all(digits in placed for digits in sent):
            return [placed[digits] - at for digits, at in sent.items()]
        time.sleep(0.5)
    missing = [d for d in sent if d not in placed_at(stack)]
    raise RuntimeError(f"{len(missing)} ordinary visitors never dialled")


def health_watch(url: str, stop: threading.Event, seen: list[float]) -> None:
    while not stop.is_set():
        started = time.monotonic()
        with contextlib.suppress(requests.RequestException):
            requests.get(f"{url}/healthz", timeout=30)
        seen.append(time.monotonic() - started)
        time.sleep(0.2)


def phase(stack: BenchStack, first: int, count: int, burst: str | None, size: int) -> dict:
    stop, healthz = threading.Event(), []
    watcher = threading.Thread(target=health_watch, args=(stack.service_url, stop, healthz))
    watcher.start()
    try:
        if burst:
            session = requests.Session()
            for n in range(size):
                submit(session, stack.service_url, burst, stack.shop_url, f"+7925{n:07d}")
            time.sleep(1)  # the burst has reached the workers
        latencies = ordinary_visitors(stack, first, count)
    finally:
        stop.set()
        watcher.join()
    return {
        "p50": percentile(latencies, 50),
        "p95": percentile(latencies, 95),
        "healthz_p95": percentile(healthz, 95),
    }


def main() -> None:
    visitors = int(sys.argv[1]) if len(sys.argv) > 1 else 30
    burst = int(sys.argv[2]) if len(sys.argv) > 2 else 60
    stack = BenchStack(time_scale=0.05).start()
    try:
        hostile_key = hostile_site(stack)
        alone = phase(stack, 1_000_000, visitors, None, 0)
        attacked = phase(stack, 2_000_000, visitors, hostile_key, burst)
    finally:
        stack.stop()
    print(f"{visitors} ordinary visitors, one every 0.3 s; hostile burst {burst} requests")
    print(f"{'phase':<26}{'p50 s':>8}{'p95 s':>8}{'healthz p95 s':>16}")
    for name, found in (("alone", alone), ("with the hostile owner", attacked)):
        print(f"{name:<26}{found['p50']:>8.2f}{found['p95']:>8.2f}{found['healthz_p95']:>16.3f}")
    print(f"ratio of p95 (with / alone): {attacked['p95'] / alone['p95']:.2f}")
    print(f"the hostile PBX's connections open at once, at most: {DrippingPbx.most_open}")


if __name__ == "__main__":
    socket.setdefaulttimeout(60)
    main()
