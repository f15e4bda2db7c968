"""The simulator's "panel": an owner registers an account as in the real ВАТС panel.

In the real panel an owner makes an identification code and a signing key and
types the address of their external system (our webhook base). ``/_sim/panel``
does the same for the simulator: any number of owners can connect to one
simulator, each with their own pair, webhook address and dialect.
"""

from __future__ import annotations

import secrets

from flask import Flask, Response, jsonify, request
from markupsafe import escape

from .scenarios import DIALECT_SUMMARIES
from .settings import DIALECTS
from .state import SimState

FORM = """<!doctype html><meta charset="utf-8"><title>PBX simulator panel</title>
<h1>Интеграция с внешней системой (симулятор)</h1>
<form method="post">
<p><label>Адрес внешней системы (webhook base, as shown on your PBX page):<br>
<input name="webhook_base" size="70" required value="{webhook}"></label>
<p><label>Dialect: <select name="dialect">{options}</select></label>
<p><button>Create the identification code and key</button>
</form>{result}"""


def add_panel(app: Flask, state: SimState) -> None:
    """Add ``GET/POST /_sim/panel`` to the simulator app."""

    @app.get("/_sim/panel")
    def panel() -> Response:
        return Response(_page(), mimetype="text/html")

    @app.post("/_sim/panel")
    def panel_register() -> Response | tuple[Response, int]:
        data = request.get_json(silent=True) or request.form
        webhook = str(data.get("webhook_base") or "").strip()
        dialect = str(data.get("dialect") or "a").strip().lower()
        if not webhook.startswith(("http://", "https://")) or dialect not in DIALECTS:
            return jsonify(ok=False, error="a http(s) webhook_base and a known dialect"), 400
        client_id = "SIM" + secrets.token_hex(14).upper() + "0"
        sign_key = secrets.token_hex(16)
        with state.lock:
            accounts = dict(state.config["ACCOUNTS"])
        accounts[client_id] = {"sign_key": sign_key, "webhook_base": webhook, "dialect": dialect}
        state.update_config({"ACCOUNTS": accounts})
        if request.is_json:
            return jsonify(ok=True, client_id=client_id, sign_key=sign_key)
        result = (
            f"<h2>Created</h2><p>API address: <code>{escape(request.host_url)}</code>"
            f"<p>Identification code: <code>{client_id}</code>"
            f"<p>Signing key: <code>{sign_key}</code>"
            "<p>Paste these on your PBX page of the widget service."
        )
        return Response(_page(webhook, result), mimetype="text/html")


def _page(webhook: str = "", result: str = "") -> str:
    options = "".join(
        f'<option value="{key}">({key}) {escape(text)}</option>'
        for key, text in DIALECT_SUMMARIES.items()
    )
    return FORM.format(webhook=escape(webhook), options=options, result=result)
