"""Task locks as ``TaskLockbox`` holds them, read from the tasks' plans and payloads at one virtual moment.

A task takes its time-chunk locks when the queue finds it ready (``Task.isReady``), so PENDING and
RUNNING tasks hold locks and WAITING ones are waiting for them. What each task locks, and at what
priority, is what Druid's task types lock (reference 14.1): a batch load its ``granularitySpec``
intervals, a compaction or kill task its ``interval``, a stream task each hour it has allocated
segments in since it started reading (``segmentGranularity`` HOUR), an MSQ SELECT nothing. A lock's
``version`` is the moment it was granted. Nothing is stored but each task's parsed intervals (a small
cache by task id), so locks always agree with the task lists.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from druid_sim.clock import format_instant
from druid_sim.overlord.overlord import Overlord
from druid_sim.overlord.task import Phase, Task

HOUR_MS = 3600 * 1000
#: ``Tasks.DEFAULT_*_PRIORITY``: what each task type locks with unless its context sets ``priority``.
DEFAULT_PRIORITY = {
    "index_kafka": 75,
    "index_kinesis": 75,
    "index_parallel": 50,
    "index": 50,
    "single_phase_sub_task": 50,
    "compact": 25,
    "kill": 0,
}
STREAM_TYPES = ("index_kafka", "index_kinesis")
#: ``Intervals.ETERNITY``: the interval of a filter that names none.
ETERNITY = (-(2**62), 2**62)


@dataclass(frozen=True, slots=True)
class TaskLock:
    """A ``TimeChunkLock``: one interval of one datasource, held by a task group."""

    group_id: str
    datasource: str
    start: int
    end: int
    version: str
    priority: int
    lock_type: str = "EXCLUSIVE"

    def interval(self) -> str:
        return f"{format_instant(self.start)}/{format_instant(self.end)}"

    def as_json(self) -> dict[str, Any]:
        """``TimeChunkLock`` in Jackson's order, with its ``granularity`` type id first."""
        return {
            "granularity": "timeChunk",
            "type": self.lock_type,
            "groupId": self.group_id,
            "dataSource": self.datasource,
            "interval": self.interval(),
            "version": self.version,
            "priority": self.priority,
            "revoked": False,
        }


@dataclass(frozen=True, slots=True)
class LockFilter:
    """A ``LockFilterPolicy``: locks of ``datasource`` at ``priority`` or above, over ``intervals``."""

    datasource: str | None
    priority: int = 0
    intervals: tuple[tuple[int, int], ...] | None = None


@dataclass(frozen=True, slots=True)
class _LockPlan:
    """What a task locks: fixed intervals, or (a stream task) the hours it reads; and its priority."""

    intervals: tuple[tuple[int, int], ...]
    priority: int
    hourly: bool


def parse_instant(text: str) -> int | None:
    """Epoch ms of an ISO-8601 instant, or None when it is not one this model reads."""
    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None
    if moment.tzinfo is None:
        return None
    return int(moment.timestamp() * 1000)


def parse_interval(text: Any) -> tuple[int, int] | None:
    """``start/end`` with two ISO instants, or None."""
    if not isinstance(text, str) or text.count("/") != 1:
        return None
    start, end = (parse_instant(part) for part in text.split("/"))
    if start is None or end is None or end < start:
        return None
    return start, end


def _payload_intervals(task_type: str, payload: Mapping[str, Any]) -> list[Any]:
    """The interval texts a task's payload names, where its type keeps them."""
    if task_type in ("compact",):
        io_config = payload.get("ioConfig") or {}
        spec = io_config.get("inputSpec") or {} if isinstance(io_config, Mapping) else {}
        found = [spec.get("interval")] if isinstance(spec, Mapping) else []
        return [*found, payload.get("interval")]
    if task_type == "kill":
        return [payload.get("interval")]
    spec = payload.get("spec") or {}
    schema = spec.get("dataSchema") or {} if isinstance(spec, Mapping) else {}
    granularity = schema.get("granularitySpec") or {} if isinstance(schema, Mapping) else {}
    intervals = granularity.get("intervals") if isinstance(granularity, Mapping) else None
    return list(intervals) if isinstance(intervals, list) else []


