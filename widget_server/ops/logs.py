"""Logging: text or JSON lines, a request id on every line, phone numbers masked.

Code masks numbers itself (``phones.mask_phone``); masking every record is the
safety net for anything that slips through, such as a PBX error body quoted in a log.

``WIDGET_LOG_FORMAT=json`` writes one JSON object per line, and one access line per
HTTP request (method, route, status, duration, client IP, request id). Headers,
bodies, cookies and query strings are never logged, so neither are secrets.
"""

from __future__ import annotations

import contextvars
import json
import logging
import re
import time
import uuid
from datetime import UTC, datetime

# A run of digits, also glued to a word by "_" (``id_79161234567``). Not glued to an ASCII
# letter or digit: that is a hex request id or a token, where a digit run means nothing.
_PHONE_LIKE = re.compile(r"(?<![0-9A-Za-z.])(\+?)(\d)(\d{6,11})(\d{2})(?![0-9A-Za-z])")
# Numbers as people write them: digit groups with single spaces, dashes or brackets
# (``+7 916 123-45-67``, ``8 (916) 123-45-67``), the spaces also no-break or narrow ones and
# the dashes also typographic ones (what a word processor or a CRM puts in); _mask_written
# keeps dates out.
_SPACE = "[ \u00a0\u2007\u202f]"
_DASH = "[-\u2010-\u2014\u2212]"
_GROUP = r"(?:\(\d{1,5}\)|\d{1,5})"
_WRITTEN_PHONE = re.compile(
    rf"(?<![\w.:/\u2010-\u2014-])\+?{_GROUP}(?:(?:{_SPACE}?{_DASH}{_SPACE}?|{_SPACE})?{_GROUP}){{2,7}}"
    rf"(?![\w:/\u2010-\u2014-])"
)
# Groups with dots (``7.916.123.45.67``): a whole dotted run only, never part of a longer
# one (an OID, a version), and then not an IPv4 address or a date (_mask_dotted).
_DOTTED_PHONE = re.compile(r"(?<![\w.:/-])\+?\d{1,7}(?:\.\d{1,7}){2,7}(?!\.?[\w:/-])")
_UUID = re.compile(
    r"(?<![0-9A-Fa-f])([0-9A-Fa-f]{8}(?:-[0-9A-Fa-f]{4}){3}-[0-9A-Fa-f]{12})(?![0-9A-Fa-f])"
)
_DATE = re.compile(r"\d{4}[-\u2010-\u2014.]\d\d[-\u2010-\u2014.]\d\d|\d\d\.\d\d\.\d{4}")


def _mask_digits(text: str, digits: int) -> str:
    """``text`` with every digit but the first and the last two as ``*``."""
    seen = 0
    masked = []
    for c in text:
        if c.isdigit():
            seen += 1
            c = c if seen == 1 or seen > digits - 2 else "*"
        masked.append(c)
    return "".join(masked)


def _mask_written(match: re.Match) -> str:
    text = match.group()
    digits = sum(c.isdigit() for c in text)
    if not 10 <= digits <= 15 or _DATE.search(text):
        return text
    return _mask_digits(text, digits)


def _mask_dotted(match: re.Match) -> str:
    text = match.group()
    groups = text.lstrip("+").split(".")
    digits = sum(len(group) for group in groups)
    if not 10 <= digits <= 15 or _DATE.search(text):
        return text
    if len(groups) == 4 and all(len(group) <= 3 and int(group) <= 255 for group in groups):
        return text  # an IPv4 address (192.168.100.200 has 12 digits)
    return _mask_digits(text, digits)


def mask_text(text: str) -> str:
    """Mask phone-like numbers, leaving the first digit and the last two.

    Runs of 9–14 digits, and 10–15 digits written in groups (``+7 916 123-45-67``,
    ``7.916.123.45.67``).
    """
    # A UUID's last group can be 12 decimal digits: UUIDs are left whole, the rest masked.
    pieces = _UUID.split(text)
    pieces[::2] = [_mask_piece(piece) for piece in pieces[::2]]
    return "".join(pieces)


def _mask_piece(text: str) -> str:
    text = _PHONE_LIKE.sub(
        lambda m: f"{m.group(1)}{m.group(2)}{'*' * len(m.group(3))}{m.group(4)}", text
    )
    text = _DOTTED_PHONE.sub(_mask_dotted, text)
    return _WRITTEN_PHONE.sub(_mask_written, text)


_base_factory = logging.getLogRecordFactory()


# The id of the HTTP request being handled on this thread, if any.
request_id_var: contextvars.ContextVar[str | None] = contextvars.ContextVar(
    "request_id", default=None
)
_SANE_REQUEST_ID = re.compile(r"[A-Za-z0-9._:-]{8,128}")


def _masking_record_factory(*args, **kwargs) -> logging.LogRecord:
    # Masking at record creation covers every handler, including ones added
    # later by a host program or a test harness.
    record = _base_factory(*args, **kwargs)
    record.request_id = request_id_var.get()
    try:
        message = record.getMessage()
    except Exception:  # a broken format string is the logging module's to report
        return record
    masked = mask_text(message)
    if masked != message:
        record.msg, record.args = masked, None
    return record


