"""The express lane (docs/replay.md "Speed"): recorded GETs answered from uvicorn's parser callback.

Each test talks raw HTTP/1.1 over a real socket to a real server, so the bytes on the wire are what is
compared: a response written by the express lane must be the one uvicorn's ASGI cycle writes (reference
section 1: status line, headers, body), and everything that can change an answer (faults, leadership,
sequences, resets) must still apply to it.
"""

from __future__ import annotations

import ast
import asyncio
import dis
import inspect
import itertools
import logging
import re
import socket
import tomllib
import types
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest
from uvicorn.protocols.http import httptools_impl

from druid_sim.runtime import Simulation
from druid_sim.server import express_http, guarded_http
from druid_sim.server.app import SimulatorApp
from druid_sim.server.assembly import build_app
from druid_sim.server.express_check import (
    ATTRIBUTES,
    IMPL_MODULE,
    METHODS,
    MODULE_NAMES,
    check_express,
    choose_protocol,
    http_protocol,
    stored_attributes,
)
from druid_sim.server.express_http import ExpressHttpToolsProtocol
from druid_sim.server.guarded_http import GuardedHttpToolsProtocol
from druid_sim.server.serving import HTTP_PROTOCOL
from tests.support.express import express_answered
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


PYPROJECT = Path(__file__).resolve().parent.parent / "pyproject.toml"


def uvicorn_version() -> tuple[int, ...]:
    import uvicorn

    return tuple(int(part) for part in uvicorn.__version__.split(".")[:2])


def express_count() -> int:
    return express_answered()


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

    caplog.set_level(logging.INFO, logger="druid_sim.access")
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
    lines = [r.getMessage() for r in caplog.records if r.name == "druid_sim.access"]
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


# -- uvicorn's internals, checked at start -----------------------------------------------------------


class _StandIn(asyncio.Protocol):
    """An HttpToolsProtocol as the express lane and the server limits expect it, except where a case takes
    something out."""

    def __init__(self, config: Any, server_state: Any, app_state: Any, _loop: Any = None) -> None:
        self.app = self.loop = self.parser = self.server_state = self.timeout_keep_alive = None
        self.connections = self.logger = None
        self.expect_100_continue = False
        self.pipeline: list[Any] = []
        self.timeout_keep_alive_task = None

    def connection_made(self, transport: Any) -> None:  # type: ignore[override]
        self.transport = self.flow = self.client = transport

    def on_message_begin(self) -> None:
        self.url = b""
        self.headers: list[Any] = []
        self.scope = None
        self.cycle = None

    def connection_lost(self, exc: Exception | None) -> None: ...
    def data_received(self, data: bytes) -> None: ...
    def on_headers_complete(self) -> None: ...
    def on_body(self, body: bytes) -> None: ...
    def on_message_complete(self) -> None: ...
    def _start_asgi_task(self, cycle: Any, app: Any) -> None: ...
    def _unset_keepalive_if_required(self) -> None: ...
    def _should_upgrade(self) -> bool: ...
    def _unsupported_upgrade_warning(self) -> None: ...
    def handle_websocket_upgrade(self) -> None: ...
    def send_400_response(self, msg: str) -> None: ...
    def timeout_keep_alive_handler(self) -> None: ...


def _init_without_pipeline(self: Any, config: Any, server_state: Any, app_state: Any, _loop: Any = None) -> None:
    self.app = self.loop = self.parser = self.server_state = self.timeout_keep_alive = None
    self.connections = self.logger = None
    self.expect_100_continue = False
    self.timeout_keep_alive_task = None


#: The stand-in with an ``__init__`` that no longer sets ``self.pipeline`` (not a subclass: the check
#: reads the whole class hierarchy, so the stand-in's own ``__init__`` would still count).
_NoPipeline = type(
    "_NoPipeline",
    (asyncio.Protocol,),
    {**{k: v for k, v in vars(_StandIn).items() if not k.startswith("__")}, "__init__": _init_without_pipeline},
)


class _OnBodyRenamed(_StandIn):
    on_body = None  # type: ignore[assignment]


class _OtherInit(_StandIn):
    def __init__(self, config: Any, state: Any, _loop: Any = None) -> None:  # type: ignore[override]
        super().__init__(config, state, {}, _loop)


class _NoDefaultHeaders:
    def __init__(self) -> None:
        self.total_requests = 0


