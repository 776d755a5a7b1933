"""When faults fire (nth, first N, every k-th, seeded probability, time window), which requests they
target, and the fault set's API as the control API uses it. All over a real socket."""

from __future__ import annotations

import httpx
import pytest

from druid_sim.clock import Clock
from druid_sim.config import ServeConfig
from druid_sim.faults import FaultSet
from druid_sim.faults.spec import parse_fault
from druid_sim.scenario import ScenarioError
from tests.support.live import START_MS, LiveServer, live_server

TASKS = "/druid/indexer/v1/tasks"


def faults_of(server: LiveServer) -> FaultSet:
    faults: FaultSet = server.simulation.extensions["faults"]
    return faults


def statuses(client: httpx.Client, count: int, path: str = TASKS) -> list[int]:
    return [client.get(path).status_code for _ in range(count)]


def error(when: dict[str, object], **extra: object) -> dict[str, object]:
    return {"kind": "error", "status": 503, "body": "legacy", "when": when, **extra}


def test_nth_fires_on_that_request_only(server: LiveServer, client: httpx.Client) -> None:
    faults_of(server).add(error({"nth": 3}))
    assert statuses(client, 5) == [200, 200, 503, 200, 200]


def test_first_fires_on_the_first_n_requests(server: LiveServer, client: httpx.Client) -> None:
    faults_of(server).add(error({"first": 2}))
    assert statuses(client, 4) == [503, 503, 200, 200]


def test_every_fires_on_each_kth_request(server: LiveServer, client: httpx.Client) -> None:
    faults_of(server).add(error({"every": 5}))
    assert statuses(client, 10) == [200] * 4 + [503] + [200] * 4 + [503]


def test_probability_is_seeded_so_runs_repeat_exactly(server: LiveServer, client: httpx.Client) -> None:
    faults = faults_of(server)
    faults.add(error({"probability": 0.3, "seed": 4}))
    first = statuses(client, 60)
    assert 5 <= first.count(503) <= 35
    faults.reset()  # counters and generators back to the start (scenario faults only: none here)
    faults.add(error({"probability": 0.3, "seed": 4}))
    assert statuses(client, 60) == first


def test_time_window_follows_the_virtual_clock(server: LiveServer, client: httpx.Client) -> None:
    faults_of(server).add(error({"between": ["30s", "60s"]}))
    assert statuses(client, 1) == [200]
    server.clock.advance(30)
    assert statuses(client, 2) == [503, 503]
    server.clock.advance(30)
    assert statuses(client, 1) == [200]


def test_counters_count_only_targeted_requests_in_the_window(server: LiveServer, client: httpx.Client) -> None:
    faults_of(server).add(error({"every": 2}, routes=["/druid/indexer/v1/task/*/status"], methods=["GET"]))
    client.get(TASKS)
    client.get(TASKS)
    assert statuses(client, 2, "/druid/indexer/v1/task/x/status") == [404, 503]


def test_a_regex_route_targets_by_pattern(server: LiveServer, client: httpx.Client) -> None:
    faults_of(server).add(error({}, routes=["^/druid/indexer/v1/(running|pending)Tasks$"]))
    assert client.get("/druid/indexer/v1/runningTasks").status_code == 503
    assert client.get("/druid/indexer/v1/waitingTasks").status_code == 200


def test_the_first_answering_fault_wins_and_later_ones_do_not_count(server: LiveServer, client: httpx.Client) -> None:
    faults = faults_of(server)
    faults.add({"name": "first", "kind": "error", "status": 500, "when": {"first": 1}})
    faults.add({"name": "second", "kind": "error", "status": 502, "when": {"nth": 1}})
    assert statuses(client, 2) == [500, 502]
    counters = {fault["name"]: (fault["seen"], fault["fired"]) for fault in faults.describe()}
    assert counters == {"first": (2, 1), "second": (1, 1)}


def test_the_fault_set_api_lists_adds_removes_and_clears(server: LiveServer) -> None:
    faults = faults_of(server)
    added = faults.add({"kind": "latency", "delay": {"uniform": ["1s", "2s"]}, "routes": "/druid/*"})
    assert added.name == "fault-1"
    assert faults.describe()[0] == {
        "name": "fault-1",
        "kind": "latency",
        "routes": ["/druid/*"],
        "delay": {"uniform": ["1s", "2s"]},
        "source": "api",
        "seen": 0,
        "fired": 0,
    }
    with pytest.raises(ScenarioError, match="exists already"):
        faults.add({"name": "fault-1", "kind": "reset"})
    assert faults.remove("fault-1") and not faults.remove("fault-1")
    faults.add({"kind": "reset"})
    faults.clear()
    assert faults.list() == []


