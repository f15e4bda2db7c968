"""Helpers for config page tests: owners, CSRF tokens from forms, signing in."""

from __future__ import annotations

import re
from html.parser import HTMLParser

from widget_server import setup
from widget_server.extensions import db
from widget_server.models import (
    CallAttempt,
    CallbackRequest,
    Owner,
    PbxGroup,
    PbxUser,
    Widget,
    WidgetGroup,
)
from widget_server.pbx import directory

PASSWORD = "correct horse battery"

_CSRF = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"')


def csrf_token(html: str | bytes) -> str:
    """The CSRF token of the first form on a page, "" when it has none.

    Forms render no token when CSRF is off (the default under test); with it on, a
    post without the token is refused, so a page missing it still fails its test.
    """
    if isinstance(html, bytes):
        html = html.decode()
    match = _CSRF.search(html)
    return match.group(1) if match else ""


def _csrf_on(client) -> bool:
    return bool(client.application.config.get("WTF_CSRF_ENABLED", True))


def _token_from(client, url: str) -> dict[str, str]:
    """The ``csrf_token`` form field from the page at ``url``; nothing when CSRF is off."""
    if not _csrf_on(client):
        return {}
    page = client.get(url)
    token = csrf_token(page.data)
    assert token, f"no csrf_token field on {url}"
    return {"csrf_token": token}


def make_owner(app, email: str = "owner@example.com", *, admin: bool = False, **fields):
    """Create an owner (returns its id)."""
    with app.app_context():
        owner = setup.create_owner(email, PASSWORD)
        owner.is_admin = admin
        for name, value in fields.items():
            setattr(owner, name, value)
        db.session.commit()
        return owner.id


def sign_in(client, email: str = "owner@example.com", password: str = PASSWORD):
    """Sign a test client in through the real form; returns the response."""
    token = _token_from(client, "/admin/sign-in")
    response = client.post("/admin/sign-in", data={"email": email, "password": password, **token})
    assert response.status_code == 302, response.data[:500]
    return response


def post_form(client, url: str, data: dict, *, page_url: str | None = None, **kwargs):
    """Post a form with the CSRF token taken from the page that shows it (when CSRF is on)."""
    payload = {**_token_from(client, page_url or url), **data}
    return client.post(url, data=payload, **kwargs)


def switch_language(client, lang: str = "en"):
    """Choose the page language through the real language switch."""
    token = _token_from(client, "/admin/sign-in")
    response = client.post(
        "/admin/language", data={"lang": lang, "next": "/admin/sign-in", **token}
    )
    assert response.status_code == 302, response.data[:500]
    return response


class _VisibleText(HTMLParser):
    """Text a person sees: no scripts, styles, hidden inputs; skips parts marked lang="ru"."""

    _VOID = {"area", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source", "wbr"}

    def __init__(self):
        super().__init__()
        self.stack: list[tuple[str, bool]] = []
        self.parts: list[str] = []

    def _skipping(self) -> bool:
        return any(skip for _tag, skip in self.stack)

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        skip = tag in {"script", "style"} or (tag != "html" and attrs.get("lang") == "ru")
        if tag in self._VOID:
            # Values and placeholders of inputs are seen too.
            if not self._skipping() and not skip and attrs.get("type") != "hidden":
                for name in ("value", "placeholder", "aria-label", "title"):
                    if attrs.get(name):
                        self.parts.append(attrs[name])
            return
        if not skip and not self._skipping():
            for name in ("aria-label", "title", "placeholder", "data-confirm"):
                if attrs.get(name):
                    self.parts.append(attrs[name])
        self.stack.append((tag, skip))

    def handle_endtag(self, tag):
        for i in range(len(self.stack) - 1, -1, -1):
            if self.stack[i][0] == tag:
                del self.stack[i:]
                break

    def handle_data(self, data):
        if not self._skipping() and data.strip():
            self.parts.append(data.strip())


def visible_text(html: str | bytes) -> str:
    if isinstance(html, bytes):
        html = html.decode()
    parser = _VisibleText()
    parser.feed(html)
    return " ".join(parser.parts)


CYRILLIC = re.compile(r"[\u0400-\u04FF]+[^<>\n]{0,40}")


def cyrillic_in(html: str | bytes) -> list[str]:
    """Russian text left on a page meant to be English (parts marked lang="ru" excepted)."""
    return CYRILLIC.findall(visible_text(html))


def make_site_objects(app, owner_id: int, phone: str = "+79161234567") -> dict[str, int]:
    """A PBX account, a group, a widget, a request and a call with a recording for an owner.

    Returns their ids by the URL argument names the config page uses.
    """
    with app.app_context():
        owner = db.session.get(Owner, owner_id)
        account = directory.add_pbx(
            owner, "https://pbx.invalid", "client-id", "sign-key", "owner.example.rt.ru"
        )
        user = PbxUser(account=account, pin="201", name="ivan", display_name="Иван")
        group = PbxGroup(account=account, pin="101", name="Продажи", member_pins=["201"])
        widget = Widget(
            owner=owner, pbx_account=account, name="Сайт", origins=["https://a.example"]
        )
        offered = WidgetGroup(widget=widget, group=group, label="Продажи")
        req = CallbackRequest(
            widget=widget,
            widget_group=offered,
            phone=phone,
            origin="https://a.example",
            consent_text="Согласен",
            status="finished",
        )
        attempt = CallAttempt(
            request=req,
            seq=1,
            operator_pin="201",
            session_id=f"session-{owner_id}-{phone}",
            stage="ended",
            outcome="answered",
            is_record=True,
            recording="available",
            duration=42,
        )
        db.session.add_all([user, group, widget, offered, req, attempt])
        db.session.commit()
        return {
            "account_id": account.id,
            "pbx_id": account.id,
            "group_id": group.id,
            "user_id": user.id,
            "widget_id": widget.id,
            "widget_group_id": offered.id,
            "request_id": req.id,
            "attempt_id": attempt.id,
            "widget_key": widget.public_key,
            "public_id": account.public_id,
        }
