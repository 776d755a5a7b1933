"""Every fault kind, observed by a real HTTP client over a real socket (fault layer, reference 7 and 8).

Each test runs twice: on uvloop, as ``druid-sim serve`` runs, and on the asyncio loop, since the
connection faults reach the transport of whichever loop serves them.
"""

from __future__ import annotations

from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import httpx
import pytest

from druid_sim.faults import FaultSet
from tests.support.live import LiveServer

SUBMIT = {"type": "index_parallel", "spec": {"dataSchema": {"dataSource": "wiki"}}}


def faults_of(server: LiveServer) -> FaultSet:
    faults: FaultSet = server.simulation.extensions["faults"]
    return faults


@pytest.fixture
def server(server_on_each_loop: LiveServer) -> LiveServer:
    return server_on_each_loop


@pytest.fixture
def add(server: LiveServer) -> Iterator[Any]:
    """Add a fault on the server's event loop, as the pytest plugin does (the model is not thread-safe)."""
    yield lambda spec: server.call(lambda: faults_of(server).add(spec))


def test_latency_waits_on_the_virtual_clock_then_answers_normally(
    server: LiveServer, client: httpx.Client, add: Any
) -> None:
    add({"kind": "latency", "delay": "30s"})
    with ThreadPoolExecutor(1) as pool:
        future = pool.submit(client.get, "/status/health")
        with pytest.raises(TimeoutError):
            future.result(timeout=0.3)  # the clock is frozen: the answer waits for virtual time
        server.clock.advance(30)
        response = future.result(timeout=5)
    assert response.status_code == 200 and response.content == b"true"


def test_error_default_is_jettys_page_with_the_cause_section7(client: httpx.Client, add: Any) -> None:
    add({"kind": "error", "status": 500, "message": "pool exhausted", "exception": "java.lang.RuntimeException"})
    response = client.get("/druid/indexer/v1/tasks")
    assert response.status_code == 500
    assert response.headers["content-type"] == "text/html;charset=iso-8859-1"
    assert "<h3>Caused by:</h3><pre>java.lang.RuntimeException: pool exhausted" in response.text


def test_error_legacy_503_is_the_not_leader_map_section7(client: httpx.Client, add: Any) -> None:
    add({"kind": "error", "status": 503, "body": "legacy"})
    response = client.post("/druid/indexer/v1/taskStatus", json=["a"])
    assert response.status_code == 503
    assert response.headers["content-type"] == "application/json"
    assert response.content == b'{"error":"overlord is not the leader or not initialized yet"}'


def test_error_druid_is_an_error_response_with_the_category_of_its_status_section7(
    client: httpx.Client, add: Any
) -> None:
    add({"kind": "error", "status": 504, "body": "druid", "message": "took too long"})
    response = client.get("/druid/indexer/v1/tasks")
    assert response.status_code == 504
    assert response.json() == {
        "error": "druidException",
        "errorCode": "general",
        "persona": "OPERATOR",
        "category": "TIMEOUT",
        "errorMessage": "took too long",
        "context": {},
    }


def test_error_text_is_plain_text(client: httpx.Client, add: Any) -> None:
    add({"kind": "error", "status": 404, "body": "text", "message": "Cannot find any task with id: [x]"})
    response = client.get("/druid/indexer/v1/task/x/status")
    assert (response.status_code, response.headers["content-type"]) == (404, "text/plain")
    assert response.text == "Cannot find any task with id: [x]"


def test_reset_raises_the_clients_connection_error(client: httpx.Client, add: Any) -> None:
    add({"kind": "reset"})
    with pytest.raises(httpx.ReadError, match="reset"):
        client.get("/druid/indexer/v1/tasks")


def test_empty_closes_without_a_response(client: httpx.Client, add: Any) -> None:
    add({"kind": "empty"})
    with pytest.raises(httpx.RemoteProtocolError, match="without sending a response"):
        client.get("/druid/indexer/v1/tasks")


def test_truncate_announces_the_length_and_sends_only_part(client: httpx.Client, add: Any) -> None:
    add({"kind": "truncate", "keep": 0.5, "routes": ["/status"]})
    with pytest.raises(httpx.RemoteProtocolError, match="without sending complete message body"):
        client.get("/status")


def test_slow_body_dribbles_the_real_answer_on_the_virtual_clock(
    server: LiveServer, client: httpx.Client, add: Any
) -> None:
    expected = client.get("/status").content
    add({"kind": "slow_body", "rate": 100, "chunk": 100})
    server.clock.set_scale(20)  # each 1-virtual-second pause is 50 ms of real time
    with client.stream("GET", "/status") as response:
        pieces = list(response.iter_raw())
    assert b"".join(pieces) == expected
    assert response.headers["content-length"] == str(len(expected))
    assert len(pieces) > 1


def test_hang_never_answers_and_the_client_times_out(server: LiveServer, add: Any) -> None:
    add({"kind": "hang"})
    with httpx.Client(base_url=server.url, timeout=0.3) as short, pytest.raises(httpx.ReadTimeout):
        short.get("/druid/indexer/v1/tasks")


def test_redirect_is_a_307_to_the_leader_with_path_and_query_section8_1(client: httpx.Client, add: Any) -> None:
    add({"kind": "redirect", "to": "http://overlord-2:8090"})
    response = client.get("/druid/indexer/v1/tasks?state=running&datasource=wiki")
    assert response.status_code == 307
    assert response.headers["location"] == "http://overlord-2:8090/druid/indexer/v1/tasks?state=running&datasource=wiki"
    assert response.content == b"" and "content-type" not in response.headers
    posted = client.post("/druid/indexer/v1/task", json=SUBMIT)
    assert (posted.status_code, posted.headers["location"]) == (307, "http://overlord-2:8090/druid/indexer/v1/task")


