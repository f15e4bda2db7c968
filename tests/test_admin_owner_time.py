"""One time zone per owner for every time the config page shows."""

from __future__ import annotations

from datetime import datetime

from widget_server.extensions import db
from widget_server.models import Owner, PbxAccount

from . import test_admin_widgets as widgets_page
from .admin_support import post_form

app, client, account_id = widgets_page.app, widgets_page.client, widgets_page.account_id


def test_the_pbx_pages_show_times_in_the_zone_the_owner_chose(app, client, account_id):
    with app.app_context():
        db.session.get(PbxAccount, account_id).last_event_at = datetime(2026, 12, 1, 9, 30)
        db.session.commit()
    assert "01.12.2026 12:30 (MSK)" in client.get("/admin/pbx").get_data(as_text=True)
    saved = post_form(
        client,
        "/admin/account/profile",
        {"language": "ru", "timezone": "Asia/Yekaterinburg"},
        page_url="/admin/account",
    )
    assert saved.status_code == 302
    with app.app_context():
        assert db.session.scalar(db.select(Owner.timezone)) == "Asia/Yekaterinburg"
    listing = client.get("/admin/pbx").get_data(as_text=True)
    detail = client.get(f"/admin/pbx/{account_id}").get_data(as_text=True)
    assert "01.12.2026 14:30 (+05)" in listing and "01.12.2026 14:30:00 (+05)" in detail
    assert " UTC" not in listing


def test_a_zone_not_on_the_list_is_refused_next_to_its_field(app, client, account_id):
    refused = post_form(
        client,
        "/admin/account/profile",
        {"language": "ru", "timezone": "Mars/Olympus"},
        page_url="/admin/account",
    )
    assert refused.status_code == 400
    assert 'id="timezone-error">Выберите значение из списка.<' in refused.get_data(as_text=True)
