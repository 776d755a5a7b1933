"""The Overlord model without HTTP: plans read against a manual clock (reference sections 3 to 6)."""

from __future__ import annotations

from simulator.clock import Clock
from simulator.config import ServeConfig, build_simulation
from simulator.overlord.behaviour import BehaviourRules, Distribution, TaskBehaviour
from simulator.overlord.logs import BLOCK_SIZE, TaskLogs
from simulator.overlord.overlord import Overlord, Submission, TaskQuery
from simulator.overlord.task import Phase
from simulator.overlord.workers import WorkerPool
from tests.support.live import START_MS

FIXED = TaskBehaviour(
    waiting=Distribution(kind="fixed", value=1),
    pending=Distribution(kind="fixed", value=1),
    run=Distribution(kind="fixed", value=60),
)


def wiki() -> Submission:
    return Submission(type="index_parallel", datasource="wiki", payload={"type": "index_parallel"})


def test_same_seed_and_clock_give_byte_identical_demo_clusters() -> None:
    config = ServeConfig(seed=11, time_scale=0, start_ms=START_MS)
    first, second = build_simulation(config), build_simulation(config)
    assert first.overlord.list_tasks(TaskQuery()) == second.overlord.list_tasks(TaskQuery())
    other = build_simulation(ServeConfig(seed=12, time_scale=0, start_ms=START_MS))
    assert other.overlord.list_tasks(TaskQuery()) != first.overlord.list_tasks(TaskQuery())


def test_demo_cluster_has_every_state_and_several_types() -> None:
    simulation = build_simulation(ServeConfig(seed=3, time_scale=0, start_ms=START_MS))
    overlord = simulation.overlord
    now = simulation.clock.now_ms()
    visible = [task for task in overlord.tasks.values() if task.created_ms <= now]
    phases = {task.phase_at(now) for task in visible}
    assert {Phase.SUCCESS, Phase.FAILED, Phase.RUNNING, Phase.WAITING} <= phases
    assert len({task.type for task in visible}) >= 4 and len({task.datasource for task in visible}) >= 3
    assert 20 <= len(visible) <= 80


def test_demo_cluster_keeps_moving_new_tasks_arrive_and_finish() -> None:
    simulation = build_simulation(ServeConfig(seed=3, time_scale=0, start_ms=START_MS))
    overlord = simulation.overlord
    before = len(overlord.active_tasks(overlord.now()))
    ids_before = {task.id for task in overlord.active_tasks(overlord.now())}
    simulation.clock.advance(3 * 3600)
    after = overlord.active_tasks(overlord.now())
    assert after and not ids_before & {task.id for task in after}
    assert before > 0


def test_worker_capacity_makes_tasks_wait_pending_for_a_slot() -> None:
    clock = Clock(start_ms=0, scale=0)
    overlord = Overlord(clock, rules=BehaviourRules(default=FIXED), workers=WorkerPool(capacity=1))
    first, second = overlord.submit(wiki()), overlord.submit(wiki())
    clock.advance(10)
    assert first.phase_at(clock.now_ms()) is Phase.RUNNING
    assert second.phase_at(clock.now_ms()) is Phase.PENDING
    assert second.plan.running_at == first.plan.end_at


def test_shutdown_frees_the_slot_for_the_next_submission() -> None:
    clock = Clock(start_ms=0, scale=0)
    overlord = Overlord(clock, rules=BehaviourRules(default=FIXED), workers=WorkerPool(capacity=1))
    first = overlord.submit(wiki())
    clock.advance(10)
    overlord.shutdown(first)
    second = overlord.submit(wiki())
    assert second.plan.running_at == clock.now_ms() + 2000


def test_list_cache_follows_phase_changes() -> None:
    clock = Clock(start_ms=0, scale=0)
    overlord = Overlord(clock, rules=BehaviourRules(default=FIXED))
    overlord.submit(wiki())
    waiting = overlord.list_tasks(TaskQuery(state="waiting"))
    assert waiting.count(b'"id"') == 1
    clock.advance(1.5)
    assert overlord.list_tasks(TaskQuery(state="waiting")) == b"[]"
    assert overlord.list_tasks(TaskQuery(state="pending")).count(b'"id"') == 1


def test_a_large_log_is_served_by_offset_without_building_what_comes_before() -> None:
    clock = Clock(start_ms=0, scale=0)
    fast = TaskBehaviour(
        waiting=Distribution(kind="fixed", value=0),
        pending=Distribution(kind="fixed", value=0),
        run=Distribution(kind="fixed", value=3600),
        log_bytes_per_second=100_000,
    )
    overlord = Overlord(clock, rules=BehaviourRules(default=fast))
    task = overlord.submit(wiki())
    simulation = build_simulation(ServeConfig(scenario=None, time_scale=0, start_ms=0))
    logs = TaskLogs(simulation.pools)
    clock.advance(1000)  # 100 MB of log so far
    now = clock.now_ms()
    size = logs.size(task, Phase.RUNNING, now)
    assert size > 99_000_000
    tail = b"".join(logs.read(task, Phase.RUNNING, now, -5000))
    assert len(tail) == 5000 and tail.endswith(b"\n")
    middle = b"".join(logs.read(task, Phase.RUNNING, now, 50 * BLOCK_SIZE + 17))
    assert len(middle) == size - (50 * BLOCK_SIZE + 17)
