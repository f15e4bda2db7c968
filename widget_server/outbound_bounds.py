"""The deadline and the size cap of every call to an owner-supplied address (issue 26).

A read timeout bounds each read, not the answer: an address answering one byte every few
seconds held a worker for ever, and answers were read whole into memory. Here a call gets
a watch: connections made under it hand it a duplicate of their socket, and at the
deadline a timer shuts that socket down, so whatever read is blocked on it (TLS
handshake, headers or body) returns at once; the body is read in chunks, counted against
the cap. ``outbound.session`` builds sessions whose every request goes through
``bounded``.
"""

from __future__ import annotations

import contextlib
import contextvars
import socket
import threading
import time
from typing import Any

import requests
import urllib3
from requests.adapters import HTTPAdapter
from urllib3.connection import HTTPConnection, HTTPSConnection

MB = 2**20
_CHUNK = 64 * 1024


def in_words(size: int) -> str:
    """A byte limit as people say it: ``2 MB``, ``512 KB``."""
    if size >= MB and size % MB == 0:
        return f"{size // MB} MB"
    if size >= MB:
        return f"{size / MB:.1f} MB"
    return f"{max(1, size // 1024)} KB"


class DeadlineExceeded(requests.exceptions.Timeout):
    """The call (connect, send, the whole answer) outlasted its deadline of ``seconds``;
    ``sent`` says whether the request had gone out (the other side may have acted)."""

    def __init__(self, seconds: float, *, sent: bool):
        super().__init__(f"no whole answer within {seconds:g} s")
        self.seconds, self.sent = seconds, sent


class AnswerTooLarge(requests.exceptions.RequestException):
    """The answer holds more than ``limit`` bytes; it was not read past that."""

    def __init__(self, limit: int):
        super().__init__(f"the answer is larger than {in_words(limit)}; the rest was not read")
        self.limit = limit


# -- the deadline -----------------------------------------------------------------------
_WATCH: contextvars.ContextVar[_Watch | None] = contextvars.ContextVar("outbound_watch")


class _Watch:
    """One call's deadline: when it passes, the call's sockets are shut down, so a read
    blocked on them (headers, TLS handshake or body) returns at once.

    ``threading.Timer`` is a thread, or a greenlet once gevent has patched ``threading``:
    the same code holds in the queue worker's threads and in the gevent web worker.
    """

    def __init__(self, seconds: float):
        self.seconds = seconds
        self.started = time.monotonic()
        self.fired = self.sent = self.done = False
        self._spares: list[socket.socket] = []
        self._lock = threading.Lock()
        self._timer = self._arm()

    def _arm(self) -> threading.Timer:
        wait = max(0.0, self.started + self.seconds - time.monotonic())
        timer = threading.Timer(wait, self._fire)
        timer.daemon = True
        timer.start()
        return timer

    def extend(self, seconds: float) -> None:
        """Allow the call ``seconds`` from its start instead (a stream read by its caller)."""
        with self._lock:
            if self.done or self.fired:
                return
            self._timer.cancel()
            self.seconds = seconds
            self._timer = self._arm()

    def expired(self) -> bool:
        return self.fired or time.monotonic() >= self.started + self.seconds

    def hold(self, sock: socket.socket) -> None:
        """Keep a duplicate of a socket the call uses. Shutting the duplicate down ends the
        connection under every reader (TLS included, whose wrapper replaces the plain
        socket mid-connect), and its descriptor, ours until ``finish``, cannot be handed
        to another connection meanwhile, as a bare file number could."""
        try:
            spare = socket.fromfd(sock.fileno(), sock.family, sock.type)
        except (OSError, ValueError):
            return
        with self._lock:
            if not (self.done or self.fired):
                self._spares.append(spare)
                return
            late = self.fired
        if late:  # the deadline passed while connecting
            _shut(spare)
        spare.close()

    def _fire(self) -> None:
        with self._lock:
            if self.done:
                return
            self.fired = True
            spares, self._spares = self._spares, []
        for spare in spares:
            _shut(spare)
            spare.close()

    def finish(self) -> bool:
        """Stop watching; return whether the deadline had passed."""
        with self._lock:
            self.done = True
            spares, self._spares = self._spares, []
        self._timer.cancel()
        for spare in spares:
            spare.close()
        return self.fired


def _shut(sock: socket.socket) -> None:
    with contextlib.suppress(OSError):  # already gone
        sock.shutdown(socket.SHUT_RDWR)


class _WatchedConnection:
    """Gives the current call's watch every socket it uses, and notes when the request
    is out (from then on the other side may have acted on it)."""

    def _watched(self, sock: Any) -> None:
        watch = _WATCH.get(None)
        if watch is not None and getattr(self, "_outbound_watch", None) is not watch:
            self._outbound_watch = watch
            watch.hold(sock)

    def _new_conn(self):
        sock = super()._new_conn()
        self._watched(sock)
        return sock

    def request(self, *args, **kwargs):
        if self.sock is not None:  # a kept-alive connection: no new socket
            self._watched(self.sock)
        return super().request(*args, **kwargs)

    def getresponse(self):
        watch = _WATCH.get(None)
        if watch is not None:
            watch.sent = True
        return super().getresponse()


class _WatchedHTTPConnection(_WatchedConnection, HTTPConnection):
    pass


