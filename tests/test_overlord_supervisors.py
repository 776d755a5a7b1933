"""Conformance of the supervisor API (``SupervisorResource``) and the supervisor model, over a real socket.

Each test names the section of ``docs/druid-overlord-behaviour.md`` it checks. The server starts empty
with a frozen clock at 2026-01-01T00:00:00Z; tests advance the clock instead of sleeping.
"""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import httpx
import orjson

from tests.support.live import LiveServer

V1 = "/druid/indexer/v1"
SUP = f"{V1}/supervisor"
SPEC: dict[str, Any] = {
    "type": "kafka",
    "spec": {
        "dataSchema": {"dataSource": "wiki", "timestampSpec": {"column": "ts"}, "dimensionsSpec": {"dimensions": []}},
        "ioConfig": {
            "topic": "wiki-edits",
            "consumerProperties": {"bootstrap.servers": "kafka:9092"},
            "taskCount": 2,
            "replicas": 1,
            "taskDuration": "PT1H",
        },
        "tuningConfig": {"type": "kafka"},
    },
}
REPORT_FIELDS = [
    "id",
    "dataSource",
    "stream",
    "partitions",
    "replicas",
    "durationSeconds",
    "activeTasks",
    "publishingTasks",
    "latestOffsets",
    "minimumLag",
    "aggregateLag",
    "offsetsLastUpdated",
    "suspended",
    "healthy",
    "state",
    "detailedState",
    "recentErrors",
]


def create(client: httpx.Client, spec: dict[str, Any] | None = None, **params: str) -> httpx.Response:
    return client.post(SUP, json=spec or SPEC, params=params)


def payload(client: httpx.Client, supervisor_id: str = "wiki") -> dict[str, Any]:
    response = client.get(f"{SUP}/{supervisor_id}/status")
    assert response.status_code == 200, response.text
    report: dict[str, Any] = response.json()["payload"]
    return report


def kafka_tasks(client: httpx.Client, **params: str) -> list[dict[str, Any]]:
    tasks: list[dict[str, Any]] = client.get(f"{V1}/tasks", params={"type": "index_kafka", **params}).json()
    return tasks


def test_15_1_create_answers_the_id_and_starts_task_groups_through_the_task_model(
    server: LiveServer, client: httpx.Client
) -> None:
    """Reference 15.1, 15.4: ``{"id": ...}``; one ``index_kafka`` task per task group after ``startDelay``."""
    response = create(client)
    assert (response.status_code, response.json()) == (200, {"id": "wiki"})
    assert client.get(SUP).json() == ["wiki"]
    assert payload(client)["state"] == "PENDING"
    server.clock.advance(60)
    tasks = kafka_tasks(client)
    assert len(tasks) == 2
    assert {task["groupId"] for task in tasks} == {"index_kafka_wiki"}
    assert all(task["id"].startswith("index_kafka_wiki_") and task["statusCode"] == "RUNNING" for task in tasks)
    report = payload(client)
    assert list(report) == REPORT_FIELDS
    assert (report["state"], report["detailedState"], report["healthy"]) == ("RUNNING", "RUNNING", True)
    assert sorted(task["id"] for task in report["activeTasks"]) == sorted(task["id"] for task in tasks)
    assert list(report["activeTasks"][0]) == [
        "id",
        "startingOffsets",
        "startTime",
        "remainingSeconds",
        "type",
        "currentOffsets",
        "lag",
    ]
    payloads = [client.get(f"{V1}/task/{task['id']}").json()["payload"] for task in tasks]
    assert sorted(p["ioConfig"]["taskGroupId"] for p in payloads) == [0, 1]
    assert all(p["ioConfig"]["startSequenceNumbers"]["stream"] == "wiki-edits" for p in payloads)


