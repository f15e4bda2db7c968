"""Prometheus metrics, served at ``/metrics`` to holders of ``WIDGET_METRICS_TOKEN``.

Counters and histograms live in this process, or, under ``widget-server run``, in
files of a directory shared by every gunicorn worker and the queue worker
(prometheus_client's multiprocess mode, ``PROMETHEUS_MULTIPROC_DIR``), so a scrape
answered by any worker sees the sum of all of them. The queue gauges are read from
the queue and the database at scrape time.

Labels are bounded: routes are URL rules, never paths; PBX results and webhook
states are cut short and unknown states folded into ``other``.
"""

from __future__ import annotations

import hmac
import logging
import os
import time

from flask import Blueprint, Flask, Response, abort, current_app, g, request
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    CollectorRegistry,
    Counter,
    Histogram,
    disable_created_metrics,
    generate_latest,
    multiprocess,
)
from prometheus_client.core import GaugeMetricFamily
from sqlalchemy import func, select

from ..extensions import db
from ..models import CallbackRequest, utcnow
from ..statuses import FINAL

log = logging.getLogger(__name__)
bp = Blueprint("metrics", __name__)
disable_created_metrics()  # the *_created series only double the output

HTTP_REQUESTS = Counter(
    "widget_http_requests_total",
    "HTTP requests answered, by route (URL rule), method and status.",
    ["route", "method", "status"],
)
HTTP_DURATION = Histogram(
    "widget_http_request_duration_seconds",
    "Time to answer an HTTP request, by route (URL rule) and method.",
    ["route", "method"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
)
CALLBACK_REQUESTS = Counter(
    "widget_callback_requests_total",
    "Callback requests that reached a final status, by that status.",
    ["outcome"],
)
PBX_CALL_DURATION = Histogram(
    "widget_pbx_api_call_duration_seconds",
    "Latency of PBX integration API calls, by method, failures included.",
    ["method"],
    buckets=(0.05, 0.1, 0.25, 0.5, 1, 2, 3, 5, 10, 20),
)
PBX_CALL_ERRORS = Counter(
    "widget_pbx_api_errors_total",
    "Failed PBX integration API calls, by method and result (PBX code, http-NNN, timeout...).",
    ["method", "result"],
)
WEBHOOK_EVENTS = Counter(
    "widget_webhook_events_total",
    "Signed call_events webhooks received, by call state and what we did with them "
    "(not_ours: another call on the domain, dropped unstored).",
    ["state", "outcome"],
)
LIMIT_REFUSALS = Counter(
    "widget_limit_refusals_total",
    "Callback requests refused or held by a limit or the bot defence, by kind.",
    ["kind"],
)

PBX_METHODS = {"call_back", "call_info", "get_record", "users_info"}
WEBHOOK_STATES = {"new", "calling", "connected", "disconnected", "end"}


def count_webhook_event(state: str, outcome: str) -> None:
    state = state.lower() if state.lower() in WEBHOOK_STATES else "other"
    WEBHOOK_EVENTS.labels(state, outcome[:16]).inc()


def count_refusal(kind: str) -> None:
    LIMIT_REFUSALS.labels(kind).inc()


def count_final(status: str) -> None:
    CALLBACK_REQUESTS.labels(status).inc()


def observe_pbx_call(method: str, seconds: float, error_result: str | None) -> None:
    method = method if method in PBX_METHODS else "other"
    PBX_CALL_DURATION.labels(method).observe(seconds)
    if error_result is not None:
        PBX_CALL_ERRORS.labels(method, error_result[:16]).inc()


# -- HTTP instrumentation -------------------------------------------------------------
def init_app(app: Flask) -> None:
    """Count and time every request; register ``/metrics``."""

    def _start_timer():
        g.metrics_started = time.perf_counter()

    # First of all hooks, so requests the rate limiter refuses are counted too.
    app.before_request_funcs.setdefault(None, []).insert(0, _start_timer)

    @app.after_request
    def _count(response):
        started = g.get("metrics_started")
        if started is not None:
            rule = request.url_rule
            route = rule.rule if rule is not None else "<unmatched>"
            HTTP_REQUESTS.labels(route, request.method, str(response.status_code)).inc()
            HTTP_DURATION.labels(route, request.method).observe(time.perf_counter() - started)
        return response

    app.register_blueprint(bp)


# -- queue gauges, read at scrape time ---------------------------------------------------
class QueueCollector:
    """Jobs waiting in the queue, and how late the oldest due request is."""

    def __init__(self, app: Flask):
        self.app = app

    def collect(self):
        pending = GaugeMetricFamily(
            "widget_queue_pending_jobs", "Jobs waiting in the task queue (not yet picked up)."
        )
        oldest = GaugeMetricFamily(
            "widget_queue_oldest_due_seconds",
            "Seconds since the oldest due, not final callback request was due (0: none late).",
        )
        try:
            pending.add_metric([], self.app.extensions["queue"].huey.pending_count())
            yield pending
        except Exception as exc:  # a dead queue store: /readyz reports it, the scrape goes on
            log.debug("queue depth unavailable: %s", exc.__class__.__name__)
        try:
            now = utcnow()
            due = db.session.scalar(
                select(func.min(CallbackRequest.next_dispatch_at)).where(
                    CallbackRequest.status.not_in(FINAL),
                    CallbackRequest.next_dispatch_at <= now,
                )
            )
            db.session.rollback()
            oldest.add_metric([], (now - due).total_seconds() if due else 0.0)
            yield oldest
        except Exception:
            db.session.rollback()


def _authorised() -> bool:
    token = current_app.config.get("METRICS_TOKEN")
    if not token:
        return False
    sent = request.headers.get("Authorization", "")
    scheme, _, credentials = sent.partition(" ")
    return scheme.lower() == "bearer" and hmac.compare_digest(
        credentials.strip().encode(), token.encode()
    )


@bp.get("/metrics")
def metrics():
    """Prometheus text format; 404 unless a token is configured, 401 without it."""
    if not current_app.config.get("METRICS_TOKEN"):
        abort(404)
    if not _authorised():
        return Response(
            "metrics need the bearer token of WIDGET_METRICS_TOKEN\n",
            status=401,
            headers={"WWW-Authenticate": 'Bearer realm="metrics"'},
            mimetype="text/plain",
        )
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)
    else:
        registry = REGISTRY
    live = CollectorRegistry()
    live.register(QueueCollector(current_app._get_current_object()))
    body = generate_latest(registry) + generate_latest(live)
    return Response(body, headers={"Cache-Control": "no-store"}, content_type=CONTENT_TYPE_LATEST)
