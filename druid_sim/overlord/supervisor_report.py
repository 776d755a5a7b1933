"""What a stream supervisor reports at one virtual moment: state, offsets and lag, its tasks, stats.

Read from the supervisor's plans and the clock (`druid_sim.overlord.supervisors`), in the shapes of
Druid's ``SupervisorStateManager``, ``SeekableStreamSupervisorReportPayload``, ``TaskReportData`` and
``SupervisorStatus`` (reference 15.3 - 15.6).
"""

from __future__ import annotations

from typing import Any

from druid_sim.clock import format_instant
from druid_sim.overlord.stream import BASE_LAG_MS
from druid_sim.overlord.supervisors import (
    COMPLETION_TIMEOUT_MS,
    HEALTHINESS_THRESHOLD,
    PERIOD_MS,
    START_DELAY_MS,
    TASK_HEALTHINESS_THRESHOLD,
    TASK_UNHEALTHINESS_THRESHOLD,
    UNHEALTHINESS_THRESHOLD,
    Generation,
    Supervisor,
    partition_key,
)
from druid_sim.overlord.task import Phase, Task

#: Basic states that are unhealthy (``BasicState``); every other state's basic form is healthy.
UNHEALTHY = ("UNHEALTHY_SUPERVISOR", "UNHEALTHY_TASKS")


def _stream_state(supervisor: Supervisor, now: int) -> tuple[str, str] | None:
    """LOST_CONTACT_WITH_STREAM (or UNABLE_TO_CONNECT_TO_STREAM before any good run) from the third failed
    run in a row until the third good run after the stream is back."""
    since = supervisor.active_since
    if since is None:
        return None
    first_run = since + START_DELAY_MS
    for start, end in supervisor.windows("stream_unreachable"):
        failing_from = supervisor.run_after(max(start, since))
        unhealthy_from = failing_from + (UNHEALTHINESS_THRESHOLD - 1) * PERIOD_MS
        if unhealthy_from >= end:
            continue  # fewer failed runs than the threshold
        healthy_again = supervisor.run_after(end) + (HEALTHINESS_THRESHOLD - 1) * PERIOD_MS
        if unhealthy_from <= now < healthy_again:
            lost = first_run < failing_from
            return "UNHEALTHY_SUPERVISOR", "LOST_CONTACT_WITH_STREAM" if lost else "UNABLE_TO_CONNECT_TO_STREAM"
    return None


def _tasks_unhealthy(supervisor: Supervisor, now: int) -> bool:
    """``UNHEALTHY_TASKS``: three failed tasks in a row, until three succeed in a row."""
    ended = sorted(
        (task.plan.completed_at(), task.phase_at(now))
        for task in supervisor.tasks
        if task.created_ms <= now and task.phase_at(now) in (Phase.SUCCESS, Phase.FAILED)
    )
    unhealthy = False
    failed = succeeded = 0
    for _, phase in ended:
        if phase is Phase.FAILED:
            failed, succeeded = failed + 1, 0
        else:
            failed, succeeded = 0, succeeded + 1
        if failed >= TASK_UNHEALTHINESS_THRESHOLD:
            unhealthy = True
        elif unhealthy and succeeded >= TASK_HEALTHINESS_THRESHOLD:
            unhealthy = False
    return unhealthy


def state_of(supervisor: Supervisor, now: int) -> tuple[str, str]:
    """(state, detailedState) now."""
    if supervisor.spec.suspended or supervisor.active_since is None:
        return "SUSPENDED", "SUSPENDED"
    stream = _stream_state(supervisor, now)
    if stream is not None:
        return stream
    if now < supervisor.active_since + START_DELAY_MS:
        return "PENDING", "PENDING"
    if _tasks_unhealthy(supervisor, now):
        return "UNHEALTHY_TASKS", "UNHEALTHY_TASKS"
    return "RUNNING", "RUNNING"


def is_healthy(supervisor: Supervisor, now: int) -> bool:
    return state_of(supervisor, now)[0] not in UNHEALTHY


def _offsets(supervisor: Supervisor, partitions: list[int], moment: int) -> dict[str, int]:
    return {partition_key(supervisor.spec, p): supervisor.partitions.latest(p, moment) for p in partitions}


