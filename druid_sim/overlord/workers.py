"""Worker slots: where and when a task can run, and what each MiddleManager is running.

A cluster has a fixed number of task slots (peons) spread over MiddleManagers. A task that leaves the
queue is PENDING until the task runner hands it a free slot: within :data:`MAX_ASSIGNMENT_DELAY_MS`
when one is free, else as soon as one frees up, in the order tasks became ready (a real Overlord's
``pendingTasks`` queue). The pool holds, per slot, when it is next free; the Overlord model plans each
task's run from it (:meth:`WorkerPool.take`, :meth:`WorkerPool.hold`) and re-plans the tasks not yet
running from a given moment whenever a slot frees earlier than planned (:meth:`WorkerPool.restart`).
Nothing ticks: the schedule is a pure function of the tasks, their plans and the moments of change.
"""

from __future__ import annotations

import heapq
from collections.abc import Iterable
from dataclasses import dataclass, field

from druid_sim.overlord.task import Location

#: The longest a PENDING task waits while a slot it fits is free: the runner's hand-over time. A real
#: Overlord assigns a pending task within a second or two of a slot freeing (``RemoteTaskRunner``'s and
#: ``HttpRemoteTaskRunner``'s pending-task loop runs on every change); a scenario's ``pending`` time is
#: capped here, so a slot never sits idle beside a waiting task for longer.
MAX_ASSIGNMENT_DELAY_MS = 3_000
#: ``druid.worker.category``'s default, which every MiddleManager of the model has.
DEFAULT_WORKER_CATEGORY = "_default_worker_category"
#: The Druid version the model's MiddleManagers report (``druid.worker.version``'s default is the build's).
WORKER_VERSION = "35.0.0"
#: With unlimited capacity, locations cycle over this many peon ports per host.
_UNLIMITED_PORTS = 4


@dataclass(frozen=True, slots=True)
class MiddleManager:
    """One MiddleManager as the worker pool sees it at a moment: what ``GET /workers`` shows of it."""

    #: The host name (a peon's ``location.host``); Druid's ``worker.host`` is ``address``.
    host: str
    #: Task slots (``druid.worker.capacity``); None when the pool is unlimited.
    capacity: int | None
    used: int
    #: The ids of the tasks running on it, in slot order.
    running: tuple[str, ...]
    version: str = WORKER_VERSION
    category: str = DEFAULT_WORKER_CATEGORY
    #: The MiddleManager's own port (``druid.plaintextPort``'s default for a MiddleManager).
    port: int = 8091

    @property
    def address(self) -> str:
        """``host:port``, as Druid's ``/workers`` shows ``worker.host``."""
        return f"{self.host}:{self.port}"

    @property
    def free(self) -> int | None:
        """Slots free now (None: unlimited)."""
        return None if self.capacity is None else self.capacity - self.used


