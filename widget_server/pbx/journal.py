"""Reading the PBX's call journal (``download_call_history``), defensively.

What arrives is a ZIP holding one ``;``-separated CSV (the guide says gzip; a bare
CSV is read too). Times are Moscow time. The header row is not guaranteed, and one
live domain sent neither a header nor the direction and state columns. Anything
else is refused with a ``JournalError`` naming what was wrong.
"""

from __future__ import annotations

import csv
import gzip
import io
import zipfile
from dataclasses import dataclass
from datetime import datetime, timedelta

from ..phones import digits_of

# The guide's table A.3.14, in its order.
COLUMNS = (
    "session_id",
    "call_type",
    "direction",
    "state",
    "orig_number",
    "orig_pin",
    "dest_number",
    "answering_sipuri",
    "answering_pin",
    "start_call_date",
    "duration",
    "is_voicemail",
    "is_record",
    "is_fax",
    "status_code",
    "status_string",
)
# The header-less layout seen live: no direction, no state.
SHORT_COLUMNS = tuple(c for c in COLUMNS if c not in ("direction", "state"))
REQUIRED = ("session_id", "start_call_date")
# A month of a busy domain is far less. The download itself stops here too, before a
# bigger file is in memory (pbx/client.py, ANSWER_LIMITS).
MAX_BYTES = 50 * 1024 * 1024
MOSCOW_OFFSET = timedelta(hours=3)  # Moscow has kept UTC+3 all year since 2014
_TIME_FORMATS = ("%Y-%m-%d %H:%M:%S.%f", "%Y-%m-%d %H:%M:%S", "%d.%m.%Y %H:%M:%S", "%d.%m.%Y %H:%M")


class JournalError(Exception):
    """The journal file cannot be read; ``code`` says why (for a sentence on the page)."""

    def __init__(self, code: str, message: str):
        super().__init__(message)
        self.code = code
        self.message = message


@dataclass(frozen=True)
class JournalRow:
    """One call in the journal; ``started_at`` is naive UTC like our database."""

    session_id: str
    started_at: datetime
    orig_pin: str
    orig_number: str
    dest_number: str
    answering_pin: str
    duration: int
    state: str  # "1" answered, "2" not, "" when the file has no state column
    direction: str
    status_code: str

    @property
    def answered(self) -> bool:
        if self.state:
            return self.state == "1"
        return self.duration > 0

    def dest_digits(self) -> str:
        """The called number's last ten digits (how we compare numbers)."""
        return digits_of(self.dest_number)[-10:]


def parse_journal(data: bytes) -> list[JournalRow]:
    """The rows of a journal download.

    :raise JournalError: not a ZIP/CSV, an encoding we cannot read, an unknown
        column layout, required columns missing, or no readable row at all.
    """
    text = _decode(_unpack(data))
    rows = [r for r in csv.reader(io.StringIO(text), delimiter=";") if any(c.strip() for c in r)]
    if not rows:
        return []
    columns, body = _layout(rows)
    parsed = [row for row in (_row(columns, r) for r in body) if row is not None]
    if body and not parsed:
        raise JournalError("garbage", "no row of the journal could be read")
    return parsed


def _unpack(data: bytes) -> bytes:
    if len(data) > MAX_BYTES:
        raise JournalError("too-big", f"the journal is over {MAX_BYTES // 2**20} MB")
    if data[:2] == b"PK":
        try:
            with zipfile.ZipFile(io.BytesIO(data)) as archive:
                names = [n for n in archive.namelist() if not n.endswith("/")]
                if not names:
                    raise JournalError("empty-zip", "the journal ZIP holds no file")
                info = archive.getinfo(names[0])
                if info.file_size > MAX_BYTES:
                    raise JournalError("too-big", "the journal CSV is too big")
                return archive.read(info)
        except (zipfile.BadZipFile, zipfile.LargeZipFile, RuntimeError, EOFError):
            raise JournalError("bad-zip", "the journal ZIP is damaged") from None
    if data[:2] == b"\x1f\x8b":
        try:
            with gzip.GzipFile(fileobj=io.BytesIO(data)) as fh:
                return fh.read(MAX_BYTES + 1)[:MAX_BYTES]
        except (OSError, EOFError):
            raise JournalError("bad-zip", "the journal gzip is damaged") from None
    head = data[:512].lstrip(b"\xef\xbb\xbf").lstrip().lower()
    if head.startswith((b"<", b"{")):
        raise JournalError("not-a-journal", "the PBX sent a page or JSON, not a journal file")
    return data


def _decode(raw: bytes) -> str:
    if raw.startswith(b"\xef\xbb\xbf"):
        return raw[3:].decode("utf-8", errors="replace")
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        pass
    text = raw.decode("cp1251", errors="replace")
    if "\x00" in text:
        raise JournalError("not-a-journal", "the journal is not text")
    return text


def _layout(rows: list[list[str]]) -> tuple[tuple[str, ...], list[list[str]]]:
    """(column names, data rows): from the header row, else from the row width."""
    first = [c.strip().lstrip("\ufeff").lower() for c in rows[0]]
    if "session_id" in first:
        missing = [c for c in REQUIRED if c not in first]
        if missing:
            raise JournalError("missing-columns", f"the journal has no {', '.join(missing)} column")
        return tuple(first), rows[1:]
    width = max(len(r) for r in rows)
    if width == len(COLUMNS):
        return COLUMNS, rows
    if width == len(SHORT_COLUMNS):
        return SHORT_COLUMNS, rows
    raise JournalError(
        "unknown-layout", f"the journal has no header and {width} columns, which we do not know"
    )


def _row(columns: tuple[str, ...], cells: list[str]) -> JournalRow | None:
    """A row, or None when it lacks a session id or a readable start time."""
    values = {name: cells[i].strip() for i, name in enumerate(columns) if i < len(cells)}
    started = moscow_to_utc(values.get("start_call_date", ""))
    session_id = values.get("session_id", "")
    if started is None or not session_id:
        return None
    try:
        duration = max(0, int(float(values.get("duration") or 0)))
    except ValueError:
        duration = 0
    return JournalRow(
        session_id=session_id,
        started_at=started,
        orig_pin=values.get("orig_pin", ""),
        orig_number=values.get("orig_number", ""),
        dest_number=values.get("dest_number", ""),
        answering_pin=values.get("answering_pin", ""),
        duration=duration,
        state=values.get("state", ""),
        direction=values.get("direction", ""),
        status_code=values.get("status_code", ""),
    )


def moscow_to_utc(value: str) -> datetime | None:
    """A journal timestamp (Moscow time) as naive UTC, or None when it does not parse."""
    for fmt in _TIME_FORMATS:
        try:
            return datetime.strptime(value.strip(), fmt) - MOSCOW_OFFSET
        except ValueError:
            continue
    return None


def utc_to_moscow(moment: datetime) -> str:
    """Naive UTC as the ``yyyy-MM-dd HH:mm:ss`` Moscow string the PBX's requests take."""
    return (moment + MOSCOW_OFFSET).strftime("%Y-%m-%d %H:%M:%S")


def journal_csv(rows: list[dict[str, str]], *, header: bool = True) -> str:
    """A journal CSV in the guide's column order (the simulator builds its files with it)."""
    out = io.StringIO()
    writer = csv.writer(out, delimiter=";", lineterminator="\r\n")
    if header:
        writer.writerow(COLUMNS)
    for row in rows:
        writer.writerow([row.get(c, "") for c in COLUMNS])
    return out.getvalue()
