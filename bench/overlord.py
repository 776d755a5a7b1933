"""The model's own work per request on the demo cluster, in process, without HTTP (issue 17).

What a request costs the Overlord model before any bytes move: the hooks every answer runs
(``Overlord.now()``: arrivals and supervisors catching up), a task's status, the cached full list,
and the new endpoints' answers (a supervisor's status report, ``/workers``, ``/lockedIntervals/v2``).
The Tasks endpoints must not pay for the supervisors: ``now()`` is the number to compare between
branches. Each figure is the best of ``BENCH_REPETITIONS`` (at least 5) rounds of 20,000 calls (2,000
for the heavier answers), so a busy machine inflates it less than a wrk run. No target: it informs.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from bench.common import markdown_table, repetitions
from druid_sim.config import ServeConfig
from druid_sim.overlord.capacity import workers_json
from druid_sim.overlord.locks import LockFilter, lockbox_of
from druid_sim.overlord.overlord import TaskQuery
from druid_sim.overlord.supervisor_report import status_report
from druid_sim.overlord.supervisors import manager_of
from druid_sim.simulation import build_simulation

START_MS = 1767225600000  # 2026-01-01T00:00:00Z


def best_us(call: Callable[[], object], calls: int, rounds: int) -> float:
    """The best mean time of one call over ``rounds`` rounds, in microseconds."""
    best = float("inf")
    for _ in range(rounds):
        started = time.perf_counter()
        for _ in range(calls):
            call()
        best = min(best, (time.perf_counter() - started) / calls * 1e6)
    return best


def main() -> int:
    simulation = build_simulation(ServeConfig(scenario="demo", time_scale=0, start_ms=START_MS))
    overlord = simulation.overlord
    now = overlord.now()
    task = next(iter(overlord.tasks.values()))
    supervisor = manager_of(overlord).supervisors["clickstream_events"]
    filters = [LockFilter(name, 25) for name in sorted(overlord.datasources)]
    rounds = max(5, repetitions())

    def status() -> object:
        found = overlord.get(task.id)
        assert found is not None
        return found.status_response(found.phase_at(overlord.now()))

    cases: list[tuple[str, Callable[[], object], int]] = [
        ("Overlord.now() (hooks before every answer)", overlord.now, 20_000),
        ("GET /task/{id}/status (model part)", status, 20_000),
        ("GET /tasks (cached list)", lambda: overlord.list_tasks(TaskQuery()), 20_000),
        ("GET /supervisor/{id}/status (report)", lambda: status_report(supervisor, now), 2_000),
        ("GET /workers", lambda: workers_json(overlord, now), 2_000),
        (
            "POST /lockedIntervals/v2 (5 datasources)",
            lambda: lockbox_of(overlord).locked_intervals(filters, now),
            2_000,
        ),
    ]
    rows: list[list[object]] = [[name, f"{best_us(call, calls, rounds):.2f}"] for name, call, calls in cases]
    print(markdown_table(["model work on the demo", "µs per call (best round)"], rows), flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
