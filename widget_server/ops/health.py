"""Health checks for load balancers and orchestrators.

``/healthz``: the process answers (no dependency is touched), for liveness.
``/readyz``: the database, Redis (when configured) and the task queue answer,
each within a second or two, for readiness; 503 names what failed. Failures are
reported by exception class only: a message could carry a URL with a password.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from flask import Blueprint, current_app, jsonify
from sqlalchemy import text

from ..extensions import db

log = logging.getLogger(__name__)
bp = Blueprint("health", __name__)

REDIS_TIMEOUT = 1.0


@bp.get("/healthz")
def healthz():
    """Alive: answers without touching anything."""
    return jsonify({"status": "ok"}), 200, {"Cache-Control": "no-store"}


def _database() -> None:
    try:
        db.session.execute(text("SELECT 1")).scalar_one()
    finally:
        db.session.rollback()


def _redis() -> None:
    import redis

    client = redis.Redis.from_url(
        current_app.config["REDIS_URL"],
        socket_timeout=REDIS_TIMEOUT,
        socket_connect_timeout=REDIS_TIMEOUT,
    )
    try:
        client.ping()
    finally:
        client.close()


def _queue() -> None:
    current_app.extensions["queue"].huey.pending_count()


@bp.get("/readyz")
def readyz():
    """Ready: every dependency answers; 503 with the failed checks named otherwise."""
    checks: dict[str, Callable[[], None]] = {"database": _database}
    if current_app.config.get("REDIS_URL"):
        checks["redis"] = _redis
    checks["queue"] = _queue
    results: dict[str, str] = {}
    for name, check in checks.items():
        try:
            check()
            results[name] = "ok"
        except Exception as exc:
            results[name] = f"failed: {exc.__class__.__name__}"
    failed = [name for name, result in results.items() if result != "ok"]
    if failed:
        log.warning("readiness check failed: %s", ", ".join(failed))
    body = {"status": "unavailable" if failed else "ready", "checks": results, "failed": failed}
    return jsonify(body), 503 if failed else 200, {"Cache-Control": "no-store"}
