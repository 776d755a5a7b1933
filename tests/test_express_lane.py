"""The express lane (docs/replay.md "Speed"): recorded GETs answered from uvicorn's parser callback.

Each test talks raw HTTP/1.1 over a real socket to a real server, so the bytes on the wire are what is
compared: a response written by the express lane must be the one uvicorn's ASGI cycle writes (reference
section 1: status line, headers, body), and everything that can change an answer (faults, leadership,
sequences, resets) must still apply to it.
"""

from __future__ import annotations

import logging
import re
import socket
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest

from simulator.app import SimulatorApp
from simulator.assembly import build_app
from simulator.express_http import ExpressHttpToolsProtocol
from simulator.runtime import Simulation
from tests.support.live import LiveServer
from tests.support.replay import exchange, replay_server, write_cassette

V1 = "/druid/indexer/v1"
TASK = "index_parallel_wiki_abcdefgh_2026-01-01T00:00:00.000Z"
STATUS = f"{V1}/task/{TASK}/status"
LOG = f"{V1}/task/{TASK}/log"
DATE = re.compile(rb"\r\ndate: [^\r]*")


def _status(code: str) -> dict[str, object]:
    return {"task": TASK, "status": {"id": TASK, "statusCode": code, "status": code, "duration": -1}}


@pytest.fixture
def cassette(tmp_path: Path) -> Path:
    log = exchange("GET", LOG, 200, "2026-01-01T00:00:01,000 INFO [main] started\n" * 50, content_type="text/plain")
    log.response.chunked = True  # task logs are streamed: replayed chunked, as recorded
    return write_cassette(
        tmp_path / "express.jsonl",
        [
            exchange("GET", STATUS, 200, _status("RUNNING")),
            exchange("GET", STATUS, 200, _status("RUNNING")),
            exchange("GET", STATUS, 200, _status("SUCCESS")),
            exchange("GET", f"{V1}/tasks", 200, [{"id": TASK}], query=[("state", "complete")]),
            log,
        ],
    )


class Connection:
    """One raw keep-alive HTTP/1.1 connection; responses come back as the exact bytes received."""

    def __init__(self, url: str) -> None:
        host, port = url.removeprefix("http://").split(":")
        self.sock = socket.create_connection((host, int(port)), timeout=10)
        self.buffer = b""

    def send(self, *requests: bytes) -> None:
        self.sock.sendall(b"".join(requests))

    def get(self, target: str, *headers: str) -> bytes:
        self.send(request("GET", target, *headers))
        return self.response()

    def response(self) -> bytes:
        head = self._until(b"\r\n\r\n")
        length = re.search(rb"\r\ncontent-length: (\d+)", head)
        if length is not None:
            return head + self._exactly(int(length.group(1)))
        if b"\r\ntransfer-encoding: chunked" in head:
            return head + self._until(b"\r\n0\r\n\r\n")
        return head

    def closed_by_server(self) -> bool:
        return self.sock.recv(1) == b""

    def _until(self, marker: bytes) -> bytes:
        while marker not in self.buffer:
            chunk = self.sock.recv(65536)
            if not chunk:
                raise ConnectionError(f"closed before {marker!r}; got {self.buffer!r}")
            self.buffer += chunk
        end = self.buffer.index(marker) + len(marker)
        data, self.buffer = self.buffer[:end], self.buffer[end:]
        return data

    def _exactly(self, size: int) -> bytes:
        while len(self.buffer) < size:
            chunk = self.sock.recv(65536)
            if not chunk:
                raise ConnectionError("closed mid-body")
            self.buffer += chunk
        data, self.buffer = self.buffer[:size], self.buffer[size:]
        return data


def request(method: str, target: str, *headers: str, body: bytes = b"") -> bytes:
    lines = [f"{method} {target} HTTP/1.1", "Host: druid-sim", *headers]
    if body:
        lines.append(f"Content-Length: {len(body)}")
    return ("\r\n".join(lines) + "\r\n\r\n").encode() + body


@contextmanager
def connection(server: LiveServer) -> Iterator[Connection]:
    conn = Connection(server.url)
    try:
        yield conn
    finally:
        conn.sock.close()


