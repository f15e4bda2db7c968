"""Site origins: what owners type and what browsers send compare alike, Cyrillic domains too."""

from __future__ import annotations

import pytest
from alembic import command

from widget_server.database import alembic_config
from widget_server.extensions import db
from widget_server.models import Widget
from widget_server.visitor.origins import (
    HostNameError,
    OriginError,
    display_origin,
    normalize_origin,
    request_origin,
)

from .admin_support import make_owner, make_site_objects
from .conftest import make_app

SHOP_RF = "https://xn--80aairftm.xn--p1ai"  # https://магазин.рф, as browsers send it


@pytest.mark.parametrize(
    ("typed", "stored"),
    [
        ("https://магазин.рф", SHOP_RF),
        ("https://МАГАЗИН.РФ/", SHOP_RF),
        ("https://магазин.рф:8443", SHOP_RF + ":8443"),
        (SHOP_RF, SHOP_RF),
        ("https://Shop.Example:443/", "https://shop.example"),
        ("http://[::1]:8000", "http://[::1]:8000"),
        ("https://my_shop.example", "https://my_shop.example"),
    ],
)
def test_an_origin_is_stored_with_its_host_in_the_ascii_form_browsers_send(typed, stored):
    assert normalize_origin(typed) == stored


def test_a_cyrillic_origin_matches_the_punycode_origin_header_of_its_site():
    assert request_origin("https://xn--80aairftm.xn--p1ai", None) == normalize_origin(
        "https://магазин.рф"
    )


@pytest.mark.parametrize(
    "typed",
    [
        "https://my shop.example",
        "https://*.shop.example",
        "https://shop..example",
        "https://.shop.example",
        "https://shop.example.",
        "https://-shop.example",
        "https://xn--zz.example",  # not a valid punycode label
        "https://магазин .рф",
    ],
)
def test_an_invalid_host_name_is_refused_as_such(typed):
    with pytest.raises(HostNameError):
        normalize_origin(typed)


def test_a_host_name_error_is_an_origin_error_so_callers_catching_either_keep_working():
    assert issubclass(HostNameError, OriginError)
    with pytest.raises(OriginError):
        normalize_origin("https://shop.example/path")


@pytest.mark.parametrize(
    ("stored", "shown"),
    [
        (SHOP_RF, "https://магазин.рф"),
        (SHOP_RF + ":8443", "https://магазин.рф:8443"),
        ("https://shop.example", "https://shop.example"),
        ("http://[::1]:8000", "http://[::1]:8000"),
    ],
)
def test_a_stored_origin_is_shown_to_the_owner_in_unicode(stored, shown):
    assert display_origin(stored) == shown


def test_an_upgrade_rewrites_cyrillic_origins_saved_as_typed_so_their_visitors_get_in(tmp_path):
    app = make_app(tmp_path)
    widget_id = make_site_objects(app, make_owner(app))["widget_id"]
    with app.app_context():
        db.session.get(Widget, widget_id).origins = ["https://магазин.рф", "https://a.example"]
        db.session.commit()
        config = alembic_config(app.config["SQLALCHEMY_DATABASE_URI"])
        command.downgrade(config, "0007")
        command.upgrade(config, "0008")
        command.upgrade(config, "head")  # the model has the later migrations' columns
        db.session.expire_all()
        assert db.session.get(Widget, widget_id).origins == ["https://a.example", SHOP_RF]
