"""Misses: ``--on-miss error`` explains them (599 problem+json, nearest three, what differed, why a
candidate was skipped); ``--on-miss simulate`` lets the model answer, seeded with the cassette's tasks."""

from __future__ import annotations

import logging
from pathlib import Path

import httpx
import pytest

from tests.support.replay import exchange, replay_server, write_cassette

V1 = "/druid/indexer/v1"
TASK = "index_parallel_wiki_abcdefgh_2026-01-01T00:00:00.000Z"
ONLY_LISTED = "index_kafka_koala_ponmlkji_2026-01-01T00:05:00.000Z"


def _status_plus(task_id: str, datasource: str, code: str, runner: str, **extra: object) -> dict[str, object]:
    return {
        "id": task_id,
        "groupId": task_id,
        "type": task_id.split("_" + datasource)[0],
        "createdTime": extra.get("createdTime", "2026-01-01T00:00:00.000Z"),
        "queueInsertionTime": "1970-01-01T00:00:00.000Z",
        "statusCode": code,
        "status": code,
        "runnerStatusCode": runner,
        "duration": extra.get("duration", -1),
        "location": extra.get("location", {"host": None, "port": -1, "tlsPort": -1}),
        "dataSource": datasource,
        "errorMsg": None,
    }


@pytest.fixture
def cassette(tmp_path: Path) -> Path:
    done = _status_plus(TASK, "wiki", "SUCCESS", "NONE", duration=42000)
    running = _status_plus(
        ONLY_LISTED,
        "koala",
        "RUNNING",
        "RUNNING",
        createdTime="2026-01-01T00:05:00.000Z",
        location={"host": "mm-1.example", "port": 8100, "tlsPort": -1},
    )
    return write_cassette(
        tmp_path / "misses.jsonl",
        [
            exchange("GET", f"{V1}/tasks", 200, [done, running], query=[("state", "complete"), ("max", "10")]),
            exchange("GET", f"{V1}/tasks", 200, [running], query=[("state", "running")]),
            exchange("GET", f"{V1}/task/{TASK}/status", 200, {"task": TASK, "status": done}),
            exchange(
                "POST",
                f"{V1}/taskStatus",
                200,
                {TASK: {"id": TASK, "status": "SUCCESS"}},
                request_body=[TASK, "other"],
            ),
        ],
    )


def test_error_mode_answers_599_problem_json_naming_the_query_key_that_differed(cassette: Path) -> None:
    with (
        replay_server(cassette, replay_on_miss="error") as server,
        httpx.Client(base_url=server.url) as client,
    ):
        response = client.get(f"{V1}/tasks", params={"state": "complete", "max": "20"})
    assert response.status_code == 599
    assert response.headers["content-type"] == "application/problem+json"
    problem = response.json()
    assert problem["status"] == 599
    assert problem["request"] == {
        "method": "GET",
        "path": f"{V1}/tasks",
        "query": [["max", "20"], ["state", "complete"]],
    }
    assert len(problem["nearest"]) == 3
    closest = problem["nearest"][0]
    assert (closest["path"], closest["query"]) == (f"{V1}/tasks", [["max", "10"], ["state", "complete"]])
    assert closest["differences"] == [{"part": "query", "name": "max", "recorded": "10", "received": "20"}]
    assert str(cassette) == problem["cassette"]
    assert "--on-miss simulate" in problem["detail"]


def test_error_mode_names_the_json_body_field_that_differed_by_pointer(cassette: Path) -> None:
    with (
        replay_server(cassette, replay_on_miss="error") as server,
        httpx.Client(base_url=server.url) as client,
    ):
        response = client.post(f"{V1}/taskStatus", json=[TASK, "another"])
    closest = response.json()["nearest"][0]
    assert closest["differences"] == [{"part": "body", "name": "/1", "recorded": "other", "received": "another"}]


def test_error_mode_names_method_and_header_differences(cassette: Path) -> None:
    with (
        replay_server(cassette, replay_on_miss="error") as server,
        httpx.Client(base_url=server.url) as client,
    ):
        wrong_method = client.put(f"{V1}/task/{TASK}/status").json()["nearest"][0]
        wrong_type = client.post(
            f"{V1}/taskStatus", content=f'["{TASK}","other"]', headers={"Content-Type": "text/plain"}
        ).json()["nearest"][0]
    assert {"part": "method", "recorded": "GET", "received": "PUT"} in wrong_method["differences"]
    assert wrong_type["differences"] == [
        {"part": "header", "name": "content-type", "recorded": "application/json", "received": "text/plain"}
    ]


