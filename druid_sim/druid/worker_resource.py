"""``OverlordResource``'s worker endpoints (reference 13 and 18), and the simulated MiddleManagers' own.

``/workers``, ``/totalWorkerCapacity`` and ``/scaling`` are answered from the model's worker pool at the
moment of the request (`druid_sim.overlord.capacity`), so they agree with the task lists. The dynamic
worker config (``GET``/``POST /worker``, ``/worker/history``) and enabling or disabling a MiddleManager
(the Overlord's ``/worker/{host}/enable|disable``, the MiddleManager's ``/druid/worker/v1/...``) change
which worker the model gives each task not yet running (`druid_sim.overlord.worker_config`).
"""

from __future__ import annotations

from typing import Any

import orjson

from druid_sim.actions import REMADE, REMADE_IDENTITY
from druid_sim.asgi import Scope
from druid_sim.clock import format_instant
from druid_sim.druid.answers import BodyError, config_filter, is_json, java_int, json_body, legacy_error
from druid_sim.druid.intervals import IntervalError, parse_interval
from druid_sim.druid.worker_config import ConfigBodyError, read_worker_config
from druid_sim.overlord.capacity import total_capacity_json, workers_json
from druid_sim.overlord.worker_config import (
    AUDIT_HISTORY_MS,
    CONFIG_KEY,
    AuditEntry,
    set_enabled,
    set_worker_config,
    worker_config_of,
)
from druid_sim.runtime import Simulation
from druid_sim.security.access import state_filter, user_of
from druid_sim.wire import DruidRequest, DruidResponse, error_page, json_response

#: ``AuthConfig.ALLOW_ALL_NAME``: the identity of every request when security is off.
ALLOW_ALL = "allowAll"


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


# -- the dynamic worker config (18.1 - 18.3) ----------------------------------------------------


def audit_identity(scope: Scope) -> str | None:
    """``AuthorizationUtils.getAuthenticatedIdentity``: the user's name, ``allowAll`` without security.

    A change made again from the state store (`druid_sim.actions.REMADE`) carries the identity it was
    first made with.
    """
    if REMADE in scope:
        remade: str | None = scope.get(REMADE_IDENTITY)
        return ALLOW_ALL if remade is None else remade
    user = user_of(scope)
    return ALLOW_ALL if user is None else user.name


def _client_ip(scope: Scope) -> str:
    client = scope.get("client")
    return str(client[0]) if client else ""


async def get_worker_config(sim: Simulation, request: DruidRequest) -> DruidResponse:
    """18.1 ``GET /worker``: the stored ``WorkerBehaviorConfig``; before any POST, 200 with no entity at all."""
    denied = config_filter(request)
    if denied is not None:
        return denied
    served = worker_config_of(sim.overlord).served
    if served is None:
        return DruidResponse(200, b"", None)  # Response.ok(null): no body, no content type
    return json_response(served)


async def post_worker_config(sim: Simulation, request: DruidRequest) -> DruidResponse:
    """18.2 ``POST /worker``: audit and store the config, apply its strategy; 200 with no entity.

    ``@Consumes(application/json)`` is matched first (415), then ``ConfigResourceFilter`` (403), then the
    body is read: malformed JSON is a 500 page, an empty body the NPE ``JacksonConfigManager.set`` meets.
    """
    accept = request.header(b"accept")
    if not is_json(request.header(b"content-type")):
        return error_page(415, request.path, accept)
    denied = config_filter(request)
    if denied is not None:
        return denied
    try:
        value = await json_body(request)
    except BodyError as exc:
        return exc.response
    if value is None:
        message = 'Cannot invoke "Object.getClass()" because "newValue" is null'
        return error_page(500, request.path, accept, message, "java.lang.NullPointerException")
    try:
        served, select = read_worker_config(value)
    except ConfigBodyError as exc:
        return legacy_error(str(exc), 400)
    overlord = sim.overlord
    now = overlord.now()
    payload = orjson.dumps(served)
    audit = AuditEntry(
        at_ms=now,
        author=request.header(b"x-druid-author") or "",
        identity=audit_identity(request.scope),
        comment=request.header(b"x-druid-comment") or "",
        ip=_client_ip(request.scope),
        payload=payload.decode(),
    )
    set_worker_config(overlord, payload, select, audit)
    return DruidResponse(200, b"", None)  # Response.ok().build()


def _audit_json(entry: AuditEntry) -> dict[str, Any]:
    """``AuditEntry`` as read back from the audit table: creator order, ``request`` null, the payload a string."""
    return {
        "key": CONFIG_KEY,
        "type": CONFIG_KEY,
        "auditInfo": {"author": entry.author, "identity": entry.identity, "comment": entry.comment, "ip": entry.ip},
        "request": None,
        "payload": entry.payload,
        "auditTime": format_instant(entry.at_ms),
    }


