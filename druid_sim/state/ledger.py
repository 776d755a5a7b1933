"""The ledger: where the write path (`druid_sim.actions.record`) keeps each change, durably, before its answer.

With a store, the `Ledger` (``simulation.extensions["state"]``) appends each action and only then lets
the answer go. It also rebuilds the model from the store (`restore`,
`catch_up`) and moves a replica between leading and standing by (`lead`, `stand_by`): a replica that
stops leading, or whose write failed, never answers from what it had in memory again; it rebuilds from
the store before it leads again.
"""

from __future__ import annotations

import gc
import logging
import uuid
from dataclasses import replace
from typing import Any

from druid_sim import actions as kinds
from druid_sim.actions import EXTENSION, Action, StoreUnavailable
from druid_sim.clock import wall_clock_ms
from druid_sim.fields import ScenarioError
from druid_sim.runtime import Simulation
from druid_sim.simulation import reset_simulation
from druid_sim.state import snapshot
from druid_sim.state.rebuild import apply
from druid_sim.state.store import Settings, Store, Stored, StoreError

logger = logging.getLogger(__name__)


#: A gap of virtual time while no server ran shorter than this is not kept as a jump of the clock: it skips
#: nothing (the shortest catch-up window, arrivals every 30 ms, is a minute), and a store started and
#: stopped often need not grow by an action each time.
JUMP_KEPT_MS = 60_000


