"""Task logs read like a real peon's log of the task's type (reference 2.9, 6.2), over a real socket.

Every type's own Druid lines are there; timestamps never go back nor run ahead of the virtual clock,
and no line repeats in the same millisecond; nothing pads the blocks; offsets are exact anywhere; a
running log is a prefix of the finished one, which ends as Druid's do (or just stops, for a peon that
was killed). The block machinery itself is checked without HTTP at the end (every block exactly
``BLOCK_SIZE`` bytes, built alone, the same for the same seed).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from druid_sim.config import ServeConfig
from druid_sim.overlord.logs import BLOCK_SIZE, TaskLogs, log_timestamp
from druid_sim.simulation import build_simulation
from tests.support.live import START_MS, LiveServer, live_server

V1 = "/druid/indexer/v1"
STAMP = re.compile(rb"^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d,\d{3}) (INFO|WARN|ERROR) \[.+?\] [a-z][\w.$]+ - ")
#: Logs of every type growing 20 KB a virtual second, so a minute shows plenty of each type's work.
SCENARIO = """\
description: every task type with fast-growing logs, for the log tests
workers: {middle_managers: 2, capacity: 20}
behaviours:
  - match: {datasource: broken}
    run: 2m
    failure_probability: 1
    error_messages: ["Max parse exceptions[0] exceeded"]
  - match: {datasource: oom}
    run: 2m
    failure_probability: 1
    error_messages: ["Task execution process exited unsuccessfully with code[137]. See middleManager logs for more details."]
  - waiting: 1s
    pending: 1s
    run: 10m
    log_bytes_per_second: 20KB
    rows_per_second: 3000
