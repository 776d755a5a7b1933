"""The ledger of one worker of ``serve --workers N --state FILE``: a live model that follows the others' writes.

Every worker holds the whole model and answers reads from it, as a single server does; the store and
the fence (`druid_sim.state.fence`) keep the N models one:

* **Before answering anything** a worker applies the actions the others stored since it last looked
  (`follow`), each at the millisecond it was stamped, so it never answers from a state older than one a
  client was already told about, on any connection.
* **A write** (`writing`) takes the write lock, follows, makes its change through the Druid handler or
  the control API as a single server does, stores it (`record`, durable before the answer) and moves the
  fence on, all before the lock is let go. So writes are serialized through the store, one at a time,
  whichever worker takes them.
* **A worker's time never passes the fence** (`Clock.horizon`: neither what it answers with nor what its
  looks catch up to), and writes are stamped at or after it: an action is applied to every model after
  everything any worker added or showed, so the models, the snapshotter's and a restart's are the same
  function of the stored actions (`tests/test_server_workers_state.py` checks it, with hypothesis and
  over real sockets), and a client never sees time go back.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from druid_sim import actions as kinds
from druid_sim.actions import Action, StoreUnavailable
from druid_sim.runtime import Simulation
from druid_sim.state.fence import Fence
from druid_sim.state.ledger import Ledger
from druid_sim.state.rebuild import apply, starts_at
from druid_sim.state.store import Settings, Store, StoreError

logger = logging.getLogger(__name__)


class WorkerLedger(Ledger):
    """`Ledger` for one of several worker processes sharing ``store`` through ``fence``."""

    def __init__(self, simulation: Simulation, store: Store, settings: Settings, fence: Fence) -> None:
        super().__init__(simulation, store, settings)
        self.fence = fence
        fence.now_ms = simulation.clock.raw_now_ms
        simulation.clock.horizon = fence.horizon

    def start(self) -> None:
        """Rebuild from the store (snapshot, then the actions after it) and go live; the parent process
        already went live once for the server (and kept the jump), so a worker keeps nothing."""
        clock = self.simulation.clock
        horizon, clock.horizon = clock.horizon, None
        try:
            self.rebuild_from_start()
            self.catch_up()
        finally:
            clock.horizon = horizon
        self.resume_clock()
        self.leading = True
        leadership = self.simulation.leadership
        leadership.leader_url = None
        leadership.electing = False

    # -- reading ---------------------------------------------------------------------------------

    def follow(self) -> None:
        """Apply what the other workers stored since this one last looked (nothing to do: ~100 ns)."""
        if self.fence.committed <= self.applied:
            return
        try:
            self._apply_new()
        except StoreError as exc:
            logger.error("%s; answering 503 until this worker has rebuilt from the store", exc)
            self.stand_by(None)

    def _apply_new(self) -> None:
        pending = self.store.actions_after(self.applied)
        if not pending:
            return
        clock = self.simulation.clock
        horizon, clock.horizon = clock.horizon, None  # an action catches up to its own time, as it did when made
        try:
            clock.freeze()
            for seq, action in pending:
                clock.move_to(starts_at(action))  # maybe before this worker's raw clock: never before the fence
                apply(self.simulation, action, self.store.location)
                if action.kind in (kinds.RESET, kinds.SCENARIO):
                    self.epoch = seq
                self.applied = seq
                self.anchor = (action.clock_ms, action.wall_ms, action.scale)
        finally:
            self.resume_clock()  # from the last action: at or past anything this worker showed (the fence)
            clock.horizon = horizon

    # -- writing ---------------------------------------------------------------------------------

    @contextmanager
    def writing(self) -> Iterator[None]:
        """Hold the write lock while a change is made and stored; the change sees every earlier one."""
        clock = self.simulation.clock
        with self.fence.locked():
            if not self.leading:  # a write or a follow failed: rebuild from the store before changing anything
                try:
                    self.start()
                except StoreError as exc:
                    self.stand_by(None)
                    raise StoreUnavailable(str(exc)) from None
            self.follow()
            floor = self.fence.fence_ms
            if clock.raw_now_ms() < floor:
                clock.advance_to(floor)  # stamped at or after everything any worker showed
            horizon, clock.horizon = clock.horizon, None
            try:
                yield
            finally:  # the fence up to everything shown meanwhile (this worker's time was not held back)
                self.fence.publish(self.applied, clock.now_ms())
                clock.horizon = horizon

    def record(self, action: Action) -> None:
        """Store ``action`` (durable on return) and say so in the fence before the answer goes out."""
        super().record(action)
        if action.kind in (kinds.RESET, kinds.SCENARIO):  # time went back to the start: so does the fence
            self.fence.rewind(self.applied, self.simulation.clock.now_ms())
        else:
            self.fence.publish(self.applied, self.simulation.clock.now_ms())

    def describe(self) -> dict[str, Any]:
        return {**super().describe(), "worker": True, "committedActions": self.fence.committed}


__all__ = ["WorkerLedger"]
