"""Helpers for believable tasks: datasource names, realistic task bodies and ids per task type.

The demo cluster itself is the ``demo`` scenario (``scenarios/demo.yaml``), applied by
``simulator.scenario``; these helpers make its tasks (and bench/simulator.py's). The same seed gives
the same names, bodies and ids.
"""

from __future__ import annotations

import random
import uuid
from typing import Any

from simulator.jsonenc import dumps
from simulator.overlord.behaviour import Distribution, TaskBehaviour
from simulator.overlord.fakes import FakePools
from simulator.overlord.ids import new_task_id, random_id
from simulator.overlord.overlord import Overlord, Submission, served_payload
from simulator.overlord.task import Plan, Task

HOUR_MS = 3600 * 1000
STEMS = ("wikipedia", "clickstream", "orders", "sensor_metrics", "ad_impressions", "payments", "app_events")
#: (type, weight, run-time median seconds, failure probability)
TYPE_MIX: tuple[tuple[str, float, float, float], ...] = (
    ("index_parallel", 0.34, 240.0, 0.12),
    ("index_kafka", 0.22, 1800.0, 0.05),
    ("compact", 0.16, 120.0, 0.08),
    ("kill", 0.10, 15.0, 0.03),
    ("query_controller", 0.10, 40.0, 0.15),
    ("index", 0.08, 90.0, 0.10),
)


def datasource_names(pools: FakePools, rng: random.Random, count: int = 5) -> list[str]:
    """Datasource names: common stems, some with a Faker word (``orders_harbor``)."""
    stems = rng.sample(STEMS, k=min(count, len(STEMS)))
    return [stem if rng.random() < 0.5 else f"{stem}_{rng.choice(pools.words)}" for stem in stems]


def behaviour_for_type(task_type: str) -> TaskBehaviour:
    for name, _, median, failure in TYPE_MIX:
        if name == task_type:
            return TaskBehaviour(
                waiting=Distribution(kind="uniform", low=1.0, high=6.0),
                pending=Distribution(kind="uniform", low=2.0, high=12.0),
                run=Distribution(kind="lognormal", median=median, sigma=0.5, cap=median * 4),
                failure_probability=failure,
                log_bytes_per_second=900.0 if task_type == "index_kafka" else 500.0,
                rows_per_second=4000.0 if task_type == "index_kafka" else 2500.0,
            )
    return TaskBehaviour()


def _spec(task_type: str, datasource: str, rng: random.Random, pools: FakePools) -> dict[str, Any]:
    """A small but real-looking task body for ``task_type``."""
    day = 1 + rng.randrange(27)
    interval = f"2024-03-{day:02d}T00:00:00.000Z/2024-03-{day + 1:02d}T00:00:00.000Z"
    schema = {
        "dataSource": datasource,
        "timestampSpec": {"column": "__time", "format": "iso", "missingValue": None},
        "dimensionsSpec": {"dimensions": ["user", "channel", "country"]},
        "granularitySpec": {
            "type": "uniform",
            "segmentGranularity": "DAY",
            "queryGranularity": {"type": "none"},
            "rollup": False,
            "intervals": [interval],
        },
    }
    if task_type in ("index_parallel", "index"):
        source = {"type": "s3", "uris": [f"s3://{rng.choice(pools.buckets)}{rng.choice(pools.paths)}"]}
        return {
            "spec": {
                "dataSchema": schema,
                "ioConfig": {
                    "type": task_type,
                    "inputSource": source,
                    "inputFormat": {"type": "json"},
                    "appendToExisting": False,
                },
                "tuningConfig": {
                    "type": task_type,
                    "maxRowsInMemory": 25000,
                    "partitionsSpec": {"type": "dynamic", "maxRowsPerSegment": 5000000},
                },
            }
        }
    if task_type == "index_kafka":
        servers = ",".join(f"{ip}:9092" for ip in rng.sample(pools.ips, 2))
        return {
            "dataSchema": schema,
            "tuningConfig": {"type": "kafka", "maxRowsPerSegment": 5000000},
            "ioConfig": {
                "type": "kafka",
                "topic": datasource,
                "consumerProperties": {"bootstrap.servers": servers},
                "taskDuration": "PT1H",
                "useEarliestOffset": False,
            },
        }
    if task_type == "compact":
        return {
            "dataSource": datasource,
            "ioConfig": {"type": "compact", "inputSpec": {"type": "interval", "interval": interval}},
        }
    if task_type == "kill":
        return {"dataSource": datasource, "interval": interval, "batchSize": 100}
    return {
        "dataSource": datasource,
        "spec": {
            "query": {"queryType": "scan", "dataSource": {"type": "table", "name": datasource}},
            "destination": {"type": "taskReport"},
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


def _pick_type(rng: random.Random) -> str:
    return rng.choices([t[0] for t in TYPE_MIX], weights=[t[1] for t in TYPE_MIX])[0]


def make_task(
    overlord: Overlord, pools: FakePools, rng: random.Random, task_type: str, datasource: str, created_ms: int
) -> Task:
    """A demo task created at ``created_ms`` with an empty plan (callers fill it in)."""
    spec = _spec(task_type, datasource, rng, pools)
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
