"""The OpenAPI paths of the Overlord beyond the Tasks API: workers, locks, supervisors, compaction, segments.

Part of the Druid API's document (`druid_sim.control.druid_openapi`), written from the behaviour
reference's sections 13 - 16 and 18 (with the simulated MiddleManagers' own ``/druid/worker/v1`` paths).
Bodies are described by their shape; the reference has every field.
"""

from __future__ import annotations

from typing import Any

V1 = "/druid/indexer/v1"
_ANY: dict[str, Any] = {}
_OBJECT = {"type": "object"}
_ARRAY = {"type": "array"}
#: A request body: Druid reads an object (a spec, a filter) or a list (lock filters); a bare scalar is its 400.
_JSON_IN = {"content": {"application/json": {"schema": {"type": ["object", "array"]}}}}
#: The extension marking a media type whose body Druid writes as raw text although it labels it
#: ``application/json`` (reference 1.1): a client reads the text itself, or JSON only if it parses.
RAW_TEXT = "x-raw-text"


def _json(description: str, schema: dict[str, Any] | None = None) -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"schema": schema or _ANY}}}


def _raw_text(description: str) -> dict[str, Any]:
    """A message Druid writes as raw text under ``application/json`` (reference 1.1), marked `RAW_TEXT`."""
    return {"description": description, "content": {"application/json": {"schema": {"type": "string"}, RAW_TEXT: True}}}


def _param(name: str, location: str = "path") -> dict[str, Any]:
    return {"name": name, "in": location, "required": location == "path", "schema": {"type": "string"}}


_PAGE = {"description": "a Jetty error page", "content": {"text/html": {"schema": {"type": "string"}}}}
_BAD_BODY = {"415": _PAGE, "500": _PAGE}
_UNKNOWN_SUPERVISOR = {
    "description": "SupervisorResourceFilter: Cannot find any supervisor with id: [<id>]",
    "content": {"text/plain": {"schema": {"type": "string"}}},
}
_LEGACY_SCHEMA = {"type": "object", "properties": {"error": {"type": "string"}}}
_LEGACY = _json("a legacy error body", _LEGACY_SCHEMA)
_LEGACY_OR_PAGE = {
    "description": "a legacy error body, or (count not an integer) a Jetty page",
    "content": {"application/json": {"schema": _LEGACY_SCHEMA}, "text/html": {"schema": {"type": "string"}}},
}


def _op(
    summary: str, responses: dict[str, Any], *, params: list[dict[str, Any]] | None = None, body: bool = False
) -> dict[str, Any]:
    operation: dict[str, Any] = {"summary": summary, "responses": dict(sorted(responses.items()))}
    if params:
        operation["parameters"] = params
    if body:
        operation["requestBody"] = _JSON_IN
    return operation


def _per_supervisor(
    summary: str, ok: dict[str, Any], extra: dict[str, Any] | None = None, *, body: bool = False
) -> dict[str, Any]:
    responses = {"200": ok, "404": _UNKNOWN_SUPERVISOR, **(extra or {})}
    if body:
        responses.update(_BAD_BODY)
    return _op(summary, responses, params=[_param("supervisorId")], body=body)


_EMPTY_200 = {"description": "no entity and no content type"}
_WORKER_STATE = _json("{host:port: enabled|disabled}", {"type": "object", "additionalProperties": {"type": "string"}})
_NO_MIDDLE_MANAGER = {
    "description": "the Host header names no simulated MiddleManager: the Overlord serves no such path",
    "content": {"text/html": {"schema": {"type": "string"}}},
}


