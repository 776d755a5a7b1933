"""The OpenAPI 3.1 document of the control API, written as data next to the routes it describes.

``druid_openapi`` (the simulated Druid API) lives in :mod:`druid_sim.control.druid_openapi`.
"""

from __future__ import annotations

from typing import Any

from druid_sim import __version__
from druid_sim.clock import MAX_SCALE
from druid_sim.control.druid_openapi import druid_openapi, query_parameter

__all__ = ["control_openapi", "druid_openapi"]

_ERROR = {"$ref": "#/components/responses/Error"}


def _ok(description: str, schema: dict[str, Any] | None = None) -> dict[str, Any]:
    content = {"application/json": {"schema": schema or {"type": "object"}}}
    return {"description": description, "content": content}


def _body(description: str, schema: dict[str, Any], example: Any) -> dict[str, Any]:
    return {
        "description": description,
        "required": True,
        "content": {"application/json": {"schema": schema, "example": example}},
    }


_JOURNAL_FILTERS = [
    query_parameter("method", "HTTP method, case-insensitive (GET, POST, ...)"),
    query_parameter("path", "glob on the decoded path; * also crosses /, e.g. /druid/indexer/v1/task/*/status"),
    query_parameter("status", "status code answered", {"type": "integer"}),
    query_parameter(
        "answeredBy",
        "what answered: model, replay, fault, security (a secured cluster's 401 or 403), or upstream (a test "
        "recording a real cluster)",
        {"type": "string", "enum": ["model", "replay", "fault", "security", "upstream"]},
    ),
    query_parameter("fault", "name of the fault applied"),
    query_parameter("user", "the user the request was made as (a secured cluster)"),
    query_parameter("since", "only entries with seq greater than this", {"type": "integer", "minimum": 0}),
    query_parameter("client", "who sent it, exactly as the entry's client shows it"),
]

_CLOCK = {
    "type": "object",
    "properties": {
        "now": {"type": "string", "format": "date-time"},
        "nowMillis": {"type": "integer"},
        "scale": {"type": "number", "description": "virtual seconds per real second; 0 = frozen"},
        "frozen": {"type": "boolean"},
        "startMillis": {"type": "integer", "description": "where reset puts the clock back"},
    },
}

_ENTRY = {
    "type": "object",
    "properties": {
        "seq": {"type": "integer"},
        "time": {"type": "string", "format": "date-time", "description": "virtual time of arrival"},
        "timeMillis": {"type": "integer"},
        "method": {"type": "string"},
        "path": {"type": "string"},
        "query": {"type": "string"},
        "status": {"type": ["integer", "null"], "description": "null when no response was started"},
        "answeredBy": {"type": ["string", "null"], "enum": ["model", "replay", "fault", "security", "upstream", None]},
        "fault": {"type": ["string", "null"]},
        "user": {"type": ["string", "null"]},
        "client": {
            "type": ["string", "null"],
            "description": "the request's X-Druid-Sim-Client header, else its User-Agent (first 200 characters)",
        },
    },
}

_COUNTS = {
    "type": "object",
    "description": "tasks GET /tasks would list, by the state a client derives (statusCode, or runnerStatusCode "
    "while RUNNING); complete ones within the 24-hour look-back, shut-down ones as failed",
    "properties": {state: {"type": "integer"} for state in ("waiting", "pending", "running", "success", "failed")},
}

