"""F1: Schemathesis against the OpenAPI document a live app serves.

The app runs over real loopback HTTP with a widget on a PBX that is never contacted
(nothing consumes the task queue). Every generated request carries that widget's real
key, a real request handle and an allowed ``Origin``, so the fuzzer reaches the code
behind the origin check instead of stopping at 403/404. Each operation is checked for
server errors (``not_a_server_error``) and for responses that do not match the document:
body schema (each event's, for the live status stream), status code, content type and
headers; negative data must be refused. A finding fails the test.
"""

from __future__ import annotations

import pytest
import requests
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.core.failures import FailureGroup
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    negative_data_rejection,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from widget_server import setup
from widget_server.extensions import db
from widget_server.models import Owner, PbxGroup
from widget_server.pbx import directory

from .conftest import ServerThread, make_app

SHOP = "https://shop.example"
OPERATIONS = {
    "GET /api/v1/widgets/{key}/config",
    "GET /api/v1/widgets/{key}/look",
    "GET /api/v1/widgets/{key}/session",
    "POST /api/v1/widgets/{key}/requests",
    "GET /api/v1/requests/{handle}",
    "POST /api/v1/requests/{handle}/cancel",
    "GET /api/v1/requests/{handle}/events",
    "POST /api/v1/widgets/{key}/beacon",
}
# The stream stays open until its request is final (tests/test_visitor_stream.py): it is
# fuzzed on a cancelled request, whose stream sends its one event and ends.
STREAMS = {"GET /api/v1/requests/{handle}/events"}
CHECKS = [
    not_a_server_error,
    response_schema_conformance,
    status_code_conformance,
    content_type_conformance,
    negative_data_rejection,
    response_headers_conformance,
]


class LiveApi:
    def __init__(self, tmp_path):
        # Loose per-number limits, as in the live stack: the fuzzer should reach the
        # accepted path more than once. The per-IP route limits stay as in production.
        self.app = make_app(
            tmp_path,
            RATELIMIT_NUMBER="1000/minute",
            RATELIMIT_WIDGET_NUMBER="1000/minute",
            RATELIMIT_PREFIX="1000/minute",
            RATELIMIT_IP="1000/minute",
            RATELIMIT_IP_GLOBAL="1000/minute",
        )
        self.server = ServerThread(self.app)
        self.app.config["PUBLIC_URL"] = self.server.url  # the document's `servers`
        with self.app.app_context():
            owner = Owner(email="owner@shop.example", password_hash="not-used-here")
            account = directory.add_pbx(
                owner, "https://api-test.cloudpbx.rt.ru", "CLIENT0001", "KEY0001", "shop.rt.ru"
            )
            db.session.add_all(
                [
                    PbxGroup(account=account, pin="101", name="Продажи", member_pins=["201"]),
                    PbxGroup(account=account, pin="102", name="Сервис", member_pins=["203"]),
                ]
            )
            db.session.commit()
            widget = setup.add_widget(account, [SHOP], [("101", "Продажи"), ("102", "Сервис")])
            self.key = widget.public_key
        accepted = requests.post(
            f"{self.url}/api/v1/widgets/{self.key}/requests",
            json={"phone": "+7 916 123-45-67", "consent": True, "group": "101"},
            headers={"Origin": SHOP},
            timeout=10,
        )
        assert accepted.status_code == 202, accepted.text
        self.handle = accepted.json()["handle"]
        other = requests.post(
            f"{self.url}/api/v1/widgets/{self.key}/requests",
            json={"phone": "+7 926 765-43-21", "consent": True, "group": "102"},
            headers={"Origin": SHOP},
            timeout=10,
        )
        assert other.status_code == 202, other.text
        self.final_handle = other.json()["handle"]
        cancelled = requests.post(
            f"{self.url}/api/v1/requests/{self.final_handle}/cancel",
            headers={"Origin": SHOP},
            timeout=10,
        )
        assert cancelled.status_code == 200 and cancelled.json()["final"], cancelled.text

    @property
    def url(self) -> str:
        return self.server.url


@pytest.fixture
def live_api(tmp_path):
    api = LiveApi(tmp_path)
    yield api
    api.server.stop()


def load_schema(live_api: LiveApi):
    # No example database: the fuzzer leaves nothing behind in the working tree.
    config = schemathesis.Config.from_dict({"generation": {"database": "none"}})
    return schemathesis.openapi.from_url(f"{live_api.url}/api/v1/openapi.json", config=config)