def worker_paths() -> dict[str, Any]:
    """Section 18: the dynamic worker config, its history, and enabling or disabling MiddleManagers."""
    host = [_param("host")]
    change = {"200": _WORKER_STATE, "500": _json("Worker on host <host> does not exists", _LEGACY_SCHEMA)}
    return {
        f"{V1}/worker": {
            "get": _op(
                "18.1 the WorkerBehaviorConfig",
                {
                    "200": {
                        "description": "the WorkerBehaviorConfig as application/json; before one was posted, no "
                        "entity and no content type (one answer, so its media type is left open)"
                    }
                },
            ),
            "post": _op(
                "18.2 store, audit and apply a WorkerBehaviorConfig (X-Druid-Author, X-Druid-Comment)",
                {"200": _EMPTY_200, "400": _LEGACY, **_BAD_BODY},
                params=[_param("X-Druid-Author", "header"), _param("X-Druid-Comment", "header")],
                body=True,
            ),
        },
        f"{V1}/worker/history": {
            "get": _op(
                "18.3 audit entries of worker.config: the newest count, or an interval's (the last week) oldest first",
                {"200": _json("AuditEntry list", _ARRAY), "400": _LEGACY, "404": _PAGE, "500": _PAGE},
                params=[_param("interval", "query"), _param("count", "query")],
            )
        },
        f"{V1}/worker/{{host}}/enable": {"post": _op("18.4 enable a MiddleManager (host:port)", change, params=host)},
        f"{V1}/worker/{{host}}/disable": {"post": _op("18.4 disable a MiddleManager (host:port)", change, params=host)},
        "/druid/worker/v1/enabled": {
            "get": _op(
                "18.4 a MiddleManager's own: whether it is enabled (addressed by the Host header)",
                {"200": _json("{host:port: boolean}", _OBJECT), "404": _NO_MIDDLE_MANAGER},
            )
        },
        "/druid/worker/v1/enable": {
            "post": _op("18.4 a MiddleManager's own: enable it", {"200": _WORKER_STATE, "404": _NO_MIDDLE_MANAGER})
        },
        "/druid/worker/v1/disable": {
            "post": _op("18.4 a MiddleManager's own: disable it", {"200": _WORKER_STATE, "404": _NO_MIDDLE_MANAGER})
        },
    }


