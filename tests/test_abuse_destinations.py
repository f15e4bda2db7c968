"""Who may be called: Russian mobile and geographic numbers, other countries only when allowed (A6)."""

from __future__ import annotations

import pytest
from click.testing import CliRunner
from sqlalchemy import select

from widget_server.extensions import db
from widget_server.models import Widget
from widget_server.ops.cli import main
from widget_server.phones import PhoneError, normalize_phone
from widget_server.setup import parse_countries

from .test_visitor_api import build_site


@pytest.mark.parametrize(
    "number",
    [
        "+7 809 123-45-67",  # premium rate
        "+7 800 123-45-67",  # free phone
        "+7 804 123-45-67",  # free phone, newer range
        "+7 701 123-45-67",  # Kazakhstan inside +7
        "+7 727 123-45-67",  # Almaty
        "+44 7911 123456",  # abroad
        "112",
        "12345678901234567890",
        "+7 ٩١٦ ١٢٣ ٤٥ ٦٧",  # Unicode digits
    ],
)
def test_numbers_outside_the_allow_list_are_refused_and_nothing_is_stored_or_dialled(
    tmp_path, number
):
    site = build_site(tmp_path)
    response = site.submit({"phone": number, "consent": True, "group": "101"})
    assert response.status_code == 422
    assert "phone" in response.json["fields"]
    assert site.stored() == 0
    with site.app.app_context():
        assert site.app.extensions["queue"].huey.pending_count() == 0


def test_a_country_the_owner_allowed_is_called_up_to_its_daily_cap(tmp_path):
    site = build_site(tmp_path, RATELIMIT_PREFIX="100/hour")
    with site.app.app_context():
        widget = db.session.scalar(select(Widget).where(Widget.public_key == site.ru_key))
        widget.countries = {"KZ": 2}
        db.session.commit()
    codes = [
        site.submit({"phone": f"+7 701 123-45-6{i}", "consent": True, "group": "101"}).status_code
        for i in range(3)
    ]
    assert codes == [202, 202, 429]
    assert (
        site.submit({"phone": "+44 7911 123456", "consent": True, "group": "101"}).status_code
        == 422
    )
    # The other widget did not allow Kazakhstan.
    other = site.submit(
        {"phone": "+7 701 123-45-69", "consent": True, "group": "101"}, key=site.en_key
    )
    assert other.status_code == 422


def test_the_deny_list_holds_even_where_the_country_is_allowed():
    with pytest.raises(PhoneError):
        normalize_phone("+7 809 123-45-67", ["RU"])
    assert normalize_phone("+7 701 123 45 67", ["kz"]) == "+77011234567"


def test_the_set_countries_command_allows_and_resets_countries(tmp_path):
    site = build_site(tmp_path)
    env = {
        "WIDGET_DATABASE_URL": site.app.config["SQLALCHEMY_DATABASE_URI"],
        "WIDGET_INSTANCE_PATH": str(tmp_path / "instance"),
        "WIDGET_SECRET_KEY": "cli-secret-key-0123456789abcdef",
        "WIDGET_ALLOW_PRIVATE_NETWORKS": "1",
    }
    runner = CliRunner()
    done = runner.invoke(main, ["set-countries", "--widget", site.ru_key, "KZ=20", "BY=5"], env=env)
    assert done.exit_code == 0, done.output
    assert "KZ (up to 20 a day)" in done.output
    with site.app.app_context():
        assert db.session.scalar(
            select(Widget.countries).where(Widget.public_key == site.ru_key)
        ) == {"KZ": 20, "BY": 5}
    bad = runner.invoke(main, ["set-countries", "--widget", site.ru_key, "XX=5"], env=env)
    assert bad.exit_code != 0 and "country code" in bad.output
    cap = runner.invoke(main, ["set-countries", "--widget", site.ru_key, "KZ=0"], env=env)
    assert cap.exit_code != 0 and "daily cap" in cap.output
    reset = runner.invoke(main, ["set-countries", "--widget", site.ru_key, "--none"], env=env)
    assert "Russian numbers only" in reset.output


def test_an_owner_can_allow_abkhazian_numbers_by_their_own_code():
    # phonenumbers has no region for Abkhazia (+7 840/940): the service's own code stands in.
    assert parse_countries(["AB=5", "KZ=20"]) == {"AB": 5, "KZ": 20}
