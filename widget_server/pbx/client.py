"""The one client for the Rostelecom integration API.

Each call serialises its payload once, signs those bytes and sends the same
bytes. Every failure, from DNS to a non-zero ``result``, becomes ``PbxError``
carrying the PBX's code and message and whether trying again may help.
"""

from __future__ import annotations

import functools
import logging
import time
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

import requests
from flask import current_app

from .. import outbound
from ..ops import metrics
from ..version import __version__
from . import exchanges
from .errors import PbxError
from .journal import MAX_BYTES as JOURNAL_MAX_BYTES
from .journal import utc_to_moscow
from .signing import encode_body, signed_headers
from .tls import mount_bundle

if TYPE_CHECKING:
    from ..models import PbxAccount

log = logging.getLogger(__name__)

PRODUCTION_API = "https://api.cloudpbx.rt.ru"
TEST_API = "https://api-test.cloudpbx.rt.ru"

# The most an answer may hold, by method; past it the answer is refused, not read
# (issue 26: an owner's "PBX" answered users_info with 300 MB). A JSON answer is a few
# KB; users_info lists every user and group of a large domain.
ANSWER_LIMIT = 2 * outbound.MB
ANSWER_LIMITS = {"users_info": 8 * outbound.MB, "download_call_history": JOURNAL_MAX_BYTES}


def _instrumented(call):
    """Time every API call and count its failures by result (``metrics``)."""

    @functools.wraps(call)
    def timed(self, method: str, payload: dict[str, Any]) -> dict[str, Any]:
        started, error = time.perf_counter(), None
        try:
            return call(self, method, payload)
        except PbxError as exc:
            error = exc.result
            raise
        finally:
            metrics.observe_pbx_call(method, time.perf_counter() - started, error)

    return timed


@dataclass(frozen=True)
class PbxCredentials:
    api_url: str
    client_id: str
    sign_key: str
    domain: str | None = None
    ca_bundle: str | None = None  # PEM text

    def __repr__(self) -> str:  # never let the key reach a log or traceback
        return f"PbxCredentials(api_url={self.api_url!r}, client_id={self.client_id!r})"


