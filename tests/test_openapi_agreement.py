"""The served OpenAPI documents and the server agree (issue 22, item 11), over a real socket.

Real requests, made the way a client generated from each document makes them (schemathesis builds
them from the document: a call the document gives no body is sent with no body and no Content-Type),
and each real answer is validated against the served document: status, content type, headers and
body schema. A media type marked ``x-raw-text`` is Druid's raw text labelled application/json
(reference 1.1): its body is checked as the text it is when it is not JSON.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Iterator
from typing import Any

import pytest
import requests
import schemathesis
from schemathesis.checks import (
    missing_required_header,
    negative_data_rejection,
    positive_data_acceptance,
    response_schema_conformance,
)

from druid_sim.control.druid_openapi import RAW_TEXT
from tests.support.live import LiveServer

V1 = "/druid/indexer/v1"
#: Checks about generated inputs, not about answers: these tests send chosen requests.
NOT_ABOUT_ANSWERS = [negative_data_rejection, positive_data_acceptance, missing_required_header]


@pytest.fixture
def session() -> Iterator[requests.Session]:
    with requests.Session() as http:
        yield http


@functools.cache
def _document(url: str) -> Any:
    """The served document at ``url``, read once per server (the shared server's documents never change)."""
    return schemathesis.openapi.from_url(url)


def _raw_text(document: dict[str, Any], path: str, method: str, status: int) -> bool:
    answer = document["paths"][path][method.lower()]["responses"].get(str(status), {})
    return bool(answer.get("content", {}).get("application/json", {}).get(RAW_TEXT))


def call(
    server: LiveServer, session: requests.Session, document: str, path: str, method: str, **case: Any
) -> requests.Response:
    """Make the request the document describes, and validate the real answer against the document."""
    schema = _document(server.url + document)
    built = schema[path][method].Case(**case)
    response = built.call(base_url=server.url, session=session, timeout=10)
    excluded = list(NOT_ABOUT_ANSWERS)
    if _raw_text(schema.raw_schema, path, method, response.status_code):
        try:
            json.loads(response.text)
        except ValueError:
            excluded.append(response_schema_conformance)  # raw text, as documented: nothing to parse
    built.validate_response(response, excluded_checks=excluded)
    return response


@pytest.mark.parametrize(
    ("path", "method", "case"),
    [
        ("/__sim/reset", "POST", {}),
        ("/__sim/journal", "DELETE", {}),
        ("/__sim/faults", "DELETE", {}),
        ("/__sim/faults/presets/{preset}", "POST", {"path_parameters": {"preset": "queue-full"}}),
    ],
)
def test_a_bodyless_change_is_accepted_as_a_generated_client_sends_it(
    server: LiveServer, session: requests.Session, path: str, method: str, case: dict[str, Any]
) -> None:
    response = call(server, session, "/__sim/openapi.json", path, method, **case)
    assert response.status_code == 200, response.text
    assert "Content-Type" not in response.request.headers  # no body, no content type, as generated


def test_a_bodyless_change_from_a_web_page_is_still_refused(server: LiveServer, session: requests.Session) -> None:
    """A browser sends an Origin with every POST: without Content-Type: application/json, still 415."""
    refused = session.post(f"{server.url}/__sim/reset", headers={"Origin": server.url})
    assert refused.status_code == 415
    other = session.post(f"{server.url}/__sim/reset", headers={"Origin": "http://evil.example"})
    assert other.status_code == 403


def test_control_reads_and_changes_with_a_body_answer_as_documented(
    server: LiveServer, session: requests.Session
) -> None:
    doc = "/__sim/openapi.json"
    assert call(server, session, doc, "/__sim/clock", "POST", body={"advance": "5m"}).status_code == 200
    for path in ("/__sim/clock", "/__sim/cluster", "/__sim/journal", "/__sim/faults", "/__sim/health"):
        assert call(server, session, doc, path, "GET").status_code == 200
    added = call(server, session, doc, "/__sim/faults", "POST", body={"kind": "error", "status": 503, "name": "x"})
    assert added.status_code == 200
    gone = call(server, session, doc, "/__sim/faults/{name}", "DELETE", path_parameters={"name": "x"})
    assert gone.status_code == 200


def test_druid_answers_match_the_druid_document(server: LiveServer, session: requests.Session) -> None:
    """Reference 2.14 (taskStatus: a raw string for an empty list, Jackson's {"error"} for another shape) and
    2.16 (leader: the URL as raw text labelled application/json)."""
    doc = "/__sim/druid-openapi.json"
    spec = {"type": "index_parallel", "spec": {"dataSchema": {"dataSource": "wiki"}}}
    task = call(server, session, doc, f"{V1}/task", "POST", body=spec).json()["task"]
    empty = call(server, session, doc, f"{V1}/taskStatus", "POST", body=[])
    assert (empty.status_code, empty.text) == (400, "No Task IDs provided.")
    not_a_list = call(server, session, doc, f"{V1}/taskStatus", "POST", body={"ids": [task]})
    assert not_a_list.status_code == 400 and "error" in not_a_list.json()
    assert task in call(server, session, doc, f"{V1}/taskStatus", "POST", body=[task]).json()
    leader = call(server, session, doc, f"{V1}/leader", "GET")
    assert leader.status_code == 200 and leader.text == server.url
    reports = call(server, session, doc, f"{V1}/task/{{taskId}}/reports", "GET", path_parameters={"taskId": task})
    assert reports.status_code == 404
    for path in (f"{V1}/tasks", f"{V1}/isLeader", "/status/health"):
        assert call(server, session, doc, path, "GET").status_code == 200
