"""The built-in scenarios behave like a real cluster where an audience can see it (issue 20 items 8-10).

Item 7 (PENDING beside free slots) is in ``tests/test_model_invariants.py``.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager

import httpx

from druid_sim.config import ServeConfig
from druid_sim.overlord.peon.base import MAX_ROW_BYTES_IN_MEMORY
from tests.support.live import START_MS, LiveServer, live_server

V1 = "/druid/indexer/v1"
PERSISTED = re.compile(rb"Persisted rows\[([\d,]+)\] and \(estimated\) bytes\[([\d,]+)\]")
BODY = {"type": "index_parallel", "spec": {"dataSchema": {"dataSource": "wikipedia"}}}


@contextmanager
def serving(scenario: str | None, seed: int = 0) -> Iterator[tuple[LiveServer, httpx.Client]]:
    config = ServeConfig(scenario=scenario, seed=seed, time_scale=0, start_ms=START_MS)
    with live_server(config) as server, httpx.Client(base_url=server.url, timeout=30) as client:
        yield server, client


def advance(client: httpx.Client, seconds: float) -> None:
    assert client.post("/__sim/clock", json={"advance": seconds}).status_code == 200


def bytes_per_row(log: bytes) -> list[float]:
    return [int(size.replace(b",", b"")) / int(rows.replace(b",", b"")) for rows, size in PERSISTED.findall(log)]


def test_log_growth_persists_believable_bytes_per_row() -> None:
    """Issue 20 item 8: ``Persisted rows[83] and (estimated) bytes[150,458,104]`` (1.8 MB a row). A persist
    the heap budget causes now holds as many rows as fit at a few KB each, as the demo's Kafka tasks do."""
    with serving("log-growth") as (_, client):
        advance(client, 110)
        (running,) = client.get(f"{V1}/runningTasks").json()
        log = client.get(f"{V1}/task/{running['id']}/log", params={"offset": -3_000_000}).content
        ratios = bytes_per_row(log)
        assert len(ratios) >= 10
        assert all(1_000 <= ratio <= MAX_ROW_BYTES_IN_MEMORY for ratio in ratios), (min(ratios), max(ratios))
    with serving("demo") as (_, client):
        advance(client, 600)
        kafka = client.get(f"{V1}/runningTasks", params={"type": "index_kafka"}).json()[0]
        log = client.get(f"{V1}/task/{kafka['id']}/log", params={"offset": -300_000}).content
        assert all(1_000 <= ratio <= MAX_ROW_BYTES_IN_MEMORY for ratio in bytes_per_row(log))


def test_leader_failover_has_tasks_running_through_the_whole_failover() -> None:
    """Issue 20 item 9: the three running tasks ended by t=52 s, before the 503s at t=1m. Now tasks run
    from before the leader is lost until after it is back (t=5m), so a client has something to lose."""
    with serving("leader-failover") as (server, client):
        before = {task["id"] for task in client.get(f"{V1}/runningTasks").json()}
        assert len(before) >= 3
        advance(client, 60)
        assert client.get(f"{V1}/runningTasks").status_code == 503  # the failover has started
        running = server.simulation.overlord.active_tasks(server.simulation.overlord.now())
        assert before <= {task.id for task in running}
        advance(client, 241)
        assert client.get(f"{V1}/runningTasks").status_code == 200  # the leader is back
        after = {task["id"] for task in client.get(f"{V1}/runningTasks").json()}
        assert len(before & after) >= 3  # the Kafka tasks ran through it all


def first_submitted_id(scenario: str | None, seed: int) -> str:
    with serving(scenario, seed) as (_, client):
        task_id: str = client.post(f"{V1}/task", json=BODY).json()["task"]
        return task_id


def random_part(task_id: str) -> str:
    return task_id.split("_")[3]


def test_the_first_submitted_id_depends_on_the_seed_and_the_scenario() -> None:
    """Issue 20 item 10: every server's first task got ``lbeeiggo`` whatever the scenario. Now two
    simulators of different scenarios (or seeds) side by side hand out different ids, and the same
    scenario and seed still the same ones (reference 5: ``<type>_<dataSource>_<random>_<time>``)."""
    parts = {
        (scenario, seed): random_part(first_submitted_id(scenario, seed))
        for scenario in ("demo", "slow-tasks", None)
        for seed in (0, 1)
    }
    assert len(set(parts.values())) == len(parts), parts
    assert all(re.fullmatch("[a-p]{8}", part) for part in parts.values())
    assert random_part(first_submitted_id("demo", 0)) == parts[("demo", 0)]
