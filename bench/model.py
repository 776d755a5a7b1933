"""The Overlord model's memory per stored task, and what adding faults costs as they pile up (issue 22).

* memory: 10,000 tasks submitted through ``Overlord.submit`` with the demo's task bodies, each polled
  while it runs (``GET /task/{id}/status``), then all complete, listed (``GET /tasks``) and polled
  once more, as a client following its tasks leaves them. Bytes per complete task are tracemalloc's
  count of what the model still holds, divided by the tasks. Target: ≤ 3 KB per complete task.
* faults: ``druid-sim serve --scenario demo`` given ``FAULT_BATCHES`` batches of ``FAULT_BATCH`` latency
  faults through ``POST /__sim/faults``; the seconds each batch takes. Adding is linear when the last
  batch costs what the first does (it took 11, 39, 65, 86 and 120 s per 10,000 before the fault list
  was indexed). Reported, not gated: a figure, not a timed assertion.

``python -m bench model``
"""

from __future__ import annotations

import gc
import random
import time
import tracemalloc

import httpx
import orjson

from bench.common import machine_note, markdown_table, serving, write_results
from druid_sim.clock import Clock
from druid_sim.druid.submission import parse_submission
from druid_sim.overlord.behaviour import BehaviourRules, Distribution, TaskBehaviour
from druid_sim.overlord.demo import make_task
from druid_sim.overlord.fakes import fake_pools
from druid_sim.overlord.overlord import Overlord, TaskQuery
from druid_sim.overlord.task import Phase
from druid_sim.overlord.workers import WorkerPool

START_MS = 1767225600000
TASKS = 10_000
TARGET_BYTES_PER_TASK = 3 * 1024
FAULT_BATCH = 10_000
FAULT_BATCHES = 5
TYPES = ("index_parallel", "compact", "kill", "query_controller", "index")
DATASOURCES = ("wikipedia", "orders", "clickstream_events", "page_views_hourly", "kafka_metrics")


def submission_bodies(count: int) -> list[bytes]:
    """``count`` ``POST /task`` bodies as the demo's clients send them (no server-filled fields)."""
    clock = Clock(START_MS, 0)
    pools = fake_pools(0)
    maker = Overlord(clock)
    rng = random.Random("bench:model")
    bodies = []
    for number in range(count):
        task = make_task(maker, pools, rng, TYPES[number % len(TYPES)], DATASOURCES[number % 5], START_MS)
        payload = orjson.loads(task.payload_json)
        for filled in ("id", "groupId", "resource"):
            payload.pop(filled, None)
        bodies.append(orjson.dumps(payload))
    return bodies


def bytes_per_complete_task(count: int = TASKS) -> float:
    """What the model holds per complete task after a client submitted, followed and listed them."""
    bodies = submission_bodies(count)
    clock = Clock(START_MS, 0)
    behaviour = TaskBehaviour(run=Distribution.fixed(30))
    overlord = Overlord(
        clock, rules=BehaviourRules(default=behaviour), workers=WorkerPool(fake_pools(0).middle_managers, 9)
    )
    gc.collect()
    tracemalloc.start()
    before = tracemalloc.get_traced_memory()[0]
    submissions = [parse_submission(body) for body in bodies]
    del bodies
    for submission in submissions:
        task = overlord.submit(submission)
        clock.advance(1)
        now = overlord.now()
        task.status_response(task.phase_at(now))  # the client polls its task as it goes
    del submissions
    clock.advance(40 * 86400)
    now = overlord.now()
    overlord.list_tasks(TaskQuery(lookback_ms=10**12))
    for task in overlord.tasks.values():
        assert task.phase_at(now).complete and task.phase_at(now) is not Phase.WAITING
        task.status_response(task.phase_at(now))
    overlord._lists.clear()  # the list cache is bounded and shared, not per task
    gc.collect()
    held = tracemalloc.get_traced_memory()[0] - before
    tracemalloc.stop()
    return held / count


def fault_batches(batches: int = FAULT_BATCHES, size: int = FAULT_BATCH) -> list[float]:
    """Seconds each batch of ``size`` faults takes through ``POST /__sim/faults`` on a real server."""
    timings: list[float] = []
    with (
        serving("model", "--scenario", "demo", "--time-scale", "0") as server,
        httpx.Client(base_url=server.url, timeout=600) as client,
    ):
        for batch in range(batches):
            body = [
                {"kind": "latency", "delay": 0, "routes": [f"/druid/indexer/v1/task/never-{batch}-{n}/status"]}
                for n in range(size)
            ]
            started = time.perf_counter()
            answer = client.post("/__sim/faults", json=body)
            timings.append(time.perf_counter() - started)
            answer.raise_for_status()
        held = len(client.get("/__sim/faults").json()["faults"])
        assert held == batches * size, f"{held} faults held, {batches * size} added"
    return timings


def main() -> int:
    per_task = bytes_per_complete_task()
    timings = fault_batches()
    rows = [
        [
            "memory per complete task",
            f"{per_task:,.0f} B",
            f"≤ {TARGET_BYTES_PER_TASK:,} B",
            per_task <= TARGET_BYTES_PER_TASK,
        ],
        [
            f"adding {FAULT_BATCH:,} faults, batch by batch",
            ", ".join(f"{seconds:.2f} s" for seconds in timings),
            "flat (linear)",
            "reported",
        ],
    ]
    table = markdown_table(["what", "measured", "target", "met"], rows)
    write_results("model", f"# bench model\n\n{machine_note()}\n\n{table}\n")
    return 0 if per_task <= TARGET_BYTES_PER_TASK else 1


if __name__ == "__main__":
    raise SystemExit(main())
