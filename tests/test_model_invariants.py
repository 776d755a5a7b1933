"""The Overlord model keeps its capacity rules (issue 22 item 1, issue 20 item 7).

A real Overlord never runs more tasks on a MiddleManager than it has slots, and hands a freed slot to
the next PENDING task at once (reference 4, items 3-4: the task runner assigns pending tasks whenever a worker
has capacity). The two failures the issue reports are replayed over a real socket: rounds of submits
and shutdowns left 143 tasks PENDING beside 12 free slots, and a mixed load at x60 ran 9 tasks on a
4-slot MiddleManager. ``tests/support/invariants.py`` holds the rules; the stateful property test
(``tests/fuzz/test_model_state_machine.py``) drives every interleaving against the same rules.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest

from druid_sim.clock import Clock
from druid_sim.config import ServeConfig
from druid_sim.overlord.behaviour import BehaviourRule, BehaviourRules, Distribution, TaskBehaviour
from druid_sim.overlord.overlord import Overlord, Submission, TaskQuery
from druid_sim.overlord.task import NEVER, Phase, Plan, Task
from druid_sim.overlord.workers import MAX_ASSIGNMENT_DELAY_MS, WorkerPool
from druid_sim.simulation import build_simulation
from tests.support.invariants import (
    STATES,
    Snapshot,
    assert_invariants,
    cluster_managers,
    model_snapshot,
    used_slots,
)
from tests.support.live import START_MS, LiveServer, live_server
from tests.support.replay import exchange, replay_server, write_cassette

V1 = "/druid/indexer/v1"
BODIES: tuple[dict[str, Any], ...] = (
    {"type": "index_parallel", "spec": {"dataSchema": {"dataSource": "wikipedia"}}},
    {"type": "compact", "dataSource": "orders", "ioConfig": {"type": "compact"}},
    {"type": "index", "spec": {"dataSchema": {"dataSource": "clickstream_events"}}},
    {"type": "query_controller", "dataSource": "orders"},
)


@pytest.fixture
def demo() -> Iterator[tuple[LiveServer, httpx.Client]]:
    """The demo scenario on a frozen clock, as the issue ran it."""
    config = ServeConfig(scenario="demo", time_scale=0, start_ms=START_MS)
    with live_server(config) as server, httpx.Client(base_url=server.url, timeout=10) as client:
        yield server, client


def snapshot_over_http(client: httpx.Client) -> Snapshot:
    """The snapshot a client sees: the four state lists, ``/tasks`` and ``/__sim/cluster``, clock frozen."""
    lookback = {"createdTimeInterval": "2000-01-01_2100-01-01"}
    by_state = {state: client.get(f"{V1}/tasks", params={"state": state, **lookback}).json() for state in STATES}
    cluster = client.get("/__sim/cluster").json()
    everything = client.get(f"{V1}/tasks", params=lookback).json()
    return Snapshot(cluster["timeMillis"], by_state, everything, cluster_managers(cluster))


def advance(client: httpx.Client, seconds: float) -> None:
    assert client.post("/__sim/clock", json={"advance": seconds}).status_code == 200


def test_freed_slots_go_to_pending_tasks_through_rounds_of_submits_and_shutdowns(
    demo: tuple[LiveServer, httpx.Client],
) -> None:
    """Issue 22 item 1: each round submits 15 tasks, advances 20 s, shuts down 3 running and 3 pending
    tasks and advances 40 s. Before the fix, round 11 had 0 of 12 slots used and 143 tasks PENDING."""
    _, client = demo
    bodies = itertools.cycle(BODIES)
    for _ in range(11):
        for _ in range(15):
            assert client.post(f"{V1}/task", json=next(bodies)).status_code == 200
        advance(client, 20)
        assert_invariants(snapshot_over_http(client))
        for state in ("running", "pending"):
            for task in client.get(f"{V1}/tasks", params={"state": state}).json()[:3]:
                assert client.post(f"{V1}/task/{task['id']}/shutdown").status_code == 200
        assert_invariants(snapshot_over_http(client))
        advance(client, 40)
        snapshot = snapshot_over_http(client)
        assert_invariants(snapshot)
    capacity = sum(capacity or 0 for capacity, _ in snapshot.managers.values())
    assert snapshot.by_state["pending"], "the load outgrows the cluster: tasks queue"
    assert used_slots(snapshot.managers.values()) == capacity  # and every slot works on them


def test_capacity_holds_under_a_mixed_load_at_x60() -> None:
    """Issue 22 item 1: submits and shutdowns from 16 connections on a running clock (x60) once ran 9
    tasks on a 4-slot MiddleManager. Every ``/__sim/cluster`` and running list seen meanwhile keeps
    each MiddleManager within its slots and each peon to one task."""
    config = ServeConfig(scenario="demo", time_scale=60, start_ms=START_MS)
    with live_server(config) as server:

        def client_session(number: int) -> list[str]:
            problems: list[str] = []
            with httpx.Client(base_url=server.url, timeout=10) as client:
                for step in range(8):
                    body = BODIES[(number + step) % len(BODIES)]
                    task_id = client.post(f"{V1}/task", json=body).json()["task"]
                    if step % 3 == 2:
                        client.post(f"{V1}/task/{task_id}/shutdown")
                    if step % 4 == 3:
                        running = client.get(f"{V1}/runningTasks").json()
                        if running:
                            client.post(f"{V1}/task/{running[0]['id']}/shutdown")
                    managers = client.get("/__sim/cluster").json()["workers"]["middleManagers"]
                    problems += [
                        f"{m['host']}: {m['used']}/{m['capacity']}" for m in managers if m["used"] > m["capacity"]
                    ]
                    peons = [
                        (t["location"]["host"], t["location"]["port"]) for t in client.get(f"{V1}/runningTasks").json()
                    ]
                    if len(set(peons)) != len(peons):
                        problems.append("two running tasks on one peon")
            return problems

        with ThreadPoolExecutor(16) as pool:
            problems = [problem for found in pool.map(client_session, range(16)) for problem in found]
    assert problems == []


def test_pending_tasks_never_wait_beside_free_slots_on_the_demo() -> None:
    """Issue 20 item 7: on the demo with the clock frozen and advanced 70 minutes, PENDING tasks waited
    minutes while 7 of 12 slots were free. Now a task is PENDING only while every slot is busy (or for
    the assignment delay), at every minute of the first 70, whatever the seed."""
    for seed in (0, 1, 2):
        simulation = build_simulation(ServeConfig(scenario="demo", seed=seed, time_scale=0, start_ms=START_MS))
        queued = 0
        for _ in range(70):
            snapshot = model_snapshot(simulation.overlord)
            assert_invariants(snapshot)
            queued += len(snapshot.by_state["pending"])
            simulation.clock.advance(60)
        assert queued > 0, "the demo is busy enough that tasks queue for slots now and then"


FIXED = TaskBehaviour(
    waiting=Distribution.fixed(1),
    pending=Distribution.fixed(1),
    run=Distribution.fixed(100),
)


def one_slot_overlord(clock: Clock) -> Overlord:
    return Overlord(clock, rules=BehaviourRules(default=FIXED), workers=WorkerPool(capacity=1))


def submit(overlord: Overlord, datasource: str = "wikipedia") -> str:
    return overlord.submit(Submission(type="index", datasource=datasource, payload={"type": "index"})).id


def phase(overlord: Overlord, task_id: str) -> Phase:
    task = overlord.get(task_id)
    assert task is not None
    return task.phase_at(overlord.now())


def test_a_shut_down_running_task_hands_its_slot_to_the_next_pending_task_at_once() -> None:
    clock = Clock(START_MS, 0)
    overlord = one_slot_overlord(clock)
    first, second, third = submit(overlord), submit(overlord), submit(overlord)
    clock.advance(10)
    assert [phase(overlord, i) for i in (first, second, third)] == [Phase.RUNNING, Phase.PENDING, Phase.PENDING]
    first_task = overlord.get(first)
    assert first_task is not None
    overlord.shutdown(first_task)
    assert phase(overlord, second) is Phase.RUNNING  # at once, not when the first would have ended
    assert phase(overlord, third) is Phase.PENDING
    assert_invariants(model_snapshot(overlord))


def test_a_shut_down_pending_task_gives_back_its_booking_without_freeing_a_busy_slot() -> None:
    """The old bug behind 27 tasks on 12 slots: a pending task's shutdown marked its slot free although
    the task before it still ran there."""
    clock = Clock(START_MS, 0)
    overlord = one_slot_overlord(clock)
    first, second, third = submit(overlord), submit(overlord), submit(overlord)
    clock.advance(10)
    last = overlord.get(third)
    assert last is not None
    overlord.shutdown(last)
    fourth = submit(overlord)
    clock.advance(5)
    assert [phase(overlord, i) for i in (first, second, fourth)] == [Phase.RUNNING, Phase.PENDING, Phase.PENDING]
    assert_invariants(model_snapshot(overlord))
    clock.advance(100)
    assert [phase(overlord, i) for i in (first, second, fourth)] == [Phase.SUCCESS, Phase.RUNNING, Phase.PENDING]


def test_a_task_ready_earlier_takes_the_slot_before_one_submitted_earlier_but_ready_later() -> None:
    """The runner hands slots out in the order tasks became ready: a compaction waiting minutes for its
    locks does not hold a slot meanwhile (issue 20 item 7's minutes of PENDING beside free slots)."""
    clock = Clock(START_MS, 0)
    locked = TaskBehaviour(waiting=Distribution.fixed(300), pending=Distribution.fixed(1), run=Distribution.fixed(100))
    rules = BehaviourRules(rules=(BehaviourRule(locked, task_type="compact"),), default=FIXED)
    overlord = Overlord(clock, rules=rules, workers=WorkerPool(capacity=1))
    compaction = overlord.submit(Submission(type="compact", datasource="wikipedia", payload={"type": "compact"})).id
    load = submit(overlord)
    clock.advance(10)
    assert phase(overlord, load) is Phase.RUNNING  # before the fix it waited for the compaction's booking
    assert phase(overlord, compaction) is Phase.WAITING
    clock.advance(300)
    assert phase(overlord, compaction) is Phase.RUNNING  # its locks and the slot free: it runs at once


def test_the_assignment_delay_caps_a_scenarios_pending_time() -> None:
    clock = Clock(START_MS, 0)
    slow = TaskBehaviour(waiting=Distribution.fixed(1), pending=Distribution.fixed(600), run=Distribution.fixed(100))
    overlord = Overlord(clock, rules=BehaviourRules(default=slow), workers=WorkerPool(capacity=4))
    task_id = submit(overlord)
    clock.advance(1 + MAX_ASSIGNMENT_DELAY_MS / 1000)
    assert phase(overlord, task_id) is Phase.RUNNING


def test_the_worker_pool_read_api_names_each_middle_manager_and_its_tasks() -> None:
    """What ``/workers`` and ``/totalWorkerCapacity`` are built on: per MiddleManager its host, slots,
    used slots, running task ids, version and category."""
    simulation = build_simulation(ServeConfig(scenario="demo", time_scale=0, start_ms=START_MS))
    overlord = simulation.overlord
    managers = overlord.middle_managers()
    assert [m.host for m in managers] == list(overlord.workers.hosts)
    assert sum(m.capacity or 0 for m in managers) == overlord.workers.total_capacity == 9
    running = orjson.loads(overlord.list_tasks(TaskQuery(state="running")))
    assert sorted(i for m in managers for i in m.running) == sorted(task["id"] for task in running)
    for manager in managers:
        assert manager.used == len(manager.running) and manager.free == (manager.capacity or 0) - manager.used
        assert manager.category == "_default_worker_category" and manager.version
        assert manager.address == f"{manager.host}:8091"
        hosts = {task["location"]["host"] for task in running if task["id"] in manager.running}
        assert hosts <= {manager.host}


def test_the_cluster_view_reads_the_same_pool_over_http(demo: tuple[LiveServer, httpx.Client]) -> None:
    server, client = demo
    cluster = client.get("/__sim/cluster").json()["workers"]
    managers = server.simulation.overlord.middle_managers()
    assert cluster["used"] == sum(m.used for m in managers)
    assert [(m["host"], m["capacity"], m["runningTasks"]) for m in cluster["middleManagers"]] == [
        (m.host, m.capacity, list(m.running)) for m in managers
    ]


def test_the_same_seed_and_steps_give_the_same_schedule() -> None:
    answers = []
    for _ in range(2):
        simulation = build_simulation(replace(ServeConfig(scenario="demo", time_scale=0, start_ms=START_MS), seed=7))
        overlord = simulation.overlord
        bodies = []
        for step in range(20):
            submit(overlord, ("wikipedia", "orders")[step % 2])
            if step % 5 == 4:
                victim = overlord.active_tasks(overlord.now())[0]
                overlord.shutdown(victim)
            simulation.clock.advance(17)
            bodies.append(overlord.list_tasks(TaskQuery()))
        answers.append(bodies)
    assert answers[0] == answers[1]


def running_entry(number: int, host: str, port: int) -> dict[str, Any]:
    """A RUNNING TaskStatusPlus as a real Overlord lists it (reference 3.1)."""
    task_id = f"index_parallel_wikipedia_abcdefgh_2025-12-31T23:0{number}:00.000Z"
    return {
        "id": task_id,
        "groupId": task_id,
        "type": "index_parallel",
        "createdTime": f"2025-12-31T23:0{number}:00.000Z",
        "queueInsertionTime": f"2025-12-31T23:0{number}:01.000Z",
        "statusCode": "RUNNING",
        "status": "RUNNING",
        "runnerStatusCode": "RUNNING",
        "duration": -1,
        "location": {"host": host, "port": port, "tlsPort": -1},
        "dataSource": "wikipedia",
        "errorMsg": None,
    }


def test_tasks_a_cassette_saw_running_hold_their_worker_slots(tmp_path: Path) -> None:
    """Issue 23 item 3: a hybrid replay seeds the model with the tasks a recording saw running. They hold
    worker slots as they did upstream (`WorkerPool.occupy`), so a task submitted beside them waits as
    PENDING while the cluster is full, and the cluster view counts them."""
    running = [running_entry(n, f"mm-{n % 3}.example.com", 8100 + n // 3) for n in range(9)]
    cassette = write_cassette(tmp_path / "full.jsonl", [exchange("GET", f"{V1}/runningTasks", 200, running)])
    with (
        replay_server(cassette, replay_on_miss="simulate") as server,
        httpx.Client(base_url=server.url, timeout=10) as client,
    ):
        cluster = client.get("/__sim/cluster").json()["workers"]
        assert (cluster["capacity"], cluster["used"]) == (9, 9)
        submitted = client.post(f"{V1}/task", json=BODIES[0]).json()["task"]
        advance(client, 60)
        status = client.get(f"{V1}/task/{submitted}/status").json()["status"]
        assert status["runnerStatusCode"] == "PENDING"
        assert_invariants(snapshot_over_http(client))
        recorded = {task["id"]: task["location"] for task in running}
        for task in client.get(f"{V1}/runningTasks").json():
            assert task["location"] == recorded[task["id"]]  # the recorded peon, not a pool slot's


def test_a_task_seen_running_on_one_of_the_pools_peons_takes_that_very_slot() -> None:
    clock = Clock(START_MS, 0)
    overlord = Overlord(clock, rules=BehaviourRules(default=FIXED), workers=WorkerPool(("mm-a", "mm-b"), capacity=4))
    seen = overlord.workers.location(3)
    task = Task(
        "seen",
        "seen",
        "index",
        "wikipedia",
        START_MS - 60_000,
        Plan(START_MS - 50_000, START_MS - 40_000, NEVER, location=seen),
        b"{}",
    )
    assert overlord.add_all([task]) == 1
    assert task.plan.slot == 3
    assert [m.running for m in overlord.middle_managers()] == [(), ("seen",)]
    ids = [submit(overlord) for _ in range(4)]
    clock.advance(10)
    assert [phase(overlord, i) for i in ids] == [Phase.RUNNING] * 3 + [Phase.PENDING]