class PbxClient:
    """Calls the integration API for one domain's credentials."""

    def __init__(
        self,
        credentials: PbxCredentials,
        *,
        connect_timeout: float = 3.0,
        read_timeout: float = 10.0,
        deadline: float | None = None,
        session: requests.Session | None = None,
    ):
        self.credentials = credentials
        self.timeout = (connect_timeout, read_timeout)
        # The read timeout bounds each read; the deadline the whole call, answer included.
        self.deadline = deadline or outbound.configured_deadline()
        # The API address is the owner's to type: the outbound policy applies (public,
        # pinned, no redirects); a pasted bundle is added to the usual CAs (tls.py).
        if session is None:
            session = outbound.session(self.timeout, ca_bundle=credentials.ca_bundle)
        elif credentials.ca_bundle:
            mount_bundle(session, credentials.ca_bundle)
        self.session = session
        self.session.headers["User-Agent"] = f"widget-server/{__version__}"
        self._verify = True

    # -- methods ------------------------------------------------------------
    def users_info(self) -> dict[str, Any]:
        """List the domain's users and groups."""
        payload: dict[str, Any] = {}
        if self.credentials.domain:
            payload["domain"] = self.credentials.domain
        return self.call("users_info", payload)

    def call_back(
        self, request_number: str, *, from_pin: str | None = None, from_sipuri: str | None = None
    ) -> str:
        """Ring ``from_pin``/``from_sipuri``, then ``request_number``; return the session id."""
        if bool(from_pin) == bool(from_sipuri):
            raise ValueError("give exactly one of from_pin and from_sipuri")
        payload: dict[str, Any] = {"request_number": request_number}
        if from_pin:
            payload["from_pin"] = from_pin
        else:
            payload["from_sipuri"] = from_sipuri
        try:
            data = self.call("call_back", payload)
        except PbxError as exc:
            # A reply naming a session is a placed call, whatever its result says
            # (the guide's sample and the test host answer "1" with the success text).
            if not (exc.answer and exc.answer.get("session_id")) or exc.http_status != 200:
                raise
            data = exc.answer
            log.warning(
                "call_back answered result %r (%s) with session %s: taken as placed",
                data.get("result"),
                str(data.get("resultMessage", ""))[:200],
                data["session_id"],
            )
        session_id = data.get("session_id")
        if not session_id:
            raise PbxError(
                "call_back answered without a session_id",
                result="bad-response",
                retryable=False,
                ambiguous=True,
            )
        return str(session_id)

    def call_info(self, session_id: str) -> dict[str, Any]:
        """Details of a finished call (answered, duration, recording flag)."""
        data = self.call("call_info", {"session_id": session_id})
        info = data.get("info")
        if not isinstance(info, dict):
            raise PbxError("call_info answered without info", result="bad-response", retryable=True)
        return info

    def get_record(self, session_id: str, ip_address: str | None = None) -> str:
        """A one-time link to the call's recording, valid only from ``ip_address``."""
        payload: dict[str, Any] = {"session_id": session_id}
        if ip_address:
            payload["ip_adress"] = ip_address  # sic: the API's spelling
        data = self.call("get_record", payload)
        url = data.get("url")
        if not url:
            raise PbxError(
                "get_record answered without a url", result="bad-response", retryable=True
            )
        return str(url)

    # -- the call journal (pbx/journal.py reads the file) ----------------------
    def domain_call_history(self, start: datetime, end: datetime) -> str:
        """Order the journal of every call from ``start`` to ``end`` (naive UTC); the order id.

        The PBX announces the file with ``history_file_completed``.
        """
        payload: dict[str, Any] = {
            "date_start": utc_to_moscow(start),
            "date_end": utc_to_moscow(end),
            "direction": 0,
            "state": 0,
        }
        if self.credentials.domain:
            payload["domain"] = self.credentials.domain
        order_id = self.call("domain_call_history", payload).get("order_id")
        if not order_id:
            raise PbxError(
                "domain_call_history answered without an order_id",
                result="bad-response",
                retryable=True,
            )
        return str(order_id)

    @_instrumented
    def _download(self, method: str, payload: dict[str, Any]) -> bytes:
        """A file answer's bytes; a 404 or a "File [...] not found" page means not ready."""
        response = self._send(method, payload)
        body = response.content
        kind = response.headers.get("Content-Type", "")
        page = "html" in kind or body[:64].lstrip().startswith((b"<", b"File"))
        if response.status_code == 404 or (page and b"not found" in body[:500].lower()):
            raise PbxError(
                f"{method}: the file is not ready yet", result="not-ready", retryable=True
            )
        if "json" in kind:
            self._parse(method, response)  # raises on a non-zero result
            raise PbxError(
                f"{method}: JSON instead of a file", result="bad-response", retryable=False
            )
        if response.status_code != 200:
            self._parse(method, response)
        return body

    def download_call_history(self, order_id: str) -> bytes:
        """The journal file of an order (a ZIP of a CSV), as bytes.

        :raise PbxError: ``result`` "not-ready" while the PBX is still making it.
        """
        return self._download("download_call_history", {"order_id": order_id})

    # -- transport ----------------------------------------------------------
    @exchanges.recorded  # the raw exchange journal (pbx/exchanges.py)
    @_instrumented
    def call(self, method: str, payload: dict[str, Any]) -> dict[str, Any]:
        """POST a signed request; return the JSON answer when ``result`` is 0.

        :raise PbxError: on any transport, HTTP or PBX-level failure.
        """
        return self._parse(method, self._send(method, payload))

    def _send(self, method: str, payload: dict[str, Any]) -> requests.Response:
        """POST the signed payload and read the answer (within the deadline, at most the
        method's ``ANSWER_LIMITS``); transport failures become ``PbxError``."""
        creds = self.credentials
        body = encode_body(payload)
        url = f"{creds.api_url.rstrip('/')}/{method}"
        headers = signed_headers(creds.client_id, body, creds.sign_key)
        limit = ANSWER_LIMITS.get(method, ANSWER_LIMIT)
        try:
            response = self.fetch("POST", url, data=body, headers=headers, max_bytes=limit)
        except (outbound.DeadlineExceeded, outbound.AnswerTooLarge) as exc:
            raise cut_off(exc, f"{method}: the PBX API") from None
        except outbound.InvalidIPAddress:
            raise PbxError(
                f"{method}: the PBX API address is not a public internet address",
                result="forbidden-address",
                retryable=False,
            ) from None
        except requests.exceptions.ConnectTimeout:
            raise PbxError(
                f"{method}: the PBX API did not accept a connection in time",
                result="timeout",
                retryable=True,
            ) from None
        except requests.exceptions.SSLError as exc:
            raise PbxError(
                f"{method}: TLS check of the PBX API failed ({exc.__class__.__name__}); "
                "is the Russian Trusted CA in the CA bundle?",
                result="tls",
                retryable=False,
            ) from None
        except requests.exceptions.ConnectionError:
            raise PbxError(
                f"{method}: cannot connect to the PBX API", result="connection", retryable=True
            ) from None
        except requests.exceptions.Timeout:
            # The request went out: the PBX may have acted on it.
            raise PbxError(
                f"{method}: the PBX API did not answer in {self.timeout[1]:g} s",
                result="timeout",
                retryable=True,
                ambiguous=True,
            ) from None
        except requests.exceptions.RequestException as exc:
            raise PbxError(
                f"{method}: request failed ({exc.__class__.__name__})",
                result="connection",
                retryable=True,
                ambiguous=True,
            ) from None
        return response

    def fetch(self, method: str, url: str, **kwargs: Any) -> requests.Response:
        """A request with this client's session, timeouts and deadline, its answer capped
        (``outbound.fetch``; ``max_bytes=``, ``stream=``, ``stream_for=``)."""
        return outbound.fetch(
            self.session,
            method,
            url,
            timeout=self.timeout,
            verify=self._verify,
            deadline=self.deadline,
            **kwargs,
        )

    def _parse(self, method: str, response: requests.Response) -> dict[str, Any]:
        status = response.status_code
        if status >= 500 or status == 429:
            log.warning("PBX %s answered HTTP %s: %.200s", method, status, response.text)
            raise PbxError(
                f"{method}: the PBX API answered HTTP {status}",
                result=f"http-{status}",
                retryable=True,
                http_status=status,
            )
        if status in (401, 403):
            log.warning("PBX %s refused our credentials: HTTP %s", method, status)
            raise PbxError(
                f"{method}: the PBX refused the client id or signature (HTTP {status}); "
                "check the identification code, the signing key and the allowed IPs",
                result=f"http-{status}",
                retryable=False,
                http_status=status,
                answer=_api_shaped(response),
            )
        try:
            data = response.json()
        except ValueError:
            log.warning(
                "PBX %s answered HTTP %s with non-JSON: %.200s", method, status, response.text
            )
            raise PbxError(
                f"{method}: the PBX answered HTTP {status} without JSON",
                result=f"http-{status}" if status >= 400 else "bad-response",
                retryable=False,
                http_status=status,
            ) from None
        if not isinstance(data, dict):
            raise PbxError(f"{method}: unexpected answer", result="bad-response", retryable=False)
        result = str(data.get("result", "")).strip()
        if status >= 400 or result != "0":
            message = str(data.get("resultMessage") or f"HTTP {status}")
            raise PbxError(
                f"{method}: {message}",
                result=result or f"http-{status}",
                retryable=False,
                http_status=status,
                answer=data,
            )
        return data


