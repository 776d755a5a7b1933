"""Conformance of every Tasks-API endpoint with the behaviour reference, over a real socket.

Each test names the section of ``docs/druid-overlord-behaviour.md`` (the fidelity spec) it checks.
The server starts empty with a frozen clock at 2026-01-01T00:00:00Z; tests advance the clock.
"""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import quote

import httpx
import pytest

from druid_sim.clock import parse_instant
from tests.support.live import LiveServer

V1 = "/druid/indexer/v1"
SPEC: dict[str, Any] = {"type": "index_parallel", "spec": {"dataSchema": {"dataSource": "wiki"}}}
STATUS_FIELDS = [
    "id",
    "groupId",
    "type",
    "createdTime",
    "queueInsertionTime",
    "statusCode",
    "status",
    "runnerStatusCode",
    "duration",
    "location",
    "dataSource",
    "errorMsg",
]


def submit(client: httpx.Client, body: dict[str, Any] | None = None) -> str:
    response = client.post(f"{V1}/task", json=body or SPEC)
    assert response.status_code == 200, response.text
    task_id: str = response.json()["task"]
    return task_id


def status_of(client: httpx.Client, task_id: str) -> dict[str, Any]:
    response = client.get(f"{V1}/task/{task_id}/status")
    assert response.status_code == 200
    status: dict[str, Any] = response.json()["status"]
    return status


def run_to_end(server: LiveServer) -> None:
    server.clock.advance(3600)


# -- 2.11 submit ---------------------------------------------------------------------------------


def test_2_11_submit_returns_task_id_with_200_and_druid_id_format(client: httpx.Client) -> None:
    """Reference 2.11 and 5: ``<type>_<dataSource>_<8 of a-p>_<now>``, the embedded time taken when the spec
    is read, so it precedes the task's ``createdTime`` slightly (by at most a second here: not equal)."""
    response = client.post(f"{V1}/task", json=SPEC)
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/json"
    task_id = response.json()["task"]
    found = re.fullmatch(r"index_parallel_wiki_[a-p]{8}_(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z)", task_id)
    assert found is not None, task_id
    assert list(response.json()) == ["task"]
    created = client.get(f"{V1}/task/{quote(task_id, safe='')}/status").json()["status"]["createdTime"]
    assert 0 < parse_instant(created) - parse_instant(found.group(1)) <= 1000, (task_id, created)


def test_2_11_submit_keeps_client_given_id(client: httpx.Client) -> None:
    assert submit(client, {**SPEC, "id": "my task:1"}) == "my task:1"


def test_2_11_submit_without_json_content_type_is_415_page(client: httpx.Client) -> None:
    response = client.post(f"{V1}/task", content=b'{"type":"noop"}', headers={"content-type": "text/plain"})
    assert response.status_code == 415
    assert response.headers["content-type"].startswith("text/html")
    assert "HTTP ERROR 415" in response.text


def test_2_11_submit_form_encoded_is_415(client: httpx.Client) -> None:
    response = client.post(f"{V1}/task", data={"type": "noop"})
    assert response.status_code == 415


def test_2_11_malformed_json_is_500_page_with_jackson_exception(client: httpx.Client) -> None:
    response = client.post(f"{V1}/task", content=b"{not json", headers={"content-type": "application/json"})
    assert response.status_code == 500
    assert "com.fasterxml.jackson.core.JsonParseException" in response.text
    assert "</h3><pre>" in response.text and "\n\tat " in response.text


@pytest.mark.parametrize("body", [b"", b"null"])
def test_2_11_empty_or_null_body_is_500_page(client: httpx.Client, body: bytes) -> None:
    response = client.post(f"{V1}/task", content=body, headers={"content-type": "application/json"})
    assert response.status_code == 500
    assert "java.lang.NullPointerException" in response.text


