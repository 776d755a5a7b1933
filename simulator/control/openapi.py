"""The OpenAPI 3.1 document of the control API, written as data next to the routes it describes.

``druid_openapi`` (the simulated Druid API) lives in :mod:`simulator.control.druid_openapi`.
"""

from __future__ import annotations

from typing import Any

from simulator import __version__
from simulator.clock import MAX_SCALE
from simulator.control.druid_openapi import druid_openapi, query_parameter

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
    query_parameter("answeredBy", "what answered: model, replay, fault or security"),
    query_parameter("fault", "name of the fault applied"),
    query_parameter("user", "the user the request was made as (a secured cluster)"),
    query_parameter("since", "only entries with seq greater than this", {"type": "integer", "minimum": 0}),
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
        "answeredBy": {"type": ["string", "null"], "enum": ["model", "replay", "fault", "security", None]},
        "fault": {"type": ["string", "null"]},
        "user": {"type": ["string", "null"]},
    },
}

_FAULT = {
    "type": "object",
    "description": "a fault, in the same shape as under 'faults:' in a scenario file (see docs/scenarios.md)",
    "additionalProperties": True,
}


def _add_browser_refusals(paths: dict[str, Any]) -> None:
    """The answers of `simulator.control.browsers` on every operation: 403 always, 415 for changes."""
    for operations in paths.values():
        for method, operation in operations.items():
            operation["responses"].setdefault("403", _ERROR)
            if method != "get":
                operation["responses"].setdefault("415", _ERROR)


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
                                "oneOf": [{"type": "number", "minimum": 0}, {"type": "string", "example": "5m"}]
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
        "/__sim/scenario": {
            "get": {"summary": "The scenario loaded", "responses": {"200": _ok("scenario")}},
            "post": {
                "summary": "Load another scenario (and reset to its start)",
                "requestBody": _body(
                    "the scenario",
                    {"type": "object", "properties": {"scenario": {"type": "string"}}},
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
                    "the cassette file",
                    {"type": "object", "properties": {"cassette": {"type": "string"}}},
                    {"cassette": "cassettes/quickstart.jsonl"},
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
                "responses": {"200": _ok("unused"), "501": _ERROR},
            }
        },
        "/__sim/faults": {
            "get": {"summary": "The faults in force", "responses": {"200": _ok("faults"), "501": _ERROR}},
            "post": {
                "summary": "Add one fault or a list of faults (scenario-file shape)",
                "requestBody": _body(
                    "a fault or a list",
                    {"oneOf": [_FAULT, {"type": "array", "items": _FAULT}]},
                    {"name": "flaky", "error": 503, "every": 2},
                ),
                "responses": {"200": _ok("added"), "400": _ERROR, "409": _ERROR, "422": _ERROR, "501": _ERROR},
            },
            "delete": {"summary": "Remove every fault", "responses": {"200": _ok("cleared"), "501": _ERROR}},
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
                    query_parameter("groupBy", "method, path, status, answeredBy, fault or user"),
                ],
                "responses": {"200": _ok("count"), "400": _ERROR, "422": _ERROR},
            }
        },
        "/__sim/openapi.json": {"get": {"summary": "This document", "responses": {"200": _ok("OpenAPI 3.1")}}},
        "/__sim/druid-openapi.json": {
            "get": {"summary": "The simulated Druid Tasks API, described", "responses": {"200": _ok("OpenAPI 3.1")}}
        },
    }
    _add_browser_refusals(paths)
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "druid-sim control API",
            "version": __version__,
            "description": "Drive the simulator from tests and scripts: clock, reset, faults, journal, "
            'scenario and cassette. JSON in and out; errors are {"error": code, "message": how to fix}. '
            "Every call needs a Host this server answers as (on loopback: localhost, 127.0.0.1 or [::1] with its "
            "port), else 403; a change (POST, DELETE) needs Content-Type: application/json (else 415) and no "
            "Origin or Sec-Fetch-Site of another site (else 403), so no web page can drive it.",
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
