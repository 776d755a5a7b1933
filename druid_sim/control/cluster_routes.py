"""``/__sim/cluster``: the simulated cluster at a glance, for dashboards and people with curl.

Worker slots and their use, the task queue, how many tasks are in each state, and who leads: the
things Druid's web console shows on its home and Services views. Everything is read from the model
and the faults in force without counting as a request, so looking never changes what clients meet
(fault triggers are not used up, no journal entry is made).
"""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from druid_sim.clock import format_instant
from druid_sim.control.core import simulation_of
from druid_sim.control.errors import JSONAnswer
from druid_sim.runtime import Simulation
from druid_sim.security.viewer import Viewer, viewer_of

#: The request whose fate tells who leads: the task list every client and console polls.
LEADER_PROBE = ("GET", "/druid/indexer/v1/tasks")


def describe_workers(simulation: Simulation, now: int, viewer: Viewer | None = None) -> dict[str, Any]:
    """Slots per MiddleManager (``capacity`` null: unlimited), the tasks running in them now, and whether
    each is enabled (a disabled one gets no new task: ``POST /druid/indexer/v1/worker/{host}/disable``).

    ``viewer``: a signed-in Druid user of the dashboard (`druid_sim.security.viewer`); the ids of running
    tasks it may not read are left out (slots used still count them: Druid's /workers shows that much).
    """
    overlord = simulation.overlord
    managers = overlord.middle_managers(now)

    def shown(task_id: str) -> bool:
        if viewer is None:
            return True
        task = overlord.get(task_id, now)
        return task is not None and viewer.may_read(task.datasource)

    return {
        "capacity": overlord.workers.total_capacity,
        "used": sum(manager.used for manager in managers),
        "middleManagers": [
            {
                "host": m.host,
                "capacity": m.capacity,
                "used": m.used,
                "runningTasks": [task_id for task_id in m.running if shown(task_id)],
                "enabled": m.enabled,
            }
            for m in managers
        ],
    }


def describe_leader(simulation: Simulation) -> dict[str, Any]:
    """Who a client polling ``/tasks`` meets as leader now, and which fault (if any) makes it so.

    ``state``: ``leading`` (this server answers), ``redirecting`` (307 to ``url``) or ``none`` (503, no
    leader known). ``intermittent``: the fault acts on some requests only (a counter or a probability).
    """
    leadership = simulation.leadership
    faults = simulation.extensions.get("faults")
    if faults is not None:
        for fault, always in faults.in_force(*LEADER_PROBE):
            if fault.kind == "redirect":
                return _leader(fault.to, "redirecting", fault.name, not always)
            if fault.kind == "no_leader":
                return _leader(None, "none", fault.name, not always)
            if fault.kind != "latency" and always:
                break  # it answers every such request before any leader fault behind it is reached
    if leadership.leader_url is not None:
        return _leader(leadership.leader_url, "redirecting", "leadership", False)
    if leadership.electing:  # a replica while no leader is known (docs/state.md)
        return _leader(None, "none", "leadership", False)
    return _leader(leadership.self_url, "leading", None, False)


def _leader(url: str | None, state: str, fault: str | None, intermittent: bool) -> dict[str, Any]:
    return {"url": url, "state": state, "fault": fault, "intermittent": intermittent}


async def get_cluster(request: Request) -> Response:
    """``GET /__sim/cluster``: tasks by state, the queue, worker slots and the leader, at the virtual now."""
    simulation = simulation_of(request)
    overlord = simulation.overlord
    now = overlord.now()
    tasks = overlord.census(now)
    active = tasks["waiting"] + tasks["pending"] + tasks["running"]
    return JSONAnswer(
        {
            "time": format_instant(now),
            "timeMillis": now,
            "selfUrl": simulation.leadership.self_url,
            "tasks": tasks,
            "queue": {
                "length": tasks["waiting"] + tasks["pending"],
                "active": active,
                "maxSize": overlord.queue_max_size,
            },
            "workers": describe_workers(simulation, now, viewer_of(simulation, request.headers)),
            "leader": describe_leader(simulation),
        }
    )