def test_2_11_missing_type_is_400_jackson_error(client: httpx.Client) -> None:
    response = client.post(f"{V1}/task", json={"spec": {}})
    assert response.status_code == 400
    assert response.headers["content-type"] == "application/json"
    assert response.json() == {
        "error": "Could not resolve subtype of [simple type, class org.apache.druid.indexing.common.task.Task]: "
        "missing type id property 'type'"
    }


def test_2_11_unknown_type_names_extensions(client: httpx.Client) -> None:
    response = client.post(f"{V1}/task", json={"type": "index_nope"})
    assert response.status_code == 400
    error = response.json()["error"]
    assert error.startswith(
        "Please make sure to load all the necessary extensions and jars with type 'index_nope' on 'druid/overlord' "
        "service. Could not resolve type id 'index_nope' as a subtype of `org.apache.druid.indexing.common.task.Task`"
    )
    assert "\n" not in error


def test_2_11_missing_spec_and_datasource_are_construct_errors(client: httpx.Client) -> None:
    no_spec = client.post(f"{V1}/task", json={"type": "index_parallel"}).json()["error"]
    assert no_spec.startswith(
        "Cannot construct instance of `org.apache.druid.indexing.common.task.batch.parallel.ParallelIndexSupervisorTask`"
        ", problem: "
    )
    no_ds = client.post(f"{V1}/task", json={"type": "index_parallel", "spec": {"dataSchema": {}}})
    assert no_ds.status_code == 400
    assert no_ds.json()["error"].endswith("problem: Invalid value for field [dataSource]: must not be null")


def test_2_11_invalid_id_is_400(client: httpx.Client) -> None:
    response = client.post(f"{V1}/task", json={**SPEC, "id": "a/b"})
    assert response.status_code == 400
    assert response.json()["error"].endswith(
        "problem: Invalid value for field [task ID]: Value [a/b] cannot contain '/'."
    )


def test_2_11_duplicate_id_is_400_error_response(client: httpx.Client, server: LiveServer) -> None:
    submit(client, {**SPEC, "id": "dup"})
    run_to_end(server)  # duplicates are refused for complete tasks too
    response = client.post(f"{V1}/task", json={**SPEC, "id": "dup"})
    assert response.status_code == 400
    assert response.content == (
        b'{"error":"druidException","errorCode":"entryAlreadyExists","persona":"USER","category":"INVALID_INPUT",'
        b'"errorMessage":"Task[dup] already exists","context":{}}'
    )


def test_2_11_queue_full_is_429_capacity_exceeded(client: httpx.Client, server: LiveServer) -> None:
    server.simulation.overlord.queue_max_size = 1
    submit(client)
    response = client.post(f"{V1}/task", json=SPEC)
    assert response.status_code == 429
    body = response.json()
    assert body["errorCode"] == "general" and body["persona"] == "ADMIN" and body["category"] == "CAPACITY_EXCEEDED"
    assert body["errorMessage"] == (
        "Task queue already contains [1] tasks. Retry later or increase 'druid.indexer.queue.maxSize'[1]."
    )


# -- 2.6 payload -----------------------------------------------------------------------------------


def test_2_6_payload_has_server_filled_fields_in_druid_order(client: httpx.Client) -> None:
    task_id = submit(client, {**SPEC, "context": {"priority": 50}})
    body = client.get(f"{V1}/task/{task_id}").json()
    assert list(body) == ["task", "payload"]
    payload = body["payload"]
    assert list(payload) == ["type", "id", "groupId", "resource", "spec", "context", "dataSource"]
    assert payload["resource"] == {"availabilityGroup": task_id, "requiredCapacity": 1}
    assert payload["context"] == {"priority": 50, "forceTimeChunkLock": True, "useLineageBasedSegmentAllocation": True}
    assert payload["groupId"] == task_id and payload["dataSource"] == "wiki"


# -- 1.2 unknown and invalid ids ------------------------------------------------------------------------