_CLUSTER = {
    "type": "object",
    "properties": {
        "time": {"type": "string", "format": "date-time"},
        "timeMillis": {"type": "integer"},
        "selfUrl": {"type": "string"},
        "tasks": _COUNTS,
        "queue": {
            "type": "object",
            "properties": {
                "length": {"type": "integer", "description": "waiting + pending"},
                "active": {"type": "integer"},
                "maxSize": {"type": ["integer", "null"], "description": "the scenario's queue_max_size"},
            },
        },
        "workers": {
            "type": "object",
            "properties": {
                "capacity": {"type": ["integer", "null"], "description": "task slots; null: unlimited"},
                "used": {"type": "integer"},
                "middleManagers": {
                    "type": "array",
                    "items": {
                        "type": "object",
                        "properties": {
                            "host": {"type": "string"},
                            "capacity": {"type": ["integer", "null"]},
                            "used": {"type": "integer"},
                            "runningTasks": {"type": "array", "items": {"type": "string"}},
                            "enabled": {"type": "boolean", "description": "false: disabled, given no new task"},
                        },
                    },
                },
            },
        },
        "leader": {
            "type": "object",
            "description": "who a client polling /druid/indexer/v1/tasks meets as leader now",
            "properties": {
                "url": {"type": ["string", "null"]},
                "state": {"enum": ["leading", "redirecting", "none"]},
                "fault": {
                    "type": ["string", "null"],
                    "description": "the fault that makes it so ('leadership': set_leader)",
                },
                "intermittent": {"type": "boolean", "description": "the fault acts on some requests only"},
            },
        },
    },
}

_FAULT = {
    "type": "object",
    "description": "a fault, in the same shape as under 'faults:' in a scenario file (see docs/scenarios.md)",
    "additionalProperties": True,
}


#: A duration string the clock takes (``clock.parse_duration``): seconds, or a number with a unit.
_DURATION_PATTERN = r"^\s*\d+(\.\d+)?\s*(ms|s|m|h|d)?\s*$"
#: Answers any call can get, besides its own: a token refused (when one is configured) or a Host this
#: server does not answer as (403, `druid_sim.control.browsers`); for a change, another Origin (403), a
#: server of several workers that only reads (409), a body too large (413) or not JSON (415); with
#: ``--state`` (docs/state.md), a replica that does not lead (307 to the leader) or a change that could not
#: be kept, or no leader known (503).
_TOKEN_REFUSED = {"401": _ERROR}
_ANY_REFUSED = {"403": _ERROR}
_STANDBY = {"description": "a replica that does not lead: the same call on the leader (Location)"}
_CHANGE_REFUSED = {"307": _STANDBY, "403": _ERROR, "409": _ERROR, "413": _ERROR, "415": _ERROR, "503": _ERROR}


def _every_status(path: str, method: str, operation: dict[str, Any]) -> dict[str, Any]:
    """The operation's responses plus the ones every call of its kind can get, in status order."""
    responses = dict(operation["responses"])
    if operation.get("security") != []:
        responses.update(_TOKEN_REFUSED)
    responses.update(_ANY_REFUSED)
    if method in ("post", "delete"):
        responses.update(_CHANGE_REFUSED)
    return dict(sorted(responses.items()))