"""
KAFKA_START = {"0": 1_200_000_000, "3": 1_350_000_000}
#: type: (payload, lines its log must have)
TYPES: dict[str, tuple[dict[str, Any], tuple[str, ...]]] = {
    "index_kafka": (
        {
            "type": "index_kafka",
            "dataSchema": {"dataSource": "clickstream_events"},
            "ioConfig": {
                "type": "kafka",
                "baseSequenceName": "index_kafka_clickstream_events_0123456789abcde",
                "startSequenceNumbers": {"stream": "clickstream_events", "partitionSequenceNumberMap": KAFKA_START},
            },
        },
        (
            "org.apache.druid.indexing.seekablestream.SeekableStreamIndexTaskRunner - Seeking partition[",
            "Seeking to offset 1200000000 for partition clickstream_events-0",
            "StreamAppenderator - Flushed in-memory data with commit metadata [",
            "StreamAppenderator - Persisted stats: processed rows: [",
            '"metric":"ingest/events/processed"',
            # the sequences are named after the payload's baseSequenceName (SeekableStreamIndexTaskRunner)
            "for sequenceName[index_kafka_clickstream_events_0123456789abcde_0].",
        ),
    ),
    "index_parallel": (
        {
            "type": "index_parallel",
            "spec": {
                "dataSchema": {"dataSource": "wikipedia"},
                "ioConfig": {"type": "index_parallel", "inputSource": {"type": "s3", "prefixes": ["s3://lake/wiki/"]}},
                "tuningConfig": {"type": "index_parallel", "maxNumConcurrentSubTasks": 4},
            },
        },
        (
            "TaskMonitor - Submitting a new task[single_phase_sub_task_wikipedia_",
            "ParallelIndexPhaseRunner - Submit a new task for spec[",
            "] tasks succeeded",
        ),
    ),
    "index_parallel_sequential": (
        {"type": "index_parallel", "spec": {"dataSchema": {"dataSource": "page_views_hourly"}}},
        (
            "maxNumConcurrentSubTasks[1] is less than or equal to 1. Running sequentially.",
            "BatchAppenderator - Incremental persist to disk because ",
            "BatchAppenderator - Flushed in-memory data for segment[page_views_hourly_",
        ),
    ),
    "index": (
        {"type": "index", "spec": {"dataSchema": {"dataSource": "orders"}}},
        ("IndexTask - Skipping determine partition scan", "BatchAppenderator - Persisted rows["),
    ),
    "compact": (
        {
            "type": "compact",
            "dataSource": "orders",
            "ioConfig": {
                "type": "compact",
                "inputSpec": {"type": "interval", "interval": "2025-12-20T00:00:00.000Z/2025-12-21T00:00:00.000Z"},
            },
        },
        (
            "CompactionTask - Generated [1] compaction task specs",
            "S3DataSegmentPuller - Pulling index at path[CloudObjectLocation{",
            "S3DataSegmentPuller - Loaded ",
            "BatchAppenderator - Flushed in-memory data for segment[orders_2025-12-20T00:00:00.000Z_",
        ),
    ),
    "kill": (
        {"type": "kill", "dataSource": "web_logs", "interval": "2025-01-01T00:00:00.000Z/2025-01-08T00:00:00.000Z"},
        (
            "KillUnusedSegmentsTask - Starting kill for datasource[web_logs] in interval[2025-01-01T00:00:00.000Z/",
            "S3DataSegmentKiller - Removing index file[s3://",
            "] batches for kill task[",
        ),
    ),
    "query_controller": (
        {"type": "query_controller", "dataSource": "orders", "spec": {"query": {"queryType": "scan"}}},
        ("org.apache.druid.msq.exec.ControllerImpl - Query [", "] using workers["),
    ),
}
COMMON = (
    "org.apache.druid.guice.ExtensionsLoader - Loading extension [druid-s3-extensions], jars: ",
    "org.apache.druid.cli.CliPeon - Starting up with processors[",
    "org.apache.druid.cli.CliPeon - * druid.emitter: logging",
    'ExecutorLifecycle - Running with task: {\n  "type" : ',
    "SingleTaskBackgroundRunner - Running task: ",
    'CuratorDruidNodeAnnouncer - Announced self [{"druidNode":{',
    "{/,null,AVAILABLE}\n",  # Jetty's ContextHandler: the peon's chat handler started
    'LoggingEmitter - {"feed":"metrics","timestamp":"',
)


def _scenario(tmp: Path) -> str:
    path = tmp / "logs.yaml"
    path.write_text(SCENARIO)
    return str(path)


def _submit(client: httpx.Client, payload: dict[str, Any]) -> str:
    response = client.post(f"{V1}/task", json=payload)
    assert response.status_code == 200, response.text
    task: str = response.json()["task"]
    return task


@pytest.fixture(scope="module")
def running(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[LiveServer, httpx.Client, dict[str, str]]]:
    """A task of each type, each a minute into its run (about 1.2 MB of log each)."""
    config = ServeConfig(scenario=_scenario(tmp_path_factory.mktemp("logs")), seed=3, time_scale=0, start_ms=START_MS)
    with live_server(config) as server, httpx.Client(base_url=server.url, timeout=30) as client:
        ids = {name: _submit(client, payload) for name, (payload, _) in TYPES.items()}
        server.clock.advance(62)
        yield server, client, ids


def _log(client: httpx.Client, task_id: str, **params: Any) -> bytes:
    response = client.get(f"{V1}/task/{task_id}/log", params=params)
    assert response.status_code == 200 and response.headers["content-type"] == "text/plain; charset=UTF-8"
    return response.content


@pytest.mark.parametrize("name", list(TYPES))
def test_each_type_logs_druids_own_lines_for_its_work(
    running: tuple[LiveServer, httpx.Client, dict[str, str]], name: str
) -> None:
    _, client, ids = running
    text = _log(client, ids[name]).decode()
    assert len(text) > 1_000_000
    for expected in COMMON + TYPES[name][1]:
        assert expected in text, f"{name}: no {expected!r}"
    assert f"Running task: {ids[name]}\n" in text
    assert "Task completed with status" not in text  # still running
    for line in text.split("\n")[:-1]:  # Druid's layout, or a line a multi-line message goes on with
        assert STAMP.match(line.encode()) or line[:1] in (" ", "}", "\t", ""), line[:200]


@pytest.mark.parametrize("name", list(TYPES))
def test_timestamps_move_on_like_real_work_and_nothing_pads_the_log(
    running: tuple[LiveServer, httpx.Client, dict[str, str]], name: str
) -> None:
    server, client, ids = running
    log = _log(client, ids[name])
    now = server.clock.now_ms()
    stamps: list[bytes] = []
    previous = b""
    unstamped = 0
    for line in log.split(b"\n")[:-1]:
        found = STAMP.match(line)
        if found is None:
            unstamped += 1  # the task JSON, Kafka's consumer config (and the blank line it ends with)
            assert line[:1] in (b" ", b"}", b"\t", b""), line[:200]
            continue
        stamps.append(found.group(1))
        assert line != previous, f"the same line twice in one millisecond: {line[:200]!r}"
        previous = line
    assert stamps == sorted(stamps), "a timestamp went back"
    assert stamps[-1] <= log_timestamp(now).encode(), "a line from the future"
    assert unstamped < 200 and len(stamps) > 2000
    assert len(set(stamps)) > len(stamps) // 10, "lines bunched in too few milliseconds"
    assert not re.search(rb"\.{6}|idle\[|(.)\1{40}", log), "padding"
    assert log.endswith(b"\n")


def test_offsets_are_exact_anywhere_in_a_growing_log(running: tuple[LiveServer, httpx.Client, dict[str, str]]) -> None:
    _, client, ids = running
    task = ids["index_kafka"]
    whole = _log(client, task)
    size = len(whole)
    for offset in (1, 1000, BLOCK_SIZE - 1, size // 3, size // 2 + 7, size - 1):
        assert _log(client, task, offset=offset) == whole[offset:], offset
    for tail in (1, 100, BLOCK_SIZE + 1, size // 2, size):
        assert _log(client, task, offset=-tail) == whole[-tail:], -tail
    assert _log(client, task, offset=-(size + 5)) == whole
    assert _log(client, task, offset=size) == b""


def test_kafka_offsets_start_where_the_task_says_and_keep_growing(
    running: tuple[LiveServer, httpx.Client, dict[str, str]],
) -> None:
    _, client, ids = running
    text = _log(client, ids["index_kafka"]).decode()
    commits = re.findall(
        r"nextPartitions=SeekableStreamStartSequenceNumbers\{[^}]*partitionSequenceNumberMap=\{(.*?)\}, ex", text
    )
    assert len(commits) > 20
    by_partition: dict[str, list[int]] = {}
    for commit in commits:
        for partition, offset in re.findall(
            r"partition=(\d+), topic='null', multiTopicPartition=false\}=(\d+)", commit
        ):
            by_partition.setdefault(partition, []).append(int(offset))
    assert sorted(by_partition) == sorted(KAFKA_START)
    for partition, offsets in by_partition.items():
        assert offsets == sorted(offsets) and offsets[-1] > offsets[0] >= KAFKA_START[partition]


def test_a_running_log_is_a_prefix_of_the_finished_one_which_ends_as_druids_do(tmp_path: Path) -> None:
    config = ServeConfig(scenario=_scenario(tmp_path), seed=5, time_scale=0, start_ms=START_MS)
    with live_server(config) as server, httpx.Client(base_url=server.url, timeout=30) as client:
        task = _submit(client, TYPES["index"][0])
        seen = []
        for _ in range(4):
            server.clock.advance(45)
            seen.append(_log(client, task))
        server.clock.advance(600)
        assert client.get(f"{V1}/task/{task}/status").json()["status"]["status"] == "SUCCESS"
        final = _log(client, task)
    for earlier in seen:
        assert final.startswith(earlier)
    tail = final[-4000:].decode()
    assert tail.endswith("\nFinished peon task\n")
    assert f'Task completed with status: {{\n  "id" : "{task}",\n  "status" : "SUCCESS",\n' in tail
    assert "IndexTask - Published [" in tail and "Stopping lifecycle [module] stage [ANNOUNCEMENTS]" in tail
    pushed = final.decode().rsplit("BatchAppenderator - Push complete...\n", 1)[1]  # AppenderatorImpl, after its pushes
    assert re.match(r"\S+ INFO \[[^\]]+\] org.apache.druid.indexing.common.task.IndexTask - Processed\[", pushed)


def test_a_failing_task_logs_its_exception_and_a_killed_peon_just_stops(tmp_path: Path) -> None:
    config = ServeConfig(scenario=_scenario(tmp_path), seed=5, time_scale=0, start_ms=START_MS)
    with live_server(config) as server, httpx.Client(base_url=server.url, timeout=30) as client:
        broken = _submit(client, {"type": "index", "spec": {"dataSchema": {"dataSource": "broken"}}})
        killed = _submit(client, {"type": "index", "spec": {"dataSchema": {"dataSource": "oom"}}})
        server.clock.advance(300)
        failed = _log(client, broken).decode()
        stopped = _log(client, killed).decode()
    assert "ERROR [task-runner-0-priority-0] org.apache.druid.indexing.overlord.SingleTaskBackgroundRunner - " in failed
    assert "\norg.apache.druid.java.util.common.RE: Max parse exceptions[0] exceeded\n\tat " in failed
    assert '"status" : "FAILED",\n  "duration" : ' in failed and failed.endswith("Finished peon task\n")
    assert "Task completed" not in stopped and "Finished peon task" not in stopped
    assert STAMP.match(stopped.splitlines()[-1].encode())


# -- the blocks, without HTTP ---------------------------------------------------------------------------


def test_every_block_is_exactly_block_size_built_alone_and_the_same_for_the_same_seed() -> None:
    first = build_simulation(ServeConfig(scenario="demo", seed=7, time_scale=0, start_ms=START_MS))
    second = build_simulation(ServeConfig(scenario="demo", seed=7, time_scale=0, start_ms=START_MS))
    now = first.clock.now_ms()
    types_seen = set()
    for task in first.overlord.tasks.values():
        if task.created_ms > now or task.type in types_seen or not TaskLogs.exists(task, task.phase_at(now)):
            continue
        types_seen.add(task.type)
        parts = first.logs._parts(task)
        for index in [*range(24), 5_000, 20_011]:
            block = parts.writer.block(index, parts.body_start)
            assert len(block) == BLOCK_SIZE and block.endswith(b"\n") and STAMP.match(block), (task.type, index)
        twin = second.overlord.tasks[task.id]
        alone = TaskLogs(second.pools)._parts(twin)  # a fresh log that built nothing before block 20,011
        assert alone.writer.block(20_011, alone.body_start) == parts.writer.block(20_011, parts.body_start)
        whole = b"".join(first.logs.read(task, task.phase_at(now), now, 0))
        assert whole == b"".join(second.logs.read(twin, twin.phase_at(now), now, 0))
    assert types_seen >= {"index_kafka", "index_parallel", "compact", "kill", "query_controller", "index"}