def express_count() -> int:
    return ExpressHttpToolsProtocol.answered


def test_an_express_answer_is_byte_for_byte_what_the_asgi_way_writes(cassette: Path) -> None:
    """Section 1 (responses): same status line, header names, order and body; only the date may move."""
    with replay_server(cassette, replay_on_miss="error") as server, connection(server) as conn:
        before = express_count()
        first = [conn.get(f"{V1}/tasks?state=complete"), conn.get(LOG)]  # first sight: the ASGI way
        assert express_count() == before
        again = [conn.get(f"{V1}/tasks?state=complete"), conn.get(LOG)]  # remembered: the express lane
        assert express_count() == before + 2
    assert [DATE.sub(b"", r) for r in again] == [DATE.sub(b"", r) for r in first]
    assert first[0].startswith(b"HTTP/1.1 200 OK\r\ndate: ")
    assert b"\r\ncontent-type: application/json\r\ncontent-length: 64\r\n\r\n[{" in first[0]
    assert b"\r\ntransfer-encoding: chunked\r\n" in again[1]


def test_a_poll_sequence_plays_in_recorded_order_through_the_express_lane(cassette: Path) -> None:
    """Replay sequences: RUNNING, RUNNING, SUCCESS, then SUCCESS for ever; a reset starts again."""
    with replay_server(cassette, replay_on_miss="error") as server, connection(server) as conn:
        before = express_count()
        codes = [_code(conn.get(STATUS)) for _ in range(5)]
        assert express_count() - before == 4  # all but the first poll
        httpx.post(f"{server.url}/__sim/reset", json={}).raise_for_status()
        after_reset = [_code(conn.get(STATUS)) for _ in range(4)]
    assert codes == ["RUNNING", "RUNNING", "SUCCESS", "SUCCESS", "SUCCESS"]
    assert after_reset == ["RUNNING", "RUNNING", "SUCCESS", "SUCCESS"]


def _code(response: bytes) -> str:
    found = re.search(rb'"statusCode":"(\w+)"', response)
    assert found is not None, response
    return found.group(1).decode()


def test_faults_and_a_non_leader_still_answer_requests_the_express_lane_could_take(cassette: Path) -> None:
    """Faults apply to replayed answers too, and a non-leader redirects (section 9, leader redirects)."""
    with replay_server(cassette, replay_on_miss="error") as server, connection(server) as conn:
        target = f"{V1}/tasks?state=complete"
        conn.get(target)
        conn.get(target)  # remembered now
        fault = {"name": "boom", "kind": "error", "status": 500, "routes": [f"{V1}/tasks"]}
        httpx.post(f"{server.url}/__sim/faults", json=fault).raise_for_status()
        faulted = conn.get(target)
        httpx.delete(f"{server.url}/__sim/faults/boom", headers={"content-type": "application/json"}).raise_for_status()
        server.simulation.leadership.leader_url = "http://overlord-2.example:8081"
        redirected = conn.get(target)
        server.simulation.leadership.leader_url = None
        replayed = conn.get(target)
    assert faulted.startswith(b"HTTP/1.1 500 ")
    assert redirected.startswith(b"HTTP/1.1 307 ")
    assert b"\r\nlocation: http://overlord-2.example:8081" + target.encode() in redirected
    assert replayed.startswith(b"HTTP/1.1 200 OK\r\n")


def test_the_journal_and_the_access_log_see_express_answers(cassette: Path, caplog: pytest.LogCaptureFixture) -> None:
    def with_access_log(simulation: Simulation) -> SimulatorApp:
        return build_app(simulation, access_log=True)

    caplog.set_level(logging.INFO, logger="simulator.access")
    with (
        replay_server(cassette, replay_on_miss="error", app_factory=with_access_log) as server,
        connection(server) as conn,
    ):
        before = express_count()
        for _ in range(3):
            conn.get(f"{V1}/tasks?state=complete")
        assert express_count() == before + 2
        journal = httpx.get(f"{server.url}/__sim/journal").json()
    entries = [(e["method"], e["path"], e["query"], e["status"], e["answeredBy"]) for e in journal["entries"]]
    assert entries == [("GET", f"{V1}/tasks", "state=complete", 200, "replay")] * 3
    lines = [r.getMessage() for r in caplog.records if r.name == "simulator.access"]
    assert len(lines) == 3
    assert all(
        re.fullmatch(r'127\.0\.0\.1 "GET /druid/indexer/v1/tasks\?state=complete" 200 \d+\.\dms', x) for x in lines
    )


