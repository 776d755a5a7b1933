"""An OpenAPI 3.1 document for the simulated Druid Overlord Tasks API (Druid publishes none).

Written by hand as data from the behaviour reference, section 2 (endpoints), 3 (object shapes) and 7
(error bodies), and so describing what Druid 35 really answers, including its oddities: plain-text
404s for unknown task ids, raw strings labelled ``application/json``, Jetty HTML error pages.
"""

from __future__ import annotations

from typing import Any

from druid_sim.control.overlord_openapi import RAW_TEXT as RAW_TEXT
from druid_sim.control.overlord_openapi import overlord_paths

V1 = "/druid/indexer/v1"


def _ref(name: str) -> dict[str, str]:
    return {"$ref": f"#/components/schemas/{name}"}


def _resp(name: str) -> dict[str, str]:
    return {"$ref": f"#/components/responses/{name}"}


def _json(description: str, schema: dict[str, Any]) -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"schema": schema}}}


def _media(description: str, schemas: dict[str, dict[str, Any]]) -> dict[str, Any]:
    """One status answered in several media types (an unknown task's text, a known task's JSON, ...)."""
    return {"description": description, "content": {media: {"schema": schema} for media, schema in schemas.items()}}


def _text(description: str, example: str, media: str = "text/plain") -> dict[str, Any]:
    return {"description": description, "content": {media: {"schema": {"type": "string"}, "example": example}}}


def _raw_json(example: str, schema: dict[str, Any] | None = None) -> dict[str, Any]:
    """``application/json`` whose body is (or may be) raw text: `RAW_TEXT`, and the schema when it is JSON."""
    return {"schema": schema or {"type": "string"}, "example": example, RAW_TEXT: True}


def query_parameter(name: str, description: str, schema: dict[str, Any] | None = None) -> dict[str, Any]:
    """An optional query parameter (a string unless ``schema`` says otherwise)."""
    return {
        "name": name,
        "in": "query",
        "required": False,
        "description": description,
        "schema": schema or {"type": "string"},
    }


_TASK_ID = {
    "name": "taskId",
    "in": "path",
    "required": True,
    "description": "the task id, percent-encoded (':' as %3A); decoded by the server",
    "schema": {"type": "string"},
}
_DATASOURCE = {"name": "dataSource", "in": "path", "required": True, "schema": {"type": "string"}}
_TASK_ID_WRAPPER = _json(
    "the task id", {"type": "object", "properties": {"task": {"type": "string"}}, "required": ["task"]}
)
_LIST = _json(
    "TaskStatusPlus objects: complete tasks first (newest created first), then active ones (oldest first)",
    {"type": "array", "items": _ref("TaskStatusPlus")},
)
_JSON_IN = {"content": {"application/json": {"schema": {"type": "object"}}}}


def _filtered(description: str, extra: dict[str, Any]) -> dict[str, Any]:
    """An operation behind TaskResourceFilter: unknown id → 404 plain text, invalid id → 500 page (1.2)."""
    responses = {"404": _resp("UnknownTask"), "500": _resp("JettyPage"), **extra}
    return {"summary": description, "parameters": [_TASK_ID], "responses": dict(sorted(responses.items()))}


