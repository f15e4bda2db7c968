"""Issue 26: dates at the ends of the calendar in the requests log's filter get a message, not a 500."""

from __future__ import annotations

import re

import pytest

from .test_admin_requests import add_request, listed_ids, seeded, signed_in  # noqa: F401

RANGE_MESSAGE = "Укажите дату между 01.01.2000 и 31.12.2099."


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ("date_from=0001-01-01", "date_from"),
        ("date_to=0001-01-01", "date_to"),
        ("date_from=9999-12-31", "date_from"),
        ("date_to=9999-12-31", "date_to"),
        ("date_from=0001-01-01&date_to=9999-12-31", "date_from"),
    ],
)
def test_a_date_at_the_end_of_the_calendar_gets_a_message_next_to_its_field_not_a_500(
    app,
    seeded,  # noqa: F811
    signed_in,  # noqa: F811
    query,
    field,
):
    add_request(app, seeded)
    page = signed_in.get(f"/admin/requests?{query}")
    assert page.status_code == 400
    html = page.data.decode()
    assert re.search(rf'<p class="error" id="{field}-error">{re.escape(RANGE_MESSAGE)}</p>', html)
    assert listed_ids(page.data) == []


@pytest.mark.parametrize("day", ["0001-01-01", "9999-12-31"])
@pytest.mark.parametrize("name", ["date_from", "date_to"])
def test_the_csv_of_a_date_at_the_end_of_the_calendar_leads_back_to_the_list_with_the_message(
    app,
    seeded,  # noqa: F811
    signed_in,  # noqa: F811
    name,
    day,
):
    add_request(app, seeded)
    response = signed_in.get(f"/admin/requests/export.csv?{name}={day}")
    assert response.status_code == 302
    page = signed_in.get(response.headers["Location"])
    assert page.status_code == 400 and RANGE_MESSAGE in page.data.decode()


def test_the_first_and_last_days_of_the_range_are_still_accepted(
    app,
    seeded,  # noqa: F811
    signed_in,  # noqa: F811
):
    request_id = add_request(app, seeded)
    page = signed_in.get("/admin/requests?date_from=2000-01-01&date_to=2099-12-31")
    assert page.status_code == 200 and listed_ids(page.data) == [request_id]
    csv = signed_in.get("/admin/requests/export.csv?date_from=2000-01-01&date_to=2099-12-31")
    assert csv.status_code == 200 and csv.data.decode("utf-8-sig").count("\r\n") == 2
