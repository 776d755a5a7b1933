"""The recorder as users run it: a real mitmdump with the addon, in front of a real upstream, over sockets.

The main upstream is the real simulator (`tests.support.live`), driven through a whole task lifecycle
with the clock advanced instead of sleeping. A tiny Starlette upstream covers what the simulator does not
send: gzip-encoded bodies and a multi-megabyte chunked log with a secret inside.
"""

from __future__ import annotations

import gzip
import signal
import socket
import subprocess
import sys
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response, StreamingResponse
from starlette.routing import Route

from druid_sim.cassette import CassetteWriter, Redactor, find_secrets, load_cassette, new_meta, new_salt
from druid_sim.proxy.testing import RunningProxy, record_argv, running_recorder
from tests.support.credentials import SECRETS, SPEC
from tests.support.live import free_socket, live_server
from tests.support.upstream import serve

V1 = "/druid/indexer/v1"
AUTH = {"Authorization": f"Bearer {SECRETS['bearer']}"}


def assert_no_secret_in(path: Path) -> None:
    data = path.read_bytes()
    for name, secret in SECRETS.items():
        assert secret.encode() not in data, f"secret {name} leaked into {path}"
    assert find_secrets(load_cassette(path)) == []


@pytest.fixture
def confdir(tmp_path: Path) -> Path:
    return tmp_path / "mitmproxy"


def test_records_a_task_lifecycle_in_order_with_exact_bodies_and_no_secrets(tmp_path: Path, confdir: Path) -> None:
    cassette = tmp_path / "lifecycle.jsonl"
    seen: list[tuple[str, str, int, bytes]] = []
    with (
        live_server() as server,
        running_recorder(record_argv(server.url, cassette, confdir=confdir)) as proxy,
        httpx.Client(base_url=proxy.url, headers=AUTH, timeout=10) as client,
    ):

        def call(method: str, path: str, **kwargs: Any) -> httpx.Response:
            response = client.request(method, path, **kwargs)
            seen.append((method, path, response.status_code, response.content))
            return response

        task = call("POST", f"{V1}/task", json=SPEC).json()["task"]
        for _ in range(100):
            status = call("GET", f"{V1}/task/{task}/status").json()["status"]
            if status["statusCode"] in ("SUCCESS", "FAILED"):
                break
            server.clock.advance(60)
        else:
            pytest.fail("the task never finished")
        assert call("GET", f"{V1}/task/{task}/log").content != b""
        call("GET", f"{V1}/task/{task}/reports")
        other = call("POST", f"{V1}/task", json=SPEC).json()["task"]
        assert call("POST", f"{V1}/task/{other}/shutdown").json() == {"task": other}
        call("GET", f"{V1}/task/{other}/status")
        call("GET", "/unrecorded/path")  # outside the Tasks API: proxied, not recorded
    loaded = load_cassette(cassette)
    recorded = [
        (i.request.method, i.request.path, i.response.status, i.response.body.raw())
        for i in loaded.interactions
        for _ in range(i.count)
    ]
    expected = [entry for entry in seen if entry[1].startswith(V1)]
    assert [r[:3] for r in recorded] == [e[:3] for e in expected]
    for (method, path, _, body), (_, _, _, sent) in zip(recorded, expected, strict=True):
        if b"<redacted:" not in body:
            assert body == sent, f"{method} {path}: recorded body differs from what the client received"
    assert loaded.meta.upstream == server.url
    assert str(loaded.interactions[0].request.header("Authorization")).startswith("Bearer <redacted:")
    assert_no_secret_in(cassette)


# -- a small upstream for what the simulator does not send ---------------------------------------------

STATUS_JSON = b'{"task":"gz","status":{"id":"gz","statusCode":"RUNNING","status":"RUNNING","duration":-1}}'
LOG_LINE = b"2026-01-01T00:00:00,000 INFO [task-runner] org.apache.druid.indexing.common.task.Task - row %08d\n"
LOG_LINES = 60_000  # about 6 MB


async def gzip_status(request: Request) -> Response:
    return Response(
        gzip.compress(STATUS_JSON, mtime=0), headers={"Content-Encoding": "gzip"}, media_type="application/json"
    )


async def big_log(request: Request) -> StreamingResponse:
    async def lines() -> AsyncIterator[bytes]:
        yield b"2026-01-01 INFO starting with password=" + SECRETS["jdbc"].encode() + b"\n"
        for start in range(0, LOG_LINES, 1000):
            yield b"".join(LOG_LINE % n for n in range(start, start + 1000))

    return StreamingResponse(lines(), media_type="text/plain")


EDGE_APP = Starlette(
    routes=[
        Route(f"{V1}/task/gz/status", gzip_status),
        Route(f"{V1}/task/big/log", big_log),
    ]
)


@pytest.fixture(scope="module")
def edge_upstream() -> Iterator[str]:
    with serve(EDGE_APP) as url:
        yield url


@pytest.fixture
def edge_proxy(tmp_path: Path, confdir: Path, edge_upstream: str) -> Iterator[tuple[RunningProxy, Path]]:
    cassette = tmp_path / "edge.jsonl"
    with running_recorder(record_argv(edge_upstream, cassette, confdir=confdir)) as proxy:
        yield proxy, cassette


def test_gzip_response_is_stored_decoded_and_client_still_gets_gzip(edge_proxy: tuple[RunningProxy, Path]) -> None:
    proxy, cassette = edge_proxy
    response = httpx.get(f"{proxy.url}{V1}/task/gz/status", headers={"Accept-Encoding": "gzip"})
    assert response.headers["content-encoding"] == "gzip"
    assert response.content == STATUS_JSON
    proxy.signal(signal.SIGTERM)
    proxy.process.wait(10)
    (interaction,) = load_cassette(cassette).interactions
    assert interaction.response.body.kind == "json"
    assert interaction.response.body.encoding == "gzip"
    assert interaction.response.body.raw() == STATUS_JSON
    assert interaction.response.header("content-encoding") is None