def test_15_4_offsets_and_lag_move_with_the_clock_and_tasks_roll_over_after_task_duration(
    server: LiveServer, client: httpx.Client
) -> None:
    """Reference 15.4: latest offsets grow; after ``taskDuration`` the next generation reads while the old publishes.
    Reference 15.6: the stats of each reading and publishing task, in Druid's shape."""
    create(client)
    server.clock.advance(60)
    before = payload(client)
    server.clock.advance(600)
    after = payload(client)
    assert all(after["latestOffsets"][p] > before["latestOffsets"][p] for p in before["latestOffsets"])
    assert after["aggregateLag"] == sum(after["minimumLag"].values())
    first = {task["id"] for task in after["activeTasks"]}
    server.clock.advance(3000 + 60)  # past the hour, within the publishing minutes
    rolled = payload(client)
    assert {task["id"] for task in rolled["publishingTasks"]} == first
    assert all(task["type"] == "PUBLISHING" for task in rolled["publishingTasks"])
    assert {task["id"] for task in rolled["activeTasks"]}.isdisjoint(first)
    server.clock.advance(600)
    done = {task["id"]: task["statusCode"] for task in kafka_tasks(client, state="complete")}
    assert set(done) == first and set(done.values()) == {"SUCCESS"}
    stats = client.get(f"{SUP}/wiki/stats").json()
    assert sorted(stats) == ["0", "1"]
    totals = next(iter(stats["0"].values()))["totals"]["buildSegments"]
    assert totals["processed"] > 0
    row = {"processed", "processedBytes", "processedWithError", "thrownAway", "unparseable"}
    for task in (task for group in stats.values() for task in group.values()):
        assert set(task) == {"movingAverages", "totals"} and set(task["totals"]["buildSegments"]) == row
        averages = task["movingAverages"]["buildSegments"]
        assert set(averages) == {"1m", "5m", "15m"} and all(set(average) == row for average in averages.values())
        assert averages["1m"]["thrownAway"] == averages["1m"]["unparseable"] == 0  # the simulator's rows parse


def test_15_8_suspend_publishes_and_ends_tasks_and_resume_starts_new_ones(
    server: LiveServer, client: httpx.Client
) -> None:
    """Reference 15.8: the spec with ``suspended``; a second suspend is a 400; resume reads again."""
    create(client)
    server.clock.advance(120)
    running = {task["id"] for task in kafka_tasks(client, state="running")}
    suspended = client.post(f"{SUP}/wiki/suspend")
    assert suspended.status_code == 200 and suspended.json()["suspended"] is True
    again = client.post(f"{SUP}/wiki/suspend")
    assert (again.status_code, again.json()) == (400, {"error": "[wiki] is already suspended"})
    report = payload(client)
    assert (report["state"], report["detailedState"], report["suspended"]) == ("SUSPENDED", "SUSPENDED", True)
    assert "latestOffsets" not in report
    server.clock.advance(300)  # publishing takes at most three minutes
    assert {task["id"]: task["statusCode"] for task in kafka_tasks(client)} == dict.fromkeys(running, "SUCCESS")
    listed = client.get(SUP, params={"system": ""}).json()[0]
    assert listed["suspended"] is True and listed["type"] == "kafka" and listed["source"] == "wiki-edits"
    assert orjson.loads(listed["specString"]) == client.get(f"{SUP}/wiki").json()  # 15.2: the spec as a JSON string
    resumed = client.post(f"{SUP}/wiki/resume")
    assert resumed.status_code == 200 and resumed.json()["suspended"] is False
    assert client.post(f"{SUP}/wiki/resume").json() == {"error": "[wiki] is already running"}
    server.clock.advance(60)
    assert len(kafka_tasks(client, state="running")) == 2
    assert payload(client)["aggregateLag"] > 0  # the backlog of the suspended minutes


def test_15_9_terminate_ends_the_tasks_removes_the_supervisor_and_leaves_a_tombstone(
    server: LiveServer, client: httpx.Client
) -> None:
    """Reference 15.9, 15.7: ``{"id"}``, then the filter's 404; the history's newest entry is a ``NoopSupervisorSpec``."""
    create(client)
    server.clock.advance(120)
    assert client.post(f"{SUP}/wiki/terminate").json() == {"id": "wiki"}
    assert client.get(SUP).json() == []
    gone = client.get(f"{SUP}/wiki/status")
    assert (gone.status_code, gone.headers["content-type"], gone.text) == (
        404,
        "text/plain",
        "Cannot find any supervisor with id: [wiki]",
    )
    history = client.get(f"{SUP}/wiki/history").json()
    assert [entry["spec"]["type"] for entry in history] == ["NoopSupervisorSpec", "kafka"]
    assert history[0]["spec"]["dataSources"] == ["wiki"] and list(history[0]) == ["spec", "version"]
    assert list(client.get(f"{SUP}/history").json()) == ["wiki"]
    server.clock.advance(300)
    assert {task["statusCode"] for task in kafka_tasks(client)} == {"SUCCESS"}
    assert client.get(f"{SUP}/nope/history").json() == {"error": "No history for [nope]."}
    assert client.get(f"{SUP}/wiki/history", params={"count": "0"}).json() == {
        "error": "Count must be greater than zero if set (count was 0)"
    }