def test_the_served_document_describes_every_public_widget_operation(live_api):
    schema = load_schema(live_api)
    labels = {operation.ok().label for operation in schema.get_all_operations()}
    assert labels == OPERATIONS
    document = requests.get(f"{live_api.url}/api/v1/openapi.json", timeout=10).json()
    assert document["servers"] == [{"url": live_api.url}]


# schemathesis.pytest.from_fixture() (the lazy pytest integration) fails on pytest 9
# ("'Function' object has no attribute '_nodeid'"), so each operation's strategy is
# driven by Hypothesis directly: the same generation and the same checks.
@pytest.mark.parametrize(
    ("label", "mode"),
    [(label, GenerationMode.POSITIVE) for label in sorted(OPERATIONS)]
    # Negative data needs something to break: a body or a query parameter. The
    # status operations have only the (fixed) handle.
    + [
        ("GET /api/v1/widgets/{key}/config", GenerationMode.NEGATIVE),
        ("POST /api/v1/widgets/{key}/requests", GenerationMode.NEGATIVE),
        ("POST /api/v1/widgets/{key}/beacon", GenerationMode.NEGATIVE),
    ],
    ids=str,
)
def test_no_generated_request_gets_a_server_error_or_an_undocumented_response(
    live_api, label, mode
):
    method, path = label.split(" ", 1)
    operation = load_schema(live_api)[path][method]
    if "{key}" in path:
        fixed = {"key": live_api.key}
    else:
        fixed = {"handle": live_api.final_handle if label in STREAMS else live_api.handle}
    statuses: list[int] = []

    @settings(
        max_examples=30,
        deadline=None,
        database=None,
        suppress_health_check=list(HealthCheck),
    )
    @given(
        case=operation.as_strategy(mode, path_parameters=fixed, headers={"Origin": SHOP}),
        steer=st.booleans(),
        phone=st.from_regex(r"\+7 9(03|16|26|85) [0-9]{3}-[0-9]{2}-[0-9]{2}", fullmatch=True),
        group=st.sampled_from(["101", "102"]),
    )
    def fuzz(case, steer, phone, group):
        if steer and mode is GenerationMode.POSITIVE and isinstance(case.body, dict):
            # Half of the generated submissions carry a callable number and a real
            # group, so the accepted, held and rate-limited paths run too, not only 422.
            case.body.update(phone=phone, group=group, consent=True)
            case.body.pop("slot", None)
        # Negative data must also be refused (a 4xx), not taken as if it were valid.
        negative = [negative_data_rejection] if mode is GenerationMode.NEGATIVE else []
        response = case.call_and_validate(checks=CHECKS + negative, timeout=10)
        statuses.append(response.status_code)
        # The fixed key and handle reached the app: the widget and request were found.
        assert response.status_code != 404, (label, response.text)
        # Only the look is public (and only when it is answered): everything else is no-store.
        public = label.endswith("/look") and response.status_code in (200, 304)
        expected = "public, max-age=60" if public else "no-store"
        assert response.headers.get("cache-control") == [expected], response.headers

    fuzz()
    assert statuses, "no request was generated"
    if label == "POST /api/v1/widgets/{key}/requests" and mode is GenerationMode.POSITIVE:
        assert 202 in statuses, statuses  # the accepted path was fuzzed, not only 422s


def test_the_stream_is_declared_as_events_each_carrying_a_status(live_api):
    document = requests.get(f"{live_api.url}/api/v1/openapi.json", timeout=10).json()
    ok = document["paths"]["/api/v1/requests/{handle}/events"]["get"]["responses"]["200"]
    event = ok["content"]["text/event-stream"]["schema"]
    assert event["type"] == "object" and event["required"] == ["event", "data"]
    data = event["properties"]["data"]
    assert data["contentMediaType"] == "application/json"
    assert data["contentSchema"] == {"$ref": "#/components/schemas/Status"}


def test_a_stream_event_unlike_the_document_is_a_finding(live_api, monkeypatch):
    """The checks do read the stream: an event whose data is not a Status fails them."""
    from widget_server.visitor import stream

    real = stream.status_view
    monkeypatch.setattr(stream, "status_view", lambda *a, **kw: {**real(*a, **kw), "status": 7})
    operation = load_schema(live_api)["/api/v1/requests/{handle}/events"]["GET"]
    case = operation.Case(
        path_parameters={"handle": live_api.final_handle}, headers={"Origin": SHOP}
    )
    with pytest.raises(FailureGroup) as finding:
        case.call_and_validate(checks=CHECKS, timeout=10)
    titles = [failure.title for failure in finding.value.exceptions]
    assert any("schema" in title.lower() for title in titles), titles
