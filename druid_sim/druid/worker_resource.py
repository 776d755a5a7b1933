"""``OverlordResource``'s worker endpoints: ``/workers``, ``/totalWorkerCapacity``, ``/scaling`` (reference 13).

Answered from the model's worker pool at the moment of the request (`druid_sim.overlord.capacity`), so
they agree with the task lists; the pool itself is only read here.
"""

from __future__ import annotations

import orjson

from druid_sim.druid.answers import config_filter
from druid_sim.overlord.capacity import total_capacity_json, workers_json
from druid_sim.runtime import Simulation
from druid_sim.security.access import state_filter
from druid_sim.wire import DruidRequest, DruidResponse, json_response


async def get_workers(sim: Simulation, request: DruidRequest) -> DruidResponse:
    """13.1 ``GET /workers``: one ``ImmutableWorkerInfo`` per MiddleManager (``StateResourceFilter``)."""
    denied = state_filter(request.scope, request.method)
    if denied is not None:
        return denied
    overlord = sim.overlord
    return json_response(orjson.dumps(workers_json(overlord, overlord.now())))


async def get_total_worker_capacity(sim: Simulation, request: DruidRequest) -> DruidResponse:
    """13.2 ``GET /totalWorkerCapacity``: ``TotalWorkerCapacityResponse`` (``ConfigResourceFilter``)."""
    denied = config_filter(request)
    if denied is not None:
        return denied
    overlord = sim.overlord
    return json_response(orjson.dumps(total_capacity_json(overlord, overlord.now())))


async def get_scaling(sim: Simulation, request: DruidRequest) -> DruidResponse:
    """13.3 ``GET /scaling``: without an autoscaler (``druid.indexer.autoscale.doAutoscale`` false), 200
    with no entity at all: Jersey sends no body and no content type."""
    denied = state_filter(request.scope, request.method)
    if denied is not None:
        return denied
    return DruidResponse(200, b"", None)