async def get_worker_history(sim: Simulation, request: DruidRequest) -> DruidResponse:
    """18.3 ``GET /worker/history[?interval=...][&count=N]``: audit entries of ``worker.config``.

    ``count`` without ``interval``: the newest ``count``, newest first (400 when below 1); otherwise the
    entries of ``interval`` (default: the last week), oldest first. A ``count`` that is not an ``Integer``
    is JAX-RS's 404; an interval ``Intervals.of`` refuses, a 500 page.
    """
    denied = config_filter(request)
    if denied is not None:
        return denied
    accept = request.header(b"accept")
    count = java_int(request.query.get("count"))  # NotFound (404) when not an Integer
    interval_text = request.query.get("interval")
    window = None
    if interval_text is not None:
        try:
            window = parse_interval(interval_text, underscore=False)
        except IntervalError as exc:
            return error_page(500, request.path, accept, str(exc), exc.exception)
    overlord = sim.overlord
    now = overlord.now()
    config = worker_config_of(overlord)
    if window is None and count is not None:
        if count < 1:
            return legacy_error("Limit must be greater than zero!", 400)
        entries = config.latest(count)
    else:
        start, end = window if window is not None else (now - AUDIT_HISTORY_MS, now)
        entries = config.between(start, end)
    return json_response(orjson.dumps([_audit_json(entry) for entry in entries]))


# -- enabling and disabling MiddleManagers (18.4) -----------------------------------------------


async def _change_worker(sim: Simulation, request: DruidRequest, enabled: bool) -> DruidResponse:
    """18.4 ``POST /worker/{host}/enable|disable`` (``StateResourceFilter``): the Overlord asks the
    MiddleManager named ``host:port`` (as ``/workers`` names it); ``{host: "enabled"|"disabled"}``."""
    denied = state_filter(request.scope, request.method)
    if denied is not None:
        return denied
    host = request.params[0]
    overlord = sim.overlord
    index = overlord.workers.host_index(host)
    if index is None:
        return legacy_error(f"Worker on host {host} does not exists", 500)
    set_enabled(overlord, index, enabled)
    return json_response(orjson.dumps({host: "enabled" if enabled else "disabled"}))


async def post_enable_worker(sim: Simulation, request: DruidRequest) -> DruidResponse:
    return await _change_worker(sim, request, True)


async def post_disable_worker(sim: Simulation, request: DruidRequest) -> DruidResponse:
    return await _change_worker(sim, request, False)


def _addressed_middle_manager(sim: Simulation, request: DruidRequest) -> tuple[int, str] | None:
    """The simulated MiddleManager a ``/druid/worker/v1`` request is for: the one its ``Host`` header names
    (``host:8091``, as ``/workers`` shows it). A request to the simulator's own address reached the
    Overlord, which serves no such path."""
    host = request.header(b"host") or ""
    index = sim.overlord.workers.host_index(host)
    return None if index is None else (index, host)


async def get_middle_manager_enabled(sim: Simulation, request: DruidRequest) -> DruidResponse:
    """18.4 the MiddleManager's ``GET /druid/worker/v1/enabled`` (``StateResourceFilter``): ``{host: true}``."""
    found = _addressed_middle_manager(sim, request)
    if found is None:
        return error_page(404, request.path, request.header(b"accept"))
    denied = state_filter(request.scope, request.method)
    if denied is not None:
        return denied
    index, host = found
    return json_response(orjson.dumps({host: index not in sim.overlord.workers.disabled}))


async def _middle_manager_change(sim: Simulation, request: DruidRequest, enabled: bool) -> DruidResponse:
    """18.4 the MiddleManager's ``POST /druid/worker/v1/enable|disable`` (``ConfigResourceFilter``)."""
    found = _addressed_middle_manager(sim, request)
    if found is None:
        return error_page(404, request.path, request.header(b"accept"))
    denied = config_filter(request)
    if denied is not None:
        return denied
    index, host = found
    set_enabled(sim.overlord, index, enabled)
    return json_response(orjson.dumps({host: "enabled" if enabled else "disabled"}))


async def post_middle_manager_enable(sim: Simulation, request: DruidRequest) -> DruidResponse:
    return await _middle_manager_change(sim, request, True)


async def post_middle_manager_disable(sim: Simulation, request: DruidRequest) -> DruidResponse:
    return await _middle_manager_change(sim, request, False)
