"""Is this installation ``widget-server demo``? What the demo allows that production never does.

``widget-server demo`` sets ``WIDGET_DEMO_SHOP`` (its sample shop) and ``WIDGET_DEMO_PBX``
(its PBX simulator) beside ``WIDGET_DEV``; the settings refuse either one without
``WIDGET_DEV`` (``config.load_settings``), and every helper here asks for both again, so
that an app built from a mapping (the tests) follows the same rule.

In a demo installation:

* the sample shop may show any widget (``?key=``), its origin listed or not, so a second
  owner sees their widget at once, without a page of their own;
* widgets skip the first week's lower cap (``abuse.limits.is_new``): the README's test
  numbers alone would use it up;
* the PBX form offers the simulator's address, and its panel with the webhook filled in.
"""

from __future__ import annotations

import re
from urllib.parse import urlencode

from flask import current_app, has_app_context

from ..visitor.origins import OriginError, normalize_origin

# A widget's public key as the shop puts it in its page (``wk_`` and URL-safe characters).
_KEY = re.compile(r"^[A-Za-z0-9_-]{1,64}$")


def _setting(name: str) -> str | None:
    if not has_app_context():
        return None
    config = current_app.config
    return config.get(name) if config.get("DEV") else None


def is_demo() -> bool:
    """True in ``widget-server demo`` (a sample shop is set, in development mode)."""
    return bool(_setting("DEMO_SHOP"))


def demo_shop_origin() -> str | None:
    """The sample shop's origin as browsers send it, or None outside the demo."""
    shop = _setting("DEMO_SHOP")
    if not shop:
        return None
    try:
        return normalize_origin(shop)
    except OriginError:
        return None


def may_show(origin: str | None, listed) -> bool:
    """Whether a page of ``origin`` may show a widget whose sites are ``listed``: one of
    them, or, in the demo only, its sample shop."""
    if not origin:
        return False
    return origin in (listed or ()) or origin == demo_shop_origin()


def shop_link(widget_key: str) -> str | None:
    """The sample shop's page showing widget ``widget_key``; None outside the demo."""
    shop = _setting("DEMO_SHOP")
    if not shop or not _KEY.match(widget_key or ""):
        return None
    return f"{shop.rstrip('/')}/?{urlencode({'key': widget_key})}"


def pbx_simulator() -> str | None:
    """The demo's PBX simulator address (its API), or None outside the demo."""
    return (_setting("DEMO_PBX") or "").rstrip("/") or None


def simulator_panel(webhook_base: str) -> str | None:
    """The simulator's panel with the account's webhook address already filled in."""
    sim = pbx_simulator()
    if not sim:
        return None
    return f"{sim}/_sim/panel?{urlencode({'webhook_base': webhook_base})}"