def cut_off(exc: requests.RequestException, who: str) -> PbxError:
    """The outbound deadline or size cap, as the PBX client's error about ``who``."""
    if isinstance(exc, outbound.DeadlineExceeded):
        return PbxError(
            f"{who} did not answer in full within {exc.seconds:g} s",
            result="timeout",
            retryable=True,
            ambiguous=exc.sent,  # once the request is out, the PBX may have acted on it
        )
    limit = outbound.in_words(getattr(exc, "limit", 0))
    return PbxError(
        f"{who} answered more than {limit}, the most this call accepts; the rest was not read",
        result="too-large",
        retryable=False,
        ambiguous=True,  # the PBX took the request and answered: it may have acted on it
    )


def _api_shaped(response: requests.Response) -> dict[str, Any] | None:
    """The answer when it is JSON with a ``result`` as the API gives, else None."""
    try:
        data = response.json()
    except ValueError:
        return None
    return data if isinstance(data, dict) and "result" in data else None


def client_for(account: PbxAccount) -> PbxClient:
    """The PBX client for an account, with the app's timeouts.

    Tests swap the factory through ``app.extensions["pbx_client_factory"]``.
    """
    factory = current_app.extensions.get("pbx_client_factory")
    if factory:
        return factory(account)
    creds = PbxCredentials(
        api_url=account.api_url,
        client_id=account.client_id,
        sign_key=account.sign_key,
        domain=account.domain,
        ca_bundle=account.ca_bundle,
    )
    return PbxClient(
        creds,
        connect_timeout=current_app.config["PBX_CONNECT_TIMEOUT"],
        read_timeout=current_app.config["PBX_TIMEOUT"],
        deadline=current_app.config["PBX_DEADLINE"],
    )