def test_15_1_skip_restart_if_unmodified_and_updates_that_change_the_stream(
    server: LiveServer, client: httpx.Client
) -> None:
    """Reference 15.1: an unchanged spec with ``skipRestartIfUnmodified`` keeps the tasks; a new topic is refused."""
    create(client)
    server.clock.advance(60)
    tasks = {task["id"] for task in kafka_tasks(client)}
    assert create(client, skipRestartIfUnmodified="true").json() == {"id": "wiki"}
    server.clock.advance(60)
    assert {task["id"] for task in kafka_tasks(client)} == tasks
    assert len(client.get(f"{SUP}/wiki/history").json()) == 1
    moved = copy.deepcopy(SPEC)
    moved["spec"]["ioConfig"]["topic"] = "other"
    refused = create(client, moved)
    assert refused.status_code == 400
    body = refused.json()
    assert (body["errorCode"], body["category"]) == ("invalidInput", "INVALID_INPUT")
    assert body["errorMessage"].startswith("Update of the input source stream from [wiki-edits] to [other]")
    more = copy.deepcopy(SPEC)
    more["spec"]["ioConfig"]["taskCount"] = 3
    assert create(client, more).status_code == 200
    assert len(client.get(f"{SUP}/wiki/history").json()) == 2


def test_15_1_bad_specs_get_jacksons_and_druids_errors_and_change_nothing(client: httpx.Client) -> None:
    """Reference 15.1: missing or unknown type, a missing topic or bootstrap servers, no JSON, no body."""
    missing = create(client, {"spec": SPEC["spec"]})
    assert missing.json()["error"].endswith("missing type id property 'type'")
    unknown = create(client, {**SPEC, "type": "pulsar"})
    assert "Could not resolve type id 'pulsar'" in unknown.json()["error"]
    no_topic = copy.deepcopy(SPEC)
    del no_topic["spec"]["ioConfig"]["topic"]
    assert create(client, no_topic).json() == {
        "error": "Cannot construct instance of `org.apache.druid.indexing.kafka.supervisor.KafkaSupervisorIOConfig`, "
        "problem: Either topic or topicPattern must be specified"
    }
    no_brokers = copy.deepcopy(SPEC)
    no_brokers["spec"]["ioConfig"]["consumerProperties"] = {}
    assert "must contain entry for [bootstrap.servers]" in create(client, no_brokers).json()["error"]
    wrong_shape = copy.deepcopy(SPEC)
    wrong_shape["spec"]["tuningConfig"] = "fast"
    assert (
        create(client, wrong_shape)
        .json()["error"]
        .startswith(
            "Cannot deserialize value of type `org.apache.druid.indexing.kafka.supervisor.KafkaSupervisorTuningConfig` "
            "from String value"
        )
    )
    assert create(client, {**SPEC, "context": [1]}).status_code == 400
    assert client.post(SUP, content=b"{}", headers={"content-type": "text/plain"}).status_code == 415
    empty = client.post(SUP, content=b"", headers={"content-type": "application/json"})
    assert empty.status_code == 500 and "text/html" in empty.headers["content-type"]
    assert client.get(SUP).json() == []


