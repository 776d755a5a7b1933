"""The fence of ``serve --workers N --state FILE``: what the N processes of one server share besides the store.

Each worker holds the whole model in memory and answers reads from it; writes are serialized through
the store. Two numbers in a small memory-mapped file, and a lock on it, make that exact:

* ``committed``: the seq of the newest stored action. A worker that finds it past what it has applied
  applies the new actions before it answers anything (`druid_sim.state.shared.WorkerLedger.follow`), so a
  write acknowledged by one worker is seen by the next request to any worker, on any connection.
* ``fence_ms``: the latest virtual time any worker may have shown or changed its model at by looking
  (planned arrivals added, supervisors' tasks started, complete tasks dropped from the active list). A
  worker's time never passes it (`Clock.horizon`: what it answers with and what its looks catch up to),
  and every action is stamped at or after it. So each stored action lands after everything any worker
  did or showed, and every worker, the snapshotter and a restart apply it to the same model: the model
  stays a function of the stored actions, and no client sees time go back.
* the **write lock**: an exclusive ``flock`` on the file, held while a worker catches up, makes its change,
  stores it and moves the two numbers on. A worker that finds the fence behind its clock moves it up to
  now under the same lock, when it is free (at most every `TICK_S`), so what planned arrivals show lags
  real time by at most a few milliseconds (times the clock's speed).

Why a file and not the database: the numbers are read before every request (~100 ns from the mapping,
against a query), and the lock is released by the kernel however a worker dies.
"""

from __future__ import annotations

import fcntl
import mmap
import os
import struct
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager

#: committed seq, fence (virtual ms), and whether the server is ready: little-endian 64-bit integers.
_LAYOUT = struct.Struct("<qqq")
#: ``ready``: the parent is still rebuilding / went live (workers may serve) / refused the store.
REBUILDING, READY, REFUSED = 0, 1, -1
#: How often (real seconds) a worker at most tries to move the fence up to its clock when looking.
TICK_S = 0.005


class Fence:
    """The shared numbers and the write lock of one server's workers (the parent creates the file)."""

    def __init__(self, path: str, create: bool = False, committed: int = 0, fence_ms: int = 0) -> None:
        self.path = path
        self._descriptor = os.open(path, os.O_RDWR | (os.O_CREAT | os.O_TRUNC if create else 0), 0o600)
        if create:
            os.ftruncate(self._descriptor, _LAYOUT.size)
        self._map = mmap.mmap(self._descriptor, _LAYOUT.size)
        if create:
            _LAYOUT.pack_into(self._map, 0, committed, fence_ms, REBUILDING)
        self._tried = 0.0
        self.held = False
        #: This worker's clock: the time a look may move the fence up to.
        self.now_ms: Callable[[], int] | None = None

    @property
    def committed(self) -> int:
        """The seq of the newest stored action any worker acknowledged."""
        return int(_LAYOUT.unpack_from(self._map, 0)[0])

    @property
    def fence_ms(self) -> int:
        return int(_LAYOUT.unpack_from(self._map, 0)[1])

    @property
    def ready(self) -> int:
        """`REBUILDING`, `READY` or `REFUSED`: what the parent made of the store."""
        return int(_LAYOUT.unpack_from(self._map, 0)[2])

    def publish(self, committed: int, fence_ms: int) -> None:
        """Move both numbers on (never back); only under the write lock."""
        old_committed, old_fence, ready = _LAYOUT.unpack_from(self._map, 0)
        _LAYOUT.pack_into(self._map, 0, max(old_committed, committed), max(old_fence, fence_ms), ready)

    def rewind(self, committed: int, fence_ms: int) -> None:
        """After a reset or a scenario switch (the clock back at its start): the fence at the new time,
        whatever it was; only under the write lock."""
        _LAYOUT.pack_into(self._map, 0, max(self.committed, committed), fence_ms, self.ready)

    def settle(self, ready: int, committed: int = 0, fence_ms: int = 0) -> None:
        """The parent's word on the store: `READY` (with where the log and the clock stand) or `REFUSED`."""
        old_committed, old_fence, _ = _LAYOUT.unpack_from(self._map, 0)
        _LAYOUT.pack_into(self._map, 0, max(old_committed, committed), max(old_fence, fence_ms), ready)

    def wait_settled(self, poll_s: float = 0.02) -> int:
        """Block until the parent has settled the store (a worker rebuilds meanwhile); `READY` or `REFUSED`."""
        while (ready := self.ready) == REBUILDING:
            time.sleep(poll_s)
        return ready

    @contextmanager
    def locked(self) -> Iterator[None]:
        """The write lock, held until the block ends (blocking: writes take about a millisecond)."""
        fcntl.flock(self._descriptor, fcntl.LOCK_EX)
        self.held = True
        try:
            yield
        finally:
            self.held = False
            fcntl.flock(self._descriptor, fcntl.LOCK_UN)

    def horizon(self) -> int:
        """The time this worker's looks may catch up to: the fence, moved up to now when the lock is free."""
        fence = self.fence_ms
        now_ms = self.now_ms
        if now_ms is None or self.held:
            return fence
        moment = time.monotonic()
        if moment - self._tried < TICK_S:
            return fence
        self._tried = moment
        now = now_ms()
        if now <= fence:
            return fence
        try:
            fcntl.flock(self._descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return fence  # a worker is writing: it moves the fence itself when done
        try:
            committed, fence, ready = _LAYOUT.unpack_from(self._map, 0)
            if now > fence:
                _LAYOUT.pack_into(self._map, 0, committed, now, ready)
                fence = now
        finally:
            fcntl.flock(self._descriptor, fcntl.LOCK_UN)
        return int(fence)

    def close(self) -> None:
        self._map.close()
        os.close(self._descriptor)


__all__ = ["READY", "REBUILDING", "REFUSED", "TICK_S", "Fence"]
