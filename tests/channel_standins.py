"""Local stand-ins of the Telegram Bot API, a Bitrix24 portal's REST and amoCRM's API v4.

Real HTTP over loopback. Each checks the request shapes the vendor documents and
answers the way it does, errors included:

* Telegram Bot API, https://core.telegram.org/bots/api: ``POST /bot<token>/<method>``,
  answers ``{"ok": true, "result": …}`` or ``{"ok": false, "error_code", "description"}``;
  ``getMe``, ``sendMessage`` (chat_id, text), ``getUpdates`` (offset, timeout; an update
  is confirmed by asking with a higher offset).
* Bitrix24 inbound webhook, https://apidocs.bitrix24.ru/local-integrations/local-webhooks.html:
  ``POST /rest/<user>/<code>/<method>.json``; ``{"result": …}`` or ``{"error",
  "error_description"}``. ``crm.duplicate.findbycomm`` answers ``[]`` when nothing matches
  (https://dev.1c-bitrix.ru/rest_help/crm/auxiliary/duplicates/crm_duplicate_findbycomm.php),
  ``crm.lead.add`` / ``crm.deal.add`` the new id
  (https://apidocs.bitrix24.ru/api-reference/crm/leads/crm-lead-add.html),
  ``crm.timeline.comment.add`` the comment id.
* amoCRM API v4, https://www.amocrm.ru/developers/content/crm_platform/leads-api and
  …/events-and-notes: ``POST /api/v4/leads/complex`` → ``[{"id", "contact_id", …}]``,
  ``POST /api/v4/leads/{id}/notes`` → ``{"_embedded": {"notes": [{"id"}]}}``; problem
  JSON on errors (401 ``{"title": "Unauthorized", …}``, 400 with ``validation-errors``).

``down`` makes a stand-in refuse connections (its port closed) until ``up()``;
``delay`` makes it answer late (a timeout).
"""

from __future__ import annotations

import itertools
import json
import threading
import time
from typing import Any

from werkzeug.serving import make_server
from werkzeug.wrappers import Request, Response


class StandIn:
    """A WSGI app on a loopback port that can go down and come back on the same port."""

    def __init__(self):
        self.lock = threading.Lock()
        self.calls: list[dict[str, Any]] = []
        self.delay = 0.0
        self.port = 0
        self.server = None
        self.up()

    def up(self) -> None:
        self.server = make_server("127.0.0.1", self.port, self.wsgi, threaded=True)
        self.port = self.server.server_port
        threading.Thread(
            target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        ).start()

    def down(self) -> None:
        if self.server is not None:
            self.server.shutdown()
            self.server.server_close()
            self.server = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def wsgi(self, environ, start_response):
        request = Request(environ)
        if self.delay:
            time.sleep(self.delay)
        try:
            body = json.loads(request.get_data() or b"null")
        except ValueError:
            body = None
        with self.lock:
            self.calls.append(
                {"path": request.path, "body": body, "headers": dict(request.headers)}
            )
            status, answer = self.answer(request, body)
        response = Response(
            json.dumps(answer, ensure_ascii=False), status=status, mimetype="application/json"
        )
        return response(environ, start_response)

    def answer(self, request: Request, body: Any) -> tuple[int, Any]:
        raise NotImplementedError


