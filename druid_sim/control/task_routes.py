"""``/__sim/tasks/{id}/log``: how big a task's log is now, for the dashboard's log pane.

Druid's ``GET /task/{id}/log?offset=-N`` gives a log's tail but never its length, and reading the whole
log to count it would cost megabytes on a long-running task (``log-growth``). The model knows the size
without building the log, so the page asks here. It is read from the model without counting as a Druid
request: no journal entry, no fault trigger used up.
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response

from druid_sim.control.core import simulation_of
from druid_sim.control.errors import ControlError, JSONAnswer
from druid_sim.overlord.task import Phase


async def task_log_size(request: Request) -> Response:
    """``GET /__sim/tasks/{id}/log``: ``{"task", "exists", "bytes", "growing"}``; 404 for an unknown task."""
    simulation = simulation_of(request)
    task_id = request.path_params["id"]
    task = simulation.overlord.get(task_id)
    if task is None:
        raise ControlError(404, f"no task {task_id!r} in the simulated cluster")
    now = simulation.overlord.now()
    phase = task.phase_at(now)
    logs = simulation.logs
    exists = logs.exists(task, phase)
    return JSONAnswer(
        {
            "task": task.id,
            "exists": exists,
            "bytes": logs.size(task, phase, now) if exists else 0,
            "growing": phase is Phase.RUNNING,
        }
    )