def _task_report(supervisor: Supervisor, generation: Generation, task: Task, now: int, active: bool) -> dict[str, Any]:
    """``TaskReportData``: offsets and lag only for a task that is reading."""
    plan = task.plan
    partitions = supervisor.partitions_of(generation.group)
    running = task.phase_at(now) is Phase.RUNNING
    report: dict[str, Any] = {
        "id": task.id,
        "startingOffsets": _offsets(supervisor, partitions, generation.consumed0),
        "startTime": format_instant(plan.running_at) if running else None,
    }
    if active:
        left = plan.running_at + generation.duration_ms - now if running else generation.duration_ms
    else:
        left = generation.read_until() + COMPLETION_TIMEOUT_MS - now
    report["remainingSeconds"] = max(0, left // 1000)
    report["type"] = "ACTIVE" if active else "PUBLISHING"
    if active and running:
        consumed = supervisor.consumed_at(generation.group, now)
        report["currentOffsets"] = _offsets(supervisor, partitions, consumed)
        report["lag"] = _lags(supervisor, partitions, consumed, now)
    return report


def _lags(supervisor: Supervisor, partitions: list[int], consumed: int, now: int) -> dict[str, int]:
    stream = supervisor.partitions
    return {
        partition_key(supervisor.spec, p): max(0, stream.latest(p, now) - stream.latest(p, consumed))
        for p in partitions
    }


def status_report(supervisor: Supervisor, now: int) -> dict[str, Any]:
    """``GET /supervisor/{id}/status``: a ``SupervisorReport`` around the stream report payload."""
    spec = supervisor.spec
    state, detailed = state_of(supervisor, now)
    active: list[dict[str, Any]] = []
    publishing: list[dict[str, Any]] = []
    for generation in supervisor.current():
        reading = generation.read_until() > now
        for task in generation.tasks:
            if task.created_ms > now or task.phase_at(now).complete:
                continue
            if reading:
                active.append(_task_report(supervisor, generation, task, now, active=True))
            elif task.phase_at(now) is Phase.RUNNING:
                publishing.append(_task_report(supervisor, generation, task, now, active=False))
    payload: dict[str, Any] = {
        "id": spec.id,
        "dataSource": spec.datasource,
        "stream": spec.stream,
        "partitions": len(supervisor.partitions),
        "replicas": spec.replicas,
        "durationSeconds": spec.task_duration_ms // 1000,
        "activeTasks": active,
        "publishingTasks": publishing,
    }
    started = supervisor.active_since is not None and now >= supervisor.active_since + START_DELAY_MS
    if started and not spec.suspended:
        updated = supervisor.last_run_at(now)
        latest: dict[str, int] = {}
        lags: dict[str, int] = {}
        millis: dict[str, int] = {}
        for group in range(supervisor.group_count):
            partitions = supervisor.partitions_of(group)
            consumed = supervisor.consumed_at(group, updated)
            latest.update(_offsets(supervisor, partitions, updated))
            lags.update(_lags(supervisor, partitions, consumed, updated))
            millis.update({partition_key(spec, p): max(BASE_LAG_MS, updated - consumed) for p in partitions})
        payload["latestOffsets"] = latest
        if spec.type == "kinesis":
            payload["minimumLagMillis"] = millis
            payload["aggregateLagMillis"] = max(millis.values(), default=0)
        else:
            payload["minimumLag"] = lags
            payload["aggregateLag"] = sum(lags.values())
        payload["offsetsLastUpdated"] = format_instant(updated)
    payload["suspended"] = spec.suspended
    payload["healthy"] = state not in UNHEALTHY
    payload["state"] = state
    payload["detailedState"] = detailed
    payload["recentErrors"] = [event.as_json() for event in supervisor.errors(now)]
    return {"id": spec.id, "generationTime": format_instant(now), "payload": payload}


def _row(per_second: float) -> dict[str, float]:
    return {
        "processed": round(per_second, 3),
        "processedBytes": round(per_second * 430, 3),
        "processedWithError": 0.0,
        "thrownAway": 0.0,
        "unparseable": 0.0,
    }


def stats(supervisor: Supervisor, now: int) -> dict[str, dict[str, Any]]:
    """``GET /supervisor/{id}/stats``: per task group, per running task, its moving averages and totals."""
    found: dict[str, dict[str, Any]] = {}
    for generation in supervisor.current():
        partitions = supervisor.partitions_of(generation.group)
        rate = sum(supervisor.partitions.rates[p] for p in partitions)
        for task in generation.tasks:
            if task.created_ms > now or task.phase_at(now) is not Phase.RUNNING:
                continue
            reading_ms = max(0, min(now, generation.read_until()) - task.plan.running_at)
            processed = int(rate * reading_ms / 1000)
            found.setdefault(str(generation.group), {})[task.id] = {
                "movingAverages": {"buildSegments": {window: _row(rate) for window in ("5m", "15m", "1m")}},
                "totals": {
                    "buildSegments": {
                        "processed": processed,
                        "processedBytes": processed * 430,
                        "processedWithError": 0,
                        "thrownAway": 0,
                        "unparseable": 0,
                    }
                },
            }
    return found


def supervisor_status(
    supervisor: Supervisor, now: int, *, full: bool, system: bool, spec_string: str | None
) -> dict[str, Any]:
    """One ``SupervisorStatus`` of ``GET /supervisor?full|state|system`` (NON_NULL fields only)."""
    spec = supervisor.spec
    state, detailed = state_of(supervisor, now)
    status: dict[str, Any] = {
        "id": spec.id,
        "dataSource": spec.datasource,
        "state": state,
        "detailedState": detailed,
        "healthy": state not in UNHEALTHY,
    }
    if full:
        status["spec"] = spec.served()
    if system:
        status["specString"] = spec_string
        status["type"] = spec.type
        status["source"] = spec.stream
    status["suspended"] = spec.suspended if system else False
    return status
