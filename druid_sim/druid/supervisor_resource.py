"""``SupervisorResource``: ``/druid/indexer/v1/supervisor/...`` (reference 15), answered from the supervisor model.

Per-id endpoints sit behind ``SupervisorResourceFilter``: an unknown id is a plain-text 404 before the
handler runs ("Cannot find any supervisor with id: [x]"), then READ (GET) or WRITE (POST) on the
supervisor's datasource is checked. Lists and the ``*All`` actions keep the supervisors the user may
WRITE (Druid 35; READ for the list only from Druid 37), histories the ones it may READ.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import orjson

from druid_sim.clock import format_instant
from druid_sim.druid.answers import BodyError, is_json, json_body, legacy_error
from druid_sim.druid.jackson import shape_of
from druid_sim.druid.submission import SubmissionError
from druid_sim.druid.supervisor_spec import parse_supervisor_spec
from druid_sim.overlord.supervisor_report import is_healthy, stats, status_report, supervisor_status
from druid_sim.overlord.supervisors import (
    HistoryEntry,
    Supervisor,
    SupervisorError,
    SupervisorManager,
    manager_of,
    partition_key,
)
from druid_sim.runtime import Simulation
from druid_sim.security.access import datasource_filter, permitted, require
from druid_sim.security.model import DATASOURCE, READ, WRITE
from druid_sim.wire import TEXT, DruidRequest, DruidResponse, error_page, json_response, text_response

METADATA = "org.apache.druid.indexing.overlord.DataSourceMetadata"


def _manager(sim: Simulation) -> tuple[SupervisorManager, int]:
    """The model's supervisors, caught up to now."""
    overlord = sim.overlord
    manager = manager_of(overlord)
    now = overlord.now()
    return manager, now


def _visible(request: DruidRequest, manager: SupervisorManager, action: str) -> list[str]:
    return [
        supervisor_id
        for supervisor_id in manager.ids()
        if permitted(request.scope, DATASOURCE, manager.supervisors[supervisor_id].spec.datasource, action)
    ]


def _filtered(sim: Simulation, request: DruidRequest) -> tuple[SupervisorManager, int, Supervisor] | DruidResponse:
    """``SupervisorResourceFilter``: 404 text for an unknown id, then the permission on its datasource."""
    manager, now = _manager(sim)
    supervisor_id = request.params[0]
    supervisor = manager.get(supervisor_id)
    if supervisor is None:
        return text_response(f"Cannot find any supervisor with id: [{supervisor_id}]", 404, TEXT)
    refused = datasource_filter(request.scope, request.method, supervisor.spec.datasource)
    return refused if refused is not None else (manager, now, supervisor)


def _missing(supervisor_id: str) -> DruidResponse:
    return legacy_error(f"[{supervisor_id}] does not exist", 404)


# -- create, list, read (15.1 - 15.6) --------------------------------------------------------------------


async def post_supervisor(sim: Simulation, request: DruidRequest) -> DruidResponse:
    """15.1 ``POST /supervisor[?skipRestartIfUnmodified=true]``: ``{"id": id}``."""
    try:
        value = await json_body(request)
        spec = parse_supervisor_spec(value)
    except BodyError as exc:
        return exc.response
    except SubmissionError as exc:
        if exc.status == 400:
            return legacy_error(exc.message, 400)
        return error_page(exc.status, request.path, request.header(b"accept"), exc.message, exc.exception)
    refused = require(request.scope, spec.datasource, WRITE)
    if refused is not None:
        return refused
    manager, now = _manager(sim)
    skip = request.query.get("skipRestartIfUnmodified", "").lower() == "true"
    try:
        manager.create_or_update(spec, skip, now)
    except SupervisorError as exc:
        body = {
            "error": "druidException",
            "errorCode": "invalidInput",
            "persona": "USER",
            "category": "INVALID_INPUT",
            "errorMessage": str(exc),
            "context": {},
        }
        return json_response(orjson.dumps(body), 400)
    return json_response(orjson.dumps({"id": spec.id}))


async def get_supervisors(sim: Simulation, request: DruidRequest) -> DruidResponse:
    """15.2 ``GET /supervisor``: ids; with ``full``, ``state=true`` or ``system``, ``SupervisorStatus`` objects."""
    manager, now = _manager(sim)
    ids = _visible(request, manager, WRITE)
    query = request.query
    full = "full" in query
    state = query.get("state", "").lower() == "true"
    system = "system" in query
    if not (full or state or system):
        return json_response(orjson.dumps(ids))
    statuses = []
    for supervisor_id in ids:
        supervisor = manager.supervisors[supervisor_id]
        spec_string = orjson.dumps(supervisor.spec.served()).decode() if system else None
        statuses.append(supervisor_status(supervisor, now, full=full, system=system, spec_string=spec_string))
    return json_response(orjson.dumps(statuses))


async def get_supervisor(sim: Simulation, request: DruidRequest) -> DruidResponse:
    """15.3 ``GET /supervisor/{id}``: the spec as stored."""
    found = _filtered(sim, request)
    if isinstance(found, DruidResponse):
        return found
    return json_response(found[2].spec.encoded())