class TelegramApi(StandIn):
    TOKEN = "123456789:AAE_test-token-0123456789abcdef"
    USERNAME = "shop_callback_bot"

    def __init__(self):
        self.updates: list[dict[str, Any]] = []
        self.sent: list[dict[str, Any]] = []
        self.offsets: list[int] = []
        self.blocked: set[str] = set()
        self.ids = itertools.count(1)
        super().__init__()

    def send_start(self, chat_id: int, text: str, **chat) -> None:
        """A user in chat ``chat_id`` sends ``text`` to the bot."""
        with self.lock:
            update_id = 1000 + len(self.updates)
            self.updates.append(
                {
                    "update_id": update_id,
                    "message": {
                        "message_id": update_id,
                        "from": {"id": chat_id, "is_bot": False, "first_name": "Анна"},
                        "chat": {"id": chat_id, "type": "private", "first_name": "Анна", **chat},
                        "date": 1764580000,
                        "text": text,
                    },
                }
            )

    def answer(self, request, body):
        prefix = f"/bot{self.TOKEN}/"
        if not request.path.startswith(prefix):
            return 401, {"ok": False, "error_code": 401, "description": "Unauthorized"}
        method = request.path[len(prefix) :]
        body = body or {}
        if method == "getMe":
            return 200, {
                "ok": True,
                "result": {"id": 123456789, "is_bot": True, "username": self.USERNAME},
            }
        if method == "getUpdates":
            offset = int(body.get("offset") or 0)
            self.offsets.append(offset)
            return 200, {
                "ok": True,
                "result": [u for u in self.updates if u["update_id"] >= offset],
            }
        if method == "sendMessage":
            chat, text = str(body.get("chat_id") or ""), body.get("text")
            if not chat or not text:
                return 400, {
                    "ok": False,
                    "error_code": 400,
                    "description": "Bad Request: message text is empty",
                }
            if chat in self.blocked:
                return 403, {
                    "ok": False,
                    "error_code": 403,
                    "description": "Forbidden: bot was blocked by the user",
                }
            self.sent.append({"chat_id": chat, "text": text})
            return 200, {
                "ok": True,
                "result": {"message_id": next(self.ids), "chat": {"id": int(chat)}, "text": text},
            }
        return 404, {"ok": False, "error_code": 404, "description": "Not Found"}


LEAD_FIELDS = {
    "TITLE",
    "NAME",
    "PHONE",
    "SOURCE_ID",
    "SOURCE_DESCRIPTION",
    "COMMENTS",
    "CONTACT_ID",
}
LEAD_FIELDS |= {f"UTM_{k}" for k in ("SOURCE", "MEDIUM", "CAMPAIGN", "TERM", "CONTENT")}


class BitrixPortal(StandIn):
    USER, CODE = "1", "x7k2m9q4w8e1r5t3"

    def __init__(self):
        self.contacts: dict[str, int] = {}  # phone -> contact id
        self.leads: dict[int, dict] = {}
        self.deals: dict[int, dict] = {}
        self.comments: list[dict] = []
        self.ids = itertools.count(101)
        super().__init__()

    @property
    def webhook(self) -> str:
        return f"{self.url}/rest/{self.USER}/{self.CODE}/"

    def answer(self, request, body):
        prefix = f"/rest/{self.USER}/{self.CODE}/"
        if not request.path.startswith(prefix):
            return 401, {
                "error": "INVALID_CREDENTIALS",
                "error_description": "Invalid request credentials",
            }
        method = request.path[len(prefix) :].removesuffix(".json")
        handler = {
            "crm.duplicate.findbycomm": self._find,
            "crm.lead.add": self._add(self.leads),
            "crm.deal.add": self._add(self.deals),
            "crm.timeline.comment.add": self._comment,
        }.get(method)
        if handler is None:
            return 404, {
                "error": "ERROR_METHOD_NOT_FOUND",
                "error_description": "Method not found!",
            }
        return handler(body or {})

    def _find(self, body):
        if (
            body.get("type") != "PHONE"
            or body.get("entity_type") != "CONTACT"
            or not body.get("values")
        ):
            return 400, {"error": "", "error_description": "Parameter 'type' is not defined"}
        found = [self.contacts[v] for v in body["values"] if v in self.contacts]
        return 200, {"result": {"CONTACT": found} if found else []}

    def _add(self, store):
        def add(body):
            fields = body.get("fields") or {}
            unknown = set(fields) - LEAD_FIELDS
            phones = fields.get("PHONE") or []
            if (
                not fields.get("TITLE")
                or unknown
                or any(set(p) != {"VALUE", "VALUE_TYPE"} for p in phones)
            ):
                return 400, {"error": "", "error_description": f"Bad fields: {sorted(unknown)}"}
            new_id = next(self.ids)
            store[new_id] = fields
            return 200, {"result": new_id}

        return add

    def _comment(self, body):
        fields = body.get("fields") or {}
        store = {"lead": self.leads, "deal": self.deals}.get(fields.get("ENTITY_TYPE"))
        if store is None or fields.get("ENTITY_ID") not in store or not fields.get("COMMENT"):
            return 400, {"error": "", "error_description": "Not found"}
        self.comments.append(fields)
        return 200, {"result": next(self.ids)}