def _paths() -> dict[str, Any]:
    state_schema = {"type": "string", "enum": ["pending", "waiting", "running", "complete"]}
    return {
        f"{V1}/tasks": {
            "get": {
                "summary": "2.1 list tasks",
                "parameters": [
                    query_parameter(
                        "state", "case-insensitive: pending, waiting, running or complete; absent = all", state_schema
                    ),
                    query_parameter("datasource", "exact datasource name"),
                    query_parameter(
                        "createdTimeInterval",
                        "ISO interval ('_' may replace '/'); only its LENGTH is used, as a look-back from now, for complete tasks",
                    ),
                    query_parameter(
                        "max",
                        "limit on complete tasks only; 0 = no complete tasks; not an integer → 404",
                        {"type": "integer"},
                    ),
                    query_parameter("type", "exact task type, applied after the limit"),
                ],
                "responses": {
                    "200": _LIST,
                    "400": _text(
                        "invalid state",
                        "Invalid task state[bogus]. Must be one of [pending, waiting, running, complete].",
                    ),
                    "404": _resp("JettyPage"),
                    "500": _resp("JettyPage"),
                    "503": _resp("JettyPage"),
                },
            }
        },
        f"{V1}/completeTasks": {
            "get": {
                "summary": "2.2 complete tasks",
                "parameters": [query_parameter("n", "= max", {"type": "integer"})],
                "responses": {"200": _LIST, "404": _resp("JettyPage")},
            }
        },
        f"{V1}/runningTasks": {
            "get": {
                "summary": "2.3 running tasks",
                "parameters": [query_parameter("type", "exact task type")],
                "responses": {"200": _LIST},
            }
        },
        f"{V1}/waitingTasks": {"get": {"summary": "2.4 waiting tasks (no parameters)", "responses": {"200": _LIST}}},
        f"{V1}/pendingTasks": {"get": {"summary": "2.5 pending tasks (no parameters)", "responses": {"200": _LIST}}},
        f"{V1}/task": {
            "post": {
                "summary": "2.11 submit a task",
                "requestBody": {"required": True, **_JSON_IN},
                "responses": {
                    "200": _TASK_ID_WRAPPER,
                    "400": {
                        "description": 'Jackson mapping error ({"error": first line}) or duplicate id (ErrorResponse entryAlreadyExists)',
                        "content": {
                            "application/json": {"schema": {"oneOf": [_ref("LegacyError"), _ref("ErrorResponse")]}}
                        },
                    },
                    "415": _resp("JettyPage"),
                    "429": _json("queue full (CAPACITY_EXCEEDED)", _ref("ErrorResponse")),
                    "500": _resp("JettyPage"),
                    "503": _resp("JettyPage"),
                },
            }
        },
        f"{V1}/task/{{taskId}}": {
            "get": _filtered("2.6 task payload", {"200": _json("{task, payload}", _ref("TaskPayloadResponse"))})
        },
        f"{V1}/task/{{taskId}}/status": {
            "get": _filtered("2.7 task status", {"200": _json("{task, status}", _ref("TaskStatusResponse"))})
        },
        f"{V1}/task/{{taskId}}/segments": {
            "get": _filtered(
                "2.8 deprecated: always 404 after the filter",
                {
                    "404": _media(
                        "unknown task (text/plain), else always {error} (application/json)",
                        {"text/plain": {"type": "string"}, "application/json": _ref("LegacyError")},
                    )
                },
            )
        },
        f"{V1}/task/{{taskId}}/log": {
            "get": {
                **_filtered(
                    "2.9 task log, streamed",
                    {
                        "200": _text(
                            "raw log bytes (chunked)",
                            "2026-01-01T00:00:01,000 INFO [main] ...",
                            "text/plain; charset=UTF-8",
                        ),
                        "404": _media(
                            "unknown task (Cannot find any task with id: [<id>]) or no log yet (text/plain); "
                            "an offset that is not a long (JAX-RS conversion, Jetty page)",
                            {"text/plain": {"type": "string"}, "text/html": {"type": "string"}},
                        ),
                    },
                ),
                "parameters": [
                    _TASK_ID,
                    query_parameter(
                        "offset",
                        "BYTE offset: 0 = whole log, positive = from there, negative = last N bytes",
                        {"type": "integer", "format": "int64"},
                    ),
                ],
            }
        },
        f"{V1}/task/{{taskId}}/reports": {
            "get": _filtered(
                "2.10 task reports (live while running, completion after)",
                {
                    "200": _json("report map keyed by report type", {"type": "object"}),
                    "404": {
                        "description": "unknown task (text/plain) or no reports yet: a raw string labelled application/json",
                        "content": {
                            "application/json": _raw_json(
                                "No task reports were found for this task. The task may not exist, or it may not "
                                "have completed yet."
                            ),
                            "text/plain": {"schema": {"type": "string"}},
                        },
                    },
                },
            )
        },
        f"{V1}/task/{{taskId}}/shutdown": {
            "post": _filtered(
                "2.12 shut a task down (200 for any known task; body ignored)",
                {"200": _TASK_ID_WRAPPER, "503": _resp("JettyPage")},
            )
        },
        f"{V1}/datasources/{{dataSource}}/shutdownAllTasks": {
            "post": {
                "summary": "2.13 shut down every active task of a datasource",
                "parameters": [_DATASOURCE],
                "responses": {
                    "200": _json("{dataSource}", {"type": "object", "properties": {"dataSource": {"type": "string"}}}),
                    "404": _resp("JettyPage"),
                    "503": _resp("JettyPage"),
                },
            }
        },
        f"{V1}/taskStatus": {
            "post": {
                "summary": "2.14 bulk status: unknown ids are omitted",
                "requestBody": {
                    "required": True,
                    "content": {"application/json": {"schema": {"type": "array", "items": {"type": "string"}}}},
                },
                "responses": {
                    "200": _json("{id: TaskStatus}", {"type": "object", "additionalProperties": _ref("TaskStatus")}),
                    "400": {
                        "description": 'empty list (raw text labelled application/json) or not an array ({"error"})',
                        "content": {
                            "application/json": _raw_json(
                                "No Task IDs provided.",
                                {"oneOf": [{"type": "string"}, _ref("LegacyError")]},
                            )
                        },
                    },
                    "415": _resp("JettyPage"),
                    "500": _resp("JettyPage"),
                },
            }
        },
        f"{V1}/pendingSegments/{{dataSource}}": {
            "delete": {
                "summary": "2.15 delete pending segments created in an interval",
                "parameters": [_DATASOURCE, query_parameter("interval", "ISO interval: the creation-time window")],
                "responses": {
                    "200": _json("{numDeleted}", {"type": "object", "properties": {"numDeleted": {"type": "integer"}}}),
                    "400": _json("an active task overlaps the window", _ref("LegacyError")),
                    "500": _resp("JettyPage"),
                    "503": _json("not leader", _ref("LegacyError")),
                },
            }
        },
        f"{V1}/leader": {
            "get": {
                "summary": "2.16 the leader's base URL, as a raw string labelled application/json (never redirected)",
                "responses": {
                    "200": {
                        "description": "raw URL",
                        "content": {"application/json": _raw_json("http://localhost:8081")},
                    }
                },
            }
        },
        f"{V1}/isLeader": {
            "get": {
                "summary": "2.17 is this Overlord the leader (never redirected)",
                "responses": {
                    "200": _json("leader", {"type": "object", "properties": {"leader": {"const": True}}}),
                    "404": _json("not leader", {"type": "object", "properties": {"leader": {"const": False}}}),
                },
            }
        },
        "/status": {
            "get": {"summary": "version, modules, memory", "responses": {"200": _json("status", {"type": "object"})}}
        },
        "/status/health": {"get": {"summary": "health", "responses": {"200": _json("true", {"type": "boolean"})}}},
    }


