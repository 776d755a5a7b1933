"""schemathesis over both OpenAPI documents the server publishes, against ``druid-sim serve`` itself.

Each document gets its own server (``serve``'s settings: uvloop, httptools, the express lane), so
faults added by fuzzing the control API never reach the Druid API's run. Every case checks:

* the answer conforms to the document (status documented, content type, body schema, headers);
* no 5xx, except the ones Druid itself sends by design (``DRUID_5XX`` below, reference section 7);
* after the run, no traceback in the server's log.

``make test`` runs a short, derandomised pass (``FUZZ_EXAMPLES``, default 5 cases per operation and
flavour); ``make fuzz`` runs a long one (see the Makefile). Each run prints how many cases it sent.
"""

from __future__ import annotations

import html
import os
import re
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import requests
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis import GenerationMode
from schemathesis.checks import (
    missing_required_header,
    negative_data_rejection,
    not_a_server_error,
    positive_data_acceptance,
    response_schema_conformance,
)

from druid_sim.control.druid_openapi import RAW_TEXT
from tests.support.served import START, Served, served

EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES", "5"))
#: ``make fuzz`` lets hypothesis pick fresh inputs; ``make test`` replays the same ones every time.
DERANDOMIZE = os.environ.get("FUZZ_RANDOM", "") == ""
SCENARIO = Path(__file__).with_name("fuzz-scenario.yaml")

#: The 5xx answers Druid gives by design, as the Jetty page of an exception no mapper handles
#: (reference section 7, "no entity" row, and 1.1): the simulator must give them too.
DRUID_5XX = {
    # 2.1 step 4 / 2.15: Intervals.of refuses createdTimeInterval or interval (InvalidInput).
    "org.apache.druid.error.DruidException: Invalid interval[",
    # 1.2: IdUtils.validateId refuses a task id inside TaskResourceFilter (InvalidInput).
    "org.apache.druid.error.DruidException: Invalid value for field [taskId]",
    # 2.1 step 4: Joda's int year overflows (an ArithmeticException Intervals.of does not catch).
    "java.lang.ArithmeticException: The calculation caused an overflow",
    # 2.1 step 5: a negative max reaches the metadata store's FETCH FIRST.
    "java.sql.SQLSyntaxErrorException: Invalid row count for FETCH FIRST/NEXT",
    # 2.11: malformed JSON is a JsonParseException; an empty or null body an NPE in the handler.
    "com.fasterxml.jackson.core.JsonParseException",
    "java.lang.NullPointerException",
    # 1.1: past Jackson's 1,000 levels of nesting, outside a property it wraps.
    "com.fasterxml.jackson.core.exc.StreamConstraintsException",
    # 18.4: the Overlord's enable/disable of a worker it does not know (the handler's {"error"} 500).
    '{"error":"Worker on host ',
}
_TITLE = re.compile(r"<title>Error 500 (.*?)</title>", re.DOTALL)

cases_sent: dict[str, int] = {}


def _served(name: str, *args: str) -> Iterator[Served]:
    with served("--time-scale", "0", "--start-time", START, "--no-access-log", *args) as server:
        yield server
        tracebacks = len(server.tracebacks())
        print(f"\nfuzz {name}: {cases_sent.get(name, 0)} cases sent; tracebacks in the server log: {tracebacks}")
        tracebacks = server.tracebacks()
        assert not tracebacks, f"{len(tracebacks)} tracebacks in the server log; the first:\n{tracebacks[0]}"


@pytest.fixture(scope="module")
def druid_server() -> Iterator[Served]:
    yield from _served("druid", "--scenario", str(SCENARIO))


@pytest.fixture(scope="module")
def control_server() -> Iterator[Served]:
    yield from _served("control", "--scenario", str(SCENARIO))


