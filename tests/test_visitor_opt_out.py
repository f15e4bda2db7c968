"""Anyone can stop calls to their number; owners keep their own block lists."""

from __future__ import annotations

import re
import time

import pytest
import requests
from click.testing import CliRunner
from sqlalchemy import select

from widget_server import setup
from widget_server.abuse import blocklist
from widget_server.extensions import db
from widget_server.models import NumberBlock
from widget_server.ops.cli import main


def test_the_opt_out_page_is_a_labelled_form_in_russian_by_default(client):
    response = client.get("/opt-out")
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert '<label for="phone">Номер телефона</label>' in html
    assert "default-src 'none'" in response.headers["Content-Security-Policy"]
    english = client.get("/opt-out?lang=en").get_data(as_text=True)
    assert "Stop calls to my number" in english


def test_an_opt_out_blocks_the_number_everywhere_and_keeps_only_a_hash(app, client):
    response = client.post("/opt-out", data={"phone": "+7 916 555-00-11"})
    assert response.status_code == 200
    assert "больше звонков не будет" in response.get_data(as_text=True)
    with app.app_context():
        rows = db.session.scalars(select(NumberBlock)).all()
        assert len(rows) == 1 and rows[0].owner_id is None and rows[0].source == "opt_out"
        assert "9165550011" not in rows[0].number_hash
        assert blocklist.is_blocked(owner_id=12345, phone="+79165550011")
        assert not blocklist.is_blocked(owner_id=12345, phone="+79165550012")


def test_the_answer_is_the_same_whether_or_not_the_number_was_known(client):
    first = client.post("/opt-out", data={"phone": "+7 916 555-00-12"}).get_data(as_text=True)
    again = client.post("/opt-out", data={"phone": "+7 916 555-00-12"}).get_data(as_text=True)
    assert first == again


def test_a_number_that_is_not_russian_gets_a_clear_message(client):
    response = client.post("/opt-out", data={"phone": "12345"})
    assert response.status_code == 422
    assert "10 цифр после +7" in response.get_data(as_text=True)


def test_opt_outs_from_one_address_are_rate_limited(client):
    codes = [
        client.post("/opt-out", data={"phone": f"+7916555{i:04d}"}).status_code for i in range(6)
    ]
    assert codes[:5] == [200] * 5
    assert codes[5] == 429


def test_owner_blocks_apply_to_that_owner_only(app):
    with app.app_context():
        one = setup.create_owner("one@example.com", "password-one")
        two = setup.create_owner("two@example.com", "password-two")
        assert blocklist.block("+79165550013", owner_id=one.id, source="owner")
        assert not blocklist.block("+79165550013", owner_id=one.id, source="owner")
        assert blocklist.is_blocked(one.id, "+79165550013")
        assert not blocklist.is_blocked(two.id, "+79165550013")
        assert blocklist.unblock("+79165550013", owner_id=one.id) == 1
        assert not blocklist.is_blocked(one.id, "+79165550013")


def test_the_block_and_opt_in_commands(tmp_path):
    env = {
        "WIDGET_INSTANCE_PATH": str(tmp_path),
        "WIDGET_DATABASE_URL": f"sqlite:///{tmp_path / 'cli.sqlite3'}",
        "WIDGET_SECRET_KEY": "cli-secret-key-0123456789abcdef",
    }
    runner = CliRunner()
    assert runner.invoke(main, ["init-db"], env=env).exit_code == 0
    assert (
        runner.invoke(
            main, ["create-owner", "o@example.com"], input="long-password\n", env=env
        ).exit_code
        == 0
    )
    blocked = runner.invoke(main, ["block", "--owner", "o@example.com", "8 916 555 00 14"], env=env)
    assert blocked.exit_code == 0 and "blocked" in blocked.output
    assert "9165550014" not in blocked.output  # masked
    again = runner.invoke(main, ["block", "--owner", "o@example.com", "+79165550014"], env=env)
    assert "already" in again.output
    bad = runner.invoke(main, ["block", "--owner", "o@example.com", "123"], env=env)
    assert bad.exit_code != 0 and "not a Russian" in bad.output
    lifted = runner.invoke(main, ["unblock", "--owner", "o@example.com", "+79165550014"], env=env)
    assert "unblocked" in lifted.output
    none = runner.invoke(main, ["opt-in", "+79165550014"], env=env)
    assert "had not opted out" in none.output
    junk = runner.invoke(main, ["report-junk", "--owner", "o@example.com", "999"], env=env)
    assert junk.exit_code != 0 and "no request 999" in junk.output


def test_a_blocked_number_gets_the_same_answer_as_any_request_and_is_never_dialled(stack):
    with stack.app.app_context():
        blocklist.block("+79165550015", owner_id=None, source="opt_out")
    blocked = stack.submit("+7 916 555-00-15")
    normal = stack.submit("+7 916 555-00-16")
    assert blocked.status_code == normal.status_code == 202
    assert set(blocked.json()) == set(normal.json())
    for field in ("status", "final", "cancellable", "message"):
        assert blocked.json()["status"][field] == normal.json()["status"][field]
    stack.wait_final(normal.json()["handle"])
    dialled = [c["body"]["request_number"] for c in stack.sim_requests("call_back")]
    assert dialled == ["+79165550016"]
    with stack.app.app_context():
        from widget_server.models import CallbackRequest, Notification

        held = db.session.scalar(
            select(CallbackRequest).where(CallbackRequest.phone == "+79165550015")
        )
        assert held.status == "held" and held.held_reason == "number blocked"
        assert db.session.scalars(select(Notification)).all() == []


def _token(html: str) -> str:
    return re.search(r'name="csrf_token" value="([^"]+)"', html).group(1)


@pytest.mark.csrf
def test_a_hostile_page_cannot_opt_numbers_out_from_its_visitors_browsers(app, client):
    # A cross-site form post carries no token (and no SameSite=Lax session cookie).
    forged = client.post("/opt-out?lang=en", data={"phone": "+7 916 555-00-12"})
    assert forged.status_code == 400
    assert "The form has expired" in forged.get_data(as_text=True)
    with app.app_context():
        assert not blocklist.is_blocked(None, "+79165550012")
    page = client.get("/opt-out").get_data(as_text=True)
    real = client.post("/opt-out", data={"phone": "+7 916 555-00-12", "csrf_token": _token(page)})
    assert real.status_code == 200
    with app.app_context():
        assert blocklist.is_blocked(None, "+79165550012")


def test_the_status_api_cannot_tell_a_blocked_number_from_a_call_being_tried(stack):
    """No oracle for opted-out numbers: polls and cancels answer as for a real request."""
    with stack.app.app_context():
        for number in ("+79165550017", "+79165550018"):
            blocklist.block(number, owner_id=None, source="opt_out")
    first = stack.submit("+7 916 555-00-17").json()["handle"]
    # Right after the submit it waits in the queue, like any request, and can be cancelled.
    cancelled = _cancel(stack, first)
    assert cancelled.status_code == 200 and cancelled.json()["status"] == "cancelled"
    # Then it is "ringing the operators": not final, too late to cancel, as a real one.
    second = stack.submit("+7 916 555-00-18").json()["handle"]
    time.sleep(2.2)
    polled = stack.status(second)
    assert (polled["status"], polled["final"], polled["cancellable"]) == (
        "calling_operator",
        False,
        False,
    )
    assert _cancel(stack, second).status_code == 409
    assert stack.sim_requests("call_back") == []


def _cancel(stack, handle: str):
    return requests.post(
        f"{stack.service_url}/api/v1/requests/{handle}/cancel",
        headers={"Origin": stack.shop_url},
        timeout=5,
    )
