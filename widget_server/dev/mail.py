"""The demo's mailbox: a tiny SMTP server on loopback that prints what the service sends.

With it, ``widget-server demo`` has a working e-mail channel: every owner hears of missed
requests (the setup checklist's notification step is green, and visitors are promised a
call back), and the console shows each message's recipient and subject. Nothing leaves
the machine. Standard library only, so the demo needs no test extras; it speaks just
enough SMTP for ``smtplib`` without TLS (the demo sets ``WIDGET_SMTP_SECURITY=none``).
"""

from __future__ import annotations

import email
import socketserver
import threading
from collections.abc import Callable
from email import policy

MAX_MESSAGE_BYTES = 1024 * 1024

Received = Callable[[str, str, str], None]  # (recipients, subject, text)


def print_message(recipients: str, subject: str, text: str) -> None:
    print(f"Demo mail to {recipients}: {subject}", flush=True)


class _Session(socketserver.StreamRequestHandler):
    server: _Server

    def reply(self, line: str) -> None:
        self.wfile.write(f"{line}\r\n".encode())

    def handle(self) -> None:
        self.reply("220 widget-server demo mailbox")
        recipients: list[str] = []
        while True:
            raw = self.rfile.readline(4096)
            if not raw:
                return
            verb = raw.decode("utf-8", "replace").strip().split(" ", 1)[0].upper()
            if verb == "EHLO":
                self.reply("250-widget-server demo")
                self.reply("250-8BITMIME")
                self.reply("250 SMTPUTF8")
            elif verb in ("HELO", "NOOP", "MAIL"):
                self.reply("250 OK")
            elif verb == "RSET":
                recipients = []
                self.reply("250 OK")
            elif verb == "RCPT":
                address = raw.decode("utf-8", "replace").split(":", 1)[-1].strip()
                recipients.append(address.split(" ", 1)[0].strip("<>"))
                self.reply("250 OK")
            elif verb == "DATA":
                self.reply("354 End data with <CR><LF>.<CR><LF>")
                body = self._data()
                if body is None:
                    return
                self._received(", ".join(recipients), body)
                recipients = []
                self.reply("250 OK: printed")
            elif verb == "QUIT":
                self.reply("221 Bye")
                return
            else:
                self.reply("502 Not implemented")

    def _data(self) -> bytes | None:
        lines, size = [], 0
        while True:
            line = self.rfile.readline(MAX_MESSAGE_BYTES)
            if not line:
                return None
            if line in (b".\r\n", b".\n"):
                return b"".join(lines)
            size += len(line)
            if size <= MAX_MESSAGE_BYTES:  # the rest is read and dropped
                lines.append(line[1:] if line.startswith(b"..") else line)

    def _received(self, recipients: str, body: bytes) -> None:
        message = email.message_from_bytes(body, policy=policy.default)
        part = message.get_body(preferencelist=("plain",))
        text = part.get_content() if part is not None else ""
        self.server.on_message(recipients, str(message.get("Subject", "")), text)


class _Server(socketserver.ThreadingTCPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, address: tuple[str, int], on_message: Received):
        self.on_message = on_message
        super().__init__(address, _Session)


def start_mailbox(host: str = "127.0.0.1", on_message: Received = print_message) -> _Server:
    """Listen on a free port of ``host`` in a thread; ``.server_address[1]`` is the port,
    ``.shutdown()`` stops it."""
    server = _Server((host, 0), on_message)
    threading.Thread(target=server.serve_forever, daemon=True, name="demo-mailbox").start()
    return server