class AmoCrm(StandIn):
    SUBDOMAIN, TOKEN = "shop", "eyJ0eXAiOiJKV1QiLCJhbGciOiJSUzI1NiJ9.long-lived.token-tail9Zq"

    def __init__(self):
        self.leads: dict[int, dict] = {}
        self.notes: list[dict] = []
        self.ids = itertools.count(5001)
        super().__init__()

    @property
    def template(self) -> str:
        return self.url + "/{subdomain}"

    def answer(self, request, body):
        prefix = f"/{self.SUBDOMAIN}/api/v4/"
        if request.headers.get("Authorization") != f"Bearer {self.TOKEN}":
            return 401, {
                "title": "Unauthorized",
                "type": "https://httpstatus.es/401",
                "status": 401,
                "detail": "Unauthorized",
            }
        if not request.path.startswith(prefix):
            return 404, {"title": "Not Found", "status": 404, "detail": "Account not found"}
        path = request.path[len(prefix) :]
        if path == "leads/complex":
            return self._complex(body)
        if path.startswith("leads/") and path.endswith("/notes"):
            return self._note(int(path.split("/")[1]), body)
        return 404, {"title": "Not Found", "status": 404}

    def _complex(self, body):
        errors = []
        if not isinstance(body, list) or not body:
            errors.append({"path": "", "detail": "This value should be of type array"})
        for lead in body if isinstance(body, list) else []:
            contacts = (lead.get("_embedded") or {}).get("contacts") or []
            phone_fields = [
                f
                for c in contacts
                for f in c.get("custom_fields_values") or []
                if f.get("field_code") == "PHONE"
            ]
            if not lead.get("name") or not contacts:
                errors.append({"path": "0.name", "detail": "This value should not be blank."})
            if any("value" not in v for f in phone_fields for v in f.get("values") or []):
                errors.append({"path": "0._embedded.contacts", "detail": "value required"})
        if errors:
            return 400, {
                "title": "Bad Request",
                "type": "https://httpstatus.es/400",
                "status": 400,
                "detail": "Request validation failed",
                "validation-errors": [{"request_id": "0", "errors": errors}],
            }
        answer = []
        for lead in body:
            lead_id = next(self.ids)
            self.leads[lead_id] = lead
            answer.append(
                {
                    "id": lead_id,
                    "contact_id": lead_id + 1,
                    "company_id": None,
                    "request_id": ["0"],
                    "merged": False,
                }
            )
        return 200, answer

    def _note(self, lead_id, body):
        if lead_id not in self.leads:
            return 404, {"title": "Not Found", "status": 404}
        notes = body if isinstance(body, list) else []
        if not notes or any(
            n.get("note_type") != "common" or not (n.get("params") or {}).get("text") for n in notes
        ):
            return 400, {
                "title": "Bad Request",
                "status": 400,
                "validation-errors": [{"errors": [{"path": "0.params.text"}]}],
            }
        for note in notes:
            self.notes.append({"lead_id": lead_id, "text": note["params"]["text"]})
        return 200, {
            "_embedded": {"notes": [{"id": next(self.ids), "entity_id": lead_id} for _ in notes]}
        }
