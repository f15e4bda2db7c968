"""Where a submit's time goes: cProfile of N in-process submits on PostgreSQL + Redis.

The app is built in this process (Flask's test client, no gunicorn) on a fresh database of
POSTGRES_TEST_SERVER and a Redis started here, set up through the real CLI; the queue worker
does not run, so only the web side of a submit is profiled.
Run: POSTGRES_TEST_SERVER=postgresql+psycopg://widget:widget@127.0.0.1:5432/postgres \\
     python bench/profile_submit.py [submits]
"""

from __future__ import annotations

import cProfile
import os
import pstats
import sys
import time

from scale import create_database, drop_database, start_redis
from stack import ROOT, BenchStack

sys.path.insert(0, str(ROOT))  # this checkout's package, not an installed one


def main() -> int:
    server_url = os.environ.get("POSTGRES_TEST_SERVER") or os.environ.get("TEST_DATABASE_URL")
    if not server_url:
        print("set POSTGRES_TEST_SERVER to a PostgreSQL server where a database may be created")
        return 1
    count = int(sys.argv[1]) if len(sys.argv) > 1 else 400
    admin, name, db_url = create_database(server_url, "widget_profile")
    redis, redis_url = start_redis()
    env = {"WIDGET_DATABASE_URL": db_url, "WIDGET_REDIS_URL": redis_url}
    stack = BenchStack(extra_env=env).start(with_worker=False)
    try:
        os.environ.update(stack.env)
        from widget_server import create_app  # after the environment is the stack's

        client = create_app().test_client()
        url = f"/api/v1/widgets/{stack.widget_key}/requests"

        def post(i: int) -> None:
            body = {"phone": f"+7916{i:07d}", "consent": True, "group": "101"}
            answer = client.post(url, json=body, headers={"Origin": stack.shop_url})
            assert answer.status_code == 202, answer.get_data(as_text=True)

        for i in range(30):  # warm-up: pools, caches, the Lua scripts loaded
            post(i)
        profile = cProfile.Profile()
        started = time.perf_counter()
        profile.enable()
        for i in range(100, 100 + count):
            post(i)
        profile.disable()
        rate = count / (time.perf_counter() - started)
        print(f"{count} submits, {rate:.0f}/s in this process under the profiler")
        stats = pstats.Stats(profile)
        stats.sort_stats("cumulative").print_stats(30)
        stats.sort_stats("tottime").print_stats(15)
    finally:
        stack.stop()
        redis.terminate()
        drop_database(admin, name)
    return 0


if __name__ == "__main__":
    sys.exit(main())