def _schemas() -> dict[str, Any]:
    nullable_string = {"type": ["string", "null"]}
    return {
        "TaskLocation": {
            "type": "object",
            "properties": {
                "host": nullable_string,
                "port": {"type": "integer"},
                "tlsPort": {"type": "integer"},
                "k8sPodName": {"type": "string"},
            },
            "required": ["host", "port", "tlsPort"],
            "example": {"host": None, "port": -1, "tlsPort": -1},
        },
        "TaskStatusPlus": {
            "type": "object",
            "description": "fields in this order (reference 3.1); status duplicates statusCode",
            "properties": {
                "id": {"type": "string"},
                "groupId": nullable_string,
                "type": nullable_string,
                "createdTime": {"type": "string", "format": "date-time"},
                "queueInsertionTime": {"type": "string", "format": "date-time"},
                "statusCode": {"type": "string", "enum": ["RUNNING", "SUCCESS", "FAILED"]},
                "status": {"type": "string", "enum": ["RUNNING", "SUCCESS", "FAILED"]},
                "runnerStatusCode": {
                    "type": ["string", "null"],
                    "enum": ["WAITING", "PENDING", "RUNNING", "NONE", None],
                },
                "duration": {"type": "integer", "description": "ms; -1 while active and for shut-down tasks"},
                "location": _ref("TaskLocation"),
                "dataSource": nullable_string,
                "errorMsg": nullable_string,
            },
        },
        "TaskStatus": {
            "type": "object",
            "properties": {
                "id": {"type": "string"},
                "status": {"type": "string", "enum": ["RUNNING", "SUCCESS", "FAILED"]},
                "duration": {"type": "integer"},
                "errorMsg": nullable_string,
                "location": _ref("TaskLocation"),
            },
        },
        "TaskStatusResponse": {
            "type": "object",
            "properties": {"task": {"type": "string"}, "status": _ref("TaskStatusPlus")},
        },
        "TaskPayloadResponse": {
            "type": "object",
            "properties": {"task": {"type": "string"}, "payload": {"type": "object"}},
        },
        "LegacyError": {"type": "object", "properties": {"error": {"type": "string"}}, "required": ["error"]},
        "ErrorResponse": {
            "type": "object",
            "properties": {
                "error": {"const": "druidException"},
                "errorCode": {"type": "string", "example": "entryAlreadyExists"},
                "persona": {"type": "string", "enum": ["USER", "ADMIN", "OPERATOR", "DEVELOPER"]},
                "category": {"type": "string", "example": "INVALID_INPUT"},
                "errorMessage": {"type": "string"},
                "context": {"type": "object"},
            },
        },
    }


