"""JSON errors for the APIs, in one place."""

from __future__ import annotations

from flask import Flask, jsonify, request
from werkzeug.exceptions import HTTPException


def error_response(status: int, code: str, message: str, **extra):
    body = {"error": code, "message": message, **extra}
    return jsonify(body), status


def register(app: Flask) -> None:
    @app.errorhandler(HTTPException)
    def http_error(exc: HTTPException):
        if request.path.startswith(("/api/", "/pbx/")):
            code = (exc.name or "error").lower().replace(" ", "_")
            return error_response(exc.code or 500, code, exc.description or exc.name or "error")
        return exc
