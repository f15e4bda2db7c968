"""The simulator's "panel": an owner registers an account as in the real ВАТС panel.

In the real panel an owner makes an identification code and a signing key and
types the address of their external system (our webhook base). ``/_sim/panel``
does the same for the simulator: any number of owners can connect to one
simulator, each with their own pair, webhook address and dialect.

The page speaks Russian with the real panel's words ("Уникальный код идентификации",
"Уникальный ключ для подписи"), as the owner will read them there; its results carry
ids (``#api-url``, ``#client-id``, ``#sign-key``) for scripts. JSON posts get JSON.
"""

from __future__ import annotations

import secrets

from flask import Flask, Response, jsonify, request
from markupsafe import escape

from .settings import DIALECTS
from .state import SimState

# What each dialect does, for the owner choosing one (scenarios.DIALECT_SUMMARIES says
# the same for developers; a test keeps the two lists of letters equal).
DIALECT_NAMES = {
    "a": "обычный: гудки на каждом плече, «соединено», когда посетитель ответил",
    "b": "без гудков посетителю; в каждом событии номер посетителя",
    "c": "«соединено», когда ответил оператор; посетителю звонят после, без событий",
    "d": "как (c), но посетитель не отвечает никогда",
    "e": "в событиях другой номер сессии, чем в ответе на заказ звонка",
    "f": "успешный ответ на заказ звонка — результат «1»",
    "g": "событий нет совсем; call_info отвечает только после конца звонка",
    "h": "АТС сама звонит оператору дольше нашего, ответ оператора приходит поздно",
    "s": "события как в (a); call_info как в статье Ростелекома",
}

PAGE = """<!doctype html><html lang="ru"><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Панель ВАТС (симулятор)</title>
<h1>Интеграция с внешней системой (симулятор)</h1>
<p>Здесь, как в панели ВАТС, создаются код идентификации и ключ для подписи.</p>
<form method="post">
<p><label for="webhook_base">Адрес внешней системы (он есть на странице АТС в сервисе
виджета)</label><br>
<input id="webhook_base" name="webhook_base" type="url" size="70" required value="{webhook}">
<p><label for="dialect">Как говорит АТС (диалект)</label><br>
<select id="dialect" name="dialect">{options}</select>
<p><button>Создать код идентификации и ключ</button>
</form>{result}</html>"""

CREATED = """<h2>Готово</h2>
<p>Адрес API: <code id="api-url">{api}</code>
<p>Уникальный код идентификации: <code id="client-id">{client_id}</code>
<p>Уникальный ключ для подписи: <code id="sign-key">{sign_key}</code>
<p>Вставьте их на странице АТС в сервисе виджета."""

REFUSED = """<p role="alert" id="panel-error">Нужен адрес внешней системы, начинающийся
с http:// или https://, и диалект из списка.</p>"""


def add_panel(app: Flask, state: SimState) -> None:
    """Add ``GET/POST /_sim/panel`` to the simulator app."""

    @app.get("/_sim/panel")
    def panel() -> Response:
        # ?webhook_base=: the demo's PBX form links here with the owner's address filled in.
        return Response(_page(request.args.get("webhook_base", "")), mimetype="text/html")

    @app.post("/_sim/panel")
    def panel_register() -> Response | tuple[Response, int]:
        data = request.get_json(silent=True) or request.form
        webhook = str(data.get("webhook_base") or "").strip()
        dialect = str(data.get("dialect") or "a").strip().lower()
        if not webhook.startswith(("http://", "https://")) or dialect not in DIALECTS:
            if request.is_json:
                return jsonify(ok=False, error="a http(s) webhook_base and a known dialect"), 400
            return Response(_page(webhook, REFUSED), status=400, mimetype="text/html")
        client_id = "SIM" + secrets.token_hex(14).upper() + "0"
        sign_key = secrets.token_hex(16)
        with state.lock:
            accounts = dict(state.config["ACCOUNTS"])
        accounts[client_id] = {"sign_key": sign_key, "webhook_base": webhook, "dialect": dialect}
        state.update_config({"ACCOUNTS": accounts})
        if request.is_json:
            return jsonify(ok=True, client_id=client_id, sign_key=sign_key)
        result = CREATED.format(
            api=escape(request.host_url), client_id=client_id, sign_key=sign_key
        )
        return Response(_page(webhook, result), mimetype="text/html")


def _page(webhook: str = "", result: str = "") -> str:
    options = "".join(
        f'<option value="{key}">({key}) {escape(DIALECT_NAMES[key])}</option>'
        for key in sorted(DIALECTS)
    )
    return PAGE.format(webhook=escape(webhook), options=options, result=result)