def test_15_5_health_and_state_follow_scripted_stream_troubles(
    server: LiveServer, client: httpx.Client, tmp_path: Path
) -> None:
    """Reference 15.5: LOST_CONTACT_WITH_STREAM after three failed runs, 503 health, stream errors; then healthy."""
    scenario = tmp_path / "troubled.yaml"
    scenario.write_text(
        "description: A supervisor whose brokers go away for ten minutes.\n"
        "datasources: [wiki]\n"
        "supervisors:\n"
        "  - {datasource: wiki, stream: edits, task_count: 1, running_since: 10m,\n"
        "     troubles: [{kind: stream_unreachable, at: 5m, for: 10m}]}\n"
    )
    assert client.post("/__sim/scenario", json={"scenario": str(scenario)}).status_code == 200
    assert client.get(f"{SUP}/wiki/health").json() == {"healthy": True}
    server.clock.advance(5 * 60 + 120)
    report = payload(client)
    assert (report["state"], report["detailedState"], report["healthy"]) == (
        "UNHEALTHY_SUPERVISOR",
        "LOST_CONTACT_WITH_STREAM",
        False,
    )
    assert len(report["recentErrors"]) == 3
    assert report["recentErrors"][-1]["exceptionClass"] == "org.apache.kafka.common.errors.TimeoutException"
    unhealthy = client.get(f"{SUP}/wiki/health")
    assert (unhealthy.status_code, unhealthy.json()) == (503, {"healthy": False})
    server.clock.advance(15 * 60)
    assert payload(client)["state"] == "RUNNING"
    assert client.get(f"{SUP}/wiki/health").status_code == 200


def test_15_10_reset_kills_the_tasks_and_restarts_from_the_latest_offsets(
    server: LiveServer, client: httpx.Client
) -> None:
    """Reference 15.10: ``{"id"}``; the group's tasks are shut down and new ones start at the next run."""
    create(client)
    server.clock.advance(60)
    old = {task["id"] for task in kafka_tasks(client)}
    assert client.post(f"{SUP}/wiki/reset").json() == {"id": "wiki"}
    server.clock.advance(60)
    tasks = {task["id"]: task for task in kafka_tasks(client)}
    assert {tasks[task_id]["statusCode"] for task_id in old} == {"FAILED"}
    assert len([task for task in tasks.values() if task["statusCode"] == "RUNNING"]) == 2
    partition = next(iter(payload(client)["latestOffsets"]))
    reset = client.post(
        f"{SUP}/wiki/resetOffsets",
        json={
            "type": "kafka",
            "partitions": {"type": "end", "stream": "wiki-edits", "partitionOffsetMap": {partition: 5}},
        },
    )
    assert reset.json() == {"id": "wiki"}
    wrong = client.post(
        f"{SUP}/wiki/resetOffsets",
        json={"type": "kafka", "partitions": {"type": "end", "stream": "nope", "partitionOffsetMap": {"0": 5}}},
    )
    assert wrong.status_code == 400


def test_15_11_suspend_all_resume_all_terminate_all(server: LiveServer, client: httpx.Client) -> None:
    """Reference 15.11: ``{"status": "success"}`` and every supervisor the user may write is acted on."""
    create(client)
    other = copy.deepcopy(SPEC)
    other["spec"]["dataSchema"]["dataSource"] = "orders"
    create(client, other)
    assert client.post(f"{SUP}/suspendAll").json() == {"status": "success"}
    assert {s["suspended"] for s in client.get(SUP, params={"system": ""}).json()} == {True}
    assert client.post(f"{SUP}/resumeAll").json() == {"status": "success"}
    assert client.get(SUP, params={"state": "true"}).json()[0]["state"] == "PENDING"
    assert client.get(f"{SUP}/suspendAll").status_code == 405
    assert client.post(f"{SUP}/terminateAll").json() == {"status": "success"}
    assert client.get(SUP).json() == []


