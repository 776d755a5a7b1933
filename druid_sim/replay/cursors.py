"""Where each sequence of identical recorded requests has got to, behind a small interface.

A *sequence* is every recorded answer to one normalised request, in recorded order (a client polling
``/task/{id}/status`` leaves RUNNING, RUNNING, SUCCESS). Its cursor counts how many times it was
played. Task ids are part of the path, so every task has its own sequence and progresses on its own.

The state is one integer per sequence, addressed by the slot number the index gives it when the
cassette loads. Every worker loading the same cassette numbers the sequences the same way, so a
multi-process server only has to share that array: `MemoryCursors` keeps it in the process,
`FileCursors` in a memory-mapped file guarded by ``flock`` for the read-modify-write.

The same store remembers which distinct misses were already logged (`claim`), so that a miss the model
answers is logged once by the whole server, not once by each worker that meets it.

Replicas on several machines (``serve --cassette FILE --state URL``) share the cursors through the
state store instead (`druid_sim.state.cursors`), keyed by the cassette's identity (`cassette_identity`):
its content and the matching rules that number its sequences.
"""

from __future__ import annotations

import fcntl
import hashlib
import mmap
import os
import struct
from array import array
from pathlib import Path
from typing import Any, Protocol

import orjson

from druid_sim.replay.options import MatchRules, SequencePolicy
from druid_sim.util.claims import Claims

_SLOT = struct.Struct("<q")
#: Bits that remember logged misses (`claim`): a miss whose hash shares a bit with one logged before
#: is not logged again, one chance in this many for two distinct misses. 8 KiB of the cursor file.
WARNED_BITS = 65536


#: Bumped whenever a change to matching numbers a cassette's sequences differently, so cursors kept by
#: an older druid-sim (`cassette_identity`) are never taken for this one's.
NUMBERING = 1


class CursorStore(Protocol):
    """How many times each sequence was played. Implementations must make `advance` atomic.

    A store may raise `druid_sim.actions.StoreUnavailable` when it cannot be reached (a database): the
    replay answers 503 then, as an Overlord that lost its metadata store.
    """

    #: True when processes that do not share this one's resets use it too (replicas on other machines,
    #: each with its own ``/__sim/reset``): no answer may then be remembered as settled.
    shared: bool

    def get(self, slot: int) -> int:
        """The current count of ``slot``."""
        ...

    def advance(self, slot: int, cap: int | None) -> int:
        """Add one to ``slot`` unless it has reached ``cap``; return the count before."""
        ...

    def reset(self) -> None:
        """Every sequence back to its start (and every miss unlogged)."""
        ...

    def claim(self, token: int) -> bool:
        """True the first time ``token`` (a miss's stable hash) is claimed since the last reset, by any worker."""
        ...

    def counts(self, size: int) -> list[int]:
        """The count of every slot below ``size``, in one read."""
        ...

    def describe(self) -> dict[str, Any]:
        """Where the cursors are kept, as ``GET /__sim/cassette`` shows it."""
        ...


class MemoryCursors:
    """Cursors for a single-process server: a plain array of counters."""

    shared = False

    def __init__(self, size: int) -> None:
        self._counts = array("q", bytes(8 * size))
        self._claims = Claims()

    def get(self, slot: int) -> int:
        return self._counts[slot]

    def advance(self, slot: int, cap: int | None) -> int:
        before = self._counts[slot]
        if cap is None or before < cap:
            self._counts[slot] = before + 1
        return before

    def reset(self) -> None:
        for index in range(len(self._counts)):
            self._counts[index] = 0
        self._claims.clear()

    def claim(self, token: int) -> bool:
        return self._claims.claim(token)

    def counts(self, size: int) -> list[int]:
        return list(self._counts[:size])

    def describe(self) -> dict[str, Any]:
        return {"kept": "memory"}