@pytest.mark.parametrize("suffix", ["", "/status", "/log", "/reports", "/segments"])
def test_1_2_unknown_task_is_404_plain_text(client: httpx.Client, suffix: str) -> None:
    response = client.get(f"{V1}/task/nope{suffix}")
    assert response.status_code == 404
    assert response.headers["content-type"] == "text/plain"
    assert response.text == "Cannot find any task with id: [nope]"


def test_1_2_shutdown_of_unknown_task_is_404_plain_text(client: httpx.Client) -> None:
    response = client.post(f"{V1}/task/nope/shutdown")
    assert response.status_code == 404
    assert response.text == "Cannot find any task with id: [nope]"


def test_1_2_invalid_id_in_path_is_500_page(client: httpx.Client) -> None:
    response = client.get(f"{V1}/task/.hidden/status")
    assert response.status_code == 500
    assert "Invalid value for field [taskId]" in response.text


def test_5_task_ids_in_paths_raw_or_percent_encoded(client: httpx.Client) -> None:
    task_id = submit(client)
    raw = client.get(f"{V1}/task/{task_id}/status")
    encoded = client.get(f"{V1}/task/{task_id.replace(':', '%3A')}/status")
    assert raw.status_code == encoded.status_code == 200
    assert raw.content == encoded.content
    spaced = submit(client, {**SPEC, "id": "query-52as 8aafe"})
    assert client.get(f"{V1}/task/query-52as%208aafe").json()["task"] == spaced


def test_1_1_trailing_slash_is_accepted(client: httpx.Client) -> None:
    task_id = submit(client)
    assert client.get(f"{V1}/task/{task_id}/status/").status_code == 200
    assert client.get(f"{V1}/tasks/").status_code == 200


# -- 2.7 and 4: status through the lifecycle ---------------------------------------------------------


def test_2_7_status_fields_in_creator_order_with_duplicate_status(client: httpx.Client) -> None:
    task_id = submit(client)
    body = client.get(f"{V1}/task/{task_id}/status").json()
    assert list(body) == ["task", "status"]
    assert list(body["status"]) == STATUS_FIELDS
    status = body["status"]
    assert status["statusCode"] == status["status"] == "RUNNING"
    assert status["runnerStatusCode"] == "WAITING"
    assert status["queueInsertionTime"] == "1970-01-01T00:00:00.000Z"
    assert status["createdTime"] == "2026-01-01T00:00:00.000Z"
    assert status["duration"] == -1
    assert status["location"] == {"host": None, "port": -1, "tlsPort": -1}


def test_4_lifecycle_waiting_pending_running_success(client: httpx.Client, server: LiveServer) -> None:
    task_id = submit(client)
    plan = server.simulation.overlord.get(task_id).plan  # type: ignore[union-attr]
    seen = []
    for moment in (plan.pending_at, plan.running_at, plan.end_at):
        server.clock.advance((moment - server.clock.now_ms()) / 1000)
        seen.append(status_of(client, task_id))
    pending, running, done = seen
    assert (pending["statusCode"], pending["runnerStatusCode"]) == ("RUNNING", "PENDING")
    assert pending["location"]["host"] is None
    assert (running["statusCode"], running["runnerStatusCode"]) == ("RUNNING", "RUNNING")
    assert running["location"]["host"] and running["location"]["port"] >= 8100
    assert running["duration"] == -1
    assert (done["statusCode"], done["status"], done["runnerStatusCode"]) == ("SUCCESS", "SUCCESS", "WAITING")
    assert done["duration"] > 0 and done["location"] == running["location"]


def test_4_failed_task_has_error_message(client: httpx.Client, server: LiveServer) -> None:
    from dataclasses import replace

    overlord = server.simulation.overlord
    overlord.rules = replace(overlord.rules, default=replace(overlord.rules.default, failure_probability=1.0))
    task_id = submit(client)
    run_to_end(server)
    status = status_of(client, task_id)
    assert status["statusCode"] == "FAILED"
    assert status["errorMsg"]


# -- 2.12 / 2.13 shutdown ------------------------------------------------------------------------------


