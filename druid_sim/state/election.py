"""Who leads: a loop, every `POLL_S` real seconds, that keeps this replica's part in the election.

On a shared store (PostgreSQL) it takes or renews the leader's lease; a standby catches up on the
actions the leader wrote and redirects to it; a leader that cannot renew for a whole lease (the
database went away) steps down and answers 503 rather than from memory that may be stale. On SQLite
there is nothing to elect: the loop only brings a server whose write failed back once the file takes
writes again (it rebuilds from the file first). Real time, not the virtual clock: this is the
server's plumbing, not simulated behaviour.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time

from druid_sim.state.ledger import Ledger
from druid_sim.state.store import LEASE_S, StoreError

logger = logging.getLogger(__name__)

#: How often (real seconds) a replica renews its lease or looks for a leader and new actions.
POLL_S = 0.5


class Elector:
    """Runs ``ledger``'s side of the election; `decide` once before serving, then `run` in the background."""

    def __init__(self, ledger: Ledger, url: str) -> None:
        self.ledger = ledger
        self.url = url
        self.renewed_at = 0.0
        self._task: asyncio.Task[None] | None = None
        self._complaint = ""

    def decide(self) -> None:
        """Before serving: lead (SQLite, or PostgreSQL with the lease free) or stand by, caught up."""
        store = self.ledger.store
        if not store.shared:
            self.ledger.lead()
            return
        leader = store.heartbeat(self.ledger.holder, self.url)
        if leader is not None and leader[0] == self.ledger.holder:
            self.renewed_at = time.monotonic()
            self.ledger.lead()
        else:
            self.ledger.catch_up()
            self.ledger.stand_by(leader[1] if leader else None)

    async def start(self) -> None:
        self._task = asyncio.get_running_loop().create_task(self.run())

    async def stop(self) -> None:
        """Stop taking part; give the lease up at once so another replica takes over without waiting."""
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        store = self.ledger.store
        if store.shared and self.ledger.leading:
            with contextlib.suppress(StoreError):
                await asyncio.to_thread(store.resign, self.ledger.holder)

    async def run(self) -> None:
        while True:
            await asyncio.sleep(POLL_S)
            try:
                await self.tick()
            except StoreError as exc:
                self._complain(str(exc))

    def _complain(self, message: str) -> None:
        if message != self._complaint:
            logger.error("%s", message)
            self._complaint = message

    async def tick(self) -> None:
        ledger = self.ledger
        store = ledger.store
        if not store.shared:
            if not ledger.leading:
                ledger.lead()  # the file takes writes again: rebuild from it, then lead
                self._complaint = ""
            return
        try:
            if not ledger.leading:
                await asyncio.to_thread(store.reconnect)  # a write that failed may have broken a connection
            leader = await asyncio.to_thread(store.heartbeat, ledger.holder, self.url)
        except StoreError as exc:
            self._complain(f"{exc}; {'stepping down' if ledger.leading else 'standing by'} until it answers")
            if not ledger.leading or time.monotonic() - self.renewed_at > LEASE_S:
                ledger.stand_by(None)
            with contextlib.suppress(StoreError):
                await asyncio.to_thread(store.reconnect)
            return
        self._complaint = ""
        if leader is not None and leader[0] == ledger.holder:
            self.renewed_at = time.monotonic()
            if not ledger.leading:
                stored = None if ledger.dirty else await asyncio.to_thread(store.actions_after, ledger.applied)
                ledger.lead(stored)
            return
        leader_url = leader[1] if leader else None
        if ledger.leading or ledger.simulation.leadership.leader_url != leader_url:
            ledger.stand_by(leader_url)
        stored = None if ledger.dirty else await asyncio.to_thread(store.actions_after, ledger.applied)
        ledger.catch_up(stored)
