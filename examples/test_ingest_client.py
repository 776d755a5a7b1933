"""Testing an ingestion client against druid-sim with the ``druid_sim`` pytest fixture.

Each test gets a real server (``druid_sim.url``) at the start of ``ingest-scenario.yaml`` with a
frozen virtual clock. The client's ``sleep`` advances that clock, so a three-hour task, a ten-minute
timeout and exponential backoff all run in milliseconds, and the journal shows exactly what the
client sent.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest

from druid_sim.pytest_plugin import DruidSim
from examples.ingest_client import DruidUnavailable, IngestClient, TaskFailed, TaskTimedOut

pytestmark = pytest.mark.druid_sim(scenario="ingest-scenario.yaml")

TASK = "/druid/indexer/v1/task"


def spec(datasource: str) -> dict[str, Any]:
    return {
        "type": "index_parallel",
        "spec": {
            "dataSchema": {"dataSource": datasource, "timestampSpec": {"column": "time", "format": "iso"}},
            "ioConfig": {"type": "index_parallel", "inputSource": {"type": "inline", "data": "{}"}},
        },
    }


@pytest.fixture
def client_for() -> Iterator[Callable[..., IngestClient]]:
    """Makes the client under test on druid-sim's virtual clock (sleeping moves virtual time); closes it after."""
    made: list[IngestClient] = []

    def make(druid_sim: DruidSim, **options: Any) -> IngestClient:
        client = IngestClient(druid_sim.url, sleep=druid_sim.advance, clock=druid_sim.now_seconds, **options)
        made.append(client)
        return client

    yield make
    for client in made:
        client.close()


def test_a_quick_task_succeeds_after_a_few_polls(druid_sim: DruidSim, client_for: Callable[..., IngestClient]) -> None:
    status = client_for(druid_sim, poll_interval=10).run(spec("wikipedia"), timeout=600)
    assert status["status"] == "SUCCESS" and status["dataSource"] == "wikipedia"
    assert druid_sim.count("POST", TASK) == 1
    polls = druid_sim.count("GET", f"{TASK}/*/status")
    assert polls == 5  # done at 33 s (waiting 1 s, pending 2 s, running 30 s); polled at 0, 10, ..., 40 s
    assert druid_sim.count("POST", f"{TASK}/*/shutdown") == 0


def test_a_slow_task_is_shut_down_when_the_wait_times_out(
    druid_sim: DruidSim, client_for: Callable[..., IngestClient]
) -> None:
    client = client_for(druid_sim, poll_interval=60)
    with pytest.raises(TaskTimedOut) as timed_out:
        client.run(spec("slow_events"), timeout=600)
    shutdowns = druid_sim.journal("POST", f"{TASK}/*/shutdown")
    assert [entry["path"] for entry in shutdowns] == [f"{TASK}/{timed_out.value.task_id}/shutdown"]
    assert shutdowns[0]["time"] == "2026-01-01T00:10:00.000Z"  # exactly at the timeout, virtual time
    status = druid_sim.http.get(f"{TASK}/{timed_out.value.task_id}/status").json()["status"]
    assert (status["status"], status["errorMsg"]) == ("FAILED", "Shutdown request from user")


def test_a_failing_task_raises_with_druids_error_message(
    druid_sim: DruidSim, client_for: Callable[..., IngestClient]
) -> None:
    with pytest.raises(TaskFailed) as failed:
        client_for(druid_sim).run(spec("broken_events"), timeout=600)
    assert failed.value.status["errorMsg"] == "Max parse exceptions[0] exceeded"
    assert druid_sim.count("POST", f"{TASK}/*/shutdown") == 0


def test_a_flaky_overlord_is_retried_with_backoff(druid_sim: DruidSim, client_for: Callable[..., IngestClient]) -> None:
    druid_sim.add_fault(name="submit-503", kind="error", status=503, routes=[TASK], methods=["POST"], when={"first": 2})
    druid_sim.add_fault(name="status-reset", kind="reset", routes=[f"{TASK}/*/status"], when={"nth": 2})
    status = client_for(druid_sim, poll_interval=10).run(spec("wikipedia"), timeout=600)
    assert status["status"] == "SUCCESS"
    submits = druid_sim.journal("POST", TASK)
    assert [(entry["status"], entry["answeredBy"]) for entry in submits] == [
        (503, "fault"),
        (503, "fault"),
        (200, "model"),
    ]
    # backoff on the virtual clock: 0.5 s, then 1 s
    assert [entry["timeMillis"] - submits[0]["timeMillis"] for entry in submits] == [0, 500, 1500]
    assert druid_sim.count(fault="status-reset") == 1


def test_an_overlord_that_stays_down_gives_up_after_the_retries(
    druid_sim: DruidSim, client_for: Callable[..., IngestClient]
) -> None:
    druid_sim.add_fault(kind="no_leader")
    with pytest.raises(DruidUnavailable, match="failed 3 times; last: HTTP 503"):
        client_for(druid_sim, retries=2).run(spec("wikipedia"))
    assert druid_sim.count("POST", TASK, answered_by="fault") == 3


def test_a_leader_change_is_followed_and_remembered(
    druid_sim: DruidSim, client_for: Callable[..., IngestClient]
) -> None:
    port = druid_sim.url.rsplit(":", 1)[1]
    new_leader = f"http://localhost:{port}"  # the same server under another name: the "other" Overlord
    druid_sim.add_fault(name="election", kind="no_leader", when={"first": 1})
    druid_sim.add_fault(name="failover", kind="redirect", to=new_leader, when={"first": 1})
    client = client_for(druid_sim, poll_interval=10)
    status = client.run(spec("wikipedia"), timeout=600)
    assert status["status"] == "SUCCESS"
    assert client.url == new_leader
    answers = [(entry["status"], entry["fault"]) for entry in druid_sim.journal("POST", TASK)]
    assert answers == [(503, "election"), (307, "failover"), (200, None)]
