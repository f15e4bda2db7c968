"""The widget editor's live preview: the real ``embed.js`` in an iframe.

The editor posts its fields to the preview route (``formtarget``), which hands the
widget its config in the script tag's ``data-preview`` attribute. That page's CSP has
``connect-src 'none'``, so the previewed widget cannot send anything, let alone place a call.
"""

from __future__ import annotations

import json

from flask import abort, g, render_template, request

from ..models import PbxAccount, Widget
from ..visitor.accent import text_on
from ..visitor.texts import LANGUAGES
from ..visitor.texts import pick_language as widget_language
from .access import login_required, owned_or_404
from .blueprint import bp
from .widget_forms import HEX_COLOR, WidgetForm, fill_from_widget
from .widget_groups import group_rows, groups_from_request
from .widget_languages import labels_en_from_request, preview_texts

PREVIEW_CSP = "; ".join(
    [
        "default-src 'none'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self' data:",
        # Nothing leaves the preview: no config fetch, no request, no call.
        "connect-src 'none'",
        "form-action 'none'",
        "base-uri 'none'",
        "frame-ancestors 'self'",
    ]
)
PREVIEW_NOTICE = {
    "ru": "Это предпросмотр: звонок не заказывается.",
    "en": "This is a preview: no call is requested.",
}


# -- preview ---------------------------------------------------------------------
def _preview_config(
    form: WidgetForm, groups: list[tuple[str, str]], show_form: bool, lang: str | None = None
) -> dict:
    """The config the real widget would get, from the editor's unsaved fields."""
    lang = lang if lang in LANGUAGES else widget_language(form.language.data)
    texts = preview_texts(form, lang)
    if lang != widget_language(form.language.data):
        english = labels_en_from_request()
        groups = [(pin, english.get(pin) or label) for pin, label in groups]
    texts["error_network"] = PREVIEW_NOTICE[lang]
    color = (form.color.data or "").strip()
    policy = (form.privacy_policy_url.data or "").strip()
    return {
        "key": "preview",
        "language": lang,
        "color": color if HEX_COLOR.match(color) else "#0b6bcb",
        "on_color": text_on(color if HEX_COLOR.match(color) else "#0b6bcb"),
        "position": "left" if form.position.data == "left" else "right",
        "privacy_policy_url": policy if policy.startswith(("https://", "http://")) else None,
        "ask_name": bool(form.ask_name.data),
        "countdown_seconds": 30,
        "poll_interval_ms": 1000,
        "groups": [{"id": pin, "label": label[:120]} for pin, label in groups],
        "texts": texts,
        "open": True,
        "slots": [],
        "preview_open": show_form,
    }


def _preview_page(config: dict):
    g.csp, g.frame_options = PREVIEW_CSP, "SAMEORIGIN"
    return render_template("admin/widgets/preview.html", config_json=json.dumps(config))


@bp.route("/widgets/preview", methods=["GET", "POST"])
@login_required
def widget_preview():
    """The real widget, drawn from the editor's fields (POST) or a saved widget (GET)."""
    form = WidgetForm()
    if request.method == "POST":
        if not form.validate_on_submit() and "csrf_token" in form.errors:
            abort(400)
        account = owned_or_404(PbxAccount, request.form.get("pbx", type=int) or 0)
        _rows, groups, _error = groups_from_request(account)
        show = request.form.get("preview_show", "form") != "button"
        lang = request.form.get("preview_lang")
        return _preview_page(_preview_config(form, groups, show, lang))
    widget_id = request.args.get("widget", type=int)
    if widget_id:
        widget = owned_or_404(Widget, widget_id)
        fill_from_widget(form, widget)
        groups = [(wg.group.pin, wg.label) for wg in widget.offered_groups]
    else:
        account = owned_or_404(PbxAccount, request.args.get("pbx", type=int) or 0)
        form.language.data = g.lang
        groups = [(r.pin, r.label) for r in group_rows(account, None) if r.offered]
    return _preview_page(_preview_config(form, groups, True))