FUZZ_SETTINGS = settings(
    max_examples=EXAMPLES,
    derandomize=DERANDOMIZE,
    deadline=None,
    database=None,
    # each case is a request to a real server: slower than hypothesis expects of a data generator
    suppress_health_check=[HealthCheck.too_slow],
)
#: Opinions, not conformance: Druid ignores what it does not know (so invalid data is often 200) and
#: answers valid-looking requests for unknown tasks with 404; the 5xx rule is ours (DRUID_5XX).
EXCLUDED = [not_a_server_error, negative_data_rejection, positive_data_acceptance, missing_required_header]


#: Operations left out of the fuzz run ("METHOD /path"): none today.
ELSEWHERE: set[str] = set()


def raw_strings_as_json(document: dict[str, Any]) -> set[tuple[str, str, int]]:
    """Answers Druid labels application/json although their body is raw text (reference 1.1), as the
    document marks them (``x-raw-text``): their content type and status are checked, not a JSON body."""
    return {
        (method.upper(), path, int(status))
        for path, operations in document["paths"].items()
        for method, operation in operations.items()
        for status, answer in operation["responses"].items()
        if answer.get("content", {}).get("application/json", {}).get(RAW_TEXT)
    }


def _is_druid_500(text: str) -> bool:
    found = _TITLE.search(text)
    title = html.unescape(found.group(1)) if found else text
    return any(allowed in title for allowed in DRUID_5XX)


def _fuzz(server: Served, document: str, name: str, allowed_5xx: Callable[[Any, Any], bool]) -> None:
    """Every operation of the document at ``server``, in both generation modes, EXAMPLES cases each."""
    schema = schemathesis.openapi.from_url(f"{server.url}{document}")
    raw_strings = raw_strings_as_json(schema.raw_schema)
    session = requests.Session()  # one keep-alive connection, as a client would hold
    failures: list[str] = []
    for result in schema.get_all_operations():
        operation = result.ok()
        if operation.label in ELSEWHERE:
            continue
        # Negative cases need something to break that a request can carry: a query parameter or a body (a
        # path segment is always a string, so "not a string" is rejected over and over, at great cost).
        breakable = any(param.location == "query" for param in operation.iter_parameters()) or bool(operation.body)
        modes = (GenerationMode.POSITIVE, GenerationMode.NEGATIVE) if breakable else (GenerationMode.POSITIVE,)
        for mode in modes:

            @FUZZ_SETTINGS
            @given(case=operation.as_strategy(generation_mode=mode))
            def run(case: Any) -> None:
                cases_sent[name] = cases_sent.get(name, 0) + 1
                began = time.monotonic()
                response = case.call(base_url=server.url, session=session, timeout=30)
                if time.monotonic() - began > 0.5:
                    print(f"slow: {time.monotonic() - began:.1f}s {case.method} {case.formatted_path} {case.query}")
                if response.status_code >= 500 and not allowed_5xx(case, response):
                    raise AssertionError(
                        f"{response.status_code} that the server should not send:\n{response.text[:800]}"
                    )
                raw_string = (case.method, case.operation.path, response.status_code) in raw_strings
                extra = [response_schema_conformance] if raw_string else []
                case.validate_response(response, excluded_checks=EXCLUDED + extra)

            try:
                run()
            except (Exception, BaseExceptionGroup) as exc:  # collect every operation's failure, then report them all
                failures.append(f"{operation.label} ({mode.value}): {exc}")
    assert not failures, "\n\n".join(failures)


def test_druid_api_answers_as_documented(druid_server: Served) -> None:
    def designed(case: Any, response: Any) -> bool:
        return bool(response.status_code == 500 and _is_druid_500(response.text))

    _fuzz(druid_server, "/__sim/druid-openapi.json", "druid", designed)


def test_control_api_answers_as_documented(control_server: Served) -> None:
    def designed(case: Any, response: Any) -> bool:
        return bool(response.status_code == 501)  # a part not built in (documented per call)

    _fuzz(control_server, "/__sim/openapi.json", "control", designed)