class Ledger:
    """The store of one simulation: records its actions, rebuilds it, and tracks whether it leads."""

    def __init__(self, simulation: Simulation, store: Store, settings: Settings) -> None:
        self.simulation = simulation
        self.store = store
        self.settings = settings
        self.holder = uuid.uuid4().hex  # this process, in the leader's lease
        self.applied = 0  # seq of the last action in the model
        #: seq of the first action of the log the model was rebuilt from (after the last reset): a snapshot's
        #: mark that the log it follows still stands.
        self.epoch = 0
        #: seq of the snapshot the model was last rebuilt from (0: none, every action replayed).
        self.snapshot_seq = 0
        #: (clock_ms, wall_ms, scale) of the last action applied: where virtual time stands at any wall time.
        self.anchor = (settings.start_ms, settings.wall_ms, settings.scale)
        self.leading = False
        #: The model went live (its clock ran) since it was rebuilt: catching up on it would not be exact.
        self.dirty = False
        self.recorded = 0

    # -- the write path --------------------------------------------------------------------------

    def record(self, action: Action) -> None:
        """Append ``action`` (durable on return); on failure step down and raise `StoreUnavailable`."""
        if not self.leading:
            raise StoreUnavailable("this replica does not lead")
        clock = self.simulation.clock
        stamped = replace(action, clock_ms=clock.now_ms(), scale=clock.scale, wall_ms=wall_clock_ms())
        try:
            seq = self.store.append(stamped, self.holder if self.store.shared else None)
        except StoreError as exc:
            logger.error("%s; not leading until the store takes writes again", exc)
            self.stand_by(None)
            raise StoreUnavailable(str(exc)) from None
        self.applied = seq
        self.anchor = (stamped.clock_ms, stamped.wall_ms, stamped.scale)
        self.recorded += 1

    # -- rebuilding ------------------------------------------------------------------------------

    def catch_up(self, stored: list[Stored] | None = None) -> int:
        """Apply the stored actions the model has not seen (fetched now unless given); returns how many."""
        if self.dirty:
            self.rebuild_from_start()
            stored = None
        clock = self.simulation.clock
        if not clock.frozen:
            clock.freeze()
        if self.applied == 0:
            self.from_snapshot()
        pending = self.store.actions_after(self.applied) if stored is None else stored
        for seq, action in pending:
            if seq <= self.applied:
                continue
            apply(self.simulation, action, self.store.location)
            if self.applied == 0 or action.kind in (kinds.RESET, kinds.SCENARIO):
                self.epoch = seq
            self.applied = seq
            self.anchor = (action.clock_ms, action.wall_ms, action.scale)
        return len(pending)

    def from_snapshot(self) -> bool:
        """Load the store's newest snapshot into the fresh model (the actions after it are then applied);
        False, changing nothing, when there is none or it cannot be used (every action is replayed then)."""
        try:
            found = self.store.latest_snapshot()
        except StoreError as exc:
            logger.warning("%s; rebuilding from every stored action", exc)
            return False
        if found is None:
            return False
        try:
            document = snapshot.load(self.simulation, found.data)
        except (snapshot.SnapshotError, ScenarioError, KeyError, TypeError, ValueError) as exc:
            logger.warning(
                "the snapshot at action %d cannot be used (%s): rebuilding from every stored action", found.seq, exc
            )
            self.rebuild_from_start()
            return False
        clock_ms, wall_ms, scale = document["anchor"]
        self.anchor = (int(clock_ms), int(wall_ms), float(scale))
        self.applied = self.snapshot_seq = found.seq
        self.epoch = found.epoch
        return True

    def rebuild_from_start(self) -> None:
        """A fresh model as the store's settings start it, before any action."""
        simulation = self.simulation
        simulation.config = replace(simulation.config, scenario=self.settings.scenario, seed=self.settings.seed)
        reset_simulation(simulation)
        if gc.get_freeze_count():
            # The model just dropped was frozen (`snapshot.load`, or serve's freeze) and holds cycles: give
            # it back to the collector now, or the next snapshot's freeze would keep it for good.
            gc.unfreeze()
            gc.collect()
        simulation.clock.freeze()
        self.applied = self.epoch = self.snapshot_seq = 0
        self.anchor = (self.settings.start_ms, self.settings.wall_ms, self.settings.scale)
        self.dirty = False

    def go_live(self) -> None:
        """Move the clock to where virtual time stands now and let it run at the stored speed.

        When virtual time moved on while no server ran (a restart, a takeover), that is a jump of the clock:
        kept as one (`Overlord.jump`), so every later rebuild skips the same old arrivals this one does.
        """
        before, after = self.resume_clock()
        if after - before > JUMP_KEPT_MS and self.leading:
            self.simulation.overlord.jump(before, after)
            self.record(kinds.control(kinds.CLOCK, after, **{"from": before}))

    def resume_clock(self) -> tuple[int, int]:
        """Let the clock run from the last applied action at its stored speed; (before, after) in virtual ms."""
        clock_ms, wall_ms, scale = self.anchor
        clock = self.simulation.clock
        before = clock.now_ms()
        after = int(clock_ms + (wall_clock_ms() - wall_ms) * scale)
        clock.advance_to(after)
        clock.set_scale(scale)
        self.dirty = True
        return before, after

    # -- leading ---------------------------------------------------------------------------------

    def lead(self, stored: list[Stored] | None = None) -> None:
        """Take over: catch up on every stored action (``stored``: those fetched already), go live, lead."""
        self.catch_up(stored)
        self.leading = True
        leadership = self.simulation.leadership
        leadership.leader_url = None
        leadership.electing = False
        try:
            self.go_live()
        except StoreUnavailable:
            return  # `record` stood by: the next try rebuilds from the store first
        logger.info("leading the simulated Overlord (%d stored actions applied)", self.applied)

    def stand_by(self, leader_url: str | None) -> None:
        """Stop leading: redirect to ``leader_url`` (None: no leader known, 503)."""
        if self.leading:
            logger.warning("no longer leading; %s", f"the leader is {leader_url}" if leader_url else "no leader known")
        self.leading = False
        leadership = self.simulation.leadership
        leadership.leader_url = leader_url
        leadership.electing = leader_url is None

    def describe(self) -> dict[str, Any]:
        """The store as ``/__sim/health`` shows it."""
        return {
            "location": self.store.location,
            "leading": self.leading,
            "appliedActions": self.applied,
            "snapshotSeq": self.snapshot_seq,
            "recordedActions": self.recorded,
        }


def ledger_of(simulation: Simulation) -> Ledger | None:
    ledger = simulation.extensions.get(EXTENSION)
    return ledger if isinstance(ledger, Ledger) else None