async def get_status(sim: Simulation, request: DruidRequest) -> DruidResponse:
    """15.4 ``GET /supervisor/{id}/status``: the ``SupervisorReport`` at this moment."""
    found = _filtered(sim, request)
    if isinstance(found, DruidResponse):
        return found
    _, now, supervisor = found
    return json_response(orjson.dumps(status_report(supervisor, now)))


async def get_health(sim: Simulation, request: DruidRequest) -> DruidResponse:
    """15.5 ``GET /supervisor/{id}/health``: 200 ``{"healthy":true}`` or 503 ``{"healthy":false}``."""
    found = _filtered(sim, request)
    if isinstance(found, DruidResponse):
        return found
    _, now, supervisor = found
    healthy = is_healthy(supervisor, now)
    return json_response(orjson.dumps({"healthy": healthy}), 200 if healthy else 503)


async def get_stats(sim: Simulation, request: DruidRequest) -> DruidResponse:
    """15.6 ``GET /supervisor/{id}/stats``: ``{taskGroup: {taskId: movingAverages and totals}}``."""
    found = _filtered(sim, request)
    if isinstance(found, DruidResponse):
        return found
    _, now, supervisor = found
    return json_response(orjson.dumps(stats(supervisor, now)))


async def get_parse_errors(sim: Simulation, request: DruidRequest) -> DruidResponse:
    """15.6 ``GET /supervisor/{id}/parseErrors``: the model's tasks parse every row, so ``[]``."""
    found = _filtered(sim, request)
    if isinstance(found, DruidResponse):
        return found
    return json_response(b"[]")


# -- history (15.7) ------------------------------------------------------------------------------------


def _history_json(entries: list[HistoryEntry]) -> bytes:
    return (
        b"["
        + b",".join(
            b'{"spec":' + entry.spec + b',"version":' + orjson.dumps(format_instant(entry.version_ms)) + b"}"
            for entry in entries
        )
        + b"]"
    )


def _readable(request: DruidRequest, entry: HistoryEntry) -> bool:
    spec = orjson.loads(entry.spec)
    datasources = spec.get("dataSources") or [spec.get("dataSchema", {}).get("dataSource")]
    return all(permitted(request.scope, DATASOURCE, str(name), READ) for name in datasources)


async def get_all_history(sim: Simulation, request: DruidRequest) -> DruidResponse:
    """15.7 ``GET /supervisor/history``: ``{id: [VersionedSupervisorSpec, newest first]}``, READ-filtered."""
    manager, _ = _manager(sim)
    parts = []
    for supervisor_id in sorted(manager.history):
        entries = [entry for entry in manager.history[supervisor_id] if _readable(request, entry)]
        if entries:
            parts.append(orjson.dumps(supervisor_id) + b":" + _history_json(entries))
    return json_response(b"{" + b",".join(parts) + b"}")


async def get_history(sim: Simulation, request: DruidRequest) -> DruidResponse:
    """15.7 ``GET /supervisor/{id}/history[?count=N]``: no resource filter; 404 when none is visible."""
    supervisor_id = request.params[0]
    count_text = request.query.get("count")
    count = None
    if count_text is not None:
        try:
            count = int(count_text)
        except ValueError:
            return error_page(404, request.path, request.header(b"accept"))
        if count <= 0:
            return legacy_error(f"Count must be greater than zero if set (count was {count})", 400)
    manager, _ = _manager(sim)
    entries = manager.history.get(supervisor_id, [])[:count]
    visible = [entry for entry in entries if _readable(request, entry)]
    if not visible:
        return legacy_error(f"No history for [{supervisor_id}].", 404)
    return json_response(_history_json(visible))


# -- actions (15.8 - 15.10) ----------------------------------------------------------------------------


async def _suspend_or_resume(sim: Simulation, request: DruidRequest, suspend: bool) -> DruidResponse:
    found = _filtered(sim, request)
    if isinstance(found, DruidResponse):
        return found
    manager, now, supervisor = found
    if manager.suspend_or_resume(supervisor.spec.id, suspend, now):
        return json_response(supervisor.spec.encoded())
    return legacy_error(f"[{supervisor.spec.id}] is already {'suspended' if suspend else 'running'}", 400)


async def post_suspend(sim: Simulation, request: DruidRequest) -> DruidResponse:
    """15.8 ``POST /supervisor/{id}/suspend``: the suspended spec; 400 when already suspended."""
    return await _suspend_or_resume(sim, request, True)


async def post_resume(sim: Simulation, request: DruidRequest) -> DruidResponse:
    """15.8 ``POST /supervisor/{id}/resume``: the running spec; 400 when already running."""
    return await _suspend_or_resume(sim, request, False)


