"""Round trip: a client flow recorded through the real recorder (mitmproxy) from a live simulator, then
replayed by ``serve --cassette``: every answer equals the upstream's, polls replay in recorded order
per task, and the sequence policies behave as documented (docs/replay.md)."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from druid_sim.proxy.testing import record_argv, running_recorder
from druid_sim.replay.engine import Replay
from tests.support.live import live_server
from tests.support.replay import replay_server

V1 = "/druid/indexer/v1"
SPEC_WIKI = {
    "type": "index_parallel",
    "spec": {
        "dataSchema": {"dataSource": "wiki", "timestampSpec": {"column": "ts"}},
        "ioConfig": {"type": "index_parallel", "inputSource": {"type": "inline", "data": "{}"}},
    },
}
SPEC_KOALA = {"type": "index_parallel", "spec": {"dataSchema": {"dataSource": "koala"}, "ioConfig": {}}}
#: Headers that legitimately differ between two answers of the same exchange.
VOLATILE = {"date"}


@dataclass
class Exchange:
    method: str
    target: str
    kwargs: dict[str, Any]
    response: httpx.Response


@dataclass
class Recording:
    cassette: Path
    exchanges: list[Exchange]
    task_a: str
    task_b: str


def _send(client: httpx.Client, log: list[Exchange], method: str, target: str, **kwargs: Any) -> httpx.Response:
    response = client.request(method, target, **kwargs)
    log.append(Exchange(method, target, kwargs, response))
    return response


@pytest.fixture(scope="module")
def recording(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Recording]:
    """A flow covering every endpoint, recorded once through `druid-sim record` (mitmproxy)."""
    folder = tmp_path_factory.mktemp("replay")
    cassette = folder / "flow.jsonl"
    log: list[Exchange] = []
    with (
        live_server() as upstream,
        running_recorder(record_argv(upstream.url, cassette, confdir=folder / "mitm")) as proxy,
        httpx.Client(base_url=proxy.url, timeout=10) as client,
    ):
        task_a = _send(client, log, "POST", f"{V1}/task", json=SPEC_WIKI).json()["task"]
        task_b = _send(client, log, "POST", f"{V1}/task", json=SPEC_KOALA).json()["task"]
        _send(client, log, "GET", f"{V1}/task/{task_a}/status")
        _send(client, log, "GET", f"{V1}/task/{task_a}/status")  # same answer: a repeat line
        _send(client, log, "GET", f"{V1}/task/{task_b}/status")
        _send(client, log, "GET", f"{V1}/tasks?state=running")
        upstream.clock.advance(3600)
        _send(client, log, "GET", f"{V1}/task/{task_a}/status")  # SUCCESS now
        _send(client, log, "GET", f"{V1}/task/{task_b}/status")
        _send(client, log, "GET", f"{V1}/tasks")
        _send(client, log, "GET", f"{V1}/tasks?state=complete&datasource=wiki&max=5")
        for shortcut in ("completeTasks", "runningTasks", "waitingTasks", "pendingTasks"):
            _send(client, log, "GET", f"{V1}/{shortcut}")
        _send(client, log, "GET", f"{V1}/task/{task_a}")
        _send(client, log, "GET", f"{V1}/task/{task_a}/log")
        _send(client, log, "GET", f"{V1}/task/{task_a}/log?offset=-200")
        _send(client, log, "GET", f"{V1}/task/{task_a}/reports")
        _send(client, log, "GET", f"{V1}/task/{task_a}/segments")
        _send(client, log, "POST", f"{V1}/taskStatus", json=[task_a, task_b, "nope"])
        _send(client, log, "POST", f"{V1}/task/{task_a}/shutdown", json={})
        _send(client, log, "POST", f"{V1}/datasources/wiki/shutdownAllTasks")
        _send(client, log, "DELETE", f"{V1}/pendingSegments/wiki?interval=2000-01-01_2000-01-02")
        for path in (f"{V1}/leader", f"{V1}/isLeader", "/status", "/status/health"):
            _send(client, log, "GET", path)
        _send(client, log, "GET", f"{V1}/task/not_a_task/status")
        _send(client, log, "GET", f"{V1}/tasks?state=bogus")
        _send(client, log, "POST", f"{V1}/task", content=b"{}", headers={"Content-Type": "text/plain"})
    yield Recording(cassette, log, task_a, task_b)


def _headers(response: httpx.Response) -> list[tuple[str, str]]:
    return sorted((k, v) for k, v in response.headers.multi_items() if k not in VOLATILE)


def test_replay_answers_every_recorded_request_exactly_as_the_upstream_did(recording: Recording) -> None:
    with replay_server(recording.cassette) as server, httpx.Client(base_url=server.url, timeout=10) as client:
        for exchange in recording.exchanges:
            replayed = client.request(exchange.method, exchange.target, **exchange.kwargs)
            upstream = exchange.response
            where = f"{exchange.method} {exchange.target}"
            assert replayed.status_code == upstream.status_code, where
            assert replayed.content == upstream.content, where
            assert _headers(replayed) == _headers(upstream), where
        replay: Replay = server.simulation.extensions["replay"]
        assert replay.miss_count == 0
        assert replay.unused() == []


def test_poll_replays_running_running_success_then_sticks_to_success(recording: Recording) -> None:
    status = f"{V1}/task/{recording.task_a}/status"
    with replay_server(recording.cassette) as server, httpx.Client(base_url=server.url) as client:
        seen = [client.get(status).json()["status"]["statusCode"] for _ in range(5)]
    assert seen == ["RUNNING", "RUNNING", "SUCCESS", "SUCCESS", "SUCCESS"]


def test_each_task_id_has_its_own_sequence(recording: Recording) -> None:
    a, b = f"{V1}/task/{recording.task_a}/status", f"{V1}/task/{recording.task_b}/status"
    with replay_server(recording.cassette) as server, httpx.Client(base_url=server.url) as client:
        first_b = client.get(b).json()["status"]["statusCode"]
        second_b = client.get(b).json()["status"]["statusCode"]
        first_a = client.get(a).json()["status"]["statusCode"]
    assert (first_b, second_b) == ("RUNNING", "SUCCESS")
    assert first_a == "RUNNING"  # polling task B did not move task A on


def test_cycle_policy_starts_the_recorded_sequence_again(recording: Recording) -> None:
    status = f"{V1}/task/{recording.task_a}/status"
    with (
        replay_server(recording.cassette, replay_sequence="cycle") as server,
        httpx.Client(base_url=server.url) as client,
    ):
        seen = [client.get(status).json()["status"]["statusCode"] for _ in range(4)]
    assert seen == ["RUNNING", "RUNNING", "SUCCESS", "RUNNING"]


def test_exhaust_policy_treats_requests_past_the_recording_as_misses(recording: Recording) -> None:
    status = f"{V1}/task/{recording.task_a}/status"
    with (
        replay_server(recording.cassette, replay_sequence="exhaust", replay_on_miss="error") as server,
        httpx.Client(base_url=server.url) as client,
    ):
        codes = [client.get(status).status_code for _ in range(4)]
        problem = client.get(status).json()
    assert codes == [200, 200, 200, 599]
    assert problem["nearest"][0]["differences"] == []
    assert "used up" in problem["nearest"][0]["skipped"]


def test_a_reset_starts_every_sequence_again(recording: Recording) -> None:
    status = f"{V1}/task/{recording.task_a}/status"
    with replay_server(recording.cassette) as server, httpx.Client(base_url=server.url) as client:
        before = [client.get(status).json()["status"]["statusCode"] for _ in range(3)]
        assert client.post("/__sim/reset", json={}).status_code in (200, 204)
        after = client.get(status).json()["status"]["statusCode"]
    assert before[-1] == "SUCCESS"
    assert after == "RUNNING"
