"""A widget's sites on its page: the sites it was refused on, with a one-click add; what a
typed address was stored as; and, in ``widget-server demo``, the sample shop showing it.

A widget on a page whose site is not in its list shows nothing, and its visitor's browser
says only "network error": the service remembers the sites it refused recently
(``visitor/refused.py``) and the widget page and the setup checklist name them.
"""

from __future__ import annotations

import logging

from flask import abort, flash, redirect, request, url_for
from flask_wtf import FlaskForm

from ..dev import installation
from ..extensions import db
from ..models import Widget
from ..visitor import refused
from ..visitor.origins import OriginError, display_origin, normalize_origin
from .access import login_required, owned_or_404
from .blueprint import bp
from .i18n import _
from .owner_time import ago

log = logging.getLogger(__name__)


def site_words(origin: str) -> str:
    """A site as the owner reads it: ``https://`` left out, ``http://`` and a port kept."""
    shown = display_origin(origin)
    return shown.removeprefix("https://")


def refused_sites(widget: Widget) -> list[dict[str, str]]:
    """The sites ``widget`` was recently refused on and still does not list, latest first."""
    listed = set(widget.origins or ())
    return [
        {"origin": origin, "site": site_words(origin), "ago": ago(when)}
        for origin, when in refused.recent(widget.public_key)
        if origin not in listed and origin != installation.demo_shop_origin()
    ]


def say_stored(form) -> None:
    """Tell the owner how a site typed in another form was stored (``chai-shop.ru`` as
    ``https://chai-shop.ru``), so that nothing changes behind their back."""
    retyped = getattr(form.origins, "retyped", None)
    if retyped:
        flash(
            _(
                "Адреса сайтов сохранены так: %(list)s. Виджет работает на всех страницах этих "
                "сайтов.",
                list="; ".join(f"{typed} → {stored}" for typed, stored in retyped),
            ),
            "info",
        )


def prefill_new(form) -> None:
    """The demo's new widget starts on its sample shop: the owner has no site of their own."""
    origin = installation.demo_shop_origin()
    if origin and not form.origins.data:
        form.origins.data = origin


@bp.post("/widgets/<int:widget_id>/sites/add")
@login_required
def widget_add_site(widget_id: int):
    """Add a site the widget was refused on: one POST, CSRF-checked, the owner's widget only."""
    widget = owned_or_404(Widget, widget_id)
    if not FlaskForm().validate_on_submit():
        abort(400)
    try:
        origin = normalize_origin(request.form.get("origin", ""))
    except OriginError:
        abort(400)
    if origin not in (widget.origins or []):
        widget.origins = sorted({*(widget.origins or []), origin})
        db.session.commit()
        log.info("widget %s: site added from the refused list", widget.id)
    refused.forget(widget.public_key, origin)
    flash(
        _(
            "Сайт %(site)s добавлен. Обновите страницу сайта: виджет появится в течение минуты.",
            site=site_words(origin),
        ),
        "success",
    )
    return redirect(url_for("admin.widget_edit", widget_id=widget.id))


@bp.record_once
def _template_globals(state) -> None:
    state.app.jinja_env.globals.update(
        refused_sites=refused_sites, demo_shop_link=installation.shop_link
    )