def test_2_12_shutdown_active_task_fails_it_with_user_message(client: httpx.Client) -> None:
    task_id = submit(client)
    response = client.post(f"{V1}/task/{task_id}/shutdown", json={})
    assert response.status_code == 200 and response.content == b'{"task":"%s"}' % task_id.encode()
    status = status_of(client, task_id)
    assert (status["statusCode"], status["errorMsg"], status["duration"]) == (
        "FAILED",
        "Shutdown request from user",
        -1,
    )


def test_2_12_shutdown_complete_task_is_200_noop(client: httpx.Client, server: LiveServer) -> None:
    task_id = submit(client)
    run_to_end(server)
    before = status_of(client, task_id)
    assert client.post(f"{V1}/task/{task_id}/shutdown").status_code == 200
    assert status_of(client, task_id) == before


def test_2_13_shutdown_all_tasks(client: httpx.Client) -> None:
    first, second = submit(client), submit(client)
    other = submit(client, {"type": "index_parallel", "spec": {"dataSchema": {"dataSource": "other"}}})
    response = client.post(f"{V1}/datasources/wiki/shutdownAllTasks")
    assert response.status_code == 200 and response.json() == {"dataSource": "wiki"}
    assert status_of(client, first)["statusCode"] == status_of(client, second)["statusCode"] == "FAILED"
    assert status_of(client, other)["statusCode"] == "RUNNING"
    again = client.post(f"{V1}/datasources/wiki/shutdownAllTasks")
    assert again.status_code == 404 and "HTTP ERROR 404" in again.text


# -- 2.1 - 2.5 lists ---------------------------------------------------------------------------------


def test_2_1_complete_first_newest_first_then_active_oldest_first(client: httpx.Client, server: LiveServer) -> None:
    done_old = submit(client)
    server.clock.advance(1)
    done_new = submit(client)
    run_to_end(server)
    active_old = submit(client)
    server.clock.advance(1)
    active_new = submit(client)
    ids = [task["id"] for task in client.get(f"{V1}/tasks").json()]
    assert ids == [done_new, done_old, active_old, active_new]


def test_2_1_list_entries_show_runner_fields(client: httpx.Client, server: LiveServer) -> None:
    done = submit(client)
    run_to_end(server)
    waiting = submit(client)
    tasks = {task["id"]: task for task in client.get(f"{V1}/tasks").json()}
    assert list(tasks[done]) == STATUS_FIELDS
    assert tasks[done]["runnerStatusCode"] == "NONE"
    assert tasks[waiting]["runnerStatusCode"] == "WAITING"
    plan = server.simulation.overlord.get(waiting).plan  # type: ignore[union-attr]
    server.clock.advance((plan.running_at - server.clock.now_ms()) / 1000)
    running = client.get(f"{V1}/tasks", params={"state": "running"}).json()
    assert [task["id"] for task in running] == [waiting]
    assert running[0]["queueInsertionTime"] != "1970-01-01T00:00:00.000Z"  # the runner's insertion time


def test_2_1_state_filter_is_case_insensitive_and_invalid_is_400_text(client: httpx.Client) -> None:
    submit(client)
    assert len(client.get(f"{V1}/tasks", params={"state": "WAITING"}).json()) == 1
    for bad in ("bogus", ""):
        response = client.get(f"{V1}/tasks", params={"state": bad})
        assert response.status_code == 400
        assert response.headers["content-type"] == "text/plain"
        assert response.text == f"Invalid task state[{bad}]. Must be one of [pending, waiting, running, complete]."


def test_1_1_non_integer_max_is_404(client: httpx.Client) -> None:
    assert client.get(f"{V1}/tasks", params={"max": "abc"}).status_code == 404
    assert client.get(f"{V1}/completeTasks", params={"n": "1.5"}).status_code == 404