def control_openapi() -> dict[str, Any]:
    """The document served at ``/__sim/openapi.json``."""
    paths: dict[str, Any] = {
        "/__sim/health": {
            "get": {
                "summary": "Is the simulator up; what does it serve",
                "security": [],
                "responses": {"200": _ok("up")},
            }
        },
        "/__sim/reset": {
            "post": {
                "summary": "Back to the scenario's start: tasks, clock, faults, replay cursors, journal",
                "responses": {
                    "200": _ok("reset", {"type": "object", "properties": {"reset": {"const": True}, "clock": _CLOCK}}),
                    "409": _ERROR,
                },
            }
        },
        "/__sim/clock": {
            "get": {"summary": "The virtual clock", "responses": {"200": _ok("the clock", _CLOCK)}},
            "post": {
                "summary": "Move or re-speed the virtual clock (speed first, then the step; never backwards)",
                "requestBody": _body(
                    "what to do",
                    {
                        "type": "object",
                        "additionalProperties": False,
                        "properties": {
                            "advance": {
                                "oneOf": [
                                    {"type": "number", "minimum": 0},
                                    {"type": "string", "pattern": _DURATION_PATTERN, "example": "5m"},
                                ]
                            },
                            "to": {"type": "string", "format": "date-time"},
                            "freeze": {"type": "boolean"},
                            "scale": {"type": "number", "minimum": 0, "maximum": MAX_SCALE},
                            "speed": {
                                "type": "number",
                                "minimum": 0,
                                "maximum": MAX_SCALE,
                                "description": "alias of scale",
                            },
                        },
                    },
                    {"advance": "5m"},
                ),
                "responses": {
                    "200": _ok("the clock after the change", _CLOCK),
                    "400": _ERROR,
                    "409": _ERROR,
                    "422": _ERROR,
                },
            },
        },
        "/__sim/cluster": {
            "get": {
                "summary": "Tasks by state, the queue, worker slots and the leader now (read without counting as a request)",
                "responses": {"200": _ok("the cluster", _CLUSTER)},
            }
        },
        "/__sim/scenarios": {
            "get": {
                "summary": "The built-in scenarios, each with its description",
                "responses": {"200": _ok("built-ins"), "501": _ERROR},
            }
        },
        "/__sim/scenario": {
            "get": {"summary": "The scenario loaded", "responses": {"200": _ok("scenario")}},
            "post": {
                "summary": "Load another scenario (and reset to its start)",
                "requestBody": _body(
                    "the scenario",
                    {
                        "type": "object",
                        "additionalProperties": False,
                        "required": ["scenario"],
                        "properties": {"scenario": {"type": ["string", "null"]}},
                    },
                    {"scenario": "demo"},
                ),
                "responses": {"200": _ok("loaded"), "400": _ERROR, "404": _ERROR, "422": _ERROR, "501": _ERROR},
            },
        },
        "/__sim/cassette": {
            "get": {"summary": "The cassette replayed, if any", "responses": {"200": _ok("cassette")}},
            "post": {
                "summary": "Replay another cassette",
                "requestBody": _body(
                    "the cassette: a file on the server's machine or a shipped cassette's name (null: stop replaying)",
                    {
                        "type": "object",
                        "additionalProperties": False,
                        "required": ["cassette"],
                        "properties": {"cassette": {"type": ["string", "null"]}},
                    },
                    {"cassette": "docs-examples"},
                ),
                "responses": {
                    "200": _ok("loaded"),
                    "400": _ERROR,
                    "404": _ERROR,
                    "409": _ERROR,
                    "422": _ERROR,
                    "501": _ERROR,
                },
            },
        },
        "/__sim/cassette/unused": {
            "get": {
                "summary": "Recorded interactions no request has used yet",
                "responses": {"200": _ok("unused"), "409": _ERROR, "501": _ERROR},
            }
        },
        "/__sim/faults": {
            "get": {"summary": "The faults in force", "responses": {"200": _ok("faults"), "501": _ERROR}},
            "post": {
                "summary": "Add one fault or a list of faults (scenario-file shape)",
                "requestBody": _body(
                    "a fault or a list",
                    {"oneOf": [_FAULT, {"type": "array", "items": _FAULT}]},
                    {"name": "flaky", "kind": "error", "status": 503, "when": {"every": 2}},
                ),
                "responses": {"200": _ok("added"), "400": _ERROR, "409": _ERROR, "422": _ERROR, "501": _ERROR},
            },
            "delete": {"summary": "Remove every fault", "responses": {"200": _ok("cleared"), "501": _ERROR}},
        },
        "/__sim/faults/presets": {
            "get": {
                "summary": "Fault presets (flaky-overlord, leader-failover, queue-full, slow-responses) and the "
                "faults each would add now",
                "responses": {"200": _ok("presets"), "501": _ERROR},
            }
        },
        "/__sim/faults/presets/{preset}": {
            "post": {
                "summary": "Arm a preset: add its faults, replacing them if armed already (windows start now)",
                "parameters": [{"name": "preset", "in": "path", "required": True, "schema": {"type": "string"}}],
                "responses": {"200": _ok("added"), "404": _ERROR, "501": _ERROR},
            }
        },
        "/__sim/faults/{name}": {
            "delete": {
                "summary": "Remove one fault by name",
                "parameters": [{"name": "name", "in": "path", "required": True, "schema": {"type": "string"}}],
                "responses": {"200": _ok("removed"), "404": _ERROR, "501": _ERROR},
            }
        },
        "/__sim/journal": {
            "get": {
                "summary": "Druid requests received, oldest first",
                "parameters": [
                    *_JOURNAL_FILTERS,
                    query_parameter("limit", "only the newest N matches", {"type": "integer", "minimum": 0}),
                ],
                "responses": {
                    "200": _ok(
                        "entries",
                        {
                            "type": "object",
                            "properties": {
                                "size": {"type": "integer"},
                                "held": {"type": "integer"},
                                "total": {"type": "integer"},
                                "dropped": {"type": "integer"},
                                "count": {"type": "integer"},
                                "entries": {"type": "array", "items": _ENTRY},
                            },
                        },
                    ),
                    "400": _ERROR,
                    "422": _ERROR,
                },
            },
            "delete": {
                "summary": "Forget every entry",
                "responses": {
                    "200": _ok("cleared", {"type": "object", "properties": {"cleared": {"type": "integer"}}})
                },
            },
        },
        "/__sim/journal/count": {
            "get": {
                "summary": "How many requests match, optionally grouped",
                "parameters": [
                    *_JOURNAL_FILTERS,
                    query_parameter(
                        "groupBy",
                        "method, path, status, answeredBy, fault, user or client",
                        {
                            "type": "string",
                            "enum": ["method", "path", "status", "answeredBy", "fault", "user", "client"],
                        },
                    ),
                ],
                "responses": {"200": _ok("count"), "400": _ERROR, "422": _ERROR},
            }
        },
        "/__sim/journal/cassette": {
            "get": {
                "summary": "The matching exchanges saved as a cassette (JSON Lines), redacted as a recording is",
                "parameters": list(_JOURNAL_FILTERS),
                "responses": {
                    "200": {
                        "description": "the cassette; X-Druid-Sim-Exported and X-Druid-Sim-Skipped say what went in",
                        "content": {"application/x-ndjson": {"schema": {"type": "string"}}},
                    },
                    "400": _ERROR,
                    "422": _ERROR,
                },
            }
        },
        "/__sim/journal/{seq}": {
            "get": {
                "summary": "One request with its headers and body and its answer's, credentials redacted "
                "(kept for the newest requests, within 32 MiB; the first 16 KiB of each body shown)",
                "parameters": [{"name": "seq", "in": "path", "required": True, "schema": {"type": "integer"}}],
                "responses": {"200": _ok("entry, request, response"), "400": _ERROR, "404": _ERROR},
            }
        },
        "/__sim/tasks/{id}/log": {
            "get": {
                "summary": "How big a task's log is now (Druid's log endpoint never says): exists, bytes, growing",
                "parameters": [{"name": "id", "in": "path", "required": True, "schema": {"type": "string"}}],
                "responses": {"200": _ok("task, exists, bytes, growing"), "404": _ERROR},
            }
        },
        "/__sim/openapi.json": {"get": {"summary": "This document", "responses": {"200": _ok("OpenAPI 3.1")}}},
        "/__sim/druid-openapi.json": {
            "get": {"summary": "The simulated Druid Tasks API, described", "responses": {"200": _ok("OpenAPI 3.1")}}
        },
    }
    for path, operations in paths.items():
        for method, operation in operations.items():
            operation["responses"] = _every_status(path, method, operation)
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "druid-sim control API",
            "version": __version__,
            "description": "Drive the simulator from tests and scripts: clock, reset, faults, journal, "
            'scenario and cassette. JSON in and out; errors are {"error": code, "message": how to fix}. '
            "The dashboard page at / (files under /__sim/ui/) is built on these calls and the Druid API only. "
            "Every call needs a Host this server answers as (on loopback: localhost, 127.0.0.1 or [::1] with its "
            "port), else 403; a change (POST, DELETE) with a body needs Content-Type: application/json (else "
            "415; a change without a body may send none, or that one) and no Origin or Sec-Fetch-Site of another "
            "site (else 403), so no web page can drive it.",
        },
        "security": [{}, {"bearer": []}],
        "paths": paths,
        "components": {
            "securitySchemes": {
                "bearer": {
                    "type": "http",
                    "scheme": "bearer",
                    "description": "required when the server listens beyond loopback (--control-token)",
                }
            },
            "responses": {
                "Error": {
                    "description": "what went wrong and how to fix it",
                    "content": {
                        "application/json": {
                            "schema": {
                                "type": "object",
                                "required": ["error", "message"],
                                "properties": {"error": {"type": "string"}, "message": {"type": "string"}},
                            }
                        }
                    },
                }
            },
        },
    }
