"""Same scenario, seed, start time, requests and clock steps → byte-identical responses (two servers)."""

from __future__ import annotations

from pathlib import Path

import httpx

from druid_sim.config import ServeConfig
from tests.support.live import START_MS, live_server

SCENARIO = """\
description: everything random at once - cluster, arrivals, bursts, a failure window, seeded faults
cluster:
  - {count: 15, state: complete}
  - {count: 4, state: running}
  - {count: 3, state: waiting}
arrivals: {every: 40s}
behaviours:
  - run: {lognormal: {median: 90s, sigma: 0.8, cap: 10m}}
    failure_probability: 0.3
faults:
  - {kind: error, status: 503, body: legacy, when: {probability: 0.2, seed: 9}}
  - {kind: error, status: 500, when: {every: 7}}
timeline:
  - {at: 30s, submit: {count: 5, spread: 20s}}
  - {at: 60s, lose_leader: {for: 20s}}
"""


def run(config: ServeConfig) -> list[tuple[int, str | None, bytes]]:
    answers: list[tuple[int, str | None, bytes]] = []
    with live_server(config) as server, httpx.Client(base_url=server.url) as client:
        for step in range(12):
            for path in (
                "/druid/indexer/v1/tasks",
                "/druid/indexer/v1/runningTasks",
                "/druid/indexer/v1/completeTasks",
            ):
                response = client.get(path)
                answers.append((response.status_code, response.headers.get("content-type"), response.content))
            posted = client.post(
                "/druid/indexer/v1/task",
                json={"type": "index", "spec": {"dataSchema": {"dataSource": f"ds{step % 3}"}}},
            )
            answers.append((posted.status_code, posted.headers.get("content-type"), posted.content))
            tasks = client.get("/druid/indexer/v1/tasks").content
            if posted.status_code == 200:
                task_id = posted.json()["task"]
                for suffix in ("/status", "/reports", "/log?offset=-2000"):
                    got = client.get(f"/druid/indexer/v1/task/{task_id}{suffix}")
                    answers.append((got.status_code, got.headers.get("content-type"), got.content))
            answers.append((0, None, tasks))
            server.clock.advance(17.5)
    return answers


def test_two_servers_with_the_same_inputs_answer_byte_for_byte_the_same(tmp_path: Path) -> None:
    path = tmp_path / "everything.yaml"
    path.write_text(SCENARIO)
    config = ServeConfig(scenario=str(path), seed=5, time_scale=0, start_ms=START_MS)
    first, second = run(config), run(config)
    assert first == second
    statuses = {status for status, _, _ in first}
    assert {200, 500, 503} <= statuses  # the faults and the timeline really were exercised
    other_seed = run(ServeConfig(scenario=str(path), seed=6, time_scale=0, start_ms=START_MS))
    assert other_seed != first


def test_the_demo_is_identical_for_the_same_start_time_and_differs_for_another() -> None:
    def listing(start_ms: int) -> bytes:
        config = ServeConfig(scenario="demo", seed=0, time_scale=0, start_ms=start_ms)
        with live_server(config) as server, httpx.Client(base_url=server.url) as client:
            server.clock.advance(600)
            return client.get("/druid/indexer/v1/tasks").content

    assert listing(START_MS) == listing(START_MS)
    assert listing(START_MS) != listing(START_MS + 3_600_000)
