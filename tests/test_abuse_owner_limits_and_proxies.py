"""Owners can tighten a widget's limits; behind a proxy the client IP cannot be forged (A5)."""

from __future__ import annotations

from click.testing import CliRunner
from sqlalchemy import select

from widget_server.abuse import limits
from widget_server.extensions import db
from widget_server.models import CallbackRequest, Widget
from widget_server.ops.cli import main

from .test_visitor_api import SHOP, build_site

VALID = {"consent": True, "group": "101"}


def _set_limits(site, **limits):
    with site.app.app_context():
        widget = db.session.scalar(select(Widget).where(Widget.public_key == site.ru_key))
        widget.limits = limits
        db.session.commit()


def test_an_owners_cap_tighter_than_the_installations_holds_requests_past_it(tmp_path):
    site = build_site(tmp_path, RATELIMIT_PREFIX="100/hour", RATELIMIT_IP="100/minute")
    _set_limits(site, cap="2/hour")
    codes = [site.submit({**VALID, "phone": f"+7 916 300-00-0{i}"}).status_code for i in range(4)]
    assert codes == [202] * 4  # held requests are answered like any other
    with site.app.app_context():
        statuses = db.session.scalars(
            select(CallbackRequest.status).order_by(CallbackRequest.id)
        ).all()
    assert statuses == ["queued", "queued", "held", "held"]


def test_an_owners_per_number_limit_refuses_a_repeat_the_installation_would_allow(tmp_path):
    site = build_site(
        tmp_path,
        RATELIMIT_NUMBER="100/minute",
        RATELIMIT_WIDGET_NUMBER="100/minute",
        RATELIMIT_IP="100/minute",
    )
    site.submit({**VALID, "phone": "+7 916 300-00-10"})
    with site.app.app_context():  # the first request is over, so only the limits speak
        db.session.execute(db.update(CallbackRequest).values(status="finished"))
        db.session.commit()
    assert site.submit({**VALID, "phone": "+7 916 300-00-10"}).status_code == 202
    with site.app.app_context():
        db.session.execute(db.update(CallbackRequest).values(status="finished"))
        db.session.commit()
    _set_limits(site, per_number="1/day")
    other = site.submit({**VALID, "phone": "+7 916 300-00-11"})
    assert other.status_code == 202
    with site.app.app_context():
        db.session.execute(db.update(CallbackRequest).values(status="finished"))
        db.session.commit()
    again = site.submit({**VALID, "phone": "+7 916 300-00-11"})
    assert again.status_code == 429
    assert int(again.headers["Retry-After"]) > 3600


def test_an_owners_per_number_limit_half_used_counts_as_pressure_like_the_installations(
    tmp_path,
):
    site = build_site(tmp_path, RATELIMIT_NUMBER="100/minute", RATELIMIT_WIDGET_NUMBER="100/minute")
    _set_limits(site, per_number="2/day")
    phone, ip = "+79163000020", "198.51.100.9"
    with site.app.test_request_context():
        widget = db.session.scalar(select(Widget).where(Widget.public_key == site.ru_key))
        assert not limits.pressure(widget, phone, ip)
        assert limits.check_dial(widget, phone, ip).allowed
        # One of the owner's two slots is taken: the same counters check_dial takes.
        assert limits.pressure(widget, phone, ip)


def test_the_set_limits_command_validates_and_resets(tmp_path):
    site = build_site(tmp_path)
    env = {
        "WIDGET_DATABASE_URL": site.app.config["SQLALCHEMY_DATABASE_URI"],
        "WIDGET_INSTANCE_PATH": str(tmp_path / "instance"),
        "WIDGET_SECRET_KEY": "cli-secret-key-0123456789abcdef",
        "WIDGET_ALLOW_PRIVATE_NETWORKS": "1",
    }
    runner = CliRunner()
    done = runner.invoke(
        main, ["set-limits", "--widget", site.ru_key, "--cap", "20/hour;100/day"], env=env
    )
    assert done.exit_code == 0, done.output
    assert "cap 20/hour;100/day" in done.output
    bad = runner.invoke(
        main, ["set-limits", "--widget", site.ru_key, "--per-number", "often"], env=env
    )
    assert bad.exit_code != 0 and "expected limits like" in bad.output
    reset = runner.invoke(main, ["set-limits", "--widget", site.ru_key, "--reset"], env=env)
    assert "own limits none" in reset.output
    with site.app.app_context():
        assert (
            db.session.scalar(select(Widget.limits).where(Widget.public_key == site.ru_key)) == {}
        )


def test_behind_a_trusted_proxy_rotating_forged_addresses_do_not_escape_the_ip_limit(tmp_path):
    site = build_site(tmp_path, TRUSTED_PROXIES=1, RATELIMIT_IP="2/10minute")
    proxy = {"REMOTE_ADDR": "127.0.0.1"}  # nginx in front; it appends the real client
    codes = []
    for i in range(3):
        forged = f"10.9.{i}.{i}, 203.0.113.7"  # the client's own header, then nginx's entry
        response = site.submit(
            {**VALID, "phone": f"+7 916 300-00-2{i}"},
            headers={"Origin": SHOP, "X-Forwarded-For": forged},
            environ_base=proxy,
        )
        codes.append(response.status_code)
    assert codes == [202, 202, 429]
    other_client = site.submit(
        {**VALID, "phone": "+7 916 300-00-29"},
        headers={"Origin": SHOP, "X-Forwarded-For": "203.0.113.8"},
        environ_base=proxy,
    )
    assert other_client.status_code == 202
    with site.app.app_context():
        ips = set(db.session.scalars(select(CallbackRequest.client_ip)))
    assert ips == {"203.0.113.7", "203.0.113.8"}


class _FakeClock:
    """Stands in for the ``time`` module inside the limits library only."""

    def __init__(self, start: float):
        self.now = start

    def time(self) -> float:
        return self.now


def test_at_the_window_edge_no_hour_ever_holds_more_calls_than_the_limit(tmp_path, monkeypatch):
    import time

    import limits.storage.memory
    import limits.strategies

    clock = _FakeClock(time.time())
    monkeypatch.setattr(limits.storage.memory, "time", clock)
    monkeypatch.setattr(limits.strategies, "time", clock)
    site = build_site(
        tmp_path,
        RATELIMIT_NUMBER="3/hour",
        RATELIMIT_WIDGET_NUMBER="100/minute",
        RATELIMIT_IP="1000/minute",
        RATELIMIT_IP_GLOBAL="1000/minute",
    )
    start = clock.now
    accepted = []
    for minutes in (0, 10, 59, 59.5, 60.02, 61, 69.9, 70.1):
        clock.now = start + minutes * 60
        with site.app.app_context():  # the previous call is over: only the window decides
            db.session.execute(db.update(CallbackRequest).values(status="finished"))
            db.session.commit()
        if site.submit({**VALID, "phone": "+7 916 300-00-40"}).status_code == 202:
            accepted.append(minutes)
    assert accepted == [0, 10, 59, 60.02, 70.1]
    for first in accepted:  # any sliding hour holds at most 3
        assert sum(1 for t in accepted if first <= t < first + 60) <= 3