def test_large_chunked_log_is_streamed_to_client_and_recorded_whole(edge_proxy: tuple[RunningProxy, Path]) -> None:
    proxy, cassette = edge_proxy
    with httpx.stream("GET", f"{proxy.url}{V1}/task/big/log", timeout=30) as response:
        received = b"".join(response.iter_bytes())
    assert len(received) > 5_000_000
    assert response.headers["transfer-encoding"] == "chunked"
    proxy.signal(signal.SIGTERM)
    proxy.process.wait(10)
    (interaction,) = load_cassette(cassette).interactions
    assert interaction.response.chunked
    stored = interaction.response.body.raw()
    assert stored.splitlines()[1:] == received.splitlines()[1:]
    assert stored.splitlines()[0].startswith(b"2026-01-01 INFO starting with password=<redacted:")
    assert SECRETS["jdbc"].encode() not in cassette.read_bytes()


def test_sigkill_mid_recording_leaves_a_cassette_with_every_finished_interaction(
    edge_proxy: tuple[RunningProxy, Path],
) -> None:
    proxy, cassette = edge_proxy
    with httpx.Client(base_url=proxy.url) as client:
        for n in range(5):
            client.get(f"{V1}/task/gz/status", params={"poll": n})
    proxy.signal(signal.SIGKILL)
    proxy.process.wait(10)
    loaded = load_cassette(cassette)
    assert [i.request.query for i in loaded.interactions] == [[("poll", str(n))] for n in range(5)]
    assert loaded.warnings == []


def test_sigint_closes_the_cassette_cleanly_and_reports_the_count(edge_proxy: tuple[RunningProxy, Path]) -> None:
    proxy, cassette = edge_proxy
    httpx.get(f"{proxy.url}{V1}/task/gz/status")
    proxy.signal(signal.SIGINT)
    assert proxy.process.wait(10) == 0
    assert proxy.wait_for_output(r"1 interaction\(s\) recorded in")
    assert len(load_cassette(cassette).interactions) == 1


def test_upstream_down_gives_a_502_naming_it_and_the_recorder_keeps_running(tmp_path: Path, confdir: Path) -> None:
    placeholder = free_socket()  # reserve a port, then free it so nothing listens there
    port = placeholder.getsockname()[1]
    placeholder.close()
    upstream = f"http://127.0.0.1:{port}"
    cassette = tmp_path / "down.jsonl"
    with running_recorder(record_argv(upstream, cassette, confdir=confdir)) as proxy:
        assert proxy.wait_for_output("is not reachable yet")
        for _ in range(2):
            response = httpx.get(f"{proxy.url}{V1}/tasks")
            assert response.status_code == 502
            assert upstream in response.text
        assert proxy.process.poll() is None
        sock = socket.socket()
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(("127.0.0.1", port))
        sock.listen(16)
        with serve(EDGE_APP, sock):
            assert httpx.get(f"{proxy.url}{V1}/task/gz/status").status_code == 200
    assert [i.request.path for i in load_cassette(cassette).interactions] == [f"{V1}/task/gz/status"]


def test_existing_cassette_is_not_overwritten_by_default(tmp_path: Path, confdir: Path) -> None:
    cassette = tmp_path / "keep.jsonl"
    cassette.write_text("precious\n")
    result = subprocess.run(
        record_argv("http://127.0.0.1:9", cassette, confdir=confdir), capture_output=True, text=True, timeout=30
    )
    assert result.returncode == 2
    assert "already exists" in result.stderr and "--mode append" in result.stderr
    assert cassette.read_text() == "precious\n"


def test_a_cassette_left_with_only_its_header_is_recorded_into_again(
    tmp_path: Path, confdir: Path, edge_upstream: str
) -> None:
    cassette = tmp_path / "empty.jsonl"
    redactor = Redactor(new_salt())
    with CassetteWriter.open(cassette, "refuse", new_meta(edge_upstream, redactor.redaction)):
        pass  # what a recording session that saw no exchange leaves: the header alone
    with running_recorder(record_argv(edge_upstream, cassette, confdir=confdir)) as proxy:
        assert httpx.get(f"{proxy.url}{V1}/task/gz/status").status_code == 200
    loaded = load_cassette(cassette)
    assert len(loaded.interactions) == 1
    assert loaded.meta.redaction is not None and loaded.meta.redaction.salt != redactor.salt  # a new recording


def test_forward_proxy_mode_records_requests_sent_through_http_proxy(
    tmp_path: Path, confdir: Path, edge_upstream: str
) -> None:
    cassette = tmp_path / "forward.jsonl"
    argv = record_argv(None, cassette, "--proxy-mode", "regular", confdir=confdir)
    with running_recorder(argv) as proxy, httpx.Client(proxy=proxy.url) as client:
        assert client.get(f"{edge_upstream}{V1}/task/gz/status").content == STATUS_JSON
    (interaction,) = load_cassette(cassette).interactions
    assert interaction.request.path == f"{V1}/task/gz/status"
    assert load_cassette(cassette).meta.upstream is None


def test_record_help_does_not_need_mitmproxy_imported() -> None:
    code = "import sys, druid_sim.cli as c; c.build_parser(); print('mitmproxy' in sys.modules)"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=30)
    assert result.stdout.strip() == "False"
