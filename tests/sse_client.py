"""A Server-Sent Events reader for tests: http.client over loopback, one message at a time."""

from __future__ import annotations

import http.client
import json
from typing import Any
from urllib.parse import urlsplit


class EventStream:
    """``GET path`` on ``base_url`` as a browser's EventSource would, read message by message."""

    def __init__(self, base_url: str, path: str, origin: str, timeout: float = 20.0):
        parts = urlsplit(base_url)
        self.conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=timeout)
        self.conn.request("GET", path, headers={"Origin": origin, "Accept": "text/event-stream"})
        self.response = self.conn.getresponse()
        self.status = self.response.status
        self.headers = self.response.headers
        self.comments = 0

    def next_message(self) -> dict[str, Any] | None:
        """The next message's ``data`` as JSON; None when the server ended the stream."""
        data: list[str] = []
        while True:
            line = self.response.readline()
            if not line:
                return None
            text = line.decode("utf-8").rstrip("\r\n")
            if text.startswith(":"):
                self.comments += 1
            elif text.startswith("data:"):
                data.append(text[5:].strip())
            elif text == "" and data:
                return json.loads("\n".join(data))

    def messages(self) -> list[dict[str, Any]]:
        """Every message until the server ends the stream."""
        found = []
        while (message := self.next_message()) is not None:
            found.append(message)
        return found

    def body(self) -> bytes:
        return self.response.read()

    def close(self) -> None:
        self.conn.close()