async def post_terminate(sim: Simulation, request: DruidRequest) -> DruidResponse:
    """15.9 ``POST /supervisor/{id}/terminate`` (and the deprecated ``/shutdown``): ``{"id": id}``."""
    found = _filtered(sim, request)
    if isinstance(found, DruidResponse):
        return found
    manager, now, supervisor = found
    if not manager.terminate(supervisor.spec.id, now):
        return _missing(supervisor.spec.id)
    return json_response(orjson.dumps({"id": supervisor.spec.id}))


async def post_reset(sim: Simulation, request: DruidRequest) -> DruidResponse:
    """15.10 ``POST /supervisor/{id}/reset``: a hard reset, ``{"id": id}``."""
    found = _filtered(sim, request)
    if isinstance(found, DruidResponse):
        return found
    manager, now, supervisor = found
    manager.reset(supervisor.spec.id, now)
    return json_response(orjson.dumps({"id": supervisor.spec.id}))


def _reset_offsets(supervisor: Supervisor, value: Any) -> dict[int, int] | str:
    """The partitions and offsets of a ``DataSourceMetadata`` body, or Druid's complaint."""
    spec = supervisor.spec
    if not isinstance(value, Mapping):
        return f"Cannot deserialize value of type `{METADATA}` from {shape_of(value)}"
    if value.get("type") is None:
        return f"Could not resolve subtype of [simple type, class {METADATA}]: missing type id property 'type'"
    if value.get("type") != spec.type:
        return f"Datasource metadata type [{value.get('type')}] does not match the supervisor's type [{spec.type}]"
    partitions = value.get("partitions")
    if not isinstance(partitions, Mapping):
        return "Provided datasource metadata has no partitions to reset"
    stream = partitions.get("stream", partitions.get("topic"))
    if stream != spec.stream:
        return f"Stream[{stream}] doesn't exist in the supervisor[{spec.id}]. Supervisor is consuming stream[{spec.stream}]."
    offsets = partitions.get("partitionOffsetMap", partitions.get("partitionSequenceNumberMap"))
    if not isinstance(offsets, Mapping):
        return "Provided datasource metadata has no partitions to reset"
    keys = {partition_key(spec, p): p for p in range(len(supervisor.partitions))}
    found: dict[int, int] = {}
    for key, offset in offsets.items():
        if str(key) not in keys or isinstance(offset, bool) or not isinstance(offset, int | str):
            return f"Partition[{key}] or offset[{offset}] is not valid for stream[{spec.stream}]"
        try:
            found[keys[str(key)]] = int(offset)
        except ValueError:
            return f"Partition[{key}] or offset[{offset}] is not valid for stream[{spec.stream}]"
    return found


async def post_reset_offsets(sim: Simulation, request: DruidRequest) -> DruidResponse:
    """15.10 ``POST /supervisor/{id}/resetOffsets``: restart the named partitions' groups from the given offsets."""
    found = _filtered(sim, request)
    if isinstance(found, DruidResponse):
        return found
    manager, now, supervisor = found
    try:
        value = await json_body(request)
    except BodyError as exc:
        return exc.response
    if value is None:
        manager.reset(supervisor.spec.id, now)
        return json_response(orjson.dumps({"id": supervisor.spec.id}))
    offsets = _reset_offsets(supervisor, value)
    if isinstance(offsets, str):
        return legacy_error(offsets, 400)
    manager.reset(supervisor.spec.id, now, offsets)
    return json_response(orjson.dumps({"id": supervisor.spec.id}))


async def post_handoff(sim: Simulation, request: DruidRequest) -> DruidResponse:
    """15.10 ``POST /supervisor/{id}/taskGroups/handoff``: 202 (early handoff is not modelled: nothing changes).

    Jersey refuses a body that is not JSON (415) before the resource filter runs, and the handler checks
    the list after it.
    """
    if not is_json(request.header(b"content-type")):
        return error_page(415, request.path, request.header(b"accept"))
    found = _filtered(sim, request)
    if isinstance(found, DruidResponse):
        return found
    try:
        value = await json_body(request)
    except BodyError as exc:
        return exc.response
    groups = value.get("taskGroupIds") if isinstance(value, Mapping) else None
    if not groups:
        return legacy_error("List of task groups to handoff can't be empty", 400)
    return DruidResponse(202, b"", None)


async def _all(sim: Simulation, request: DruidRequest, action: str) -> DruidResponse:
    """15.11 ``suspendAll`` / ``resumeAll`` / ``terminateAll``: every supervisor the user may WRITE."""
    manager, now = _manager(sim)
    for supervisor_id in _visible(request, manager, WRITE):
        if action == "terminate":
            manager.terminate(supervisor_id, now)
        else:
            manager.suspend_or_resume(supervisor_id, action == "suspend", now)
    return json_response(b'{"status":"success"}')


async def post_suspend_all(sim: Simulation, request: DruidRequest) -> DruidResponse:
    return await _all(sim, request, "suspend")


async def post_resume_all(sim: Simulation, request: DruidRequest) -> DruidResponse:
    return await _all(sim, request, "resume")


async def post_terminate_all(sim: Simulation, request: DruidRequest) -> DruidResponse:
    return await _all(sim, request, "terminate")
