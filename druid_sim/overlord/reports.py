"""Task reports (reference 6.3): a live report while a task runs, the completion report after.

Row counts grow with the plan's rate; the numbers of parse errors and thrown-away rows are small,
fixed per task by its seed, so consecutive polls show totals that only ever grow.
"""

from __future__ import annotations

import random
from typing import Any

from druid_sim.overlord.task import Phase, Task

_BYTES_PER_ROW = 157


def _row_stats(processed: int, rng: random.Random) -> dict[str, int]:
    with_error = rng.randrange(0, 3) if processed else 0
    thrown = rng.randrange(0, 40) if processed else 0
    unparseable = rng.randrange(0, 5) if processed else 0
    return {
        "processed": processed,
        "processedBytes": processed * _BYTES_PER_ROW,
        "processedWithError": with_error,
        "thrownAway": thrown,
        "unparseable": unparseable,
    }


def _rows_at(task: Task, end_ms: int) -> int:
    return int(max(0, end_ms - task.plan.running_at) / 1000.0 * task.plan.rows_per_second)


def reports_exist(task: Task, phase: Phase) -> bool:
    """Reports exist while a task runs on a peon and after it ran to an end of its own."""
    return phase in (Phase.RUNNING, Phase.SUCCESS, Phase.FAILED)


def live_report(task: Task, now_ms: int) -> dict[str, Any]:
    """``AbstractBatchIndexTask.buildLiveIngestionStatsReport``: moving averages and growing totals."""
    rng = random.Random(f"report:{task.seed}")
    rows = _rows_at(task, now_ms)
    rate = task.plan.rows_per_second
    averages: dict[str, dict[str, float]] = {}
    for window, jitter in (("1m", 0.07), ("5m", 0.04), ("15m", 0.02)):
        average = rate * (1.0 + rng.uniform(-jitter, jitter)) if rows else 0.0
        averages[window] = {
            "processed": round(average, 3),
            "processedBytes": round(average * _BYTES_PER_ROW, 3),
            "processedWithError": 0.0,
            "thrownAway": 0.0,
            "unparseable": 0.0,
        }
    payload = {
        "ingestionState": "BUILD_SEGMENTS",
        "unparseableEvents": {},
        "rowStats": {
            "movingAverages": {"buildSegments": averages},
            "totals": {"buildSegments": _row_stats(rows, rng)},
        },
        "errorMsg": None,
        "segmentAvailabilityConfirmed": False,
        "segmentAvailabilityWaitTimeMs": 0,
        "recordsProcessed": None,
    }
    return {"ingestionStatsAndErrors": {"type": "ingestionStatsAndErrors", "taskId": task.id, "payload": payload}}


def completion_report(task: Task, phase: Phase) -> dict[str, Any]:
    """The ``report.json`` a finished task pushes: ``ingestionStatsAndErrors`` and ``taskContext``."""
    rng = random.Random(f"report:{task.seed}")
    rows = _rows_at(task, task.plan.completed_at())
    failed = phase is not Phase.SUCCESS
    payload = {
        "ingestionState": "BUILD_SEGMENTS" if failed else "COMPLETED",
        "unparseableEvents": {},
        "rowStats": {
            "determinePartitions": _row_stats(0, rng),
            "buildSegments": _row_stats(rows, rng),
        },
        "errorMsg": task.error_msg(phase),
        "segmentAvailabilityConfirmed": False,
        "segmentAvailabilityWaitTimeMs": 0,
        "recordsProcessed": None,
    }
    return {
        "ingestionStatsAndErrors": {"type": "ingestionStatsAndErrors", "taskId": task.id, "payload": payload},
        "taskContext": {"type": "taskContext", "taskId": task.id, "payload": task.payload.get("context", {})},
    }