def test_2_1_max_limits_complete_tasks_only_and_zero_drops_them(client: httpx.Client, server: LiveServer) -> None:
    for _ in range(3):
        submit(client)
        server.clock.advance(1)
    run_to_end(server)
    active = submit(client)
    assert [t["id"] for t in client.get(f"{V1}/tasks", params={"max": "0"}).json()] == [active]
    assert len(client.get(f"{V1}/tasks", params={"max": "2"}).json()) == 3  # 2 complete + 1 active


def test_2_1_max_is_applied_before_type(client: httpx.Client, server: LiveServer) -> None:
    kill = submit(client, {"type": "kill", "dataSource": "wiki", "interval": "2024-01-01/2024-01-02"})
    server.clock.advance(1)
    submit(client)
    run_to_end(server)
    assert client.get(f"{V1}/tasks", params={"max": "1", "type": "kill"}).json() == []
    listed = client.get(f"{V1}/tasks", params={"max": "2", "type": "kill"}).json()
    assert [task["id"] for task in listed] == [kill]


def test_2_1_datasource_and_type_filters(client: httpx.Client) -> None:
    submit(client)
    other = submit(client, {"type": "index_parallel", "spec": {"dataSchema": {"dataSource": "other"}}})
    assert [t["id"] for t in client.get(f"{V1}/tasks", params={"datasource": "other"}).json()] == [other]
    assert client.get(f"{V1}/tasks", params={"type": "compact"}).json() == []


def test_2_1_complete_tasks_older_than_24h_are_not_listed(client: httpx.Client, server: LiveServer) -> None:
    task_id = submit(client)
    server.clock.advance(23 * 3600)
    assert [t["id"] for t in client.get(f"{V1}/tasks").json()] == [task_id]
    server.clock.advance(3600 + 1)
    assert client.get(f"{V1}/tasks").json() == []
    assert status_of(client, task_id)["statusCode"] == "SUCCESS"  # still known by id


def test_2_1_created_time_interval_is_used_as_a_length(client: httpx.Client, server: LiveServer) -> None:
    task_id = submit(client)
    server.clock.advance(2 * 3600)
    # A day-long interval far in the past still means "created in the last 24 hours".
    listed = client.get(f"{V1}/tasks", params={"createdTimeInterval": "2015-09-12_2015-09-13"}).json()
    assert [t["id"] for t in listed] == [task_id]
    assert client.get(f"{V1}/tasks", params={"createdTimeInterval": "2015-09-12T00:00:00Z/PT1H"}).json() == []


def test_2_1_bad_created_time_interval_is_500_page(client: httpx.Client) -> None:
    response = client.get(f"{V1}/tasks", params={"createdTimeInterval": "yesterday"})
    assert response.status_code == 500
    assert "Invalid interval[yesterday]" in response.text


def test_2_2_to_2_5_shortcut_lists_accept_only_their_own_parameters(client: httpx.Client, server: LiveServer) -> None:
    first = submit(client)
    server.clock.advance(1)
    second = submit(client)
    run_to_end(server)
    waiting = submit(client)
    assert [t["id"] for t in client.get(f"{V1}/completeTasks", params={"n": "1"}).json()] == [second]
    # max, datasource and type are ignored by /completeTasks
    ignored = client.get(f"{V1}/completeTasks", params={"max": "1", "datasource": "x", "type": "kill"}).json()
    assert [t["id"] for t in ignored] == [second, first]
    assert [t["id"] for t in client.get(f"{V1}/waitingTasks", params={"datasource": "x"}).json()] == [waiting]
    assert client.get(f"{V1}/pendingTasks").json() == []
    assert client.get(f"{V1}/runningTasks", params={"type": "index_parallel"}).json() == []


# -- 2.8 - 2.10 segments, logs, reports --------------------------------------------------------------


def test_2_8_segments_always_404_json(client: httpx.Client) -> None:
    task_id = submit(client)
    response = client.get(f"{V1}/task/{task_id}/segments")
    assert response.status_code == 404
    assert response.json() == {
        "error": "Segment IDs committed by a task action are not persisted anymore. "
        "Use the metric 'segment/added/bytes' to identify the segments created by a task."
    }


