"""Helpers for config page tests: owners, CSRF tokens from forms, signing in."""

from __future__ import annotations

import re

from widget_server import provisioning

PASSWORD = "correct horse battery"

_CSRF = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"')


def csrf_token(html: str | bytes) -> str:
    """The CSRF token of the first form on a page."""
    if isinstance(html, bytes):
        html = html.decode()
    match = _CSRF.search(html)
    assert match, "no csrf_token field on the page"
    return match.group(1)


def make_owner(app, email: str = "owner@example.com", *, admin: bool = False, **fields):
    """Create an owner (returns its id)."""
    with app.app_context():
        owner = provisioning.create_owner(email, PASSWORD)
        owner.is_admin = admin
        for name, value in fields.items():
            setattr(owner, name, value)
        provisioning.db.session.commit()
        return owner.id


def sign_in(client, email: str = "owner@example.com", password: str = PASSWORD):
    """Sign a test client in through the real form; returns the response."""
    page = client.get("/admin/sign-in")
    response = client.post(
        "/admin/sign-in",
        data={"email": email, "password": password, "csrf_token": csrf_token(page.data)},
    )
    assert response.status_code == 302, response.data[:500]
    return response


def post_form(client, url: str, data: dict, *, page_url: str | None = None, **kwargs):
    """Post a form with the CSRF token taken from the page that shows it."""
    page = client.get(page_url or url)
    payload = {"csrf_token": csrf_token(page.data), **data}
    return client.post(url, data=payload, **kwargs)
