"""Per-IP limits fit for CGNAT and offices, and a 429 whose wait is the real one."""

from __future__ import annotations

import time

from limits import parse_many

from widget_server.config import SETTINGS

from .test_visitor_api import SHOP, VALID, build_site


def numbers(count: int) -> list[str]:
    return [f"+7 916 000-{n // 100:02d}-{n % 100:02d}" for n in range(count)]


def test_the_default_per_ip_limit_lets_an_office_behind_one_address_through(tmp_path):
    default = SETTINGS["RATELIMIT_IP"][1]
    per_ten_minutes = min(i.amount for i in parse_many(default) if i.get_expiry() == 600)
    assert per_ten_minutes >= 10  # was 3: a carrier's CGNAT puts thousands behind one address
    site = build_site(tmp_path)
    for phone in numbers(per_ten_minutes):
        assert site.submit({**VALID, "phone": phone}).status_code == 202
    assert site.submit({**VALID, "phone": "+7 916 999-99-99"}).status_code == 429


def test_the_429_waits_for_the_longest_full_limit_not_the_first_one_found(tmp_path):
    # Both limits are full at once: the ten minutes' slot frees first, the hour's later,
    # and a client told "600 s" would be refused again when it came back.
    site = build_site(tmp_path, RATELIMIT_IP="2/10minute;2/hour")
    start = time.time()
    for phone in numbers(2):
        assert site.submit({**VALID, "phone": phone}).status_code == 202
    limited = site.submit({**VALID, "phone": "+7 916 999-99-99"})
    assert limited.status_code == 429
    wait = limited.json["retry_after"]
    assert wait == int(limited.headers["Retry-After"])
    assert 3600 - (time.time() - start) - 1 <= wait <= 3601


def test_the_429_of_a_single_limit_says_the_time_its_oldest_slot_frees(tmp_path):
    site = build_site(tmp_path, RATELIMIT_IP="1/10minute", RATELIMIT_IP_GLOBAL="1000/hour")
    assert site.submit(VALID).status_code == 202
    limited = site.submit({**VALID, "phone": "+7 916 999-99-99"}, headers={"Origin": SHOP})
    assert limited.status_code == 429
    assert 598 <= limited.json["retry_after"] <= 601