class _WatchedHTTPSConnection(_WatchedConnection, HTTPSConnection):
    pass


class _WatchedHTTPPool(urllib3.HTTPConnectionPool):
    ConnectionCls = _WatchedHTTPConnection


class _WatchedHTTPSPool(urllib3.HTTPSConnectionPool):
    ConnectionCls = _WatchedHTTPSConnection


_WATCHED_POOLS = {"http": _WatchedHTTPPool, "https": _WatchedHTTPSPool}


def _watch_pools(manager):
    # Only urllib3's own pools are swapped: a SOCKS proxy's manager keeps its own.
    if manager.pool_classes_by_scheme is urllib3.poolmanager.pool_classes_by_scheme:
        manager.pool_classes_by_scheme = _WATCHED_POOLS
    return manager


class WatchedAdapter(HTTPAdapter):
    """An adapter whose connections report their sockets to the call's watch."""

    def init_poolmanager(self, *args, **kwargs):
        super().init_poolmanager(*args, **kwargs)
        _watch_pools(self.poolmanager)

    def proxy_manager_for(self, *args, **kwargs):
        return _watch_pools(super().proxy_manager_for(*args, **kwargs))


# -- bounded reading --------------------------------------------------------------------
class BoundedRaw:
    """A streamed answer's body, read by its caller within the deadline and the cap."""

    def __init__(self, raw: Any, watch: _Watch, max_bytes: int):
        self._raw, self._watch, self._max, self._size = raw, watch, max_bytes, 0

    def stream(self, amt: int = _CHUNK, decode_content: bool | None = None):
        try:
            for chunk in self._raw.stream(amt, decode_content=decode_content):
                self._take(chunk)
                yield chunk
        except Exception:
            self._over()
            raise
        self._over()

    def read(self, amt: int | None = None, decode_content: bool | None = None, **kwargs):
        if amt is None:  # "all of it" still comes in chunks, each counted
            return b"".join(self.stream(_CHUNK, decode_content=decode_content))
        try:
            data = self._raw.read(amt, decode_content=decode_content, **kwargs)
        except Exception:
            self._over()
            raise
        self._take(data)
        if not data:
            self._over()
        return data

    def _take(self, chunk: bytes) -> None:
        self._size += len(chunk)
        if self._size > self._max:
            self._watch.finish()
            raise AnswerTooLarge(self._max)
        if self._watch.expired():
            self._watch.finish()
            raise DeadlineExceeded(self._watch.seconds, sent=True)

    def _over(self) -> None:
        """The body ended (or broke): past the deadline, that is why."""
        if self._watch.finish():
            raise DeadlineExceeded(self._watch.seconds, sent=True)

    def close(self) -> None:
        try:
            self._raw.close()
        finally:
            self._watch.finish()

    def release_conn(self) -> None:
        self._raw.release_conn()

    def __getattr__(self, name: str) -> Any:
        return getattr(self._raw, name)


def _read_all(response: requests.Response, watch: _Watch, max_bytes: int) -> bytes:
    chunks, size = [], 0
    try:
        for chunk in response.iter_content(_CHUNK):
            size += len(chunk)
            if size > max_bytes:
                raise AnswerTooLarge(max_bytes)
            if watch.expired():
                raise DeadlineExceeded(watch.seconds, sent=True)
            chunks.append(chunk)
    except AnswerTooLarge:
        watch.finish()
        raise
    except Exception:  # a broken read: past the deadline, the shut-down socket is why
        if watch.finish():
            raise DeadlineExceeded(watch.seconds, sent=True) from None
        raise
    if watch.finish():  # a body cut short by the deadline can look complete
        raise DeadlineExceeded(watch.seconds, sent=True)
    return b"".join(chunks)


def bounded(
    send,
    method: str,
    url: str,
    *args: Any,
    deadline: float,
    max_bytes: int,
    stream_for: float | None = None,
    **kwargs: Any,
) -> requests.Response:
    """``send`` the request within ``deadline`` seconds, its answer at most ``max_bytes``.

    With ``stream=True`` the body is left to the caller, bounded the same way, within
    ``stream_for`` seconds from the start when given; otherwise it is read here.

    :raise DeadlineExceeded: the deadline passed (the call was cut off there).
    :raise AnswerTooLarge: the answer says or turns out to be over ``max_bytes``.
    """
    stream = kwargs.pop("stream", False)
    watch = _Watch(deadline)
    token = _WATCH.set(watch)
    try:
        response = send(method, url, *args, stream=True, **kwargs)
    except Exception:
        if watch.finish():  # the shut-down socket, seen as a broken connection
            raise DeadlineExceeded(deadline, sent=watch.sent) from None
        raise
    except BaseException:
        watch.finish()
        raise
    finally:
        _WATCH.reset(token)
    length = response.headers.get("Content-Length", "").strip()
    if length.isdigit() and int(length) > max_bytes:  # refused before reading any of it
        watch.finish()
        response.close()
        raise AnswerTooLarge(max_bytes)
    if stream:
        if stream_for:
            watch.extend(stream_for)
        response.raw = BoundedRaw(response.raw, watch, max_bytes)
        return response
    try:
        response._content = _read_all(response, watch, max_bytes)
    except BaseException:
        watch.finish()
        response.close()
        raise
    response._content_consumed = True
    response.close()  # the body is all read: the connection goes back to the pool
    return response
