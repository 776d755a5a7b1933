"""The Forwarder (what answers in the model's place while a test records), over real sockets.

A client must get from the druid_sim server exactly what the upstream sent, byte for byte, and the
upstream must get what the client sent: so every check compares the two ends of a real chain,
client → simulator server with a Forwarder innermost → a small Starlette upstream.
"""

from __future__ import annotations

import gzip
from collections.abc import AsyncIterator, Iterator

import httpx
import orjson
import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response, StreamingResponse
from starlette.routing import Route

from druid_sim.replay.forward import Forwarder
from druid_sim.server.assembly import build_app
from tests.support.live import LiveServer, free_socket, live_server
from tests.support.upstream import serve

V1 = "/druid/indexer/v1"
LOG = [b"2026-01-01T00:00:00,000 INFO [task-runner] line %d\n" % n for n in range(3)]


async def echo(request: Request) -> Response:
    """What the upstream received: method, raw path and query, headers, body."""
    body = {
        "method": request.method,
        "raw_path": request.scope["raw_path"].decode(),
        "query": request.scope["query_string"].decode(),
        "headers": [[k.decode(), v.decode()] for k, v in request.scope["headers"]],
        "body": (await request.body()).decode(),
    }
    return Response(orjson.dumps(body), headers={"X-Echo": "yes", "Set-Cookie": "a=1"}, media_type="application/json")


async def gzipped(request: Request) -> Response:
    return Response(
        gzip.compress(b'{"task":"t"}', mtime=0), headers={"Content-Encoding": "gzip"}, media_type="application/json"
    )


async def log(request: Request) -> StreamingResponse:
    async def lines() -> AsyncIterator[bytes]:
        for line in LOG:
            yield line

    return StreamingResponse(lines(), media_type="text/plain")


async def fixed(request: Request) -> Response:
    response = Response(b'{"leader":false}', status_code=404, media_type="application/json")
    response.headers.append("Set-Cookie", "a=1")
    response.headers.append("Set-Cookie", "b=2")  # repeated headers stay repeated, in order
    return response


async def redirect(request: Request) -> Response:
    return Response(status_code=307, headers={"Location": "http://other-overlord:8090" + request.url.path})


UPSTREAM = Starlette(
    routes=[
        Route(V1 + "/task/{rest:path}", echo, methods=["GET", "POST", "HEAD"]),
        Route(V1 + "/task", echo, methods=["POST"]),
        Route(V1 + "/gz", gzipped),
        Route(V1 + "/log", log),
        Route(V1 + "/isLeader", fixed),
        Route(V1 + "/leader", redirect, methods=["GET", "POST"]),
    ]
)


@pytest.fixture(scope="module")
def upstream() -> Iterator[str]:
    with serve(UPSTREAM) as url:
        yield url


@pytest.fixture(scope="module")
def front(upstream: str) -> Iterator[LiveServer]:
    with live_server(app_factory=lambda simulation: build_app(simulation, False, Forwarder(upstream))) as server:
        yield server


def raw(client: httpx.Client, method: str, url: str, **kwargs: object) -> tuple[int, list[tuple[bytes, bytes]], bytes]:
    """Status, headers (no Date) and the body's bytes exactly as they came (not decompressed)."""
    with client.stream(method, url, **kwargs) as response:  # type: ignore[arg-type]
        body = b"".join(response.iter_raw())
        headers = [(k.lower(), v) for k, v in response.headers.raw if k.lower() != b"date"]
        return response.status_code, headers, body


def test_the_client_gets_what_the_upstream_sent_byte_for_byte(upstream: str, front: LiveServer) -> None:
    with httpx.Client(timeout=10) as client:
        for path in (f"{V1}/gz", f"{V1}/log", f"{V1}/leader", f"{V1}/isLeader?x=1&x=2"):
            assert raw(client, "GET", front.url + path) == raw(client, "GET", upstream + path), path
        status, headers, body = raw(client, "GET", front.url + f"{V1}/gz")
        assert (b"content-encoding", b"gzip") in headers and gzip.decompress(body) == b'{"task":"t"}'
        status, headers, body = raw(client, "GET", front.url + f"{V1}/log")
        assert (b"transfer-encoding", b"chunked") in headers and body == b"".join(LOG)  # streamed, not buffered
        status, headers, _ = raw(client, "POST", front.url + f"{V1}/leader")
        assert status == 307 and (b"location", b"http://other-overlord:8090/druid/indexer/v1/leader") in headers
        response = client.get(front.url + f"{V1}/gz")
        assert len(response.headers.get_list("date")) == 1  # uvicorn's own, not the upstream's as well


def test_the_upstream_gets_what_the_client_sent(front: LiveServer, upstream: str) -> None:
    spec = b'{"type": "index_parallel",  "spec": {}}'  # odd spacing: bytes are passed on as they are
    headers = {"Content-Type": "application/json", "Authorization": "Basic YWRtaW46cHc=", "X-Trace": "1"}
    with httpx.Client(timeout=10) as client:
        seen = client.post(front.url + f"{V1}/task?dryRun=true", content=spec, headers=headers).json()
        polled = client.get(front.url + f"{V1}/task/index_kafka_wiki%3A1/status?a=%2F").json()
    assert (seen["method"], seen["raw_path"], seen["query"], seen["body"]) == (
        "POST",
        f"{V1}/task",
        "dryRun=true",
        spec.decode(),
    )
    received = dict(seen["headers"])
    assert received["authorization"] == "Basic YWRtaW46cHc=" and received["x-trace"] == "1"
    assert received["content-length"] == str(len(spec)) and "transfer-encoding" not in received
    assert received["host"] == upstream.removeprefix("http://")  # the upstream's, as a reverse proxy sends
    assert (polled["raw_path"], polled["query"]) == (f"{V1}/task/index_kafka_wiki%3A1/status", "a=%2F")
    assert not any(name in ("content-length", "transfer-encoding") for name, _ in polled["headers"])  # no body


def test_forwarded_requests_are_journaled_as_answered_by_the_upstream(front: LiveServer) -> None:
    journal = front.simulation.extensions["journal"]
    before = journal.total
    with httpx.Client(timeout=10) as client:
        client.get(front.url + f"{V1}/task/x/status")
    (entry,) = journal.select(limit=journal.total - before)
    assert (entry.path, entry.status, entry.answered_by) == (f"{V1}/task/x/status", 200, "upstream")


def test_an_upstream_that_does_not_answer_gets_a_502_that_names_it() -> None:
    closed = free_socket()
    url = f"http://127.0.0.1:{closed.getsockname()[1]}"
    closed.close()
    with live_server(app_factory=lambda simulation: build_app(simulation, False, Forwarder(url))) as server:
        response = httpx.get(server.url + f"{V1}/tasks", timeout=10)
    assert response.status_code == 502
    assert response.text.startswith(f"druid-sim: the recorder at {url} did not answer: ConnectError")
