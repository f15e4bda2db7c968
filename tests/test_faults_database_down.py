"""A database lost in the middle of a visitor's request: a 503 in the visitor's language.

The answer to a database error is made from what the request already holds (the widget
read before the fault, the ``lang`` parameter, Accept-Language): it never asks the
database again, or the visitor would get a 500 in English instead.
"""

from __future__ import annotations

import sqlite3

import pytest
from sqlalchemy import event
from sqlalchemy.exc import OperationalError

from widget_server.dispatch import state
from widget_server.extensions import db
from widget_server.models import Widget
from widget_server.visitor import intake
from widget_server.visitor.texts import API_ERRORS

from .test_visitor_api import SHOP, build_site


def _unreachable(*_args, **_kwargs):
    raise OperationalError("SELECT", {}, sqlite3.OperationalError("unable to open database file"))


@pytest.fixture
def site(tmp_path):
    return build_site(tmp_path)


@pytest.fixture
def database_lost(site, monkeypatch):
    """``lose_now()``, or ``lose_mid_request()``: every statement from the cancel's (or, with
    ``on_submit=True``, the submit's) first on fails, after the guard read the widget."""
    with site.app.app_context():
        engine = db.engine

    def lose():
        event.listen(engine, "before_cursor_execute", _unreachable)

    def losing(real):
        def call(*args, **kwargs):
            lose()
            return real(*args, **kwargs)

        return call

    class Loss:
        def lose_now(self):
            lose()

        def lose_mid_request(self, on_submit: bool = False):
            module, name = (intake, "submit") if on_submit else (state, "cancel")
            monkeypatch.setattr(module, name, losing(getattr(module, name)))

    yield Loss()
    if event.contains(engine, "before_cursor_execute", _unreachable):
        event.remove(engine, "before_cursor_execute", _unreachable)


def _handle(site, key=None) -> str:
    response = site.submit(key=key)
    assert response.status_code == 202, response.json
    return response.json["handle"]


def _cancel(site, handle: str, **headers):
    return site.client.post(
        f"/api/v1/requests/{handle}/cancel", headers={"Origin": SHOP, **headers}
    )


def test_a_database_lost_mid_request_answers_503_in_russian_for_a_russian_widget(
    site, database_lost
):
    handle = _handle(site)
    database_lost.lose_mid_request()

    response = _cancel(site, handle, **{"Accept-Language": "en"})

    assert response.status_code == 503
    assert response.json["error"] == "unavailable"
    assert response.json["message"] == API_ERRORS["ru"]["unavailable"]
    assert response.headers["Access-Control-Allow-Origin"] == SHOP  # the widget can read it


def test_a_database_lost_mid_request_answers_503_in_english_for_an_english_widget(
    site, database_lost
):
    handle = _handle(site, key=site.en_key)
    database_lost.lose_mid_request()

    response = _cancel(site, handle)

    assert response.status_code == 503
    assert response.json["message"] == API_ERRORS["en"]["unavailable"]


@pytest.mark.parametrize(("browser", "language"), [("en-GB,en;q=0.9", "en"), ("de", "ru")])
def test_a_widget_in_the_browsers_language_answers_a_lost_database_in_it_when_it_can(
    site, database_lost, browser, language
):
    with site.app.app_context():
        widget = db.session.scalar(db.select(Widget).where(Widget.public_key == site.ru_key))
        widget.language = "auto"
        for offered, label in zip(widget.offered_groups, ("Sales", "Service"), strict=True):
            offered.label_en = label
        db.session.commit()
    handle = _handle(site)
    database_lost.lose_mid_request()

    response = _cancel(site, handle, **{"Accept-Language": browser})

    assert response.status_code == 503
    assert response.json["message"] == API_ERRORS[language]["unavailable"]


def test_a_widget_in_the_browsers_language_without_english_labels_answers_in_russian(
    site, database_lost
):
    # As its form: a department without an English label keeps the form in Russian.
    with site.app.app_context():
        widget = db.session.scalar(db.select(Widget).where(Widget.public_key == site.ru_key))
        widget.language = "auto"
        db.session.commit()
    database_lost.lose_mid_request(on_submit=True)

    response = site.submit(headers={"Origin": SHOP, "Accept-Language": "en"})

    assert response.status_code == 503
    assert response.json["message"] == API_ERRORS["ru"]["unavailable"]


@pytest.mark.parametrize(
    ("query", "browser", "language"),
    [("", "", "ru"), ("", "en", "en"), ("?lang=en", "ru", "en"), ("?lang=ru", "en", "ru")],
)
def test_a_database_down_before_the_widget_is_read_answers_in_the_asked_or_browsers_language(
    site, database_lost, query, browser, language
):
    handle = _handle(site)
    database_lost.lose_now()

    headers = {"Origin": SHOP, **({"Accept-Language": browser} if browser else {})}
    response = site.client.get(f"/api/v1/requests/{handle}{query}", headers=headers)

    assert response.status_code == 503
    assert response.json["message"] == API_ERRORS[language]["unavailable"]
