"""Replay's sequence cursors in the state store: ``serve --cassette FILE --state URL``, shared by replicas.

Replicas of a replay (separate processes, on one machine or many, behind a load balancer) keep their
cursors in one table, ``druid_sim_cursors``: a row per (cassette, sequence) holding how many times the
sequence was played. ``cassette`` is the cassette's identity (`druid_sim.replay.cursors.cassette_identity`:
its content and the matching rules), so two cassettes on one database never share a cursor, and a
replica restarted on the same cassette goes on where the cursors stand. ``slot`` is the number the
replay's index gives the sequence, the same in every process that loads the same cassette with the
same rules.

Every advance is one atomic statement, ``INSERT ... ON CONFLICT DO UPDATE SET pos = pos + 1 ...
RETURNING pos``, autocommitted: whichever replica a request reaches, each position of a sequence is
handed out once, in order. PostgreSQL and SQLite (3.35 and later) both run it; on SQLite only one
server uses the file, and the table is what makes its cursors survive a restart.

A reset (``POST /__sim/reset`` on any replica) deletes the cassette's rows: every replica's sequences
start again at their first answer. Which misses were logged (`claim`) stays per process: each replica
logs the misses it meets, once. When the database cannot be reached, `StoreUnavailable` makes the
replay answer 503; the connection is tried again at most every `RETRY_S` seconds meanwhile.
"""

from __future__ import annotations

import logging
import time
from typing import Any

from druid_sim.actions import StoreUnavailable
from druid_sim.state.store import SqlStore, StoreError, open_store
from druid_sim.util.claims import Claims

logger = logging.getLogger(__name__)

#: How long (real seconds) a replica whose database failed answers 503 before it tries it again.
RETRY_S = 0.5

_ADVANCE = (
    "INSERT INTO druid_sim_cursors (cassette, slot, pos) VALUES (?, ?, 1) "
    "ON CONFLICT (cassette, slot) DO UPDATE SET pos = druid_sim_cursors.pos + 1"
)


class StoreCursors:
    """A `druid_sim.replay.cursors.CursorStore` in ``store``'s ``druid_sim_cursors`` rows for ``cassette``."""

    shared = True

    def __init__(self, store: SqlStore, cassette: str) -> None:
        self.store = store
        self.cassette = cassette
        self._claims = Claims()
        self._failed_at: float | None = None  # when the database last failed (None: it answers)

    def _run(self, statement: str, parameters: tuple[Any, ...]) -> list[tuple[Any, ...]]:
        """One statement, or `StoreUnavailable` (503) while the database does not answer."""
        if self._failed_at is not None:
            if time.monotonic() - self._failed_at < RETRY_S:
                raise StoreUnavailable(f"the state store {self.store.location} does not answer")
            try:
                self.store.reconnect()
            except StoreError as exc:
                self._failed_at = time.monotonic()
                raise StoreUnavailable(str(exc)) from None
        try:
            rows = self.store.run(statement, parameters)
        except StoreError as exc:
            if self._failed_at is None:
                logger.error("%s; replayed sequences answer 503 until it answers again", exc)
            self._failed_at = time.monotonic()
            raise StoreUnavailable(str(exc)) from None
        if self._failed_at is not None:
            logger.info("the state store %s answers again", self.store.location)
            self._failed_at = None
        return rows

    def get(self, slot: int) -> int:
        rows = self._run("SELECT pos FROM druid_sim_cursors WHERE cassette = ? AND slot = ?", (self.cassette, slot))
        return int(rows[0][0]) if rows else 0

    def advance(self, slot: int, cap: int | None) -> int:
        """One atomic statement: the row made at 1 or moved up by one (unless at ``cap``); the count before."""
        if cap is None:
            rows = self._run(f"{_ADVANCE} RETURNING pos", (self.cassette, slot))
        else:
            rows = self._run(f"{_ADVANCE} WHERE druid_sim_cursors.pos < ? RETURNING pos", (self.cassette, slot, cap))
        if rows:
            return int(rows[0][0]) - 1
        return self.get(slot)  # at its cap already: unchanged

    def reset(self) -> None:
        self._run("DELETE FROM druid_sim_cursors WHERE cassette = ?", (self.cassette,))
        self._claims.clear()

    def claim(self, token: int) -> bool:
        return self._claims.claim(token)

    def counts(self, size: int) -> list[int]:
        counts = [0] * size
        for slot, pos in self._run("SELECT slot, pos FROM druid_sim_cursors WHERE cassette = ?", (self.cassette,)):
            if 0 <= int(slot) < size:
                counts[int(slot)] = int(pos)
        return counts

    def describe(self) -> dict[str, Any]:
        return {"kept": "state store", "location": self.store.location, "cassetteId": self.cassette, "shared": True}

    def close(self) -> None:
        self.store.close()


def open_cursors(location: str, cassette: str) -> StoreCursors:
    """The cursors of the cassette whose identity is ``cassette`` in the store ``--state`` names (created or
    migrated as it opens). Raises `StoreError` with the store's one-line message."""
    store = open_store(location)
    if not isinstance(store, SqlStore):  # every engine is SQL; a store that is not cannot hold cursors
        store.close()
        raise StoreError(f"the state store {location} cannot keep replay cursors")
    return StoreCursors(store, cassette)
