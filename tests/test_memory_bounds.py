"""What a server holds is bounded by its flags: ``--max-complete-tasks`` and ``--queue-max-size`` (issue 22).

Run as users run it (``druid-sim serve`` in its own process, over a real socket). The complete-task
history forgets its oldest tasks, which then answer as tasks Druid never had (reference 2.5: an unknown
id), as after Druid's metadata cleanup; the queue refuses a submission past Druid's
``druid.indexer.queue.maxSize`` with its 429 (reference 2.11) and the refused submission changes nothing.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

import httpx
import pytest

from tests.support.served import DRUID_SIM, served

V1 = "/druid/indexer/v1"
SPEC = {"type": "index_parallel", "spec": {"dataSchema": {"dataSource": "wikipedia"}}}
FROZEN = ("--time-scale", "0", "--start-time", "2026-01-01T00:00:00Z", "--no-access-log")
#: A cluster with nothing of its own: every task in it is one these tests submitted, each running 10 minutes.
QUIET = """
description: Only what the client submits, on 4 slots; every task runs 10 minutes and succeeds.
datasources: [wikipedia]
task_types: [index_parallel]
workers: {middle_managers: 1, capacity: 4}
behaviours:
  - run: 10m
    failure_probability: 0
"""


@pytest.fixture
def quiet(tmp_path: Path) -> tuple[str, ...]:
    scenario = tmp_path / "quiet.yaml"
    scenario.write_text(QUIET)
    return ("--scenario", str(scenario), "--data-dir", str(tmp_path), *FROZEN)


def submit(client: httpx.Client) -> str:
    response = client.post(f"{V1}/task", json=SPEC)
    assert response.status_code == 200, response.text
    task_id: str = response.json()["task"]
    return task_id


def advance(client: httpx.Client, by: str) -> None:
    assert client.post("/__sim/clock", json={"advance": by}).status_code == 200


def unknown(client: httpx.Client, task_id: str) -> tuple[int, bytes]:
    """What ``GET /task/{id}/status`` answers for ``task_id``, with the id itself blanked out."""
    response = client.get(f"{V1}/task/{task_id}/status")
    return response.status_code, response.content.replace(task_id.encode(), b"ID")


def test_max_complete_tasks_keeps_only_the_newest_complete_tasks_across_resets(quiet: tuple[str, ...]) -> None:
    with served("--max-complete-tasks", "5", *quiet) as running, httpx.Client(base_url=running.url) as client:
        for _round in range(2):  # the bound holds after a reset too: the reset model is built with it
            ids = []
            for _ in range(12):
                ids.append(submit(client))
                advance(client, "1h")
            # each task ran its 10 minutes within the hour after it: all are complete, within the 24 hours
            # /completeTasks shows by default (reference 2.1)
            complete = {task["id"] for task in client.get(f"{V1}/completeTasks").json()}
            # forgetting runs as a task is added, in batches of a tenth of the bound (at least one task), and
            # keeps the tasks active then (here the one just submitted): 5 to 7 are held
            assert 5 <= len(complete) <= 7 and complete == set(ids[-len(complete) :])
            assert client.get(f"{V1}/tasks").json() == client.get(f"{V1}/completeTasks").json()
            never = unknown(client, "index_parallel_never_submitted")
            for forgotten in ids[: -len(complete)]:
                assert unknown(client, forgotten) == never
            for kept in complete:
                status = client.get(f"{V1}/task/{kept}/status").json()["status"]
                assert status["id"] == kept and status["statusCode"] in ("SUCCESS", "FAILED")
            assert client.post("/__sim/reset", json={}).status_code == 200


def test_active_tasks_are_never_forgotten_however_small_the_history(quiet: tuple[str, ...]) -> None:
    with served("--max-complete-tasks", "1", *quiet) as running, httpx.Client(base_url=running.url) as client:
        done = [submit(client) for _ in range(3)]
        advance(client, "1h")
        active = [submit(client) for _ in range(4)]  # the clock is frozen: all four stay active
        held = {task["id"] for task in client.get(f"{V1}/tasks").json()}
        assert held == {done[-1], *active}


def test_queue_max_size_refuses_a_submission_with_druids_429_and_changes_nothing(quiet: tuple[str, ...]) -> None:
    with served("--queue-max-size", "2", *quiet) as running, httpx.Client(base_url=running.url) as client:
        first = [submit(client), submit(client)]
        refused = client.post(f"{V1}/task", json=SPEC)
        assert refused.status_code == 429
        assert refused.json() == {
            "error": "druidException",
            "errorCode": "general",
            "persona": "ADMIN",
            "category": "CAPACITY_EXCEEDED",
            "errorMessage": "Task queue already contains [2] tasks. Retry later or increase "
            "'druid.indexer.queue.maxSize'[2].",
            "context": {},
        }
        assert {task["id"] for task in client.get(f"{V1}/tasks").json()} == set(first)
        advance(client, "7d")  # both finish: the queue has room again
        assert submit(client) not in first


def test_the_queue_flag_overrides_a_scenarios_queue_max_size() -> None:
    """``queue-full`` declares a queue of its own; the flag is the operator's word over it."""
    args = ("--scenario", "queue-full", "--queue-max-size", "100000", *FROZEN)
    with served(*args) as running, httpx.Client(base_url=running.url) as client:
        cluster = client.get("/__sim/cluster").json()
        assert cluster["queue"]["maxSize"] == 100000
        assert client.post(f"{V1}/task", json=SPEC).status_code == 200


def test_bad_bounds_are_refused_before_anything_is_served() -> None:
    for flag, fix in (
        ("--max-complete-tasks", "--max-complete-tasks must be at least 1 (default 100000)"),
        ("--queue-max-size", "--queue-max-size must be at least 1"),
    ):
        done = subprocess.run(
            [*DRUID_SIM, "serve", flag, "0", "--port", "0"], capture_output=True, text=True, timeout=60
        )
        assert done.returncode == 2
        assert fix in done.stderr and "Traceback" not in done.stderr