def test_a_fault_without_a_name_is_named_after_its_place_or_the_next_number_free() -> None:
    """docs/scenarios.md, faults: the default name is ``fault-<n>``, the n-th fault in force; a number a fault
    named by hand holds is skipped, never reused (a second fault of a name is refused)."""
    faults = FaultSet.of(Clock(start_ms=START_MS, scale=0))
    assert faults.add({"kind": "reset"}).name == "fault-1"
    faults.add({"name": "fault-3", "kind": "reset"})
    assert faults.add({"kind": "reset"}).name == "fault-4"  # the third in force: fault-3 is taken
    assert [fault.name for fault in faults.list()] == ["fault-1", "fault-3", "fault-4"]


@pytest.mark.parametrize(
    ("given", "added"),
    [
        (  # docs/scenarios.md: a druid body's category comes from the status (429: CAPACITY_EXCEEDED)
            {"kind": "error", "status": 429, "body": "druid", "message": "m", "error_code": "busy", "persona": "USER"},
            {"category": "CAPACITY_EXCEEDED"},
        ),
        ({"kind": "error", "status": 502, "exception": "java.io.IOException"}, {"body": "jetty"}),
        (  # a category given is kept; error_code defaults to "general"
            {"kind": "error", "status": 599, "body": "druid", "persona": "OPERATOR", "category": "SERVICE_UNAVAILABLE"},
            {"error_code": "general"},
        ),
        ({"kind": "redirect", "to": "http://overlord-2:8090"}, {}),
        ({"kind": "no_leader", "answer": "overlord"}, {}),
        ({"kind": "forbidden", "answer": "text"}, {}),
        ({"kind": "forbidden"}, {"answer": "json"}),  # the defaults of docs/scenarios.md
        ({"kind": "truncate"}, {"keep": 0.5}),
        ({"kind": "unauthorized", "answer": "rejected", "user": "bob"}, {}),
        ({"kind": "queue_full", "max_size": 5, "routes": ["/druid/indexer/v1/task"], "methods": ["POST"]}, {}),
        ({"kind": "truncate", "keep": 0.25}, {}),
        ({"kind": "slow_body", "rate": 100.0, "chunk": 10}, {}),
        ({"kind": "reset", "when": {"nth": 2, "between": ["30s", None], "seed": 3}}, {}),
    ],
)
def test_a_fault_is_listed_in_the_shape_it_was_given_and_reads_back_the_same(
    given: dict[str, object], added: dict[str, object]
) -> None:
    """docs/control-api.md, ``GET /__sim/faults``: each fault in the shape it was given (the defaults a kind
    answers with included), plus ``seen`` and ``fired``; the listing, posted again, is listed the same."""
    faults = FaultSet.of(Clock(start_ms=START_MS, scale=0))
    fault = faults.add({"name": "f", **given})
    (listed,) = faults.describe()
    assert listed == {"name": "f", **given, **added, "source": "api", "seen": 0, "fired": 0}
    posted_again = parse_fault({k: v for k, v in listed.items() if k not in ("seen", "fired")})
    assert posted_again.as_json() == fault.as_json() and posted_again.trigger == fault.trigger


def test_a_bad_fault_is_refused_with_every_problem_named(server: LiveServer) -> None:
    with pytest.raises(ScenarioError) as caught:
        faults_of(server).add({"kind": "latncy", "whn": {"nth": 0}})
    text = str(caught.value)
    assert "kind: must be one of" in text and "did you mean 'latency'" in text
    assert "whn: unknown field; did you mean 'when'?" in text
    with pytest.raises(ScenarioError) as caught:  # docs/scenarios.md: an error's status is 400-599
        faults_of(server).add({"kind": "error", "status": 600})
    assert str(caught.value) == "fault: status: must be at most 599, not 600"


def test_reset_restores_the_scenarios_faults_and_their_counters(tmp_path: object) -> None:
    from pathlib import Path

    scenario = Path(str(tmp_path)) / "one-fault.yaml"
    scenario.write_text(
        "description: one fault\nfaults:\n  - {name: third, kind: error, status: 500, when: {nth: 3}}\n"
    )
    config = ServeConfig(scenario=str(scenario), time_scale=0, start_ms=START_MS)
    with live_server(config) as server, httpx.Client(base_url=server.url) as client:
        faults = faults_of(server)
        assert statuses(client, 3) == [200, 200, 500]
        faults.clear()
        faults.add({"kind": "reset"})
        assert client.post("/__sim/reset", json={}).status_code == 200
        assert [fault.name for fault in faults.list()] == ["third"]
        assert statuses(client, 3) == [200, 200, 500]