def test_pipelined_requests_are_answered_in_order(cassette: Path) -> None:
    """HTTP/1.1 pipelining: answers in request order whichever way each request goes."""
    with replay_server(cassette, replay_on_miss="error") as server, connection(server) as conn:
        conn.get(f"{V1}/tasks?state=complete")
        conn.send(
            request("GET", f"{V1}/tasks?state=complete"),
            request("GET", STATUS),
            request("GET", f"{V1}/tasks?state=complete"),
            request("GET", STATUS),
        )
        answers = [conn.response() for _ in range(4)]
    assert [b'[{"id":' in a for a in answers] == [True, False, True, False]
    assert [_code(a) for a in answers[1::2]] == ["RUNNING", "RUNNING"]


def test_requests_the_express_lane_leaves_alone_are_answered_the_asgi_way(cassette: Path) -> None:
    """A body, ``Connection: close``, HTTP/1.0 and ``Expect`` keep uvicorn's own handling."""
    target = f"{V1}/tasks?state=complete"
    with replay_server(cassette, replay_on_miss="error") as server:
        with connection(server) as conn:
            conn.get(target)  # remembered
            before = express_count()
            conn.send(request("GET", target, body=b"{}"))
            with_body = conn.response()
            head = conn.get(target, "Connection: close")
            assert conn.closed_by_server()
        with connection(server) as conn:
            conn.send(b"GET " + target.encode() + b" HTTP/1.0\r\nHost: x\r\n\r\n")
            old = conn.response()
        with connection(server) as conn:
            expecting = conn.get(target, "Expect: 100-continue")
        assert express_count() == before
    assert with_body.startswith(b"HTTP/1.1 200 OK\r\n")
    assert head.startswith(b"HTTP/1.1 200 OK\r\n") and b"\r\nconnection: close\r\n" in head
    assert old.startswith(b"HTTP/1.1 200 OK\r\n")
    assert expecting.startswith(b"HTTP/1.1 200 OK\r\n")


def test_latency_recorded_keeps_every_answer_on_the_virtual_clock(tmp_path: Path) -> None:
    """``--latency recorded`` needs the clock, so nothing goes the express way."""
    cassette = write_cassette(
        tmp_path / "slow.jsonl", [exchange("GET", STATUS, 200, _status("SUCCESS"), elapsed_ms=0.5)]
    )
    with replay_server(cassette, replay_on_miss="error", replay_latency="recorded", time_scale=1.0) as server:
        before = express_count()
        with connection(server) as conn:
            answers = [conn.get(STATUS) for _ in range(3)]
        assert express_count() == before
    assert all(a.startswith(b"HTTP/1.1 200 OK\r\n") for a in answers)


def test_a_streamed_204_comes_out_as_the_asgi_way_writes_it(tmp_path: Path) -> None:
    """No body and no chunked framing for a status that has no body, either way."""
    streamed_204 = exchange("GET", f"{V1}/task/{TASK}/shutdown-check", 204, None)
    streamed_204.response.chunked = True
    cassette = write_cassette(tmp_path / "odd.jsonl", [streamed_204])
    with replay_server(cassette, replay_on_miss="error") as server, connection(server) as conn:
        before = express_count()
        empty = [conn.get(f"{V1}/task/{TASK}/shutdown-check") for _ in range(2)]
        assert express_count() == before + 1
    assert DATE.sub(b"", empty[0]) == DATE.sub(b"", empty[1])
    assert empty[0].startswith(b"HTTP/1.1 204 No Content\r\n") and b"transfer-encoding" not in empty[0]
