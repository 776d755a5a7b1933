"""The Overlord model without HTTP: plans read against a manual clock (reference sections 3 to 6)."""

from __future__ import annotations

import orjson
import pytest

from druid_sim.clock import Clock
from druid_sim.config import ServeConfig
from druid_sim.fields import Context
from druid_sim.overlord.behaviour import BehaviourRules, Distribution, TaskBehaviour
from druid_sim.overlord.logs import BLOCK_SIZE, TaskLogs
from druid_sim.overlord.overlord import DAY_MS, Overlord, Submission, TaskQuery
from druid_sim.overlord.task import Phase
from druid_sim.overlord.workers import WorkerPool
from druid_sim.scenario.model import CATCH_UP_ARRIVALS, CATCH_UP_MS, build_overlord
from druid_sim.scenario.schema import Scenario, read_scenario
from druid_sim.scenario.source import load_yaml
from druid_sim.simulation import build_simulation
from tests.support.live import START_MS

FIXED = TaskBehaviour(
    waiting=Distribution(kind="fixed", value=1),
    pending=Distribution(kind="fixed", value=1),
    run=Distribution(kind="fixed", value=60),
)


def read_scenario_text(text: str) -> Scenario:
    ctx = Context("inline")
    scenario = read_scenario(load_yaml(text, "inline"), ctx, "inline")
    ctx.raise_if_any()
    assert scenario is not None
    return scenario


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


@pytest.mark.parametrize("scenario", ["demo", "flaky-overlord"])  # the demo's come from its supervisors
def test_kafka_tasks_read_the_stream_they_start_on_until_told_to_stop(scenario: str) -> None:
    """An ``index_kafka`` task as a Kafka supervisor makes it (reference 15): its end sequence numbers name the
    stream and partitions it starts from, each at Long.MAX_VALUE until the supervisor sets the end (the Kafka
    task log in docs/druid-tasks-api.md: ``end offsets updated from [{0=9223372036854775807}] to [{0=230985}]``)."""
    simulation = build_simulation(ServeConfig(scenario=scenario, seed=3, time_scale=0, start_ms=START_MS))
    kafka = [task for task in simulation.overlord.tasks.values() if task.type == "index_kafka"]
    assert kafka
    for task in kafka:
        io_config = orjson.loads(task.payload_json)["ioConfig"]
        start, end = io_config["startSequenceNumbers"], io_config["endSequenceNumbers"]
        assert (start["type"], end["type"], end["stream"]) == ("start", "end", start["stream"])
        # Long offsets, written as JSON numbers (a string "9223372036854775807" would not compare equal)
        assert end["partitionSequenceNumberMap"] == dict.fromkeys(start["partitionSequenceNumberMap"], 2**63 - 1)


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


def test_planned_arrivals_do_not_depend_on_how_the_clock_got_there() -> None:
    """Arrival times come from the seed alone: one 2-hour step or 240 half-minute steps, the same tasks."""
    one, many = (build_simulation(ServeConfig(seed=5, time_scale=0, start_ms=START_MS)) for _ in range(2))
    one.clock.advance(2 * 3600)
    one.overlord.now()
    for _ in range(240):
        many.clock.advance(30)
        many.overlord.now()
    assert sorted(one.overlord.tasks) == sorted(many.overlord.tasks) != []
    assert one.overlord.list_tasks(TaskQuery()) == many.overlord.list_tasks(TaskQuery())


def test_a_jump_of_years_adds_only_the_last_two_days_of_arrivals() -> None:
    simulation = build_simulation(ServeConfig(seed=5, time_scale=0, start_ms=START_MS))
    overlord = simulation.overlord
    simulation.clock.advance(3650 * 86400)
    now = overlord.now()
    arrived = [task for task in overlord.tasks.values() if task.created_ms > START_MS]
    assert arrived and min(task.created_ms for task in arrived) >= now - CATCH_UP_MS
    # The demo's arrivals: a load or query every 100 s, a compaction every 4 min, 6 Kafka task groups rolling
    # over hourly: about 2,700 in two days (ten years would be millions); a quarter more for the randomness.
    per_ms = 1 / 100_000 + 1 / 240_000 + 6 / 3_600_000
    assert len(arrived) <= 1.25 * CATCH_UP_MS * per_ms
    assert overlord.list_tasks(TaskQuery()).count(b'"id"') > 100  # the last day's tasks are listed


def test_frequent_arrivals_catch_up_a_bounded_number_of_tasks() -> None:
    clock = Clock(start_ms=START_MS, scale=0)
    scenario = read_scenario_text("description: busy\narrivals: {every: 10s}\n")  # the most frequent a scenario may ask
    overlord = build_overlord(scenario, clock, seed=1)
    clock.advance(30 * 86400)
    overlord.now()
    assert len(overlord.tasks) <= 1.5 * CATCH_UP_ARRIVALS


def test_the_model_forgets_the_oldest_complete_tasks_beyond_its_history() -> None:
    clock = Clock(start_ms=0, scale=0)
    overlord = Overlord(clock, rules=BehaviourRules(default=FIXED), max_complete=50)
    first = overlord.submit(wiki())
    for _ in range(200):
        clock.advance(100)  # each task is complete before the next (a 62-second life)
        overlord.submit(wiki())
    assert len(overlord.tasks) <= 50 + 5 + 1  # forgotten a tenth of the history at a time
    assert overlord.get(first.id) is None  # forgotten, as after metadata retention: 404
    newest = max(overlord.tasks.values(), key=lambda task: task.created_ms)
    assert overlord.list_tasks(TaskQuery(lookback_ms=10 * DAY_MS)).count(b'"id"') == len(overlord.tasks)
    assert overlord.get(newest.id) is newest


def test_a_jump_skips_timeline_bursts_older_than_the_catch_up_window() -> None:
    clock = Clock(start_ms=START_MS, scale=0)
    scenario = read_scenario_text(
        "description: two bursts\ntimeline:\n"
        "  - {at: 1h, submit: {count: 5, datasource: early}}\n"
        "  - {at: 9d, submit: {count: 3, datasource: late}}\n"
    )
    overlord = build_overlord(scenario, clock, seed=1)
    clock.advance(10 * 86400)
    overlord.now()
    assert sorted(task.datasource for task in overlord.tasks.values()) == ["late"] * 3
