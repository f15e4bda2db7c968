"""`widget-server run` without Redis counts the funnel in the web worker's memory: what it holds
when it stops (a restart, a deploy) reaches the database instead of being lost."""

from __future__ import annotations

import json

import requests
from sqlalchemy import func, select

from widget_server.extensions import db
from widget_server.insight.columns import FunnelDay

from .conftest import make_app
from .test_ops_stream_server import SHOP, _running


def _beacon(service: str, key: str, event: str) -> None:
    answer = requests.post(
        f"{service}/api/v1/widgets/{key}/beacon",
        data=json.dumps({"event": event, "path": "/catalog"}),
        headers={"Origin": SHOP, "Content-Type": "text/plain;charset=UTF-8"},
        timeout=10,
    )
    assert answer.status_code == 204, answer.text


def _counted(tmp_path) -> tuple[int, int]:
    app = make_app(tmp_path)
    with app.app_context():
        impressions, opens = db.session.execute(
            select(func.sum(FunnelDay.impressions), func.sum(FunnelDay.opens))
        ).one()
    return impressions or 0, opens or 0


def test_funnel_counts_held_in_memory_reach_the_database_when_the_server_stops(tmp_path):
    # The queue in a process of its own: inside the web worker (the default) its minute's
    # flush_funnel also writes the counts whenever a minute begins, which is good for the
    # owner but would race the "nothing written yet" check below.
    with _running(tmp_path, {"WIDGET_QUEUE_IN_WEB": "0"}) as (service, key, process, _env):
        for event in ("impression", "impression", "impression", "open"):
            _beacon(service, key, event)
        assert _counted(tmp_path) == (0, 0), "held in memory: no write per beacon"

        process.terminate()  # what a restart does: SIGTERM, gunicorn stops its worker
        process.wait(timeout=30)

    assert _counted(tmp_path) == (3, 1)