@dataclass(slots=True)
class WorkerPool:
    """``capacity`` slots; slot ``i`` is peon port ``8100 + i // len(hosts)`` on ``hosts[i % len(hosts)]``."""

    hosts: tuple[str, ...] = ("localhost",)
    capacity: int | None = None  # None: unlimited, every task runs as soon as it is ready
    base_port: int = 8100
    version: str = WORKER_VERSION
    category: str = DEFAULT_WORKER_CATEGORY
    _free_at: list[tuple[int, int]] = field(default_factory=list)  # heap of (free-at ms, slot index)
    _next_unlimited: int = 0
    _locations: dict[int, Location] = field(default_factory=dict)  # one shared Location per slot
    _slots: dict[Location, int] = field(default_factory=dict)  # and back

    def __post_init__(self) -> None:
        self.restart(0, ())

    # -- reading -----------------------------------------------------------------------------------

    @property
    def total_capacity(self) -> int | None:
        """Every slot of every MiddleManager (None: unlimited)."""
        return self.capacity

    def capacity_of(self, host_index: int) -> int | None:
        """How many of the slots are on ``hosts[host_index]`` (slots are dealt round the hosts)."""
        if self.capacity is None:
            return None
        count = len(self.hosts)
        return self.capacity // count + (1 if host_index < self.capacity % count else 0)

    def location(self, slot: int) -> Location:
        """The slot's peon location; one shared (frozen) object per slot, not one per task."""
        found = self._locations.get(slot)
        if found is None:
            host = self.hosts[slot % len(self.hosts)]
            found = self._locations[slot] = Location(host, self.base_port + slot // len(self.hosts), -1)
            self._slots[found] = slot
        return found

    def slot_at(self, location: Location) -> int | None:
        """The pool's slot at ``location`` (a peon's host and port), or None when it is not one of the pool's."""
        if location.host not in self.hosts or location.port < self.base_port:
            return None
        slot = (location.port - self.base_port) * len(self.hosts) + self.hosts.index(location.host)
        if self.capacity is not None and slot >= self.capacity:
            return None
        return slot if self.location(slot) == location else None

    def middle_managers(self, running: Iterable[tuple[int, str]]) -> list[MiddleManager]:
        """Each MiddleManager, in ``hosts`` order, given the ``(slot, task id)`` of every task running now.

        The Overlord model knows which tasks run (`Overlord.middle_managers`); the pool knows where.
        """
        per_host: list[list[tuple[int, str]]] = [[] for _ in self.hosts]
        for slot, task_id in running:
            per_host[slot % len(self.hosts)].append((slot, task_id))
        managers = []
        for index, host in enumerate(self.hosts):
            tasks = tuple(task_id for _, task_id in sorted(per_host[index]))
            managers.append(
                MiddleManager(
                    host=host,
                    capacity=self.capacity_of(index),
                    used=len(tasks),
                    running=tasks,
                    version=self.version,
                    category=self.category,
                )
            )
        return managers

    # -- planning ----------------------------------------------------------------------------------

    def restart(self, moment: int, busy: Iterable[tuple[int, int]]) -> None:
        """Forget every booking after ``moment``: each slot is free from ``moment`` on, except the ``busy``
        ones, given as ``(slot, until ms)`` for the tasks running at ``moment``."""
        self._next_unlimited = 0
        if self.capacity is None:
            self._free_at = []
            return
        free = [moment] * self.capacity
        for slot, until in busy:
            if 0 <= slot < self.capacity:
                free[slot] = max(free[slot], until)
        self._free_at = [(at, slot) for slot, at in enumerate(free)]
        heapq.heapify(self._free_at)

    def idle_by(self, ready_ms: int) -> bool:
        """Whether a slot is free at ``ready_ms`` with nothing booked on it after: a task ready then can take
        it without moving any task planned before it."""
        return self.capacity is None or self._free_at[0][0] <= ready_ms

    def take(self, ready_ms: int) -> tuple[int, int]:
        """The slot a task ready at ``ready_ms`` gets, earliest free first: ``(start ms, slot)``.

        The slot is the task's until :meth:`hold` gives it back with the time the task ends.
        """
        if self.capacity is None:
            slot = self._next_unlimited % (len(self.hosts) * _UNLIMITED_PORTS)
            self._next_unlimited += 1
            return ready_ms, slot
        free_at, slot = heapq.heappop(self._free_at)
        return max(ready_ms, free_at), slot

    def hold(self, slot: int, until_ms: int) -> None:
        """Slot ``slot`` (from :meth:`take`) is busy until ``until_ms``."""
        if self.capacity is not None:
            heapq.heappush(self._free_at, (until_ms, slot))

    def assign(self, ready_ms: int, run_ms: int) -> tuple[int, int, Location]:
        """Book a slot for a task ready at ``ready_ms`` that runs ``run_ms``: (start, end, location)."""
        start, slot = self.take(ready_ms)
        self.hold(slot, start + run_ms)
        return start, start + run_ms, self.location(slot)

    def occupy(self, slot_location: Location, until_ms: int, moment: int) -> int | None:
        """A task seen running at ``slot_location`` (seeded from a cassette) holds a slot until ``until_ms``.

        The pool's own slot at that location when it is free at ``moment``, else the first slot free then
        (a recording's workers are not the pool's); None when every slot is busy (the task then holds none).
        Returns the slot taken.
        """
        if self.capacity is None:
            return None
        wanted = self.slot_at(slot_location)
        free = sorted((slot for at, slot in self._free_at if at <= moment), key=lambda s: (s != wanted, s))
        if not free:
            return None
        slot = free[0]
        self._free_at = [(max(at, until_ms) if s == slot else at, s) for at, s in self._free_at]
        heapq.heapify(self._free_at)
        return slot
