"""Worker slots: where and when a task can run.

A cluster has a fixed number of task slots (peons) spread over MiddleManagers. A task that leaves the
queue waits as PENDING until a slot is free, as in a real cluster. Slots are handed out when a task is
planned, earliest-free first, so the schedule is a pure function of the order of submissions.
"""

from __future__ import annotations

import heapq
from dataclasses import dataclass, field

from druid_sim.overlord.task import Location


@dataclass(slots=True)
class WorkerPool:
    """``capacity`` slots; slot ``i`` is peon port ``8100 + i // len(hosts)`` on ``hosts[i % len(hosts)]``."""

    hosts: tuple[str, ...] = ("localhost",)
    capacity: int | None = None  # None: unlimited, every task runs as soon as it is ready
    base_port: int = 8100
    _free_at: list[tuple[int, int]] = field(default_factory=list)  # heap of (free-at ms, slot index)
    _next_unlimited: int = 0
    _locations: dict[int, Location] = field(default_factory=dict)  # one shared Location per slot

    def __post_init__(self) -> None:
        if self.capacity is not None:
            self._free_at = [(0, slot) for slot in range(self.capacity)]
            heapq.heapify(self._free_at)

    def location(self, slot: int) -> Location:
        """The slot's peon location; one shared (frozen) object per slot, not one per task."""
        found = self._locations.get(slot)
        if found is None:
            host = self.hosts[slot % len(self.hosts)]
            found = self._locations[slot] = Location(host, self.base_port + slot // len(self.hosts), -1)
        return found

    def assign(self, ready_ms: int, run_ms: int) -> tuple[int, int, Location]:
        """Book a slot for a task ready at ``ready_ms`` that runs ``run_ms``: (start, end, location)."""
        if self.capacity is None:
            slot = self._next_unlimited % (len(self.hosts) * 4)
            self._next_unlimited += 1
            return ready_ms, ready_ms + run_ms, self.location(slot)
        free_at, slot = heapq.heappop(self._free_at)
        start = max(ready_ms, free_at)
        end = start + run_ms
        heapq.heappush(self._free_at, (end, slot))
        return start, end, self.location(slot)

    def occupy(self, slot_location: Location, until_ms: int) -> None:
        """Mark the slot at ``slot_location`` busy until ``until_ms`` (for tasks seeded as running)."""
        if self.capacity is None:
            return
        for index, (free_at, slot) in enumerate(self._free_at):
            if self.location(slot) == slot_location:
                self._free_at[index] = (max(free_at, until_ms), slot)
                heapq.heapify(self._free_at)
                return

    def release(self, slot_location: Location, at_ms: int, was_until_ms: int) -> None:
        """A task holding ``slot_location`` until ``was_until_ms`` stopped at ``at_ms`` (a shutdown)."""
        if self.capacity is None:
            return
        for index, (free_at, slot) in enumerate(self._free_at):
            if self.location(slot) == slot_location and free_at == was_until_ms:
                self._free_at[index] = (at_ms, slot)
                heapq.heapify(self._free_at)
                return