class FileCursors:
    """Cursors shared by several worker processes through a memory-mapped file.

    Reads are plain loads from the mapping; `advance` takes an exclusive ``flock`` on the file so two
    workers never hand out the same position. The creator sizes (and zeroes) the file; workers open it.
    Resets are refused with several workers (each has its own ``/__sim/``), so the store is not `shared`.
    """

    shared = False

    def __init__(self, path: str | Path, size: int, create: bool = False) -> None:
        self.path = Path(path)
        flags = os.O_RDWR | (os.O_CREAT | os.O_TRUNC if create else 0)
        self._fd = os.open(self.path, flags, 0o600)
        self._warned_at = max(8, 8 * size)  # the cursors, then the bits of `claim`
        length = self._warned_at + WARNED_BITS // 8
        if create or os.fstat(self._fd).st_size < length:
            os.ftruncate(self._fd, length)
        self._map = mmap.mmap(self._fd, length)

    def get(self, slot: int) -> int:
        return int(_SLOT.unpack_from(self._map, slot * 8)[0])

    def advance(self, slot: int, cap: int | None) -> int:
        fcntl.flock(self._fd, fcntl.LOCK_EX)
        try:
            before = int(_SLOT.unpack_from(self._map, slot * 8)[0])
            if cap is None or before < cap:
                _SLOT.pack_into(self._map, slot * 8, before + 1)
            return before
        finally:
            fcntl.flock(self._fd, fcntl.LOCK_UN)

    def reset(self) -> None:
        fcntl.flock(self._fd, fcntl.LOCK_EX)
        try:
            self._map[:] = bytes(len(self._map))
        finally:
            fcntl.flock(self._fd, fcntl.LOCK_UN)

    def claim(self, token: int) -> bool:
        bit = token % WARNED_BITS
        where, mask = self._warned_at + bit // 8, 1 << (bit % 8)
        fcntl.flock(self._fd, fcntl.LOCK_EX)
        try:
            if self._map[where] & mask:
                return False
            self._map[where] |= mask
            return True
        finally:
            fcntl.flock(self._fd, fcntl.LOCK_UN)

    def counts(self, size: int) -> list[int]:
        return [int(count) for (count,) in _SLOT.iter_unpack(self._map[: 8 * size])]

    def describe(self) -> dict[str, Any]:
        return {"kept": "file", "path": str(self.path)}

    def close(self) -> None:
        self._map.close()
        os.close(self._fd)


def cassette_identity(path: str | Path, rules: MatchRules) -> str:
    """What names a cassette's cursors wherever they are shared: a SHA-256 (hex) of the file's bytes and of
    the matching rules that group its interactions into sequences (another ``--ignore`` numbers them
    otherwise). Two replicas given the same file and options agree on it; another cassette, or the same
    one edited or re-recorded, gets another identity and so cursors of its own."""
    digest = hashlib.sha256(f"druid-sim cursors {NUMBERING}\0".encode())
    with Path(path).open("rb") as stream:
        for block in iter(lambda: stream.read(1 << 20), b""):
            digest.update(block)
    matching = {
        "ignoreQuery": sorted(rules.ignore_query),
        "ignoreHeaders": sorted(rules.ignore_headers),
        "ignoreBody": list(rules.ignore_body),
        "matchHeaders": list(rules.match_headers),
    }
    digest.update(b"\0" + orjson.dumps(matching))
    return digest.hexdigest()


def take(store: CursorStore, slot: int, length: int, policy: SequencePolicy) -> int | None:
    """The position in a sequence of ``length`` answers to play now, or None when it is used up.

    Only the first pass through a sequence writes to the store; after that stick-last (and cycle over a
    single answer) just read, so the hot path of a client polling a finished task takes no lock.
    """
    if policy is SequencePolicy.STICK_LAST:
        if store.get(slot) >= length:
            return length - 1
        return min(store.advance(slot, length), length - 1)
    if policy is SequencePolicy.CYCLE:
        if length == 1:
            if store.get(slot) == 0:
                store.advance(slot, 1)
            return 0
        return store.advance(slot, None) % length
    before = store.advance(slot, length)
    return before if before < length else None
