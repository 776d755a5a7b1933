"""Helpers for believable tasks: datasource names, realistic task bodies and ids per task type.

The demo cluster itself is the ``demo`` scenario (``scenarios/demo.yaml``), applied by
``druid_sim.scenario``; these helpers make its tasks (and bench/simulator.py's). The same seed gives
the same names, bodies and ids. Bodies are dated from the task's creation, as real ones are: a batch
load reads yesterday's files, compaction rewrites last week, kill deletes months-old segments.
"""

from __future__ import annotations

import random
import uuid
from typing import Any

from druid_sim.clock import format_instant
from druid_sim.overlord.behaviour import Distribution, TaskBehaviour
from druid_sim.overlord.fakes import FakePools
from druid_sim.overlord.ids import new_task_id, random_id
from druid_sim.overlord.overlord import Overlord, Submission, served_payload
from druid_sim.overlord.task import Plan, Task
from druid_sim.util.jsonenc import dumps

HOUR_MS = 3600 * 1000
DAY_MS = 24 * HOUR_MS
#: Names real Druid clusters give their datasources. ``{count: N}`` scenarios draw from these.
DATASOURCE_NAMES = (
    "wikipedia",
    "orders",
    "clickstream_events",
    "page_views_hourly",
    "kafka_metrics",
    "ad_impressions",
    "app_events",
    "sensor_readings",
    "payments",
    "user_sessions",
    "web_logs",
    "inventory_snapshots",
    "shipments",
    "support_tickets",
    "billing_events",
    "api_requests",
    "network_flows",
    "transactions",
    "search_queries",
    "marketing_campaigns",
    "device_telemetry",
    "video_plays",
    "checkout_funnel",
    "fraud_signals",
    "email_engagement",
    "server_metrics",
    "ride_events",
    "weather_observations",
    "stock_ticks",
    "game_sessions",
)
#: Suffixes clusters use for derived datasources, for scenarios asking for more names than the list has.
_DERIVED = ("_rollup", "_daily", "_raw", "_v2")
#: (type, weight, run-time median seconds, failure probability)
TYPE_MIX: tuple[tuple[str, float, float, float], ...] = (
    ("index_parallel", 0.34, 240.0, 0.12),
    ("index_kafka", 0.22, 1800.0, 0.05),
    ("compact", 0.16, 120.0, 0.08),
    ("kill", 0.10, 15.0, 0.03),
    ("query_controller", 0.10, 40.0, 0.15),
    ("index", 0.08, 90.0, 0.10),
)
DIMENSIONS = ("channel", "country", "user", "device", "page")


def datasource_names(rng: random.Random, count: int = 5) -> list[str]:
    """``count`` distinct datasource names as real clusters name them, chosen by ``rng``."""
    names = rng.sample(DATASOURCE_NAMES, k=min(count, len(DATASOURCE_NAMES)))
    if count > len(names):
        derived = [name + suffix for suffix in _DERIVED for name in DATASOURCE_NAMES]
        names += rng.sample(derived, k=min(count - len(names), len(derived)))
    return names


def behaviour_for_type(task_type: str) -> TaskBehaviour:
    for name, _, median, failure in TYPE_MIX:
        if name == task_type:
            return TaskBehaviour(
                waiting=Distribution(kind="uniform", low=1.0, high=6.0),
                pending=Distribution(kind="uniform", low=1.0, high=3.0),
                run=Distribution(kind="lognormal", median=median, sigma=0.5, cap=median * 4),
                failure_probability=failure,
                log_bytes_per_second=900.0 if task_type == "index_kafka" else 500.0,
                rows_per_second=4000.0 if task_type == "index_kafka" else 2500.0,
            )
    return TaskBehaviour()


def _interval(start_ms: int, days: int = 1) -> str:
    return f"{format_instant(start_ms)}/{format_instant(start_ms + days * DAY_MS)}"


def _schema(datasource: str, granularity: str, intervals: list[str] | None) -> dict[str, Any]:
    granularity_spec: dict[str, Any] = {
        "type": "uniform",
        "segmentGranularity": granularity,
        "queryGranularity": {"type": "none"},
        "rollup": False,
    }
    if intervals is not None:
        granularity_spec["intervals"] = intervals
    return {
        "dataSource": datasource,
        "timestampSpec": {"column": "__time", "format": "iso", "missingValue": None},
        "dimensionsSpec": {"dimensions": list(DIMENSIONS)},
        "granularitySpec": granularity_spec,
    }