#: Operations that never answer 403, even on a secured cluster (docs/security.md 4.3): the filtered lists.
_NEVER_FORBIDDEN = {f"{V1}/completeTasks", f"{V1}/runningTasks", f"{V1}/waitingTasks", f"{V1}/pendingTasks"}
#: ``CliOverlord.UNSECURED_PATHS``.
_UNSECURED = {f"{V1}/isLeader", "/status/health"}


def _secured(paths: dict[str, Any]) -> dict[str, Any]:
    """Each operation with the 401 and 403 a secured cluster adds (a scenario's ``security:`` section)."""
    for path, operations in paths.items():
        for operation in operations.values():
            if path in _UNSECURED:
                operation["security"] = [{}]
                continue
            responses = {**operation["responses"], "401": _resp("Unauthorized")}
            if path not in _NEVER_FORBIDDEN:
                responses["403"] = _resp("Forbidden")
            operation["responses"] = dict(sorted(responses.items()))
    return paths


def druid_openapi(druid_version: str) -> dict[str, Any]:
    """The document served at ``/__sim/druid-openapi.json``."""
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "Apache Druid Overlord API (as simulated by druid-sim)",
            "version": druid_version,
            "description": "Every endpoint under /druid/indexer/v1 the simulator serves, with Druid's real "
            "status codes, content types and error bodies. A non-leader answers every path except /leader "
            "and /isLeader with 307 to the leader (Location = leader URL + request URI). With a scenario's "
            "security: section (Druid basic security, docs/security.md), every path but /status/health and "
            "/isLeader wants HTTP Basic credentials (401) and a permission (403). A media type marked "
            f"{RAW_TEXT}: true is raw text although Druid labels it application/json (/leader, an empty "
            "/taskStatus list, reports not found): read the text itself, and parse it as JSON only if it parses.",
        },
        "security": [{}, {"basic": []}],
        "paths": _secured({**_paths(), **overlord_paths()}),
        "components": {
            "securitySchemes": {"basic": {"type": "http", "scheme": "basic"}},
            "schemas": _schemas(),
            "responses": {
                "Unauthorized": {
                    "description": "secured cluster only: no credentials (this JSON, WWW-Authenticate: Basic) or "
                    "refused ones (a Jetty page: Unauthorized, or User authentication failed username[<user>].)",
                    "content": {
                        "application/json;charset=utf-8": {
                            "schema": {"type": "object"},
                            "example": {
                                "error": "Unauthorized request",
                                "errorMessage": None,
                                "errorClass": None,
                                "host": "localhost",
                            },
                        },
                        "text/html": {"schema": {"type": "string"}},
                    },
                },
                "Forbidden": {
                    "description": "secured cluster only: the user lacks the permission (ForbiddenException); "
                    "GET /tasks?datasource= answers text/plain 'Access-Check-Result: Unauthorized' instead",
                    "content": {
                        "application/json": {
                            "schema": {"type": "object"},
                            "example": {"Access-Check-Result": "Unauthorized"},
                        },
                        "text/plain": {"schema": {"type": "string"}},
                    },
                },
                "UnknownTask": _text(
                    "no task with this id (TaskResourceFilter)", "Cannot find any task with id: [<id>]"
                ),
                "JettyPage": {
                    "description": "an entity-less error rendered by Jetty (HTML for Accept */*)",
                    "content": {"text/html": {"schema": {"type": "string"}}},
                },
            },
        },
    }
