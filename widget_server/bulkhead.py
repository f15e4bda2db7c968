"""Bulkheads: how much of a process one owner's PBX account (or channel) may hold at once.

A PBX that answers slowly, or not at all, keeps whatever waits on it busy until the total
deadline (``outbound.py``). Without a bound, one owner's slow PBX would take every queue
worker, or every request slot of a web worker, and every other owner's visitor would wait
behind it. A bulkhead lets each key (``pbx:<account id>``) hold at most ``size`` places; a
job that finds its key full is not run now but booked again a moment later, so it waits
behind its own account's work and never in a worker. While fewer than ``room`` places are
taken in all, a key may go past its share: an installation with one busy owner uses every
worker but the last ``size``, which stay free for the others.

Per process: several processes each give an account the same share of their own workers.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Iterator


class Bulkhead:
    """At most ``size`` holders per key at once, more while fewer than ``room`` places are
    taken in all; asking never waits."""

    def __init__(self, size: int, room: int = 0):
        self.size, self.room = max(1, size), room
        self._total = 0
        self._held: dict[str, int] = {}
        self._lock = threading.Lock()  # a greenlet lock under gevent's patching
        self._mine = threading.local()  # the keys this thread (greenlet) holds

    @contextlib.contextmanager
    def hold(self, key: str) -> Iterator[bool]:
        """Take a place for ``key`` for the block; yields False (and holds nothing) when
        ``key`` already has ``size`` places taken and the room is used up. A worker that holds ``key`` already (a
        job run inside another, as the queue's immediate mode does) uses the same place."""
        mine = self._mine.__dict__.setdefault("keys", set())
        if key in mine:
            yield True
            return
        with self._lock:
            taken = self._held.get(key, 0)
            got = taken < self.size or self._total < self.room
            if got:
                self._held[key] = taken + 1
                self._total += 1
        if got:
            mine.add(key)
        try:
            yield got
        finally:
            if got:
                mine.discard(key)
                with self._lock:
                    self._total -= 1
                    left = self._held[key] - 1
                    if left:
                        self._held[key] = left
                    else:
                        del self._held[key]

    def taken(self, key: str) -> int:
        """Places ``key`` holds now (metrics, tests)."""
        with self._lock:
            return self._held.get(key, 0)


def share_of(workers: int) -> int:
    """An account's share of a process's ``workers``: a quarter, at least two."""
    return max(2, workers // 4)


def for_workers(workers: int) -> Bulkhead:
    """The queue's bulkhead: each account its share, and more while a share of the workers
    stays free for the others."""
    share = share_of(workers)
    return Bulkhead(share, room=workers - share)
