"""The MiddleManagers as the Overlord's task runner sees them: capacity, used slots, running tasks.

Read, never written: each worker's capacity is the number of the pool's slots on its host
(`druid_sim.overlord.workers`), and what it runs is the tasks whose plan puts them RUNNING on that
host at this virtual moment, so ``GET /workers``, ``GET /totalWorkerCapacity`` and the task lists
always agree. Shapes are Druid's ``ImmutableWorkerInfo``, ``Worker`` and ``TotalWorkerCapacityResponse``
(reference 13.1 - 13.3).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from typing import Any

from druid_sim.clock import format_instant
from druid_sim.overlord.overlord import Overlord
from druid_sim.overlord.task import Phase, Task
from druid_sim.overlord.workers import MIDDLE_MANAGER_PORT

#: ``druid.worker.version`` and ``druid.worker.category`` when not configured.
WORKER_VERSION = "0"
#: The version a disabled MiddleManager shows (``WorkerHolder.toImmutable``): how clients tell it is disabled.
DISABLED_VERSION = ""
WORKER_CATEGORY = "_default_worker_category"
#: Slots per MiddleManager reported for a pool with unlimited capacity (``workers: {capacity: null}``).
UNLIMITED_SLOTS_PER_HOST = 4
#: ``ParallelIndexSupervisorTask``: the type ``currParallelIndexCapacityUsed`` counts.
PARALLEL_INDEX_TYPE = "index_parallel"
STREAM_TASK_TYPES = ("index_kafka", "index_kinesis")


@dataclass(slots=True)
class WorkerState:
    """One MiddleManager at one moment."""

    host: str
    capacity: int
    running: list[Task] = field(default_factory=list)
    last_completed_ms: int | None = None
    enabled: bool = True

    @property
    def used(self) -> int:
        return len(self.running)

    def as_json(self, started_ms: int) -> dict[str, Any]:
        """``ImmutableWorkerInfo`` in Jackson's order; ``blacklistedUntil`` is NON_NULL, so absent."""
        by_type: dict[str, int] = {}
        for task in self.running:
            by_type[task.type] = by_type.get(task.type, 0) + 1
        info: dict[str, Any] = {
            "worker": {
                "scheme": "http",
                "host": f"{self.host}:{MIDDLE_MANAGER_PORT}",
                "ip": private_ip(self.host),
                "capacity": self.capacity,
                "version": WORKER_VERSION if self.enabled else DISABLED_VERSION,
                "category": WORKER_CATEGORY,
            },
            "currCapacityUsed": self.used,
            "currParallelIndexCapacityUsed": sum(1 for task in self.running if task.type == PARALLEL_INDEX_TYPE),
        }
        if by_type:  # @JsonInclude(NON_EMPTY)
            info["currCapacityUsedByTaskType"] = by_type
        info["availabilityGroups"] = list(dict.fromkeys(availability_group(task) for task in self.running))
        info["runningTasks"] = [task.id for task in self.running]
        info["lastCompletedTaskTime"] = format_instant(
            self.last_completed_ms if self.last_completed_ms is not None else started_ms
        )
        return info


def private_ip(host: str) -> str:
    """A stable private address for a host name (what its MiddleManager announces as ``ip``)."""
    digest = hashlib.sha1(host.encode()).digest()
    return f"10.{digest[0]}.{digest[1]}.{max(2, digest[2] % 254)}"


def availability_group(task: Task) -> str:
    """``TaskResource.availabilityGroup``: the task id, or for a stream task its group's sequence name.

    A supervisor names a task ``<baseSequenceName>_<8 letters>`` and gives every replica of a task group
    that sequence name as its availability group, so no two replicas share a worker.
    """
    if task.type in STREAM_TASK_TYPES:
        return task.id.rsplit("_", 1)[0]
    return task.id


def slots_per_host(overlord: Overlord) -> dict[str, int]:
    """Each MiddleManager's ``druid.worker.capacity``: how many of the pool's slots sit on it."""
    pool = overlord.workers
    hosts = pool.hosts
    if pool.capacity is None:
        return dict.fromkeys(hosts, UNLIMITED_SLOTS_PER_HOST)
    counts = dict.fromkeys(hosts, 0)
    for slot in range(pool.capacity):
        host = pool.location(slot).host
        if host is not None:
            counts[host] = counts.get(host, 0) + 1
    return counts


def worker_states(overlord: Overlord, now: int) -> list[WorkerState]:
    """Every MiddleManager with the tasks running on it now and when it last finished one (within the look-back)."""
    pool = overlord.workers
    disabled = {pool.hosts[index] for index in pool.disabled}
    workers = {
        host: WorkerState(host, slots, enabled=host not in disabled) for host, slots in slots_per_host(overlord).items()
    }
    for task in overlord.active_tasks(now):
        if task.phase_at(now) is Phase.RUNNING:
            state = workers.get(task.plan.location.host or "")
            if state is not None:
                state.running.append(task)
    for task in overlord.created_since(now - overlord.lookback_ms, now):
        plan = task.plan
        if not task.phase_at(now).complete or plan.running_at > plan.completed_at():
            continue
        state = workers.get(plan.location.host or "")
        ended = plan.completed_at()
        if state is not None and (state.last_completed_ms is None or ended > state.last_completed_ms):
            state.last_completed_ms = ended
    for state in workers.values():
        if state.capacity < state.used:  # an unlimited pool: never report more used than there is
            state.capacity = state.used
    return list(workers.values())


def workers_json(overlord: Overlord, now: int) -> list[dict[str, Any]]:
    """``GET /workers``: one ``ImmutableWorkerInfo`` per MiddleManager."""
    started = overlord.clock.start_ms
    return [state.as_json(started) for state in worker_states(overlord, now)]


def total_capacity_json(overlord: Overlord, now: int) -> dict[str, int]:
    """``GET /totalWorkerCapacity``: ``TotalWorkerCapacityResponse``; -1 maximum without an autoscaler."""
    states = worker_states(overlord, now)
    return {
        "currentClusterCapacity": sum(state.capacity for state in states),
        "maximumCapacityWithAutoScale": -1,
        "usedClusterCapacity": sum(state.used for state in states),
    }