def test_15_2_secured_cluster_viewer_reads_only_its_datasources_supervisors(client: httpx.Client) -> None:
    """Reference 15.2 and security: per-id reads need READ, the list and actions WRITE (Druid 35)."""
    assert client.post("/__sim/scenario", json={"scenario": "secured-cluster"}).status_code == 200
    admin, viewer = ("admin", "admin-password"), ("viewer", "viewer-password")
    assert client.get(SUP, auth=admin).json() == ["clickstream", "payroll"]
    assert client.get(SUP, auth=viewer).json() == []  # Druid 35 filters the list by WRITE
    assert client.get(f"{SUP}/clickstream/status", auth=viewer).status_code == 200
    assert client.get(f"{SUP}/payroll/status", auth=viewer).status_code == 403
    assert client.post(f"{SUP}/clickstream/suspend", auth=viewer).status_code == 403
    assert list(client.get(f"{SUP}/history", auth=viewer).json()) == ["clickstream"]
    assert client.get(f"{V1}/workers", auth=viewer).status_code == 200
    assert client.get(f"{V1}/totalWorkerCapacity", auth=viewer).status_code == 403  # CONFIG READ
    locked = client.post(f"{V1}/lockedIntervals/v2", json=[{"datasource": "payroll"}], auth=viewer)
    assert locked.status_code == 403  # STATE WRITE: it is a POST
    running = {task["dataSource"] for task in client.get(f"{V1}/runningTasks", auth=viewer).json()}
    assert "payroll" not in running and "clickstream" in running


def test_the_fault_layer_targets_supervisor_endpoints_by_path(client: httpx.Client) -> None:
    """Faults work on paths: a 503 on every supervisor's status leaves the other supervisor calls alone."""
    create(client)
    armed = client.post(
        "/__sim/faults",
        json=[{"name": "status-503", "kind": "error", "status": 503, "routes": [f"{SUP}/*/status"]}],
    )
    assert armed.status_code == 200, armed.text
    assert client.get(f"{SUP}/wiki/status").status_code == 503
    assert client.get(f"{SUP}/wiki").status_code == 200
    entries = client.get("/__sim/journal").json()["entries"]
    assert any(entry["answeredBy"] == "fault" and entry["path"].endswith("/status") for entry in entries)


def test_15_4_scripted_slow_reading_grows_lag_and_failing_tasks_make_it_unhealthy_tasks(
    server: LiveServer, client: httpx.Client, tmp_path: Path
) -> None:
    """Reference 15.4: lag grows while reading is slow; three failed tasks in a row are UNHEALTHY_TASKS."""
    scenario = tmp_path / "troubled.yaml"
    scenario.write_text(
        "description: Slow reading, then failing tasks.\n"
        "datasources: [wiki]\n"
        "supervisors:\n"
        "  - {datasource: wiki, task_count: 1, task_duration: 10m, running_since: 5m,\n"
        "     troubles: [{kind: lag, at: 1m, for: 5m}, {kind: tasks_failing, at: 20m, for: 1h}]}\n"
    )
    assert client.post("/__sim/scenario", json={"scenario": str(scenario)}).status_code == 200
    calm = payload(client)["aggregateLag"]
    server.clock.advance(5 * 60)
    assert payload(client)["aggregateLag"] > 20 * calm  # minutes of production behind
    server.clock.advance(60 * 60)
    report = payload(client)
    assert (report["state"], report["healthy"]) == ("UNHEALTHY_TASKS", False)
    failed = [task for task in kafka_tasks(client, state="complete") if task["statusCode"] == "FAILED"]
    assert len(failed) >= 3
    assert client.get(f"{SUP}/wiki/health").status_code == 503


def test_15_4_a_kinesis_supervisor_runs_index_kinesis_tasks_and_reports_lag_in_milliseconds(
    server: LiveServer, client: httpx.Client
) -> None:
    """Reference 15.1, 15.4: a Kinesis spec needs its ``stream``; shards are named, lag is in milliseconds."""
    kinesis: dict[str, Any] = {
        "type": "kinesis",
        "spec": {
            "dataSchema": {"dataSource": "clicks"},
            "ioConfig": {"stream": "clicks-stream", "taskCount": 1, "taskDuration": "PT30M"},
        },
    }
    no_stream = copy.deepcopy(kinesis)
    del no_stream["spec"]["ioConfig"]["stream"]
    assert create(client, no_stream).json()["error"].endswith("problem: stream cannot be null")
    assert create(client, kinesis).json() == {"id": "clicks"}
    server.clock.advance(60)
    report = payload(client, "clicks")
    assert report["durationSeconds"] == 1800
    assert set(report["latestOffsets"]) == {"shardId-000000000000", "shardId-000000000001", "shardId-000000000002"}
    assert "minimumLag" not in report and report["aggregateLagMillis"] >= 1000
    assert [task["type"] for task in client.get(f"{V1}/tasks").json()] == ["index_kinesis"]
