"""JSON errors for the APIs, in one place."""

from __future__ import annotations

import contextlib
import logging
from typing import Any

from flask import Flask, jsonify, request
from sqlalchemy.exc import SQLAlchemyError
from werkzeug.exceptions import HTTPException

from .extensions import db

log = logging.getLogger(__name__)


def error_response(status: int, code: str, message: str, **extra):
    body = {"error": code, "message": message, **extra}
    return jsonify(body), status


class ApiError(HTTPException):
    """A JSON API error, raised from a view or a guard: ``{"error": code, "message": ...}``.

    ``extra`` goes into the body as it is; ``retry_after`` also sets the header.
    """

    def __init__(self, status: int, error: str, message: str, **extra: Any) -> None:
        super().__init__(message)
        self.code = status
        self.error = error
        self.extra = extra

    def get_response(self, environ=None, scope=None):
        response, status = error_response(self.code, self.error, self.description, **self.extra)
        response.status_code = status
        if self.extra.get("retry_after") is not None:
            response.headers["Retry-After"] = str(self.extra["retry_after"])
        return response


def register(app: Flask) -> None:
    @app.errorhandler(HTTPException)
    def http_error(exc: HTTPException):
        if isinstance(exc, ApiError):
            return exc.get_response()
        if request.path.startswith(("/api/", "/pbx/")):
            code = (exc.name or "error").lower().replace(" ", "_")
            response, status = error_response(
                exc.code or 500, code, exc.description or exc.name or "error"
            )
            # The error's own headers are part of the answer (405's Allow, 401's
            # WWW-Authenticate, 416's Content-Range); only its HTML body's type is not.
            for name, value in exc.get_headers():
                if name.lower() != "content-type":
                    response.headers[name] = value
            return response, status
        return exc

    @app.errorhandler(SQLAlchemyError)
    def database_error(exc: SQLAlchemyError):
        """A webhook the database cannot take now (unreachable, or its disk full): 503 and a
        line in the log, as the widget API answers visitors (``visitor/api.py``), not a 500
        with a traceback per event. Any other page's error stays the 500 it was."""
        if not request.path.startswith("/pbx/"):
            raise exc
        with contextlib.suppress(SQLAlchemyError):
            db.session.rollback()
        log.error("/pbx/ webhook: database error: %s", exc.__class__.__name__)
        return error_response(
            503, "unavailable", "The service cannot store this now; try again in a minute."
        )
