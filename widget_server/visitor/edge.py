"""What answers ahead of Flask: the built widget's files and, from memory, the widget's look.

A page view asks the server for two things, the loader and the look document, and both are
the same for every visitor. WhiteNoise serves the files (``embed.py``). ``LookFromMemory``
answers ``GET /api/v1/widgets/<key>/look`` when the look is in memory and due no recheck,
skipping Flask's request machinery (rate limiter, session, access log), which costs more
than the answer itself. A miss, a recheck, a refusal (other origin, paused, unknown) or a
Redis outage goes on to the Flask route (``api.widget_look``), which answers and fills the
cache. Both paths send the same headers (tests/test_visitor_look.py compares them).
"""

from __future__ import annotations

import re
import time
import uuid
from urllib.parse import parse_qs

from flask import Flask
from werkzeug.datastructures import LanguageAccept
from werkzeug.http import parse_accept_header, parse_etags

from ..ops import metrics
from . import embed, look_cache, seen
from .origins import request_origin
from .texts import LANGUAGES

LOOK_PATH = re.compile(r"^/api/v1/widgets/([^/]{1,64})/look$")
LOOK_RULE = "/api/v1/widgets/<key>/look"


class LookFromMemory:
    """WSGI layer: the look of a widget from memory, else the app behind it."""

    def __init__(self, app: Flask, wsgi_app):
        self.app = app
        self.wsgi_app = wsgi_app

    def __call__(self, environ, start_response):
        started = time.perf_counter()
        match = environ.get("REQUEST_METHOD") == "GET" and LOOK_PATH.match(
            environ.get("PATH_INFO", "")
        )
        answer = self._answer(environ, match.group(1)) if match else None
        if answer is None:
            return self.wsgi_app(environ, start_response)
        status, headers, body = answer
        start_response(status, headers)
        code = status.split(" ", 1)[0]
        metrics.HTTP_REQUESTS.labels(LOOK_RULE, "GET", code).inc()
        metrics.HTTP_DURATION.labels(LOOK_RULE, "GET").observe(time.perf_counter() - started)
        return [body]

    def _answer(self, environ, key: str) -> tuple[str, list[tuple[str, str]], bytes] | None:
        asked = parse_qs(environ.get("QUERY_STRING", "")).get("lang", [None])[0]
        browser = parse_accept_header(environ.get("HTTP_ACCEPT_LANGUAGE"), LanguageAccept)
        slot = look_cache.language_slot(asked, browser.best_match(LANGUAGES))
        look = look_cache.look_in_memory(self.app, key, slot)
        if look is None or not look.active:
            return None
        origin = request_origin(environ.get("HTTP_ORIGIN"), environ.get("HTTP_REFERER"))
        if not origin or origin not in look.origins:
            return None
        if seen.view_due(key, origin):  # once a minute: the setup checklist's last view
            with self.app.app_context():
                seen.write_view(key, origin)
        headers = [
            ("ETag", f'"{look.etag}"'),
            ("Cache-Control", "public, max-age=60"),
            ("Vary", "Origin, Accept-Language"),
            ("Access-Control-Allow-Origin", origin),
            ("Access-Control-Expose-Headers", "Retry-After"),
            ("X-Content-Type-Options", "nosniff"),
            ("X-Request-ID", uuid.uuid4().hex),
        ]
        if parse_etags(environ.get("HTTP_IF_NONE_MATCH")).contains(look.etag):
            return "304 NOT MODIFIED", headers, b""
        body = look.body.encode()
        length = [("Content-Type", "application/json"), ("Content-Length", str(len(body)))]
        return "200 OK", length + headers, body


def install(app: Flask) -> None:
    """Put the built widget's files and the look from memory in front of the app."""
    app.wsgi_app = LookFromMemory(app, app.wsgi_app)  # type: ignore[method-assign]
    embed.serve_built_widget(app)
