"""The Overlord model's invariants, checked on what its clients see: the task lists and the worker pool.

One checker for the model tests, the regression tests over a socket and the stateful property test
(``tests/fuzz/test_model_state_machine.py``), so they all hold the model to the same rules:

* no MiddleManager runs more tasks than it has slots, and no two running tasks share a peon;
* a PENDING task never waits for longer than the model's assignment delay while a slot it may take is free
  (on an enabled MiddleManager the worker select strategy lets it use, reference 18.4 and 18.5);
* every task is in exactly one of ``/tasks?state=waiting|pending|running|complete``, and those four
  lists are ``/tasks`` itself;
* the running list is what the worker pool says is used, task by task and host by host.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import orjson

from druid_sim.clock import parse_instant
from druid_sim.overlord.overlord import Overlord, TaskQuery
from druid_sim.overlord.worker_config import worker_config_of
from druid_sim.overlord.workers import MAX_ASSIGNMENT_DELAY_MS

STATES = ("waiting", "pending", "running", "complete")
#: A look-back longer than any test runs, so every complete task is listed.
ALL_TIME_MS = 10 * 365 * 24 * 3600 * 1000


@dataclass(frozen=True)
class Snapshot:
    """What a client sees at one moment: the task lists by state, and the MiddleManagers."""

    now_ms: int
    by_state: Mapping[str, Sequence[Mapping[str, Any]]]
    everything: Sequence[Mapping[str, Any]]
    #: Per MiddleManager host: (capacity or None for unlimited, the ids of the tasks running there).
    managers: Mapping[str, tuple[int | None, Sequence[str]]]
    #: The hosts disabled now, and the worker config in force (``GET /worker``'s JSON; None: none set).
    disabled: frozenset[str] = frozenset()
    worker_config: Mapping[str, Any] | None = None


def model_snapshot(overlord: Overlord) -> Snapshot:
    """The snapshot the model answers, in-process (the same bytes ``GET /tasks`` serves)."""
    now = overlord.now()

    def listed(state: str | None) -> list[dict[str, Any]]:
        tasks: list[dict[str, Any]] = orjson.loads(overlord.list_tasks(TaskQuery(state=state, lookback_ms=ALL_TIME_MS)))
        return tasks

    found = overlord.middle_managers(now)
    managers = {m.host: (m.capacity, m.running) for m in found}
    disabled = frozenset(m.host for m in found if not m.enabled)
    served = worker_config_of(overlord).served
    config = orjson.loads(served) if served is not None else None
    return Snapshot(now, {state: listed(state) for state in STATES}, listed(None), managers, disabled, config)


def cluster_managers(cluster: Mapping[str, Any]) -> dict[str, tuple[int | None, Sequence[str]]]:
    """The MiddleManagers of a ``GET /__sim/cluster`` answer, in the snapshot's shape."""
    return {m["host"]: (m["capacity"], m["runningTasks"]) for m in cluster["workers"]["middleManagers"]}


def violations(snapshot: Snapshot) -> list[str]:
    """Every broken invariant in ``snapshot``, in words (empty: all hold)."""
    found: list[str] = []
    by_state = snapshot.by_state
    ids = {state: [task["id"] for task in by_state[state]] for state in STATES}
    for state in STATES:
        if len(set(ids[state])) != len(ids[state]):
            found.append(f"{state}: a task is listed twice")
    for number, first in enumerate(STATES):
        for second in STATES[number + 1 :]:
            both = set(ids[first]) & set(ids[second])
            if both:
                found.append(f"{sorted(both)[:3]} both {first} and {second}")
    listed = sorted(task["id"] for task in snapshot.everything)
    if listed != sorted(task_id for state in STATES for task_id in ids[state]):
        found.append("/tasks is not the union of the four state lists")
    found += _capacity_violations(snapshot)
    found += _idle_slot_violations(snapshot)
    return found


def _capacity_violations(snapshot: Snapshot) -> list[str]:
    found = []
    running = snapshot.by_state["running"]
    on_pool = {task_id: host for host, (_, ids) in snapshot.managers.items() for task_id in ids}
    for host, (capacity, task_ids) in snapshot.managers.items():
        if capacity is not None and len(task_ids) > capacity:
            found.append(f"{host} runs {len(task_ids)} tasks on {capacity} slots")
    if sorted(on_pool) != sorted(task["id"] for task in running):
        found.append(f"the pool runs {len(on_pool)} tasks, the running list has {len(running)}")
    peons = [(task["location"]["host"], task["location"]["port"]) for task in running]
    if len(set(peons)) != len(peons):
        found.append("two running tasks share a peon")
    for task in running:
        host = on_pool.get(task["id"])
        # A task a cassette saw running keeps its recorded peon (not one of the pool's) on the slot it holds.
        recorded = task["location"]["host"] not in snapshot.managers
        if host is not None and task["location"]["host"] != host and not recorded:
            found.append(f"{task['id']} runs on {host} but its location says {task['location']['host']}")
    return found


def may_run_on(config: Mapping[str, Any] | None, task: Mapping[str, Any], workers: Sequence[str]) -> set[str]:
    """The workers (``host:port``) of ``workers`` a task may be given under ``config``, by reference 18.5:
    an affinity datasource its list (and, unless strong, the workers in no list), any other datasource the
    workers in no list; a strong category spec whose preferred category is not the default one, none."""
    strategy = (config or {}).get("selectStrategy") or {}
    categories = strategy.get("workerCategorySpec")
    if categories is not None:
        entry = categories["categoryMap"].get(task["type"])
        if entry is not None and categories["strong"]:
            preferred = entry["categoryAffinity"].get(task["dataSource"], entry["defaultCategory"])
            if preferred is not None and preferred != "_default_worker_category":
                return set()
        return set(workers)
    affinity = strategy.get("affinityConfig")
    if affinity is None:
        return set(workers)
    listed = {worker for names in affinity["affinity"].values() for worker in names}
    free_of_lists = {worker for worker in workers if worker not in listed}
    own = affinity["affinity"].get(task["dataSource"])
    if own is None:
        return free_of_lists
    mine = {worker for worker in workers if worker in own}
    return mine if affinity["strong"] else mine | free_of_lists


def _idle_slot_violations(snapshot: Snapshot) -> list[str]:
    free = {
        f"{host}:8091": (capacity - len(ids) if capacity is not None else 1)
        for host, (capacity, ids) in snapshot.managers.items()
        if host not in snapshot.disabled
    }
    open_workers = [worker for worker, count in free.items() if count > 0]
    if not open_workers:
        return []
    late = [
        task["id"]
        for task in snapshot.by_state["pending"]
        if parse_instant(task["queueInsertionTime"]) < snapshot.now_ms - MAX_ASSIGNMENT_DELAY_MS
        and may_run_on(snapshot.worker_config, task, open_workers)
    ]
    slots = sum(free[worker] for worker in open_workers)
    return [f"{len(late)} tasks PENDING past the assignment delay beside {slots} free slots they fit"] if late else []


def assert_invariants(snapshot: Snapshot) -> None:
    """Fail with every broken invariant named."""
    problems = violations(snapshot)
    assert not problems, "; ".join(problems)


def used_slots(managers: Iterable[tuple[int | None, Sequence[str]]]) -> int:
    """How many slots the MiddleManagers use in all."""
    return sum(len(ids) for _, ids in managers)
