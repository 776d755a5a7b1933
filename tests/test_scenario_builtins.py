"""Each built-in scenario loads and behaves as its one-line description says (virtual clock advanced)."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import httpx
import orjson

from druid_sim.config import ServeConfig
from druid_sim.overlord.overlord import TaskQuery
from druid_sim.simulation import build_simulation
from tests.support.live import START_MS, LiveServer, live_server

V1 = "/druid/indexer/v1"
EVERY_STATE = {"WAITING", "PENDING", "RUNNING", "SUCCESS", "FAILED"}
DEMO_TYPES = ("index_parallel", "index_kafka", "compact", "kill", "query_controller", "index")
DEMO_DATASOURCES = ("wikipedia", "orders", "clickstream_events", "page_views_hourly", "kafka_metrics")


@contextmanager
def scenario(name: str, seed: int = 0) -> Iterator[tuple[LiveServer, httpx.Client]]:
    config = ServeConfig(scenario=name, seed=seed, time_scale=0, start_ms=START_MS)
    with live_server(config) as server, httpx.Client(base_url=server.url, timeout=10) as client:
        yield server, client


def submit(client: httpx.Client, datasource: str) -> httpx.Response:
    spec = {"type": "index_parallel", "spec": {"dataSchema": {"dataSource": datasource}}}
    return client.post(f"{V1}/task", json=spec)


def status_of(client: httpx.Client, task_id: str) -> dict[str, object]:
    status: dict[str, object] = client.get(f"{V1}/task/{task_id}/status").json()["status"]
    return status


def _states(tasks: list[dict[str, Any]]) -> set[str]:
    """The states ``/tasks`` shows: runner states of active tasks, statuses of complete ones (reference 2.1)."""
    return {task["runnerStatusCode"] for task in tasks} & {"WAITING", "PENDING", "RUNNING"} | {
        task["status"] for task in tasks
    } & {"SUCCESS", "FAILED"}


def test_demo_is_busy_every_state_several_types_and_new_tasks_arrive() -> None:
    with scenario("demo") as (server, client):
        tasks = client.get(f"{V1}/tasks").json()
        assert _states(tasks) == EVERY_STATE
        assert {task["type"] for task in tasks} == set(DEMO_TYPES)
        assert {task["dataSource"] for task in tasks} == set(DEMO_DATASOURCES)
        server.clock.advance(3600)
        later = client.get(f"{V1}/tasks").json()
        assert len({task["id"] for task in later} - {task["id"] for task in tasks}) >= 10
        assert _states(later) >= EVERY_STATE - {"PENDING"}
        for _ in range(8):  # a few more loads than free slots: the newest queue as PENDING
            submit(client, "orders")
        server.clock.advance(10)
        assert "PENDING" in _states(client.get(f"{V1}/tasks").json())


def test_the_readme_examples_find_what_they_show_in_the_demo() -> None:
    """README: orders has complete tasks in the last day, Kafka tasks run, tasks wait and are pending."""
    with scenario("demo") as (server, client):
        assert client.get(f"{V1}/pendingTasks").json()  # the cluster starts full: a compaction queues
        for _ in range(3):
            orders = client.get(
                f"{V1}/tasks", params={"datasource": "orders", "createdTimeInterval": "2015-09-12_2015-09-13"}
            )
            assert {task["status"] for task in orders.json()} >= {"SUCCESS"}
            assert {task["dataSource"] for task in orders.json()} == {"orders"}
            kafka = client.get(f"{V1}/runningTasks", params={"type": "index_kafka"}).json()
            assert kafka and {task["type"] for task in kafka} == {"index_kafka"}
            assert client.get(f"{V1}/waitingTasks").json()
            server.clock.advance(17 * 60)


def test_demo_shows_every_state_from_the_first_minute_whatever_the_seed_and_start() -> None:
    """Any default seed, any minute the demo starts at: WAITING, RUNNING, SUCCESS and FAILED every minute,
    and PENDING at the start and for many minutes of the first ninety: whenever every slot is busy (a
    real Overlord hands a free slot to a pending task at once, so PENDING beside free slots never shows)."""
    for seed in (0, 1, 2):
        for start in (START_MS, START_MS + 7 * 60_000, START_MS + 33 * 60_000):
            simulation = build_simulation(ServeConfig(scenario="demo", seed=seed, time_scale=0, start_ms=start))
            pending_minutes = 0
            for minute in range(90):
                tasks = orjson.loads(simulation.overlord.list_tasks(TaskQuery()))
                assert _states(tasks) >= EVERY_STATE - {"PENDING"}, (seed, start, minute)
                assert minute > 0 or "PENDING" in _states(tasks), (seed, start)
                pending_minutes += "PENDING" in _states(tasks)
                simulation.clock.advance(60)
            assert pending_minutes >= 10, (seed, start)


def test_slow_tasks_run_ten_to_forty_minutes_and_wait_for_one_of_four_slots() -> None:
    with scenario("slow-tasks") as (server, client):
        assert len(client.get(f"{V1}/runningTasks").json()) <= 4
        assert client.get(f"{V1}/pendingTasks").json()
        task_id = submit(client, "wikipedia").json()["task"]
        server.clock.advance(9 * 60)
        assert status_of(client, task_id)["status"] == "RUNNING"
        for _ in range(30):
            server.clock.advance(5 * 60)
            status = status_of(client, task_id)
            if status["status"] != "RUNNING":
                break
        assert status["status"] == "SUCCESS"
        assert 600_000 <= int(str(status["duration"])) <= 2_400_000


def test_failing_ingestion_fails_half_and_every_orders_task_in_its_window() -> None:
    with scenario("failing-ingestion") as (server, client):
        complete = client.get(f"{V1}/completeTasks").json()
        assert Counter(task["status"] for task in complete) == {"FAILED": 12, "SUCCESS": 8}
        server.clock.advance(150)  # inside the 2m-12m window
        orders = [submit(client, "orders").json()["task"] for _ in range(3)]
        server.clock.advance(10 * 60)
        for task_id in orders:
            status = status_of(client, task_id)
            assert status["status"] == "FAILED"
            assert "AmazonS3Exception: Access Denied" in str(status["errorMsg"])


def test_log_growth_serves_hundreds_of_megabytes_by_offset() -> None:
    with scenario("log-growth") as (server, client):
        server.clock.advance(135)  # about 253 MB: 2 MB a virtual second once the peon is up (t=3s + start-up)
        (running,) = client.get(f"{V1}/runningTasks").json()
        log = f"{V1}/task/{running['id']}/log"
        deep = client.get(log, params={"offset": 250_000_000})
        assert deep.status_code == 200 and 1_000_000 < len(deep.content) < 10_000_000
        assert deep.headers["content-type"] == "text/plain; charset=UTF-8"
        assert client.get(log, params={"offset": 260_000_000}).content == b""
        tail = client.get(log, params={"offset": -4096})
        assert len(tail.content) == 4096 and tail.content.endswith(b"\n")
        server.clock.advance(1)
        grown = client.get(log, params={"offset": 250_000_000})
        assert grown.content.startswith(deep.content)
        assert len(grown.content) - len(deep.content) > 1_900_000  # 2 MB per virtual second


def test_flaky_overlord_is_slow_and_fails_or_resets_a_fraction_of_requests() -> None:
    with scenario("flaky-overlord") as (server, client):
        server.clock.set_scale(10_000)  # latencies of a few hundred virtual ms pass in microseconds
        outcomes: Counter[str] = Counter()
        for _ in range(200):
            try:
                outcomes[str(client.get(f"{V1}/tasks").status_code)] += 1
            except httpx.ReadError:
                outcomes["reset"] += 1
        assert outcomes["200"] > 120
        assert outcomes["500"] > 5 and outcomes["503"] > 2 and outcomes["reset"] > 2
        listed = {fault["name"]: fault for fault in server.simulation.extensions["faults"].describe()}
        assert listed["slow"]["fired"] == 200


def test_leader_failover_answers_503_then_redirects_then_recovers() -> None:
    with scenario("leader-failover") as (server, client):
        assert client.get(f"{V1}/tasks").status_code == 200
        server.clock.advance(60)
        lost = client.get(f"{V1}/tasks")
        assert lost.status_code == 503 and "Unable to determine destination" in lost.json()["error"]
        server.clock.advance(30)
        moved = client.get(f"{V1}/tasks", params={"state": "running"})
        assert moved.status_code == 307
        assert moved.headers["location"] == "http://druid-overlord-2.internal:8090/druid/indexer/v1/tasks?state=running"
        assert client.get(f"{V1}/isLeader").status_code == 404
        server.clock.advance(210)
        assert client.get(f"{V1}/tasks").status_code == 200
        assert client.get(f"{V1}/isLeader").json() == {"leader": True}


def test_queue_full_rejects_submissions_until_tasks_finish() -> None:
    with scenario("queue-full") as (server, client):
        refused = submit(client, "wikipedia")
        assert refused.status_code == 429
        assert refused.json()["category"] == "CAPACITY_EXCEEDED"
        assert "Task queue already contains [10] tasks" in refused.json()["errorMessage"]
        server.clock.advance(6 * 60)  # the two running tasks finish
        assert submit(client, "wikipedia").status_code == 200
