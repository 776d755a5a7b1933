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

import bisect
import heapq
from collections.abc import Iterable
from dataclasses import dataclass, field

from druid_sim.overlord.task import NEVER, Location
from druid_sim.overlord.worker_select import DEFAULT_SELECT, WorkerSelect, java_map_order

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
#: ``druid.plaintextPort`` of a MiddleManager: workers announce themselves as ``host:8091``.
MIDDLE_MANAGER_PORT = 8091
#: The start `WorkerPool.take` gives a task no enabled MiddleManager may run: never.
NO_SLOT_AT = NEVER


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
    port: int = MIDDLE_MANAGER_PORT
    #: False once disabled (``POST /druid/worker/v1/disable``): it is given no new task; ``version`` is "".
    enabled: bool = True

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
    """``capacity`` slots; slot ``i`` is peon port ``8100 + i // len(hosts)`` on ``hosts[i % len(hosts)]``.

    Which MiddleManager a task gets is the worker select strategy's choice (`WorkerSelect`: equal
    distribution by default) among the enabled ones it may use; a disabled MiddleManager keeps running
    what it runs and is given nothing new (reference 18.4).
    """

    hosts: tuple[str, ...] = ("localhost",)
    capacity: int | None = None  # None: unlimited, every task runs as soon as it is ready
    base_port: int = 8100
    version: str = WORKER_VERSION
    category: str = DEFAULT_WORKER_CATEGORY
    #: The strategy in force (the Overlord's dynamic worker config).
    select: WorkerSelect = DEFAULT_SELECT
    #: Indexes (into ``hosts``) of the MiddleManagers disabled now.
    disabled: frozenset[int] = frozenset()
    _heaps: list[list[tuple[int, int]]] = field(default_factory=list)  # per host: heap of (free-at ms, slot)
    _frees: list[list[int]] = field(default_factory=list)  # per host: its heap's free-at times, sorted
    _next_unlimited: int = 0
    _locations: dict[int, Location] = field(default_factory=dict)  # one shared Location per slot
    _slots: dict[Location, int] = field(default_factory=dict)  # and back
    _tie_order: tuple[int, ...] = ()  # host indexes in the order Druid's selector meets them
    _tiers: dict[tuple[str, str], tuple[tuple[int, ...], ...]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self._tie_order = tuple(java_map_order([self.address(index) for index in range(len(self.hosts))]))
        self.restart(0, ())

    # -- reading -----------------------------------------------------------------------------------

    @property
    def total_capacity(self) -> int | None:
        """Every slot of every MiddleManager (None: unlimited)."""
        return self.capacity

    def address(self, host_index: int) -> str:
        """``host:port`` of ``hosts[host_index]``: the worker's name in ``/workers`` and in affinity lists."""
        return f"{self.hosts[host_index]}:{MIDDLE_MANAGER_PORT}"

    def host_index(self, address: str) -> int | None:
        """The index of the MiddleManager named ``host:port`` (``/workers``' ``worker.host``), or None."""
        host, _, port = address.rpartition(":")
        if port != str(MIDDLE_MANAGER_PORT) or host not in self.hosts:
            return None
        return self.hosts.index(host)

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
                    version="" if index in self.disabled else self.version,
                    category=self.category,
                    enabled=index not in self.disabled,
                )
            )
        return managers

    def tiers(self, task_type: str, datasource: str) -> tuple[tuple[int, ...], ...]:
        """The enabled hosts a task of this type and datasource may take, most preferred first, in tie order."""
        key = (task_type, datasource)
        found = self._tiers.get(key)
        if found is None:
            enabled = [index for index in self._tie_order if index not in self.disabled]
            by_address = {self.address(index): index for index in enabled}
            chosen = self.select.tiers(task_type, datasource, list(by_address))
            found = tuple(tuple(by_address[address] for address in tier) for tier in chosen)
            if len(self._tiers) > 4096:
                self._tiers.clear()
            self._tiers[key] = found
        return found

    # -- configuring -------------------------------------------------------------------------------

    def configure(self, select: WorkerSelect | None = None, disabled: frozenset[int] | None = None) -> None:
        """A new strategy or set of disabled hosts; the caller re-plans (`restart`) from the moment of change."""
        if select is not None:
            self.select = select
        if disabled is not None:
            self.disabled = disabled
        self._tiers.clear()

    # -- planning ----------------------------------------------------------------------------------

    def restart(self, moment: int, busy: Iterable[tuple[int, int]]) -> None:
        """Forget every booking after ``moment``: each slot is free from ``moment`` on, except the ``busy``
        ones, given as ``(slot, until ms)`` for the tasks running at ``moment``. A disabled host's slots are
        offered to no task until it is enabled (and the pool restarted)."""
        self._next_unlimited = 0
        count = len(self.hosts)
        self._heaps = [[] for _ in range(count)]
        self._frees = [[] for _ in range(count)]
        if self.capacity is None:
            return
        free = [moment] * self.capacity
        for slot, until in busy:
            if 0 <= slot < self.capacity:
                free[slot] = max(free[slot], until)
        for slot, at in enumerate(free):
            host = slot % count
            if host not in self.disabled:
                self._heaps[host].append((at, slot))
        for host, heap in enumerate(self._heaps):
            heapq.heapify(heap)
            self._frees[host] = sorted(at for at, _ in heap)

    def _earliest(self, hosts: Iterable[int]) -> int:
        heaps = self._heaps
        return min((heaps[host][0][0] for host in hosts if heaps[host]), default=NO_SLOT_AT)

    def idle_by(self, ready_ms: int, task_type: str = "", datasource: str = "") -> bool:
        """Whether a slot the task may take is free at ``ready_ms`` with nothing booked on it after: a task
        ready then can take it without moving any task planned before it."""
        if self.capacity is None:
            return True
        return any(self._earliest(tier) <= ready_ms for tier in self.tiers(task_type, datasource))

    def take(self, ready_ms: int, task_type: str = "", datasource: str = "") -> tuple[int, int]:
        """The slot a task ready at ``ready_ms`` gets: ``(start ms, slot)``; ``(NO_SLOT_AT, -1)`` when no
        enabled MiddleManager may run it (it stays PENDING until a change of config or host re-plans it).

        It starts as soon as a host it may use has a free slot; among the hosts of its most preferred tier
        free then, the strategy picks (`WorkerSelect.pick`), counting each host's slots busy at that time.
        The slot is the task's until :meth:`hold` gives it back with the time the task ends.
        """
        tiers = self.tiers(task_type, datasource)
        if self.capacity is None:
            return self._take_unlimited(ready_ms, tiers)
        earliest = min(self._earliest(tier) for tier in tiers)
        if earliest >= NO_SLOT_AT:
            return NO_SLOT_AT, -1
        start = max(ready_ms, earliest)
        heaps, frees = self._heaps, self._frees
        for tier in tiers:
            candidates = []
            for host in tier:
                if heaps[host] and heaps[host][0][0] <= start:
                    free = bisect.bisect_right(frees[host], start)
                    candidates.append((host, free, len(frees[host]) - free))
            if candidates:
                chosen = self.select.pick(candidates)
                at, slot = heapq.heappop(heaps[chosen])
                del frees[chosen][bisect.bisect_left(frees[chosen], at)]
                return start, slot
        raise AssertionError("a host free by the start time is in some tier")  # pragma: no cover

    def _take_unlimited(self, ready_ms: int, tiers: tuple[tuple[int, ...], ...]) -> tuple[int, int]:
        """Unlimited slots: the task runs when ready, on the hosts of its first non-empty tier in turn."""
        hosts = next((tier for tier in tiers if tier), ())
        if not hosts:
            return NO_SLOT_AT, -1
        turn = self._next_unlimited
        self._next_unlimited += 1
        host = hosts[turn % len(hosts)]
        port = (turn // len(hosts)) % _UNLIMITED_PORTS
        return ready_ms, port * len(self.hosts) + host

    def hold(self, slot: int, until_ms: int) -> None:
        """Slot ``slot`` (from :meth:`take`) is busy until ``until_ms``."""
        if self.capacity is None or slot < 0:
            return
        host = slot % len(self.hosts)
        if host in self.disabled:
            return
        heapq.heappush(self._heaps[host], (until_ms, slot))
        bisect.insort(self._frees[host], until_ms)

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
        free = sorted(
            (slot for heap in self._heaps for at, slot in heap if at <= moment), key=lambda s: (s != wanted, s)
        )
        if not free:
            return None
        slot = free[0]
        host = slot % len(self.hosts)
        heap = [(max(at, until_ms) if s == slot else at, s) for at, s in self._heaps[host]]
        heapq.heapify(heap)
        self._heaps[host] = heap
        self._frees[host] = sorted(at for at, _ in heap)
        return slot
