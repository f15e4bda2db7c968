"""Live status over the stream (`GET /api/v1/requests/<handle>/events`), for bench/scale.py.

N visitors hold a stream open each, as the widget's EventSource does; probe visitors among
them have real calls (the simulator answers) and record when each stage reaches them, against
the time the simulator sent the PBX event. The others wait on requests scheduled for a later
day (non-final, never dialled during the run), so they load the server with open streams
only, as visitors whose call has not come yet do.
"""

from __future__ import annotations

import asyncio
import json
import random
import time

import requests

RAMP_S = 8.0  # the background streams open over this long (visitors do not arrive at once)


def scheduled_widget(stack) -> str:
    """A widget closed today and tomorrow (days off): its requests wait, scheduled."""
    out = stack._cli(
        "add-widget", "--pbx", stack.pbx_id, "--origin", stack.shop_url, "--group", "101"
    )
    key = out.split("Widget key:")[1].split()[0]
    # Yesterday to the day after tomorrow in UTC covers today and tomorrow in any zone.
    now = time.time()
    args = ["set-hours", "--widget", key, "--default-hours"]
    for offset in (-1, 0, 1, 2):
        args += ["--day-off", time.strftime("%Y-%m-%d", time.gmtime(now + offset * 86400))]
    stack._cli(*args)
    return key


async def _open(port: int, handle: str, origin: str):
    reader, writer = await asyncio.open_connection("127.0.0.1", port, limit=1 << 16)
    writer.write(
        f"GET /api/v1/requests/{handle}/events HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n"
        f"Origin: {origin}\r\nAccept: text/event-stream\r\n\r\n".encode()
    )
    head = await reader.readuntil(b"\r\n\r\n")
    if not head.startswith(b"HTTP/1.1 200"):
        writer.close()
        raise RuntimeError(head.split(b"\r\n")[0].decode())
    return reader, writer


async def _messages(reader):
    """Each message's JSON, from a chunked text/event-stream body."""
    buffer = b""
    while True:
        size_line = await reader.readuntil(b"\r\n")
        size = int(size_line.strip() or b"0", 16)
        if size == 0:
            return
        buffer += await reader.readexactly(size)
        await reader.readexactly(2)
        while b"\n\n" in buffer:
            block, buffer = buffer.split(b"\n\n", 1)
            for line in block.split(b"\n"):
                if line.startswith(b"data:"):
                    yield json.loads(line[5:])


async def stream_visitor(port, handle, origin, stop, seen, stats, ready=None):
    """Hold a stream open until ``stop`` (background) or the final status (a probe)."""
    try:
        reader, writer = await _open(port, handle, origin)
    except (OSError, asyncio.IncompleteReadError, RuntimeError) as exc:
        stats["errors"].append(type(exc).__name__ + str(exc)[:40])
        if ready is not None:
            ready.append(False)
        return
    messages = _messages(reader)
    try:
        async for message in _until(messages, stop):
            now = time.time()
            if ready is not None and not seen.get("_first"):
                ready.append(True)
            seen.setdefault("_first", now)
            seen.setdefault(message["status"], now)
            stats["messages"] += 1
            if message["final"]:
                break
    except (OSError, asyncio.IncompleteReadError, ValueError) as exc:
        stats["errors"].append(type(exc).__name__ + str(exc)[:40])
    finally:
        writer.close()


async def _until(messages, stop: asyncio.Event):
    """The messages until ``stop`` is set."""
    stopping = asyncio.ensure_future(stop.wait())
    try:
        while True:
            nxt = asyncio.ensure_future(messages.__anext__())
            done, _ = await asyncio.wait({nxt, stopping}, return_when=asyncio.FIRST_COMPLETED)
            if nxt not in done:
                nxt.cancel()
                return
            try:
                yield nxt.result()
            except StopAsyncIteration:
                return
    finally:
        stopping.cancel()


async def stream_step(stack, port, background, n, probes, submit, block) -> dict:
    """``n`` open streams, ``probes`` of them on answered calls; delays PBX event → client."""
    loop = asyncio.get_running_loop()
    stop = asyncio.Event()
    stats: dict = {"errors": [], "messages": 0}
    ready: list[bool] = []
    others = background[: n - probes]
    tasks = []
    for handle in others:
        tasks.append(
            asyncio.create_task(
                stream_visitor(port, handle, stack.shop_url, stop, {}, stats, ready)
            )
        )
        await asyncio.sleep(RAMP_S / max(1, len(others)) * random.uniform(0.5, 1.5))
    deadline = loop.time() + 60
    while len(ready) < len(others) and loop.time() < deadline:
        await asyncio.sleep(0.1)
    opened = sum(ready)
    session = requests.Session()
    probe_tasks, sent = [], []
    for i in range(probes):
        phone = f"+7919{block:02d}{i:05d}"
        handle = await asyncio.to_thread(
            submit, session, stack.service_url, stack.widget_key, stack.shop_url, phone
        )
        seen: dict[str, float] = {}
        sent.append((phone, seen))
        probe_tasks.append(
            asyncio.create_task(stream_visitor(port, handle, stack.shop_url, stop, seen, stats))
        )
        await asyncio.sleep(4.0 / probes)
    await asyncio.wait(probe_tasks, timeout=40)
    still_open = sum(1 for t in tasks if not t.done())
    stop.set()
    await asyncio.gather(*tasks, *probe_tasks)
    calls = await asyncio.to_thread(
        lambda: requests.get(f"{stack.sim_url}/_sim/calls", timeout=10).json()
    )
    delays = []
    for phone, seen in sent:
        call = next((c for c in calls if str(c.get("visitor", "")).endswith(phone[1:])), None)
        if call is None:
            delays.append(float("inf"))
            continue
        events = {e["state"]: e["time"] for e in call["events"]}
        for event, status in (("connected", "connected"), ("end", "finished")):
            if event in events:
                delays.append(seen.get(status, float("inf")) - events[event])
    return {
        "n": n,
        "opened": opened + probes,
        "held_open": still_open,
        "delays": delays,
        "errors": len(stats["errors"]),
        "error_kinds": sorted(set(stats["errors"]))[:3],
    }