def _plan_for(task: Task) -> _LockPlan:
    payload = task.payload
    context = payload.get("context")
    priority = DEFAULT_PRIORITY.get(task.type)
    given = context.get("priority") if isinstance(context, Mapping) else None
    if isinstance(given, int) and not isinstance(given, bool):
        priority = given
    if task.type in STREAM_TYPES:
        return _LockPlan((), priority if priority is not None else 75, hourly=True)
    if priority is None and task.type != "query_controller":
        priority = 0
    if priority is None:
        return _LockPlan((), 0, hourly=False)
    found = [parse_interval(text) for text in _payload_intervals(task.type, payload)]
    intervals = tuple(dict.fromkeys(interval for interval in found if interval is not None))
    return _LockPlan(intervals, priority, hourly=False)


class LockBox:
    """The locks held at a moment, computed from the Overlord's active tasks."""

    def __init__(self, overlord: Overlord) -> None:
        self.overlord = overlord
        self._plans: dict[str, _LockPlan] = {}

    def _plan(self, task: Task) -> _LockPlan:
        plan = self._plans.get(task.id)
        if plan is None:
            if len(self._plans) > 10_000:
                self._plans.clear()
            plan = self._plans[task.id] = _plan_for(task)
        return plan

    def held(self, now: int) -> list[TaskLock]:
        """Every lock held now, by task creation order (the order tasks took them)."""
        locks: list[TaskLock] = []
        for task in self.overlord.active_tasks(now):
            phase = task.phase_at(now)
            if phase is not Phase.PENDING and phase is not Phase.RUNNING:
                continue
            plan = self._plan(task)
            granted = format_instant(task.plan.pending_at)
            if plan.hourly:
                if phase is not Phase.RUNNING:
                    continue
                first = task.plan.running_at - task.plan.running_at % HOUR_MS
                for start in range(first, now - now % HOUR_MS + 1, HOUR_MS):
                    version = format_instant(max(start, task.plan.running_at))
                    locks.append(
                        TaskLock(task.group_id, task.datasource, start, start + HOUR_MS, version, plan.priority)
                    )
                continue
            locks.extend(
                TaskLock(task.group_id, task.datasource, start, end, granted, plan.priority)
                for start, end in plan.intervals
            )
        return list(dict.fromkeys(locks))  # a task group's tasks share one lock (one ``TaskLockPosse``)

    def active_locks(self, filters: Iterable[LockFilter], now: int) -> dict[str, list[dict[str, Any]]]:
        """``POST /activeLocks``: per filtered datasource, the locks at the filter's priority or above that
        overlap its intervals (``TaskLockbox.getActiveLocks``); datasources with none are left out."""
        held = self.held(now)
        found: dict[str, list[dict[str, Any]]] = {}
        for lock_filter in filters:
            if lock_filter.datasource is None:
                continue
            windows = lock_filter.intervals if lock_filter.intervals is not None else (ETERNITY,)
            for lock in held:
                if lock.datasource != lock_filter.datasource or lock.priority < lock_filter.priority:
                    continue
                if any(lock.start < end and start < lock.end for start, end in windows):
                    found.setdefault(lock.datasource, []).append(lock.as_json())
        return found

    def locked_intervals(self, filters: Iterable[LockFilter], now: int) -> dict[str, list[str]]:
        """``POST /lockedIntervals/v2``: per filtered datasource, the intervals locked at the filter's
        priority or above (``TaskLockbox.getLockedIntervals``: a filter's intervals are not used)."""
        held = self.held(now)
        found: dict[str, dict[str, None]] = {}
        for lock_filter in filters:
            if lock_filter.datasource is None:
                continue
            for lock in held:
                if lock.datasource == lock_filter.datasource and lock.priority >= lock_filter.priority:
                    found.setdefault(lock.datasource, {})[lock.interval()] = None
        return {datasource: sorted(intervals) for datasource, intervals in found.items()}


def lockbox_of(overlord: Overlord) -> LockBox:
    """The Overlord's lock box (made on first use, dropped with the Overlord on reset)."""
    box = overlord.extras.get("locks")
    if not isinstance(box, LockBox):
        box = overlord.extras["locks"] = LockBox(overlord)
    return box