def test_a_miss_is_logged_with_the_nearest_requests(cassette: Path, caplog: pytest.LogCaptureFixture) -> None:
    with (
        caplog.at_level(logging.WARNING, logger="druid_sim.replay"),
        replay_server(cassette, replay_on_miss="error") as server,
        httpx.Client(base_url=server.url) as client,
    ):
        client.get(f"{V1}/tasks", params={"state": "waiting"})
    text = caplog.text
    assert "replay miss" in text and f"GET {V1}/tasks?state=waiting" in text
    assert "query state: recorded 'running', received 'waiting'" in text


def test_simulate_mode_answers_the_status_of_a_task_seen_only_in_a_list(cassette: Path) -> None:
    with replay_server(cassette, replay_on_miss="simulate") as server, httpx.Client(base_url=server.url) as client:
        response = client.get(f"{V1}/task/{ONLY_LISTED}/status")
        assert server.simulation.extensions["replay"].miss_count == 1
    assert response.status_code == 200
    status = response.json()["status"]
    assert (status["statusCode"], status["runnerStatusCode"]) == ("RUNNING", "RUNNING")
    assert status["createdTime"] == "2026-01-01T00:05:00.000Z"
    assert status["location"] == {"host": "mm-1.example", "port": 8100, "tlsPort": -1}


def test_simulate_mode_lists_the_recorded_tasks_in_their_last_state_for_another_filter(cassette: Path) -> None:
    with replay_server(cassette, replay_on_miss="simulate") as server, httpx.Client(base_url=server.url) as client:
        complete = client.get(f"{V1}/completeTasks").json()
        wiki = client.get(f"{V1}/tasks", params={"datasource": "wiki"}).json()
    assert [t["id"] for t in complete] == [TASK]
    assert complete[0]["duration"] == 42000
    assert [(t["id"], t["statusCode"]) for t in wiki] == [(TASK, "SUCCESS")]


def test_simulate_mode_accepts_a_new_submission_and_keeps_serving_it(cassette: Path) -> None:
    spec = {"type": "index_parallel", "spec": {"dataSchema": {"dataSource": "fresh"}, "ioConfig": {}}}
    with replay_server(cassette, replay_on_miss="simulate") as server, httpx.Client(base_url=server.url) as client:
        task_id = client.post(f"{V1}/task", json=spec).json()["task"]
        status = client.get(f"{V1}/task/{task_id}/status")
        unknown = client.get(f"{V1}/task/never_seen/status")
    assert status.status_code == 200 and status.json()["status"]["dataSource"] == "fresh"
    assert (unknown.status_code, unknown.text) == (404, "Cannot find any task with id: [never_seen]")


def test_recorded_misses_are_kept_for_the_control_api(cassette: Path) -> None:
    with replay_server(cassette, replay_on_miss="error") as server, httpx.Client(base_url=server.url) as client:
        client.get(f"{V1}/runningTasks")
        misses = list(server.simulation.extensions["replay"].misses)
    assert misses[0]["request"]["path"] == f"{V1}/runningTasks"
    assert misses[0]["answeredBy"] == "replay" and len(misses[0]["nearest"]) == 3


def test_after_a_reset_the_model_still_holds_the_cassette_tasks(cassette: Path) -> None:
    with replay_server(cassette, replay_on_miss="simulate") as server, httpx.Client(base_url=server.url) as client:
        assert client.post("/__sim/reset", json={}).status_code in (200, 204)
        response = client.get(f"{V1}/task/{ONLY_LISTED}/status")
    assert response.status_code == 200
    assert response.json()["status"]["statusCode"] == "RUNNING"


def test_in_a_large_cassette_the_nearest_are_the_same_path_then_the_same_shape(tmp_path: Path) -> None:
    """The near-miss index (method and path shape, then path) finds the recorded request that differs only in
    its query even when it is the last of many polls of the same shape, and same-shape ones for another id."""
    polls = [
        exchange("GET", f"{V1}/task/index_parallel_wiki_{n:06d}/status", 200, {"task": str(n)}) for n in range(300)
    ]
    target = exchange("GET", f"{V1}/task/{TASK}/reports", 200, {}, query=[("full", "true")])
    cassette = write_cassette(tmp_path / "large.jsonl", [*polls, target])
    with (
        replay_server(cassette, replay_on_miss="error") as server,
        httpx.Client(base_url=server.url) as client,
    ):
        other_query = client.get(f"{V1}/task/{TASK}/reports", params={"full": "false"}).json()["nearest"]
        other_id = client.get(f"{V1}/task/index_parallel_wiki_999999/status").json()["nearest"]
    assert other_query[0]["interaction"] == 300
    assert other_query[0]["differences"] == [{"part": "query", "name": "full", "recorded": "true", "received": "false"}]
    assert [near["interaction"] for near in other_id] == [0, 1, 2]
    assert [d["part"] for d in other_id[0]["differences"]] == ["path"]
