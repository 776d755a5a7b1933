"""The ``/__sim/`` control API over a real socket: health, reset, clock, journal, errors, OpenAPI."""

from __future__ import annotations

from pathlib import Path

import httpx

from druid_sim.config import ServeConfig
from tests.support.live import START_MS, LiveServer, live_server

TASK = {"type": "index_parallel", "spec": {"dataSchema": {"dataSource": "wiki"}}}
JSON = {"content-type": "application/json"}


def submit(client: httpx.Client, task_id: str | None = None) -> str:
    body = dict(TASK, id=task_id) if task_id else TASK
    response = client.post("/druid/indexer/v1/task", json=body)
    assert response.status_code == 200, response.text
    return str(response.json()["task"])


def test_health_reports_what_is_served_and_the_clock(client: httpx.Client) -> None:
    body = client.get("/__sim/health").json()
    assert body["status"] == "ok"
    assert body["druidVersion"] == "35.0.0"
    assert body["clock"]["nowMillis"] == START_MS and body["clock"]["frozen"] is True
    assert body["journal"] == {"size": 10_000, "held": 0}


def test_clock_advance_accepts_durations_and_seconds(client: httpx.Client) -> None:
    assert client.post("/__sim/clock", json={"advance": "5m"}).json()["nowMillis"] == START_MS + 300_000
    assert client.post("/__sim/clock", json={"advance": 1.5}).json()["nowMillis"] == START_MS + 301_500
    assert client.get("/__sim/clock").json()["now"] == "2026-01-01T00:05:01.500Z"


def test_clock_to_an_instant_and_never_backwards(client: httpx.Client) -> None:
    assert client.post("/__sim/clock", json={"to": "2026-01-01T01:00:00Z"}).json()["now"] == "2026-01-01T01:00:00.000Z"
    backwards = client.post("/__sim/clock", json={"to": "2026-01-01T00:30:00Z"})
    assert backwards.status_code == 409
    assert "only moves forward" in backwards.json()["message"]


def test_clock_scale_and_freeze(client: httpx.Client, server: LiveServer) -> None:
    assert client.post("/__sim/clock", json={"scale": 60}).json()["scale"] == 60
    assert server.simulation.clock.scale == 60
    frozen = client.post("/__sim/clock", json={"freeze": True}).json()
    assert frozen["frozen"] is True and frozen["scale"] == 0
    assert client.post("/__sim/clock", json={"freeze": False}).json()["scale"] == 1
    assert client.post("/__sim/clock", json={"speed": 0}).json()["frozen"] is True


def test_clock_errors_say_how_to_fix(client: httpx.Client) -> None:
    cases = [
        ({"advance": "soon"}, 422, "use seconds"),
        ({"advance": -1}, 422, "cannot be negative"),
        ({"scale": -2}, 422, "from 0 (frozen) to 1,000,000"),
        ({"scale": 1e300}, 422, "from 0 (frozen) to 1,000,000"),
        ({"advance": "36501d"}, 422, "longer than the longest step, 36500 days"),
        ({"to": "9999-12-31T00:00:00Z"}, 422, "longer than the longest step"),
        ({"freeze": "yes"}, 422, "true or false"),
        ({"advnce": "5m"}, 422, "unknown field(s) advnce"),
        ({}, 422, "say what to do"),
    ]
    for body, status, fragment in cases:
        response = client.post("/__sim/clock", json=body)
        assert response.status_code == status, body
        assert response.json()["error"] == "invalid"
        assert fragment in response.json()["message"], (body, response.json())
    not_json = client.post("/__sim/clock", content=b"{advance", headers={"content-type": "application/json"})
    assert not_json.status_code == 400 and "not valid JSON" in not_json.json()["message"]
    a_list = client.post("/__sim/clock", json=["advance"])
    assert a_list.status_code == 400 and "JSON object" in a_list.json()["message"]


def test_a_refused_clock_call_changes_nothing(client: httpx.Client, server: LiveServer) -> None:
    before = client.get("/__sim/clock").json()
    for body in (
        {"scale": 60, "advance": "36501d"},  # a valid speed with a step too long: neither applies
        {"freeze": False, "to": "9000-01-01T00:00:00Z"},
        {"scale": 1e300, "advance": "1m"},
        {"speed": 2e6},
    ):
        assert client.post("/__sim/clock", json=body).status_code == 422, body
        assert client.get("/__sim/clock").json() == before, body
    assert server.simulation.clock.scale == 0
    assert client.post("/__sim/clock", json={"advance": "36500d"}).status_code == 200  # the longest step


def test_unknown_call_and_wrong_method_are_json(client: httpx.Client) -> None:
    missing = client.get("/__sim/nothing-here")
    assert missing.status_code == 404
    assert missing.headers["content-type"] == "application/json"
    assert "/__sim/openapi.json" in missing.json()["message"]
    wrong = client.delete("/__sim/clock", headers=JSON)
    assert wrong.status_code == 405
    assert set(wrong.headers["allow"].split(", ")) == {"GET", "HEAD", "POST"}