def test_a_redirecting_non_leader_serves_leader_is_leader_and_status_itself_section8_1(
    client: httpx.Client, add: Any
) -> None:
    add({"kind": "redirect", "to": "http://overlord-2:8090"})
    is_leader = client.get("/druid/indexer/v1/isLeader")
    assert (is_leader.status_code, is_leader.content) == (404, b'{"leader":false}')
    leader = client.get("/druid/indexer/v1/leader")
    assert (leader.status_code, leader.content) == (200, b"http://overlord-2:8090")
    assert client.get("/status/health").status_code == 200
    assert client.get("/druid/indexer/v1/isLeader/").status_code == 307  # exact paths only


@pytest.mark.parametrize(
    ("fault", "answer"), [({"kind": "redirect", "to": "http://overlord-2:8090"}, 307), ({"kind": "no_leader"}, 503)]
)
def test_leader_faults_never_target_status_paths_so_those_do_not_count_section8_1(
    client: httpx.Client, add: Any, fault: dict[str, Any], answer: int
) -> None:
    """Reference 8.1, 8.2: ``/status`` and ``/status/*`` are served by every Overlord (and the Router) itself, so
    they are not requests a leader fault targets: its ``nth`` counts the others only (docs/scenarios.md)."""
    add({**fault, "when": {"nth": 2}})
    paths = ("/status", "/status/health", "/druid/indexer/v1/tasks", "/druid/indexer/v1/tasks")
    assert [client.get(path).status_code for path in paths] == [200, 200, 200, answer]


def test_no_leader_as_router_is_the_routers_503_section8_2(client: httpx.Client, add: Any) -> None:
    add({"kind": "no_leader"})
    response = client.get("/druid/indexer/v1/task/abc/status")
    assert response.status_code == 503
    assert response.json() == {
        "error": "Unable to determine destination[/druid/indexer/v1/task/abc/status]; "
        "is your coordinator/overlord running?"
    }
    assert client.get("/status").status_code == 200


def test_no_leader_as_overlord_is_jettys_503_and_is_leader_false_section8_1(client: httpx.Client, add: Any) -> None:
    add({"kind": "no_leader", "answer": "overlord"})
    response = client.get("/druid/indexer/v1/tasks")
    assert response.status_code == 503 and "HTTP ERROR 503" in response.text
    assert client.get("/druid/indexer/v1/isLeader").status_code == 404


def test_queue_full_rejects_submissions_with_capacity_exceeded_section2_11(client: httpx.Client, add: Any) -> None:
    add({"kind": "queue_full", "max_size": 3})
    response = client.post("/druid/indexer/v1/task", json=SUBMIT)
    assert response.status_code == 429
    assert response.json() == {
        "error": "druidException",
        "errorCode": "general",
        "persona": "ADMIN",
        "category": "CAPACITY_EXCEEDED",
        "errorMessage": "Task queue already contains [3] tasks. Retry later or increase "
        "'druid.indexer.queue.maxSize'[3].",
        "context": {},
    }
    assert client.get("/druid/indexer/v1/tasks").status_code == 200  # only submissions are targeted


def test_the_control_api_is_never_faulted(client: httpx.Client, add: Any) -> None:
    add({"kind": "error", "status": 500, "routes": ["*"]})
    assert client.get("/druid/indexer/v1/tasks").status_code == 500
    assert client.get("/__sim/health").status_code == 200


def test_a_non_leader_simulation_redirects_everything_but_its_local_paths(
    server: LiveServer, client: httpx.Client
) -> None:
    server.simulation.leadership.leader_url = "http://overlord-9:8090"
    response = client.get("/druid/indexer/v1/runningTasks")
    assert (response.status_code, response.headers["location"]) == (
        307,
        "http://overlord-9:8090/druid/indexer/v1/runningTasks",
    )
    assert client.get("/druid/indexer/v1/isLeader").status_code == 404


def test_faulted_requests_are_journaled_as_answered_by_the_fault(client: httpx.Client, add: Any) -> None:
    """Each request is journaled with what answered it: the fault by name (its status too, or none when the
    connection was cut), and the model once no fault applies (issue 23: a journal entry always has a
    ``fault`` key, so only its value says anything)."""
    add(
        {
            "name": "boom",
            "kind": "error",
            "status": 502,
            "body": "legacy",
            "message": "bad gateway",
            "routes": ["/druid/indexer/v1/tasks"],
            "when": {"first": 1},
        }
    )
    add({"name": "cut", "kind": "reset", "routes": ["/druid/indexer/v1/runningTasks"]})
    assert client.get("/druid/indexer/v1/tasks").status_code == 502
    with pytest.raises(httpx.TransportError):
        client.get("/druid/indexer/v1/runningTasks")
    assert client.get("/druid/indexer/v1/tasks").status_code == 200
    entries = client.get("/__sim/journal").json()["entries"]
    seen = [(e["method"], e["path"], e["status"], e["answeredBy"], e["fault"]) for e in entries]
    assert seen[-3:] == [
        ("GET", "/druid/indexer/v1/tasks", 502, "fault", "boom"),
        ("GET", "/druid/indexer/v1/runningTasks", None, "fault", "cut"),
        ("GET", "/druid/indexer/v1/tasks", 200, "model", None),
    ]
