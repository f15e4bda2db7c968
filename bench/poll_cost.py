"""What one waiting visitor's poll costs the web process, next to the bare endpoint.

The live stream is how the widget hears of a change; polling `GET /requests/<handle>` is its
fallback (every 0.5 s, slower once talking) where a stream cannot be opened. Measured in this
process through Flask's test client (no network, no server: the app's own work only), on
SQLite: ms per poll over 150 requests' handles in turn (the per-handle limit is 40 in 10 s),
and the SQL statements one poll runs. The bare Flask JSON endpoint (bench/bare_app.py) through
the same test client in the same run is the baseline. Medians of 5 rounds.
Run: python bench/poll_cost.py [polls per round]
"""

from __future__ import annotations

import os
import statistics
import sys
import time

from bare_app import app as bare_app
from sqlalchemy import event
from stack import ROOT, BenchStack

sys.path.insert(0, str(ROOT))  # this checkout's package, not an installed one
HANDLES = 150


def per_call_ms(call, count: int) -> float:
    rounds = []
    for _ in range(5):
        started = time.perf_counter()
        for i in range(count):
            call(i)
        rounds.append((time.perf_counter() - started) / count * 1000)
    return statistics.median(rounds)


def main() -> int:
    count = int(sys.argv[1]) if len(sys.argv) > 1 else 600
    stack = BenchStack().start(with_worker=False)  # nothing is dialled: every request waits
    try:
        os.environ.update(stack.env)
        from widget_server import create_app  # after the environment is the stack's
        from widget_server.extensions import db

        app = create_app()
        client, origin = app.test_client(), {"Origin": stack.shop_url}
        handles = []
        for i in range(HANDLES):
            answer = client.post(
                f"/api/v1/widgets/{stack.widget_key}/requests",
                json={"phone": f"+7916{3000000 + i}", "consent": True, "group": "101"},
                headers=origin,
            )
            handles.append(f"/api/v1/requests/{answer.get_json()['handle']}")

        def poll(i: int) -> None:
            answer = client.get(handles[i % HANDLES], headers=origin)
            assert answer.status_code == 200, answer.get_data(as_text=True)

        with app.app_context():
            engine = db.engine
        statements: list[str] = []

        def count_statement(_conn, _cursor, statement, *_args):
            statements.append(statement)

        event.listen(engine, "before_cursor_execute", count_statement)
        poll(0)
        event.remove(engine, "before_cursor_execute", count_statement)
        bare = bare_app.test_client()
        bare_ms = per_call_ms(lambda _i: bare.get("/json"), count)
        poll_ms = per_call_ms(poll, count)
    finally:
        stack.stop()
    print(f"bare Flask JSON endpoint (GET, test client): {bare_ms:.3f} ms")
    print(
        f"poll GET /requests/<handle>: {poll_ms:.3f} ms ({poll_ms / bare_ms:.1f}x bare), "
        f"{len(statements)} SQL statement(s) per poll; median of 5 rounds of {count}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
