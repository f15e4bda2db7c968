"""Issue 15 end to end: a visitor arriving with UTM tags, through the real queue and simulator.

The source travels in the submit body to the stored request, into the owner's signed
webhook when nobody answers, onto the request's timeline and into the CSV; an answered call
shows up in the dashboard's operator table.
"""

from __future__ import annotations

import re

from sqlalchemy import select

from widget_server import setup
from widget_server.extensions import db
from widget_server.models import CallbackRequest, Owner

from .admin_support import sign_in
from .conftest import build_stack
from .test_admin_requests import NORMAL_NUMBER, finished_call, read_csv
from .test_notify import receiver  # noqa: F401

UTM = {
    "utm_source": "yandex",
    "utm_medium": "cpc",
    "utm_campaign": "winter-sale",
    "yclid": "987654321",
    "referrer": "https://yandex.ru/",
    "landing_page": "https://shop.example/tv?utm_source=yandex",
}


def test_utm_tags_reach_the_webhook_the_timeline_the_csv_and_the_operator_table(
    tmp_path,
    receiver,  # noqa: F811
):
    stack, stop = build_stack(tmp_path, group_rounds=1)
    try:
        with stack.app.app_context():
            owner = db.session.scalar(select(Owner))
            receiver.secret = setup.configure_owner(owner, webhook_url=receiver.url)
        answer = stack.submit("+7 900 000-00-01", source=UTM, variant="b")  # nobody answers
        assert answer.status_code == 202, answer.text
        assert stack.wait_final(answer.json()["handle"], timeout=30)["status"] == "no_operator"
        stack.wait_until(lambda: receiver.received, timeout=10, message="the webhook")
        [delivery] = receiver.received
        assert delivery["valid"] and delivery["event"] == "missed"
        sent = delivery["body"]["request"]
        assert sent["source"] == {
            **dict.fromkeys(("utm_term", "utm_content", "gclid")),
            **UTM,
        }
        assert sent["variant"] == "b" and sent["page_url"] == f"{stack.shop_url}/"

        answered = finished_call(stack, NORMAL_NUMBER)
        with stack.app.app_context():
            missed = db.session.scalar(
                select(CallbackRequest.id).where(CallbackRequest.source_yclid == "987654321")
            )
        client = stack.app.test_client()
        sign_in(client, password="correct horse")
        timeline = client.get(f"/admin/requests/{missed}").data.decode()
        assert 'data-source-field="utm_campaign">winter-sale<' in timeline
        rows = read_csv(client.get("/admin/requests/export.csv?campaign=winter-sale"))
        record = dict(zip(rows[0], rows[1], strict=True))
        assert (
            len(rows) == 2 and record["utm_source"] == "yandex" and record["yclid"] == "987654321"
        )
        dashboard = client.get("/admin/").data.decode()
        assert 'data-step="submits">2<' in dashboard and 'data-step="connected">1<' in dashboard
        assert "yandex" in dashboard  # conversion by source
        operators = dashboard.split("<table data-operators")[1].split("</table>")[0]
        # The answered call's operator: one answered, a median from request to talk.
        cells = re.sub(r"<td [^>]*>", "<td>", operators)  # each cell names its column
        assert re.search(r"<td>1</td><td>\d+</td><td>\d+:\d\d</td>", cells), operators
        with stack.app.app_context():
            req = db.session.get(CallbackRequest, answered)
            assert req.connected_at is not None and req.source_utm_source is None
    finally:
        stop()