def overlord_paths() -> dict[str, Any]:
    """Sections 13 - 16 and 18 of the reference as OpenAPI path items."""
    sid = "{supervisorId}"
    sup = f"{V1}/supervisor"
    locks = {"200": _json("per datasource"), "400": _raw_text("No filter provided, or Jackson's mismatch"), **_BAD_BODY}
    marked = {
        "200": _json(
            "SegmentUpdateResponse", {"type": "object", "properties": {"numChangedSegments": {"type": "integer"}}}
        )
    }
    datasource = [_param("dataSource")]
    return {
        f"{V1}/workers": {
            "get": _op("13.1 the MiddleManagers (ImmutableWorkerInfo)", {"200": _json("workers", _ARRAY)})
        },
        **worker_paths(),
        f"{V1}/totalWorkerCapacity": {
            "get": _op("13.2 total, maximum and used capacity", {"200": _json("capacity", _OBJECT)})
        },
        f"{V1}/scaling": {
            "get": _op("13.3 scaling events: no entity without an autoscaler", {"200": {"description": "empty"}})
        },
        f"{V1}/lockedIntervals/v2": {"post": _op("14.2 locked intervals per datasource", locks, body=True)},
        f"{V1}/activeLocks": {"post": _op("14.3 active locks per datasource", locks, body=True)},
        sup: {
            "get": _op(
                "15.2 supervisor ids, or SupervisorStatus objects",
                {"200": _json("ids or statuses", _ARRAY)},
                params=[_param("full", "query"), _param("state", "query"), _param("system", "query")],
            ),
            "post": _op(
                "15.1 create or update a supervisor",
                {"200": _json("the id", _OBJECT), "400": _json("Jackson's or Druid's error", _OBJECT), **_BAD_BODY},
                params=[_param("skipRestartIfUnmodified", "query")],
                body=True,
            ),
        },
        f"{sup}/history": {"get": _op("15.7 every supervisor's spec history", {"200": _json("history", _OBJECT)})},
        f"{sup}/suspendAll": {"post": _op("15.11 suspend all", {"200": _json("status", _OBJECT)})},
        f"{sup}/resumeAll": {"post": _op("15.11 resume all", {"200": _json("status", _OBJECT)})},
        f"{sup}/terminateAll": {"post": _op("15.11 terminate all", {"200": _json("status", _OBJECT)})},
        f"{sup}/{sid}": {"get": _per_supervisor("15.3 the spec", _json("spec", _OBJECT))},
        f"{sup}/{sid}/status": {"get": _per_supervisor("15.4 the status report", _json("SupervisorReport", _OBJECT))},
        f"{sup}/{sid}/health": {
            "get": _per_supervisor("15.5 health", _json("healthy", _OBJECT), {"503": _json("unhealthy", _OBJECT)})
        },
        f"{sup}/{sid}/stats": {"get": _per_supervisor("15.6 task stats", _json("stats", _OBJECT))},
        f"{sup}/{sid}/parseErrors": {"get": _per_supervisor("15.6 parse errors", _json("errors", _ARRAY))},
        f"{sup}/{sid}/history": {
            "get": _op(
                "15.7 one supervisor's spec history",
                {
                    "200": _json("history", _ARRAY),
                    "400": _LEGACY,
                    "404": _LEGACY_OR_PAGE,
                },
                params=[_param("supervisorId"), _param("count", "query")],
            )
        },
        f"{sup}/{sid}/suspend": {"post": _per_supervisor("15.8 suspend", _json("spec", _OBJECT), {"400": _LEGACY})},
        f"{sup}/{sid}/resume": {"post": _per_supervisor("15.8 resume", _json("spec", _OBJECT), {"400": _LEGACY})},
        f"{sup}/{sid}/terminate": {"post": _per_supervisor("15.9 terminate", _json("id", _OBJECT))},
        f"{sup}/{sid}/shutdown": {"post": _per_supervisor("15.9 terminate (deprecated)", _json("id", _OBJECT))},
        f"{sup}/{sid}/reset": {"post": _per_supervisor("15.10 hard reset", _json("id", _OBJECT))},
        f"{sup}/{sid}/resetOffsets": {
            "post": _per_supervisor("15.10 reset some offsets", _json("id", _OBJECT), {"400": _LEGACY}, body=True)
        },
        f"{sup}/{sid}/taskGroups/handoff": {
            "post": _per_supervisor(
                "15.10 early handoff",
                {"description": "unused"},
                {"202": {"description": "accepted"}, "400": _LEGACY},
                body=True,
            )
        },
        f"{V1}/compaction/isSupervisorEnabled": {
            "get": _op("16.1 compaction supervisors on?", {"200": _json("boolean", {"type": "boolean"})})
        },
        f"{V1}/compaction/config/cluster": {
            "get": _op("16.1 the cluster compaction config", {"200": _json("ClusterCompactionConfig", _OBJECT)}),
            "post": _op(
                "16.1 replace the cluster compaction config",
                {"200": _json("success", _OBJECT), "400": _LEGACY, **_BAD_BODY},
                body=True,
            ),
        },
        f"{V1}/compaction/config/datasources": {
            "get": _op("16.1 datasource compaction configs", {"200": _json("configs", _OBJECT)})
        },
        f"{V1}/compaction/status/datasources": {
            "get": _op("16.1 compaction snapshots", {"200": _json("snapshots", _OBJECT)})
        },
        f"{V1}/datasources/{{dataSource}}": {
            "post": _op(
                "16.2 mark all non-overshadowed segments used", {**marked, **_BAD_BODY}, params=datasource, body=True
            ),
            "delete": _op("16.2 mark all segments unused", marked, params=datasource),
        },
        f"{V1}/datasources/{{dataSource}}/markUsed": {
            "post": _op(
                "16.2 mark segments used",
                {**marked, "400": _raw_text("invalid payload"), **_BAD_BODY},
                params=datasource,
                body=True,
            )
        },
        f"{V1}/datasources/{{dataSource}}/markUnused": {
            "post": _op(
                "16.2 mark segments unused",
                {**marked, "400": _raw_text("invalid payload"), **_BAD_BODY},
                params=datasource,
                body=True,
            )
        },
        f"{V1}/datasources/{{dataSource}}/segments/{{segmentId}}": {
            "post": _op(
                "16.2 mark one segment used",
                {**marked, "400": _raw_text("unparseable id")},
                params=[*datasource, _param("segmentId")],
            ),
            "delete": _op(
                "16.2 mark one segment unused",
                {**marked, "400": _raw_text("unparseable id")},
                params=[*datasource, _param("segmentId")],
            ),
        },
    }
