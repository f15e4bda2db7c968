"""Requests held while the limit store (Redis) was down are leads: once it answers again they
go through the same limits and are dialled, each number at most once; the owner was told
once, at the hold (``dispatch/held.py``)."""

from __future__ import annotations

import subprocess
from datetime import timedelta

import pytest
from sqlalchemy import select

from widget_server.dispatch.held import STORE_WAIT, decide_held_again
from widget_server.extensions import db
from widget_server.models import CallbackRequest, utcnow
from widget_server.statuses import HeldReason, Status

from .test_abuse_limits import REDIS_SERVER, _free_port, _wait_port, build, number

pytestmark = pytest.mark.redis


def _redis_on(port: int) -> subprocess.Popen:
    server = subprocess.Popen(
        [REDIS_SERVER, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly"]
        + ["no"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    _wait_port(port)
    return server


def _stop(server: subprocess.Popen) -> None:
    server.terminate()
    server.wait(timeout=10)


def _requests(site) -> list[tuple[str, str | None]]:
    with site.app.app_context():
        rows = db.session.execute(
            select(CallbackRequest.status, CallbackRequest.held_reason).order_by(CallbackRequest.id)
        )
        return [tuple(row) for row in rows]


@pytest.fixture
def store_down(tmp_path):
    """A site whose limit store is Redis on ``port``, stopped: (site, port)."""
    port = _free_port()
    server = _redis_on(port)
    site = build(tmp_path, RATELIMIT_STORAGE_URI=f"redis://127.0.0.1:{port}/0")
    _stop(server)
    return site, port


def test_requests_held_while_redis_was_down_are_dialled_once_it_is_back(store_down):
    site, port = store_down
    answers = [site.submit(number(i), ip=f"198.51.100.{i + 1}") for i in range(3)]
    assert [a.status_code for a in answers] == [202] * 3
    assert _requests(site) == [("held", HeldReason.LIMIT_STORE)] * 3
    with site.app.app_context():
        assert decide_held_again() == 0  # still down: they wait
    assert _requests(site) == [("held", HeldReason.LIMIT_STORE)] * 3
    assert site.dial_jobs() == 0

    server = _redis_on(port)  # the store is back
    try:
        with site.app.app_context():
            assert decide_held_again() == 3
            assert decide_held_again() == 0  # nothing twice
    finally:
        _stop(server)
    assert [status for status, _ in _requests(site)] == ["queued"] * 3
    assert site.dial_jobs() == 3
    assert site.held_notifications() == 1  # the owner was told once, at the hold


def test_a_number_asked_twice_during_the_outage_is_dialled_once(store_down):
    site, port = store_down
    for ip in ("198.51.100.1", "198.51.100.2"):
        assert site.submit("+79161234567", ip=ip).status_code == 202
    server = _redis_on(port)
    try:
        with site.app.app_context():
            assert decide_held_again() == 1
    finally:
        _stop(server)
    assert _requests(site) == [("queued", None), ("held", HeldReason.NUMBER_LIMIT)]
    assert site.dial_jobs() == 1


def test_a_request_held_longer_than_a_visitor_waits_is_left_to_the_owner(store_down):
    site, port = store_down
    assert site.submit(number(1)).status_code == 202
    with site.app.app_context():
        req = db.session.scalar(select(CallbackRequest))
        req.created_at = utcnow() - STORE_WAIT - timedelta(minutes=1)
        db.session.commit()
    server = _redis_on(port)
    try:
        with site.app.app_context():
            assert decide_held_again() == 0
    finally:
        _stop(server)
    assert _requests(site) == [(Status.HELD, HeldReason.LIMIT_STORE)]
    assert site.dial_jobs() == 0
