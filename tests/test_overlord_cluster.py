"""Conformance of the Overlord's cluster endpoints (workers, capacity, locks, compaction, segments), over a real socket.

Each test names the section of ``docs/druid-overlord-behaviour.md`` it checks. The server starts empty
with a frozen clock at 2026-01-01T00:00:00Z; tests advance the clock.
"""

from __future__ import annotations

from typing import Any

import httpx

from tests.support.live import LiveServer

V1 = "/druid/indexer/v1"
LOAD: dict[str, Any] = {
    "type": "index_parallel",
    "spec": {
        "dataSchema": {
            "dataSource": "wiki",
            "granularitySpec": {"intervals": ["2025-12-30T00:00:00.000Z/2025-12-31T00:00:00.000Z"]},
        }
    },
}


def submit(client: httpx.Client, body: dict[str, Any]) -> str:
    response = client.post(f"{V1}/task", json=body)
    assert response.status_code == 200, response.text
    task_id: str = response.json()["task"]
    return task_id


def test_13_1_workers_show_each_middle_manager_and_agree_with_the_running_tasks(
    server: LiveServer, client: httpx.Client
) -> None:
    """Reference 13.1: ``ImmutableWorkerInfo`` per MiddleManager, consistent with ``/runningTasks``."""
    ids = {submit(client, LOAD) for _ in range(4)}
    server.clock.advance(20)
    workers = client.get(f"{V1}/workers").json()
    running = {task["id"]: task for task in client.get(f"{V1}/runningTasks").json()}
    assert set(running) == ids
    assert next(list(worker) for worker in workers if worker["runningTasks"]) == [
        "worker",
        "currCapacityUsed",
        "currParallelIndexCapacityUsed",
        "currCapacityUsedByTaskType",
        "availabilityGroups",
        "runningTasks",
        "lastCompletedTaskTime",
    ]
    assert list(workers[0]["worker"]) == ["scheme", "host", "ip", "capacity", "version", "category"]
    assert sum(worker["worker"]["capacity"] for worker in workers) == 9
    on_workers = {task_id for worker in workers for task_id in worker["runningTasks"]}
    assert on_workers == ids
    for worker in workers:
        host = worker["worker"]["host"].rsplit(":", 1)[0]
        assert all(running[task_id]["location"]["host"] == host for task_id in worker["runningTasks"])
        assert worker["currCapacityUsed"] == worker["currParallelIndexCapacityUsed"] == len(worker["runningTasks"])
        assert worker["availabilityGroups"] == worker["runningTasks"]  # a batch task's group is its id


def test_13_2_total_worker_capacity_counts_used_slots_and_no_autoscaler(
    server: LiveServer, client: httpx.Client
) -> None:
    """Reference 13.2: ``TotalWorkerCapacityResponse``, -1 without an autoscaler, used = running tasks."""
    assert client.get(f"{V1}/totalWorkerCapacity").json() == {
        "currentClusterCapacity": 9,
        "maximumCapacityWithAutoScale": -1,
        "usedClusterCapacity": 0,
    }
    submit(client, LOAD)
    server.clock.advance(20)
    assert client.get(f"{V1}/totalWorkerCapacity").json()["usedClusterCapacity"] == 1
    server.clock.advance(3 * 3600)
    workers = client.get(f"{V1}/workers").json()
    assert client.get(f"{V1}/totalWorkerCapacity").json()["usedClusterCapacity"] == 0
    assert any(worker["lastCompletedTaskTime"] > "2026-01-01T00:00:20" for worker in workers)


def test_13_3_scaling_without_an_autoscaler_is_an_empty_200(client: httpx.Client) -> None:
    """Reference 13.3: no entity and no content type at all."""
    response = client.get(f"{V1}/scaling")
    assert response.status_code == 200
    assert response.content == b""
    assert "content-type" not in response.headers


def test_14_2_locked_intervals_are_what_running_and_pending_tasks_lock_at_or_above_a_priority(
    server: LiveServer, client: httpx.Client
) -> None:
    """Reference 14.2: batch loads lock their intervals at priority 50 once out of the queue."""
    submit(client, LOAD)
    filters = [{"datasource": "wiki", "priority": 25}, {"datasource": "other", "priority": 0}]
    assert client.post(f"{V1}/lockedIntervals/v2", json=filters).json() == {}  # still WAITING: no lock yet
    server.clock.advance(20)
    assert client.post(f"{V1}/lockedIntervals/v2", json=filters).json() == {
        "wiki": ["2025-12-30T00:00:00.000Z/2025-12-31T00:00:00.000Z"]
    }
    assert client.post(f"{V1}/lockedIntervals/v2", json=[{"datasource": "wiki", "priority": 60}]).json() == {}