def _uvicorn_module(**changes: Any) -> types.SimpleNamespace:
    """uvicorn's httptools module as installed, with some of its names replaced (None: removed)."""
    names = {**vars(httptools_impl), "HttpToolsProtocol": _StandIn, **changes}
    return types.SimpleNamespace(**{name: value for name, value in names.items() if value is not None})


def test_the_installed_uvicorn_is_the_one_the_express_lane_expects() -> None:
    assert check_express() == []
    assert check_express(_uvicorn_module()) == []  # the stand-in as given is what the lane needs
    assert http_protocol() == HTTP_PROTOCOL
    pinned = next(d for d in tomllib.loads(PYPROJECT.read_text())["project"]["dependencies"] if "uvicorn" in d)
    low, high = re.findall(r"(?:>=|<)([\d.]+)", pinned)
    assert tuple(map(int, low.split("."))) <= uvicorn_version() < tuple(map(int, high.split(".")))


@pytest.mark.parametrize(
    ("changes", "problem"),
    [
        ({"HttpToolsProtocol": _NoPipeline}, "HttpToolsProtocol no longer sets self.pipeline"),
        ({"HttpToolsProtocol": _OnBodyRenamed}, "HttpToolsProtocol has no method on_body"),
        ({"HttpToolsProtocol": _OtherInit}, "HttpToolsProtocol.__init__ takes (config, state, _loop)"),
        ({"HEADER_VALUE_RE": None}, "httptools_impl has no HEADER_VALUE_RE"),
        ({"ServerState": _NoDefaultHeaders}, "ServerState no longer sets self.default_headers"),
        ({"STATUS_LINE": {}}, "STATUS_LINE is no longer a status code"),
    ],
    ids=["attribute", "method", "init", "module-name", "server-state", "status-line"],
)
def test_a_uvicorn_that_differs_inside_is_named_by_the_check(changes: dict[str, Any], problem: str) -> None:
    problems = check_express(_uvicorn_module(**changes))
    assert len(problems) == 1 and problem in problems[0], problems


def test_a_differing_uvicorn_falls_back_to_its_own_protocol_with_one_warning_and_still_serves(
    cassette: Path, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.WARNING, logger="druid_sim.express"):
        chosen = choose_protocol(_uvicorn_module(HttpToolsProtocol=_NoPipeline))
    assert chosen == "httptools"
    (warning,) = caplog.records
    assert warning.levelname == "WARNING" and "no longer sets self.pipeline" in warning.getMessage()
    assert "serving with uvicorn's own httptools protocol instead" in warning.getMessage()
    with replay_server(cassette, replay_on_miss="error", http=chosen) as server, connection(server) as conn:
        before = express_count()
        codes = [_code(conn.get(STATUS)) for _ in range(4)]
        assert express_count() == before  # every answer went uvicorn's own way
    assert codes == ["RUNNING", "RUNNING", "SUCCESS", "SUCCESS"]


@pytest.mark.parametrize(
    ("protocol", "module"),
    [(ExpressHttpToolsProtocol, express_http), (GuardedHttpToolsProtocol, guarded_http)],
    ids=["express", "limits"],
)
def test_the_check_lists_every_name_our_protocols_take_from_uvicorn(protocol: type, module: Any) -> None:
    """Keeps `druid_sim.server.express_check` in step with `druid_sim.server.express_http` and `druid_sim.server.guarded_http`."""
    base = httptools_impl.HttpToolsProtocol
    own = stored_attributes(protocol) - stored_attributes(base)
    own |= {name for name in vars(protocol) if not hasattr(base, name)}
    used: set[str] = set()
    for member in vars(protocol).values():
        if inspect.isfunction(member):
            instructions = list(dis.get_instructions(member))
            for before, this in itertools.pairwise(instructions):
                if before.opname == "LOAD_FAST" and before.argval == "self" and "ATTR" in this.opname + "METHOD":
                    used.add(this.argval)
            used |= {i.argval for i in instructions if i.opname == "LOAD_METHOD" and i.argval in METHODS}
    assert used - own <= set(ATTRIBUTES) | set(METHODS), used - own - set(ATTRIBUTES) - set(METHODS)
    imports = ast.walk(ast.parse(inspect.getsource(module)))
    taken = {
        a.name
        for node in imports
        if isinstance(node, ast.ImportFrom) and node.module == IMPL_MODULE
        for a in node.names
    }
    assert taken and taken <= set(MODULE_NAMES)