def test_2_9_log_is_404_text_until_the_task_runs_then_grows(client: httpx.Client, server: LiveServer) -> None:
    task_id = submit(client)
    response = client.get(f"{V1}/task/{task_id}/log")
    assert response.status_code == 404 and response.headers["content-type"] == "text/plain"
    assert response.text.startswith("No log was found for this task.")
    plan = server.simulation.overlord.get(task_id).plan  # type: ignore[union-attr]
    server.clock.advance((plan.running_at - server.clock.now_ms()) / 1000 + 5)
    early = client.get(f"{V1}/task/{task_id}/log")
    assert early.status_code == 200 and early.headers["content-type"] == "text/plain; charset=UTF-8"
    assert "content-length" not in early.headers  # streamed, chunked
    assert re.match(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d,\d{3} INFO \[main\] org\.apache\.druid", early.text)
    server.clock.advance(10)
    later = client.get(f"{V1}/task/{task_id}/log")
    assert len(later.content) > len(early.content) and later.content.startswith(early.content)
    assert later.content.endswith(b"\n")


def test_6_2_log_offsets_are_bytes_and_negative_means_tail(client: httpx.Client, server: LiveServer) -> None:
    task_id = submit(client)
    run_to_end(server)
    whole = client.get(f"{V1}/task/{task_id}/log").content
    assert whole.endswith(b"Finished peon task\n")
    assert client.get(f"{V1}/task/{task_id}/log", params={"offset": 100}).content == whole[100:]
    assert client.get(f"{V1}/task/{task_id}/log", params={"offset": -200}).content == whole[-200:]
    assert client.get(f"{V1}/task/{task_id}/log", params={"offset": -(10**9)}).content == whole
    past_end = client.get(f"{V1}/task/{task_id}/log", params={"offset": len(whole) + 10})
    assert past_end.status_code == 200 and past_end.content == b""
    assert client.get(f"{V1}/task/{task_id}/log", params={"offset": "x"}).status_code == 404


def test_2_10_reports_404_before_running_then_live_then_completion(client: httpx.Client, server: LiveServer) -> None:
    task_id = submit(client)
    missing = client.get(f"{V1}/task/{task_id}/reports")
    assert missing.status_code == 404
    assert missing.headers["content-type"] == "application/json"  # raw text labelled JSON
    assert missing.text == (
        "No task reports were found for this task. The task may not exist, or it may not have completed yet."
    )
    plan = server.simulation.overlord.get(task_id).plan  # type: ignore[union-attr]
    server.clock.advance((plan.running_at - server.clock.now_ms()) / 1000 + 2)
    first = client.get(f"{V1}/task/{task_id}/reports").json()["ingestionStatsAndErrors"]
    server.clock.advance(3)
    second = client.get(f"{V1}/task/{task_id}/reports").json()["ingestionStatsAndErrors"]
    assert list(first) == ["type", "taskId", "payload"]
    totals = [r["payload"]["rowStats"]["totals"]["buildSegments"]["processed"] for r in (first, second)]
    assert 0 < totals[0] < totals[1]
    assert set(first["payload"]["rowStats"]["movingAverages"]["buildSegments"]) == {"1m", "5m", "15m"}
    run_to_end(server)
    final = client.get(f"{V1}/task/{task_id}/reports").json()
    assert list(final) == ["ingestionStatsAndErrors", "taskContext"]
    payload = final["ingestionStatsAndErrors"]["payload"]
    assert payload["ingestionState"] == "COMPLETED"
    assert set(payload["rowStats"]) == {"determinePartitions", "buildSegments"}
    assert final["taskContext"]["payload"]["forceTimeChunkLock"] is True


# -- 2.14 - 2.17 ------------------------------------------------------------------------------------


def test_2_14_task_status_bulk(client: httpx.Client, server: LiveServer) -> None:
    done = submit(client)
    run_to_end(server)
    waiting = submit(client)
    response = client.post(f"{V1}/taskStatus", json=[done, waiting, "unknown", done])
    assert response.status_code == 200
    body = response.json()
    assert list(body) == [done, waiting]
    assert list(body[done]) == ["id", "status", "duration", "errorMsg", "location"]
    assert body[done]["status"] == "SUCCESS" and body[waiting]["status"] == "RUNNING"
    assert client.post(f"{V1}/taskStatus", json=["unknown"]).json() == {}


@pytest.mark.parametrize("body", [b"", b"[]", b"null"])
def test_2_14_task_status_without_ids_is_400_raw_text(client: httpx.Client, body: bytes) -> None:
    response = client.post(f"{V1}/taskStatus", content=body, headers={"content-type": "application/json"})
    assert response.status_code == 400
    assert response.headers["content-type"] == "application/json"
    assert response.text == "No Task IDs provided."


def test_2_14_task_status_object_body_and_content_type(client: httpx.Client) -> None:
    response = client.post(f"{V1}/taskStatus", json={"a": 1})
    assert response.status_code == 400 and "java.util.HashSet<java.lang.String>" in response.json()["error"]
    assert client.post(f"{V1}/taskStatus", content=b'["a"]', headers={"content-type": "text/plain"}).status_code == 415


def test_2_15_pending_segments_delete(client: httpx.Client) -> None:
    submit(client)
    response = client.delete(f"{V1}/pendingSegments/wiki", params={"interval": "2025-12-31/2026-01-02"})
    assert response.status_code == 400
    assert response.json()["error"].startswith("Cannot delete pendingSegments for datasource[wiki] as there is")
    fine = client.delete(f"{V1}/pendingSegments/other", params={"interval": "2025-12-31/2026-01-02"})
    assert fine.status_code == 200 and fine.json() == {"numDeleted": 0}
    assert client.delete(f"{V1}/pendingSegments/wiki", params={"interval": "nope"}).status_code == 500


def test_2_16_leader_is_raw_url_labelled_json(client: httpx.Client, server: LiveServer) -> None:
    response = client.get(f"{V1}/leader")
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/json"
    assert response.text == server.url


def test_2_17_is_leader(client: httpx.Client, server: LiveServer) -> None:
    response = client.get(f"{V1}/isLeader", params={"capabilities": ""})
    assert response.status_code == 200 and response.content == b'{"leader":true}'
    server.simulation.leadership.leader_url = "http://other:8090"
    response = client.get(f"{V1}/isLeader")
    assert response.status_code == 404 and response.content == b'{"leader":false}'


def test_status_and_health_probes(client: httpx.Client) -> None:
    status = client.get("/status").json()
    assert list(status) == ["version", "modules", "memory"]
    health = client.get("/status/health")
    assert health.status_code == 200 and health.content == b"true"


# -- 1.1 framework behaviour --------------------------------------------------------------------------


def test_1_1_wrong_method_is_405_and_unknown_path_404(client: httpx.Client) -> None:
    assert client.get(f"{V1}/task").status_code == 405
    assert client.post(f"{V1}/tasks").status_code == 405
    missing = client.get(f"{V1}/nothing-here")
    assert missing.status_code == 404 and "<h2>HTTP ERROR 404 Not Found</h2>" in missing.text


def test_1_1_accept_excluding_json_is_406(client: httpx.Client) -> None:
    assert client.get(f"{V1}/tasks", headers={"accept": "text/plain"}).status_code == 406
    assert client.get(f"{V1}/tasks", headers={"accept": "application/json"}).status_code == 200


def test_1_1_error_page_follows_accept(client: httpx.Client) -> None:
    page = client.get(f"{V1}/nothing", headers={"accept": "application/json"})
    assert page.status_code == 404
    assert page.json() == {"url": f"{V1}/nothing", "status": "404", "message": "Not Found", "servlet": "default"}