def test_14_2_no_filter_is_a_400_and_a_body_of_the_wrong_shape_is_jacksons(client: httpx.Client) -> None:
    """Reference 14.2: an empty list or no body is "No filter provided"; an object is Jackson's mismatch."""
    for body in (b"[]", b"null", b""):
        response = client.post(f"{V1}/lockedIntervals/v2", content=body, headers={"content-type": "application/json"})
        assert (response.status_code, response.text) == (400, "No filter provided")
    response = client.post(f"{V1}/activeLocks", json={"datasource": "wiki"})
    assert response.status_code == 400
    assert response.json()["error"].startswith("Cannot deserialize value of type `java.util.List<")
    assert client.post(f"{V1}/activeLocks", content=b"[]").status_code == 415
    assert client.get(f"{V1}/activeLocks").status_code == 405


def test_14_3_active_locks_are_time_chunk_locks_of_the_overlapping_intervals(
    server: LiveServer, client: httpx.Client
) -> None:
    """Reference 14.3: ``{"datasourceToLocks": {ds: [TimeChunkLock]}}``, filtered by interval overlap."""
    task_id = submit(client, LOAD)
    server.clock.advance(20)
    policy = {"datasource": "wiki", "priority": 0, "intervals": ["2025-12-30T12:00:00Z/2025-12-30T13:00:00Z"]}
    locks = client.post(f"{V1}/activeLocks", json=[policy]).json()["datasourceToLocks"]["wiki"]
    listed = client.get(f"{V1}/tasks").json()[0]
    assert locks == [
        {
            "granularity": "timeChunk",
            "type": "EXCLUSIVE",
            "groupId": task_id,
            "dataSource": "wiki",
            "interval": "2025-12-30T00:00:00.000Z/2025-12-31T00:00:00.000Z",
            "version": listed["queueInsertionTime"],  # granted when the task left the queue
            "priority": 50,
            "revoked": False,
        }
    ]
    elsewhere = {**policy, "intervals": ["2025-01-01/2025-01-02"]}
    assert client.post(f"{V1}/activeLocks", json=[elsewhere]).json() == {"datasourceToLocks": {}}


def test_16_1_cluster_compaction_config_round_trips_and_drives_is_supervisor_enabled(client: httpx.Client) -> None:
    """Reference 16.1: defaults, a POST replaces the whole config, ``isSupervisorEnabled`` follows it."""
    config = client.get(f"{V1}/compaction/config/cluster").json()
    assert config == {
        "compactionTaskSlotRatio": 0.1,
        "maxCompactionTaskSlots": 2147483647,
        "compactionPolicy": {"type": "newestSegmentFirst"},
        "useSupervisors": False,
        "engine": "native",
    }
    assert client.get(f"{V1}/compaction/isSupervisorEnabled").json() is False
    posted = client.post(f"{V1}/compaction/config/cluster", json={"useSupervisors": True, "engine": "msq"})
    assert posted.json() == {"success": True}
    assert client.get(f"{V1}/compaction/isSupervisorEnabled").json() is True
    assert client.get(f"{V1}/compaction/config/cluster").json()["compactionTaskSlotRatio"] == 0.1
    refused = client.post(f"{V1}/compaction/config/cluster", json={"engine": "spark"})
    assert refused.status_code == 400 and "not one of the values accepted" in refused.json()["error"]
    assert client.get(f"{V1}/compaction/config/cluster").json()["engine"] == "msq"  # a failed call changes nothing


def test_16_2_marking_segments_counts_what_changed_and_remembers_it(server: LiveServer, client: httpx.Client) -> None:
    """Reference 16.2: ``numChangedSegments``; a repeat changes nothing; bad payloads are Druid's 400s."""
    submit(client, LOAD)
    window = {"interval": "2025-12-20T00:00:00.000Z/2025-12-25T00:00:00.000Z"}
    unused = client.post(f"{V1}/datasources/wiki/markUnused", json=window).json()["numChangedSegments"]
    assert unused >= 5
    assert client.post(f"{V1}/datasources/wiki/markUnused", json=window).json() == {"numChangedSegments": 0}
    assert client.post(f"{V1}/datasources/wiki/markUsed", json=window).json() == {"numChangedSegments": unused}
    everything = client.delete(f"{V1}/datasources/wiki").json()["numChangedSegments"]
    assert everything > unused
    assert client.post(f"{V1}/datasources/wiki", json={}).json() == {"numChangedSegments": everything}
    both = client.post(f"{V1}/datasources/wiki/markUsed", json={**window, "segmentIds": ["x"]})
    assert both.status_code == 400 and both.text.startswith("Invalid request payload. Specify either 'interval'")
    bad = client.delete(f"{V1}/datasources/wiki/segments/nonsense")
    assert (bad.status_code, bad.text) == (400, "Could not parse Segment ID[nonsense] for DataSource[wiki]")