def test_reset_brings_back_tasks_clock_and_journal(client: httpx.Client) -> None:
    submit(client, "before-reset")
    client.post("/__sim/clock", json={"advance": "1h", "scale": 5})
    body = client.post("/__sim/reset", json={}).json()
    assert body["reset"] is True
    assert body["clock"]["nowMillis"] == START_MS and body["clock"]["frozen"] is True
    assert body["clock"]["rewoundFrom"].startswith("2026-01-01T01:00:")  # where it stood: said, not hidden
    assert client.get("/druid/indexer/v1/task/before-reset").status_code == 404
    # the 404 just above is the only request journaled since the reset
    assert client.get("/__sim/journal/count").json() == {"count": 1}


def test_journal_records_druid_requests_with_virtual_time_and_answerer(client: httpx.Client) -> None:
    task_id = submit(client, "t1")
    client.post("/__sim/clock", json={"advance": "10s"})
    client.get(f"/druid/indexer/v1/task/{task_id}/status")
    client.get("/druid/indexer/v1/tasks", params={"state": "bogus"})
    client.get("/__sim/health")  # control calls are not Druid requests: never journaled
    body = client.get("/__sim/journal").json()
    assert (body["size"], body["held"], body["total"], body["dropped"], body["count"]) == (10_000, 3, 3, 0, 3)
    first, second, third = body["entries"]
    assert first.pop("client").startswith("python-httpx/")  # the User-Agent, as no X-Druid-Sim-Client was sent
    assert first == {
        "seq": 1,
        "time": "2026-01-01T00:00:00.000Z",
        "timeMillis": START_MS,
        "method": "POST",
        "path": "/druid/indexer/v1/task",
        "query": "",
        "status": 200,
        "answeredBy": "model",
        "fault": None,
        "user": None,
    }
    assert second["time"] == "2026-01-01T00:00:10.000Z" and second["path"] == "/druid/indexer/v1/task/t1/status"
    assert third["query"] == "state=bogus" and third["status"] == 400


def test_journal_filters_by_method_path_glob_status_and_since(client: httpx.Client) -> None:
    for task_id in ("a", "b"):
        submit(client, task_id)
        client.get(f"/druid/indexer/v1/task/{task_id}/status")
    client.get("/druid/indexer/v1/task/missing/status")
    journal = "/__sim/journal"
    assert client.get(journal, params={"method": "post"}).json()["count"] == 2
    statuses = client.get(journal, params={"path": "/druid/indexer/v1/task/*/status"}).json()
    assert [entry["path"].split("/")[-2] for entry in statuses["entries"]] == ["a", "b", "missing"]
    assert client.get(journal, params={"status": 404}).json()["entries"][0]["path"].endswith("/missing/status")
    assert [entry["seq"] for entry in client.get(journal, params={"since": 3}).json()["entries"]] == [4, 5]
    assert [entry["seq"] for entry in client.get(journal, params={"limit": 2}).json()["entries"]] == [4, 5]
    count = client.get("/__sim/journal/count", params={"method": "GET", "groupBy": "status"}).json()
    assert count == {"count": 3, "groupBy": "status", "groups": {"200": 2, "404": 1}}


def test_journal_refuses_unknown_or_malformed_filters(client: httpx.Client) -> None:
    typo = client.get("/__sim/journal", params={"paht": "/x"})
    assert typo.status_code == 422 and "paht" in typo.json()["message"]
    assert client.get("/__sim/journal", params={"status": "ok"}).status_code == 400
    assert client.get("/__sim/journal", params={"limit": -1}).status_code == 400
    assert client.get("/__sim/journal/count", params={"groupBy": "colour"}).status_code == 422


def test_journal_clear(client: httpx.Client) -> None:
    submit(client)
    assert client.delete("/__sim/journal", headers=JSON).json() == {"cleared": 1}
    assert client.get("/__sim/journal").json()["entries"] == []


def test_openapi_documents_every_control_call(client: httpx.Client) -> None:
    from druid_sim.control.app import ROUTES

    document = client.get("/__sim/openapi.json").json()
    assert document["openapi"].startswith("3.")
    documented = {(path, method.upper()) for path, item in document["paths"].items() for method in item}
    served = {
        ("/__sim" + path.replace("{name:path}", "{name}"), method)
        for path, methods in ROUTES.items()
        for method in methods
    }
    assert served <= documented


#: What each resource calls its path parameters in the Druid API's document.
PATH_PARAMETERS = {
    "datasources": ["{dataSource}", "{segmentId}"],
    "pendingSegments": ["{dataSource}"],
    "supervisor": ["{supervisorId}"],
    "worker": ["{host}"],
}


