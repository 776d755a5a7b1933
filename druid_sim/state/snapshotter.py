"""The snapshotter: a model that follows the store's log and writes a snapshot of it every so often.

It applies the stored actions exactly as a restart does (the clock frozen at each one's millisecond),
and nothing else: no client reads it, so its model is the one a full replay of the log gives, whatever
the serving model was asked meanwhile (a read makes the scenario's planned arrivals take their slots
as of that read). A snapshot of it is therefore exact (`druid_sim.state.snapshot`). It runs in a
process of its own beside ``serve --state`` (`druid_sim.server.snapshots`), so encoding 100,000 tasks
never holds the server's event loop; the store writes each snapshot in parts, each a short
transaction, and makes it complete with one row at the end (`druid_sim.state.store.SqlStore.save_snapshot`).

When: after `every_actions` new actions, or `every_s` real seconds after the last snapshot when any
action came since. A restart then replays at most about `every_actions` actions after the snapshot.
"""

from __future__ import annotations

import gc
import logging
import os
import time

from druid_sim.state import snapshot
from druid_sim.state.ledger import Ledger
from druid_sim.state.store import SNAPSHOT_PART_BYTES

logger = logging.getLogger(__name__)

#: A snapshot after this many new actions (``DRUID_SIM_SNAPSHOT_EVERY``) ...
EVERY_ACTIONS = 500
#: ... or this many real seconds after the last one, when any action came since (``DRUID_SIM_SNAPSHOT_SECONDS``).
EVERY_S = 10.0


def _setting(name: str, default: float) -> float:
    value = os.environ.get(name)
    return float(value) if value else default


class Snapshotter:
    """Follows ``ledger``'s store (its model never goes live) and snapshots it when due."""

    def __init__(
        self,
        ledger: Ledger,
        every_actions: int | None = None,
        every_s: float | None = None,
        part_bytes: int | None = None,
    ) -> None:
        self.ledger = ledger
        self.every_actions = every_actions or int(_setting("DRUID_SIM_SNAPSHOT_EVERY", EVERY_ACTIONS))
        self.every_s = every_s if every_s is not None else _setting("DRUID_SIM_SNAPSHOT_SECONDS", EVERY_S)
        self.part_bytes = part_bytes or int(_setting("DRUID_SIM_SNAPSHOT_PART_BYTES", SNAPSHOT_PART_BYTES))
        self.last_seq = -1  # unknown until the first catch-up (which loads the newest snapshot)
        self.last_at = time.monotonic()
        self.written = 0

    def step(self) -> bool:
        """Apply the new stored actions; write a snapshot when one is due. True when one was written."""
        ledger = self.ledger
        ledger.catch_up()
        if self.last_seq < 0:
            self.last_seq = ledger.snapshot_seq
        if ledger.applied <= self.last_seq:
            return False
        due = ledger.applied - self.last_seq >= self.every_actions or time.monotonic() - self.last_at >= self.every_s
        return self.write() if due else False

    def write(self) -> bool:
        """Snapshot the model now (after ``ledger.applied``); False when the log moved past it (a reset)."""
        ledger = self.ledger
        seq = ledger.applied
        started = time.perf_counter()
        enabled = gc.isenabled()
        gc.disable()  # the encoding makes millions of small objects that live only as long as it does
        try:
            data = snapshot.encode(ledger.simulation, seq, ledger.epoch, ledger.anchor)
        except snapshot.SnapshotError as exc:
            logger.warning("no snapshot of the model after action %d: %s (restarts replay the log)", seq, exc)
            self.last_seq, self.last_at = seq, time.monotonic()
            return False
        finally:
            if enabled:
                gc.enable()
        saved = ledger.store.save_snapshot(seq, ledger.epoch, data, self.part_bytes)
        self.last_seq, self.last_at = seq, time.monotonic()
        if saved:
            self.written += 1
            logger.info(
                "snapshot of the model after action %d: %s bytes in %.2f s",
                seq,
                f"{len(data):,}",
                time.perf_counter() - started,
            )
        return saved
