"""The simulator's call journal: ``domain_call_history`` and ``download_call_history``.

An order is ready at once: ``history_file_completed`` goes to the webhook base a
moment after the answer, and the download is a ZIP of a ``;``-separated CSV
(Moscow time, header row) built from the simulator's own calls in the period.
"""

from __future__ import annotations

import io
import logging
import threading
import uuid
import zipfile
from datetime import UTC, datetime
from typing import Any

import requests
from flask import Response, jsonify

from widget_server.pbx.journal import journal_csv, moscow_to_utc, utc_to_moscow
from widget_server.pbx.signing import encode_body, signed_headers

from .state import SimState

log = logging.getLogger("widget_server.pbx.sim")

READY_DELAY_SECONDS = 0.2
OK_MESSAGE = "Операция выполнена успешно"


class SimJournal:
    """Orders placed with the simulator, and the two journal methods over them."""

    def __init__(self, state: SimState):
        self.state = state
        self.lock = threading.Lock()
        self.orders: dict[str, tuple[datetime, datetime]] = {}
        self.handlers = {
            "domain_call_history": self.domain_call_history,
            "download_call_history": self.download_call_history,
        }

    def domain_call_history(self, _state: SimState, body: dict[str, Any]):
        start = moscow_to_utc(str(body.get("date_start", "")))
        end = moscow_to_utc(str(body.get("date_end", "")))
        if start is None or end is None or end <= start:
            return jsonify(result="-1", resultMessage="Некорректный период")
        with self.lock:
            if (start, end) in self.orders.values():
                return jsonify(result="-1", resultMessage="Заявка на этот период уже существует")
            order_id = uuid.uuid4().hex
            self.orders[order_id] = (start, end)
        timer = threading.Timer(READY_DELAY_SECONDS, self._announce, args=(order_id,))
        timer.daemon = True
        timer.start()
        return jsonify(result="0", resultMessage=OK_MESSAGE, order_id=order_id)

    def download_call_history(self, _state: SimState, body: dict[str, Any]):
        with self.lock:
            period = self.orders.get(str(body.get("order_id", "")))
        if period is None:
            return Response("File [] not found", status=404, mimetype="text/html")
        archive = io.BytesIO()
        with zipfile.ZipFile(archive, "w", zipfile.ZIP_DEFLATED) as zf:
            zf.writestr("history.csv", journal_csv(self.rows(*period)).encode("utf-8"))
        return Response(archive.getvalue(), mimetype="application/zip")

    def rows(self, start: datetime, end: datetime) -> list[dict[str, str]]:
        """Journal rows for the calls created from ``start`` to ``end`` (naive UTC)."""
        rows = []
        for call in self.state.calls_snapshot():
            created = datetime.fromtimestamp(call["created"], UTC).replace(tzinfo=None)
            info = self.state.call_info(call["session_id"])
            if info is None or not start <= created < end:
                continue
            rows.append(
                {
                    **{k: "" if v is None else str(v) for k, v in info.items()},
                    "session_id": call["session_id"],
                    "start_call_date": utc_to_moscow(created),
                }
            )
        return rows

    def _announce(self, order_id: str) -> None:
        base = self.state.setting("WEBHOOK_BASE")
        if not base:
            return
        body = encode_body({"order_id": order_id, "result": "0", "resultMessage": OK_MESSAGE})
        headers = signed_headers(
            self.state.setting("CLIENT_ID"), body, self.state.setting("SIGN_KEY")
        )
        try:
            requests.post(f"{base}/history_file_completed", data=body, headers=headers, timeout=5)
        except requests.RequestException as exc:
            log.info("sim history_file_completed for %s failed: %s", order_id, exc)
