"""A believable demo cluster: tens of tasks over several datasources and task types, in every state,
with new tasks arriving and finishing and some failing with realistic messages.

Everything comes from the seed: the same seed gives the same cluster, the same arrivals and the same
fates. Arrivals are planned an hour of virtual time at a time, when the clock first gets there.
"""

from __future__ import annotations

import random
import uuid
from typing import Any

from simulator.overlord.behaviour import DEFAULT_ERROR_MESSAGES, Distribution, TaskBehaviour
from simulator.overlord.fakes import FakePools
from simulator.overlord.ids import new_task_id, random_id
from simulator.overlord.overlord import Overlord, Submission, served_payload
from simulator.overlord.task import Phase, Plan, Task

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
        served_payload(submission, task_id, task_id),
        seed=seed,
    )


def seed_demo(overlord: Overlord, pools: FakePools, seed: int, complete: int = 36, active: int = 12) -> None:
    """Fill ``overlord`` with a demo cluster as of the clock's current time, and plan its arrivals."""
    rng = random.Random(f"demo:{seed}")
    now = overlord.clock.now_ms()
    datasources = datasource_names(pools, rng)
    for _ in range(complete):
        task_type = _pick_type(rng)
        behaviour = behaviour_for_type(task_type)
        created = now - rng.randrange(20 * 60 * 1000, 22 * HOUR_MS)
        task = make_task(overlord, pools, rng, task_type, rng.choice(datasources), created)
        pending_at = created + int(behaviour.waiting.sample(rng) * 1000)
        running_at = pending_at + int(behaviour.pending.sample(rng) * 1000)
        end_at = min(running_at + int(behaviour.run.sample(rng) * 1000), now - 1000)
        failed = rng.random() < behaviour.failure_probability * 1.5
        slot = overlord.workers.location(rng.randrange(9))
        task.plan = Plan(
            pending_at,
            running_at,
            end_at,
            Phase.FAILED if failed else Phase.SUCCESS,
            rng.choice(DEFAULT_ERROR_MESSAGES) if failed else None,
            slot,
            log_bytes_per_second=behaviour.log_bytes_per_second,
            rows_per_second=behaviour.rows_per_second,
        )
        if not failed and rng.random() < 0.05:
            task.plan.shutdown_at = end_at - 1
        overlord.add(task)
    for index in range(active):
        task_type = _pick_type(rng)
        behaviour = behaviour_for_type(task_type)
        if index < active // 2:  # running now, finishing over the next minutes
            created = now - rng.randrange(60 * 1000, 20 * 60 * 1000)
            task = make_task(overlord, pools, rng, task_type, rng.choice(datasources), created)
            pending_at = created + 3000
            running_at = pending_at + 5000
            end_at = now + rng.randrange(30 * 1000, 25 * 60 * 1000)
            start, end, location = overlord.workers.assign(running_at, end_at - running_at)
            failed = rng.random() < behaviour.failure_probability
            task.plan = Plan(
                pending_at,
                start,
                end,
                Phase.FAILED if failed else Phase.SUCCESS,
                rng.choice(DEFAULT_ERROR_MESSAGES) if failed else None,
                location,
                log_bytes_per_second=behaviour.log_bytes_per_second,
                rows_per_second=behaviour.rows_per_second,
            )
            overlord.add(task)
        else:  # just submitted: waiting, or pending for a slot
            created = now - rng.randrange(0, 20 * 1000)
            task = make_task(overlord, pools, rng, task_type, rng.choice(datasources), created)
            task.plan = overlord.plan(behaviour, created, rng)
            overlord.add(task)
    DemoArrivals(overlord, pools, seed, datasources, now).install()


class DemoArrivals:
    """New demo tasks arriving every few minutes, planned one virtual hour at a time."""

    def __init__(self, overlord: Overlord, pools: FakePools, seed: int, datasources: list[str], start: int) -> None:
        self.overlord = overlord
        self.pools = pools
        self.seed = seed
        self.datasources = datasources
        self.start = start
        self.planned_until = start

    def install(self) -> None:
        self.overlord.before_answer.append(self)
        self(self.start)

    def __call__(self, now: int) -> None:
        while self.planned_until <= now + HOUR_MS:
            self._plan_hour(self.planned_until)
            self.planned_until += HOUR_MS

    def _plan_hour(self, begin: int) -> None:
        rng = random.Random(f"arrivals:{self.seed}:{begin}")
        moment = begin
        while True:
            moment += int(rng.expovariate(1 / 150.0) * 1000) + 1000  # about one every 2.5 minutes
            if moment >= begin + HOUR_MS:
                return
            task_type = _pick_type(rng)
            task = make_task(self.overlord, self.pools, rng, task_type, rng.choice(self.datasources), moment)
            task.plan = self.overlord.plan(behaviour_for_type(task_type), moment, rng)
            self.overlord.add(task)