def test_druid_openapi_documents_every_tasks_api_endpoint(client: httpx.Client) -> None:
    from druid_sim.druid.routes import ROUTES, STATUS_ROUTES

    document = client.get("/__sim/druid-openapi.json").json()
    documented = {(path, method.upper()) for path, item in document["paths"].items() for method in item}
    served = set()
    for pattern, methods in ROUTES:
        names = iter(PATH_PARAMETERS.get(pattern[0], ["{taskId}"]))
        path = "/druid/indexer/v1/" + "/".join(part if part is not None else next(names) for part in pattern)
        served |= {(path, method) for method in methods}
    served |= {("/" + "/".join(pattern), method) for pattern, methods in STATUS_ROUTES.items() for method in methods}
    assert served == documented
    unknown = document["paths"]["/druid/indexer/v1/task/{taskId}/status"]["get"]["responses"]["404"]
    assert unknown == {"$ref": "#/components/responses/UnknownTask"}


def test_faults_are_added_all_or_nothing_and_removed_by_name(client: httpx.Client) -> None:
    added = client.post(
        "/__sim/faults", json=[{"name": "a", "kind": "hang"}, {"name": "b", "kind": "latency", "delay": "1s"}]
    )
    assert [fault["name"] for fault in added.json()["added"]] == ["a", "b"]
    broken = client.post("/__sim/faults", json=[{"name": "c", "kind": "hang"}, {"kind": "bogus"}])
    assert broken.status_code == 422 and "fault 2 of 2" in broken.json()["message"]
    assert broken.json()["problems"][0]["field"] == "kind"
    assert [fault["name"] for fault in client.get("/__sim/faults").json()["faults"]] == ["a", "b"]
    assert client.post("/__sim/faults", json={"name": "a", "kind": "hang"}).status_code == 409
    assert client.delete("/__sim/faults/a", headers=JSON).json() == {"removed": "a"}
    assert "the faults in force are: b" in client.delete("/__sim/faults/a", headers=JSON).json()["message"]
    assert client.delete("/__sim/faults", headers=JSON).json() == {"cleared": 1}


def test_scenario_load_switches_and_resets_or_changes_nothing(client: httpx.Client) -> None:
    assert client.get("/__sim/scenario").json()["scenario"] is None
    client.post("/__sim/clock", json={"advance": "2h"})
    loaded = client.post("/__sim/scenario", json={"scenario": "slow-tasks"}).json()
    assert loaded["loaded"] is True and loaded["scenario"] == "slow-tasks"
    assert (loaded["clock"]["rewoundFrom"], loaded["clock"]["nowMillis"]) == ("2026-01-01T02:00:00.000Z", START_MS)
    assert len(client.get("/druid/indexer/v1/tasks").json()) > 0
    missing = client.post("/__sim/scenario", json={"scenario": "no-such-scenario"})
    assert missing.status_code == 404 and "nothing changed" in missing.json()["message"]
    assert client.get("/__sim/scenario").json()["scenario"] == "slow-tasks"


def test_cassette_calls_without_a_cassette(client: httpx.Client) -> None:
    assert client.get("/__sim/cassette").json() == {"cassette": None}
    assert client.get("/__sim/cassette/unused").status_code == 409
    missing = client.post("/__sim/cassette", json={"cassette": "no-such.jsonl"})
    assert missing.status_code == 404 and "nothing changed" in missing.json()["message"]


def test_loading_a_cassette_into_a_running_server_replays_it(tmp_path: Path) -> None:
    cassettes = Path(__file__).resolve().parent.parent / "cassettes"
    config = ServeConfig(scenario=None, time_scale=0, start_ms=START_MS, data_dirs=(str(cassettes), str(tmp_path)))
    with live_server(config) as server, httpx.Client(base_url=server.url) as client:
        _load_and_switch_back(client, str(cassettes / "docs-examples.jsonl"), tmp_path)


def _load_and_switch_back(client: httpx.Client, docs: str, tmp_path: Path) -> None:
    recorded = next(
        line for line in Path(docs).read_text().splitlines()[1:] if '"/druid/indexer/v1/completeTasks"' in line
    )
    assert recorded  # the docs cassette holds a completeTasks exchange
    before = client.get("/druid/indexer/v1/completeTasks")
    assert before.json() == []  # the empty model answers
    loaded = client.post("/__sim/cassette", json={"cassette": docs})
    assert loaded.status_code == 200 and loaded.json()["loaded"] is True
    after = client.get("/druid/indexer/v1/completeTasks")
    assert after.status_code == 200 and len(after.json()) >= 1  # now the recorded answer
    assert client.get("/__sim/cassette").json()["cassette"] is not None
    broken = tmp_path / "broken.jsonl"
    broken.write_text('{"format": "druid-sim-cassette", "version": 99}\n')
    refused = client.post("/__sim/cassette", json={"cassette": str(broken)})
    assert refused.status_code == 422 and "nothing changed" in refused.json()["message"]
    assert client.get("/druid/indexer/v1/completeTasks").content == after.content  # still the first cassette
    stopped = client.post("/__sim/cassette", json={"cassette": None})
    assert stopped.status_code == 200 and client.get("/__sim/cassette").json() == {"cassette": None}
    assert client.get("/druid/indexer/v1/completeTasks").json() == []  # the model answers again