# Fields of the access line, copied from the record into the JSON object.
ACCESS_FIELDS = ("method", "route", "status", "duration_ms", "client_ip")
_STANDARD_ATTRS = set(vars(logging.makeLogRecord({}))) | {"message", "asctime", "request_id"}


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time, level, logger, message, request id, access fields."""

    def format(self, record: logging.LogRecord) -> str:
        entry = {
            "ts": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "msg": mask_text(record.getMessage()),
            "pid": record.process,  # tells gunicorn workers and the queue worker apart
        }
        if getattr(record, "request_id", None):
            entry["request_id"] = record.request_id  # never phone-like: see _start
        for name, value in vars(record).items():
            if name not in _STANDARD_ATTRS and not name.startswith("_"):
                # The masking safety net covers the extra fields and tracebacks too.
                entry[name] = mask_text(value) if isinstance(value, str) else value
        if record.exc_info:
            entry["exc"] = mask_text(self.formatException(record.exc_info))
        return json.dumps(entry, ensure_ascii=False, default=str)


TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"
# Line breaks (and what str.splitlines takes for one) written as escapes in a text line.
_LINE_BREAKS = {ord(c): f"\\x{ord(c):02x}" for c in "\x0b\x0c\x1c\x1d\x1e\x85"}
_LINE_BREAKS.update({ord("\r"): "\\r", ord("\n"): "\\n", 0x2028: "\\u2028", 0x2029: "\\u2029"})


class TextFormatter(logging.Formatter):
    """``TEXT_FORMAT``, one line per record whatever its values hold.

    CR/LF in the message are escaped, so a logged value (say, from a webhook) cannot
    start a fake line; a traceback follows on lines of its own, each indented, and
    is masked like the message.
    """

    def __init__(self) -> None:
        super().__init__(TEXT_FORMAT)

    def format(self, record: logging.LogRecord) -> str:
        record.message = mask_text(record.getMessage()).translate(_LINE_BREAKS)
        record.asctime = self.formatTime(record, self.datefmt)
        line = self.formatMessage(record)
        details = []
        if record.exc_info:
            details.append(self.formatException(record.exc_info))
        if record.stack_info:
            details.append(self.formatStack(record.stack_info))
        for text in details:
            line += "".join(f"\n    {part}" for part in mask_text(text).splitlines())
        return line


def configure_logging(level: str, fmt: str = "text") -> None:
    """Set up the root logger (idempotent): ``fmt`` is ``text`` or ``json``."""
    if logging.getLogRecordFactory() is not _masking_record_factory:
        logging.setLogRecordFactory(_masking_record_factory)
    root = logging.getLogger()
    handler = next((h for h in root.handlers if getattr(h, "_widget_server", False)), None)
    if handler is None:
        handler = logging.StreamHandler()
        handler._widget_server = True  # type: ignore[attr-defined]
        root.addHandler(handler)
    handler.setFormatter(JsonFormatter() if fmt == "json" else TextFormatter())
    root.setLevel(level.upper())
    logging.getLogger("alembic").setLevel(max(logging.WARNING, root.level))
    # urllib3's debug lines name each request's path: a Telegram bot token and a Bitrix24
    # webhook code are part of theirs.
    logging.getLogger("urllib3").setLevel(max(logging.INFO, root.level))


access_log = logging.getLogger("widget_server.access")


def init_request_logging(app) -> None:
    """A request id for every request (kept from a sane ``X-Request-ID``), and an access line."""
    from flask import g, request

    def _start():
        incoming = request.headers.get("X-Request-ID", "")
        # A sane id is kept for correlation, unless it looks like a phone number.
        sane = _SANE_REQUEST_ID.fullmatch(incoming) and mask_text(incoming) == incoming
        g.request_id = incoming if sane else uuid.uuid4().hex
        g.request_id_token = request_id_var.set(g.request_id)
        g.request_started = time.perf_counter()

    # First of all hooks, so requests the rate limiter refuses get an id and a line too.
    app.before_request_funcs.setdefault(None, []).insert(0, _start)

    @app.after_request
    def _access(response):
        request_id = g.get("request_id")
        if request_id is None:  # before_request never ran (e.g. an earlier hook failed)
            return response
        response.headers["X-Request-ID"] = request_id
        rule = request.url_rule
        # The route template, never the path: paths hold status handles and keys.
        route = rule.rule if rule is not None else "<unmatched>"
        duration = (time.perf_counter() - g.request_started) * 1000
        access_log.info(
            "%s %s %s",
            request.method,
            route,
            response.status_code,
            extra={
                "method": request.method,
                "route": route,
                "status": response.status_code,
                "duration_ms": round(duration, 2),
                "client_ip": request.remote_addr,
            },
        )
        return response

    @app.teardown_request
    def _forget(_exc):
        token = g.pop("request_id_token", None)
        if token is not None:
            try:
                request_id_var.reset(token)
            except ValueError:  # set in another context: clear it instead
                request_id_var.set(None)
