"""Logging: one format, and a filter that masks phone numbers in every record.

Code masks numbers itself (``phones.mask_phone``); masking every record is the
safety net for anything that slips through, such as a PBX error body quoted in a log.
"""

from __future__ import annotations

import logging
import re

_PHONE_LIKE = re.compile(r"(?<![\w.])(\+?)(\d)(\d{6,11})(\d{2})(?!\d)")


def mask_text(text: str) -> str:
    """Replace runs of 9–14 digits (phone-like) with a masked form."""
    return _PHONE_LIKE.sub(
        lambda m: f"{m.group(1)}{m.group(2)}{'*' * len(m.group(3))}{m.group(4)}", text
    )


_base_factory = logging.getLogRecordFactory()


def _masking_record_factory(*args, **kwargs) -> logging.LogRecord:
    # Masking at record creation covers every handler, including ones added
    # later by a host program or a test harness.
    record = _base_factory(*args, **kwargs)
    try:
        message = record.getMessage()
    except Exception:  # a broken format string is the logging module's to report
        return record
    masked = mask_text(message)
    if masked != message:
        record.msg, record.args = masked, None
    return record


def configure_logging(level: str) -> None:
    """Set up the root logger once (idempotent) and mask phone numbers in every record."""
    if logging.getLogRecordFactory() is not _masking_record_factory:
        logging.setLogRecordFactory(_masking_record_factory)
    root = logging.getLogger()
    if not any(getattr(h, "_widget_server", False) for h in root.handlers):
        handler = logging.StreamHandler()
        handler._widget_server = True  # type: ignore[attr-defined]
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
        root.addHandler(handler)
    root.setLevel(level.upper())
    logging.getLogger("alembic").setLevel(max(logging.WARNING, root.level))
