"""Every /admin route that takes an object id answers 404 to an owner the object is not theirs.

Built from app.url_map, so a new route is walked as soon as it exists; a URL argument
this test does not know fails it, so that the test is kept up to date.
"""

from __future__ import annotations

import pytest

from widget_server.extensions import db
from widget_server.models import CallbackRequest

from .admin_support import csrf_token, make_owner, make_site_objects, sign_in

# URL arguments that name an object, filled with the first owner's objects.
ID_ARGUMENTS = {
    "account_id",
    "pbx_id",
    "group_id",
    "user_id",
    "widget_id",
    "widget_group_id",
    "request_id",
    "attempt_id",
    "owner_id",
    "widget_key",
    "public_id",
}
# URL arguments that are not object ids: the reset link's token, the 404 catch-all, the
# name of a notification channel (its own owner's, from the session), a widget's CMS plugin.
OTHER_ARGUMENTS = {"token", "unknown", "channel", "cms"}


def id_rules(app):
    rules = []
    for rule in app.url_map.iter_rules():
        if not rule.rule.startswith("/admin"):
            continue
        unknown = set(rule.arguments) - ID_ARGUMENTS - OTHER_ARGUMENTS
        assert not unknown, (
            f"{rule.rule}: unknown URL argument(s) {sorted(unknown)}; teach "
            "tests/test_admin_ownership.py (and admin_support.make_site_objects) about them"
        )
        if set(rule.arguments) & ID_ARGUMENTS:
            rules.append(rule)
    return rules


@pytest.fixture
def world(app):
    """The first owner (an admin, with a site) and a second, ordinary owner."""
    first = make_owner(app, "first@example.com", admin=True)
    objects = make_site_objects(app, first)
    objects["owner_id"] = first
    objects["cms"] = "wordpress"
    with app.app_context():
        # A test call, so the widget's test-call status page has something to show.
        db.session.get(CallbackRequest, objects["request_id"]).is_test = True
        db.session.commit()
    make_owner(app, "second@example.com")
    return objects


def build(app, rule, objects) -> str:
    values = {name: objects[name] for name in rule.arguments}
    return app.url_map.bind("localhost").build(rule.endpoint, values)


def test_the_walk_covers_the_object_routes_of_every_section(app):
    endpoints = {rule.endpoint for rule in id_rules(app)}
    # Users (this module) at least; other sections add theirs as they grow.
    assert {"admin.users_delete", "admin.users_toggle_admin"} <= endpoints
    assert len(endpoints) >= 3


def test_every_object_route_answers_404_to_another_owner_for_get_and_post(app, world):
    second = app.test_client()
    sign_in(second, "second@example.com")
    token = csrf_token(second.get("/admin/account").data)
    walked = []
    for rule in id_rules(app):
        url = build(app, rule, world)
        if "GET" in rule.methods:
            response = second.get(url)
            assert response.status_code == 404, ("GET", url, response.status_code)
            walked.append(("GET", url))
        if "POST" in rule.methods:
            response = second.post(url, data={"csrf_token": token})
            assert response.status_code == 404, ("POST", url, response.status_code)
            walked.append(("POST", url))
    assert walked
    # The second owner is still signed in: every 404 was an answer, not a lost session.
    assert second.get("/admin/account").status_code == 200


def test_the_same_pages_open_for_their_owner_so_the_404s_above_mean_something(app, world):
    first = app.test_client()
    sign_in(first, "first@example.com")
    for rule in id_rules(app):
        if "GET" not in rule.methods:
            continue
        url = build(app, rule, world)
        response = first.get(url)
        # 502 is fair: a recording is fetched from the PBX, here an unreachable one.
        assert response.status_code not in (404, 500), ("GET", url, response.status_code)