def _spec(task_type: str, datasource: str, rng: random.Random, pools: FakePools, created_ms: int) -> dict[str, Any]:
    """A small but real-looking task body for ``task_type``, dated from ``created_ms``."""
    today = created_ms - created_ms % DAY_MS
    if task_type in ("index_parallel", "index"):
        day = today - rng.randrange(1, 3) * DAY_MS
        date = format_instant(day)[:10]
        bucket = rng.choice(pools.buckets)
        if task_type == "index_parallel":
            source: dict[str, Any] = {"type": "s3", "prefixes": [f"s3://{bucket}/{datasource}/dt={date}/"]}
        else:
            source = {"type": "s3", "uris": [f"s3://{bucket}/{datasource}/dt={date}/part-00000.json.gz"]}
        tuning: dict[str, Any] = {
            "type": task_type,
            "maxRowsInMemory": 1000000,
            "partitionsSpec": {"type": "dynamic", "maxRowsPerSegment": 5000000},
        }
        if task_type == "index_parallel" and rng.random() < 0.75:
            tuning["maxNumConcurrentSubTasks"] = rng.choice((2, 4, 4, 8))
        return {
            "spec": {
                "dataSchema": _schema(datasource, "DAY", [_interval(day)]),
                "ioConfig": {
                    "type": task_type,
                    "inputSource": source,
                    "inputFormat": {"type": "json"},
                    "appendToExisting": False,
                },
                "tuningConfig": tuning,
            }
        }
    if task_type == "compact":
        day = today - rng.randrange(1, 8) * DAY_MS
        return {
            "dataSource": datasource,
            "ioConfig": {"type": "compact", "inputSpec": {"type": "interval", "interval": _interval(day)}},
            "granularitySpec": {"segmentGranularity": "DAY"},
        }
    if task_type == "kill":
        start = today - rng.randrange(90, 400) * DAY_MS
        return {"dataSource": datasource, "interval": _interval(start, rng.choice((1, 7, 30))), "batchSize": 100}
    return {
        "dataSource": datasource,
        "spec": {
            "query": {"queryType": "scan", "dataSource": {"type": "table", "name": datasource}},
            "destination": {"type": "taskReport"},
        },
    }


def _kafka_spec(datasource: str, base_sequence_name: str, rng: random.Random, pools: FakePools) -> dict[str, Any]:
    """An ``index_kafka`` task as a supervisor makes it: its task group's partitions and start offsets."""
    task_count = rng.choice((1, 2, 3, 4))
    group = rng.randrange(task_count)
    partitions = [p for p in range(rng.choice((4, 6, 12))) if p % task_count == group]
    start = {str(p): rng.randrange(10**9, 6 * 10**10) for p in partitions}
    brokers = ",".join(f"kafka-{number}.{pools.domain}:9092" for number in range(1, 4))
    return {
        "dataSchema": _schema(datasource, "HOUR", None),
        "tuningConfig": {"type": "kafka", "maxRowsInMemory": 150000, "maxRowsPerSegment": 5000000},
        "ioConfig": {
            "type": "kafka",
            "taskGroupId": group,
            "baseSequenceName": base_sequence_name,
            "startSequenceNumbers": {
                "type": "start",
                "stream": datasource,
                "partitionSequenceNumberMap": start,
                "exclusivePartitions": [],
            },
            "endSequenceNumbers": {
                "type": "end",
                "stream": datasource,
                "partitionSequenceNumberMap": {p: 9223372036854775807 for p in start},
            },
            "consumerProperties": {"bootstrap.servers": brokers},
            "pollTimeout": 100,
            "useTransaction": True,
            "inputFormat": {"type": "json"},
        },
    }


def _task_id(task_type: str, datasource: str, now_ms: int, rng: random.Random, spec: dict[str, Any]) -> str:
    if task_type == "query_controller":
        return f"query-{uuid.UUID(int=rng.getrandbits(128), version=4)}"
    if task_type == "index_kafka":
        return f"index_kafka_{datasource}_{rng.getrandbits(60):015x}_{random_id(rng)}"
    interval = None
    if task_type == "kill":
        start, end = spec["interval"].split("/")
        interval = (start, end)
    prefix = "coordinator-issued" if task_type in ("compact", "kill") and rng.random() < 0.6 else None
    return new_task_id(task_type, datasource, now_ms, rng, interval=interval, prefix=prefix)


def make_task(
    overlord: Overlord, pools: FakePools, rng: random.Random, task_type: str, datasource: str, created_ms: int
) -> Task:
    """A demo task created at ``created_ms`` with an empty plan (callers fill it in)."""
    if task_type == "index_kafka":
        task_id = _task_id(task_type, datasource, created_ms - 1, rng, {})
        spec = _kafka_spec(datasource, task_id.rsplit("_", 1)[0], rng, pools)
    else:
        spec = _spec(task_type, datasource, rng, pools, created_ms)
        task_id = _task_id(task_type, datasource, created_ms - 1, rng, spec)
    submission = Submission(type=task_type, datasource=datasource, payload={"type": task_type, **spec})
    seed = rng.getrandbits(32)
    return Task(
        task_id,
        task_id,
        task_type,
        datasource,
        created_ms,
        Plan(0, 0, 0),
        dumps(served_payload(submission, task_id, task_id)),
        seed=seed,
    )
