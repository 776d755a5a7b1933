"""Server limits over real sockets, on ``serve``'s settings (uvloop, httptools): sizes, timeouts, connections.

The servers here run with small limits (1 MiB bodies, sub-second timeouts, a handful of connections)
so each test takes a moment; the defaults and why are in `druid_sim.limits`. Raw sockets play the
misbehaving clients (a slowloris, an idle connection, a client streaming a huge body) that HTTP
libraries do not let one write.
"""

from __future__ import annotations

import select
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import replace

import httpx
import pytest

from druid_sim.config import ServeConfig
from druid_sim.limits import MIB, ServerLimits, format_size, parse_size
from tests.support.live import START_MS, LiveServer, live_server
from tests.support.served import served

LIMITS = ServerLimits(max_body_size=1 * MIB, request_timeout=0.3, keep_alive_timeout=0.6, max_connections=50)
TASK = "/druid/indexer/v1/task"
SPEC = b'{"type":"index_parallel","spec":{"dataSchema":{"dataSource":"wiki"}},"pad":"'


@pytest.fixture(scope="module")
def limited() -> Iterator[LiveServer]:
    config = ServeConfig(scenario=None, time_scale=0, start_ms=START_MS, limits=LIMITS)
    with live_server(config) as live:
        yield live


@pytest.fixture
def port(limited: LiveServer) -> int:
    assert httpx.post(limited.url + "/__sim/reset", json={}).status_code == 200
    return int(limited.url.rsplit(":", 1)[1])


def connect(port: int) -> socket.socket:
    sock = socket.create_connection(("127.0.0.1", port))
    sock.settimeout(5)
    return sock


def read_all(sock: socket.socket) -> bytes:
    """Everything the server sends until it closes the connection."""
    data = b""
    while chunk := sock.recv(65536):
        data += chunk
    return data


def status_of(response: bytes) -> int:
    return int(response.split(b" ", 2)[1])


def tasks_of(server: LiveServer) -> int:
    return len(httpx.get(server.url + "/druid/indexer/v1/tasks").json())


# -- bodies -----------------------------------------------------------------------------------------


def test_a_content_length_over_the_limit_gets_413_before_the_body_is_read(port: int, limited: LiveServer) -> None:
    with connect(port) as sock:
        sock.sendall(
            b"POST /druid/indexer/v1/task HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
            b"Content-Length: 10737418240\r\nExpect: 100-continue\r\n\r\n"
        )
        response = read_all(sock)  # no body sent, and none asked for: the answer comes at once
    head, _, body = response.partition(b"\r\n\r\n")
    assert status_of(head) == 413  # never "100 Continue": the body stays home
    assert b"\r\nconnection: close" in head and b"\r\ncontent-type: text/html;charset=iso-8859-1" in head
    assert b"<h2>HTTP ERROR 413 Payload Too Large</h2>" in body and b"/druid/indexer/v1/task" in body
    assert tasks_of(limited) == 0


def test_a_client_that_sends_its_oversize_body_anyway_still_reads_the_413(limited: LiveServer, port: int) -> None:
    body = SPEC + b"x" * (2 * MIB) + b'"}'
    response = httpx.post(limited.url + TASK, content=body, headers={"Content-Type": "application/json"})
    assert response.status_code == 413 and "HTTP ERROR 413" in response.text
    assert tasks_of(limited) == 0


def test_a_chunked_body_is_refused_as_it_passes_the_limit_and_nothing_is_submitted(
    port: int, limited: LiveServer
) -> None:
    sent, response = send_chunked_until_answered(port, 200 * MIB)
    assert status_of(response) == 413
    assert sent < 32 * MIB  # refused early: not after the 200 MB
    assert tasks_of(limited) == 0


def send_chunked_until_answered(port: int, total: int) -> tuple[int, bytes]:
    """POST /task with up to ``total`` bytes of chunked body, stopping as soon as the server answers."""
    chunk = b"x" * 65536
    sent = 0
    with connect(port) as sock:
        sock.sendall(b"POST /druid/indexer/v1/task HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n")
        sock.sendall(b"Content-Type: application/json\r\n\r\n%x\r\n%s\r\n" % (len(SPEC), SPEC))
        while sent < total and not select.select([sock], [], [], 0)[0]:
            sock.sendall(b"%x\r\n%s\r\n" % (len(chunk), chunk))
            sent += len(chunk)
        return sent, read_all(sock)


def test_serve_refuses_200_mb_bodies_without_holding_them() -> None:
    with served("--scenario", "slow-tasks", "--max-body-size", "4MiB", "--no-access-log") as running:
        port = int(running.url.rsplit(":", 1)[1])
        httpx.get(running.url + "/druid/indexer/v1/tasks")
        before = running.peak_rss_kib()
        sent, response = send_chunked_until_answered(port, 200 * MIB)
        assert status_of(response) == 413 and sent < 64 * MIB
        with connect(port) as sock:
            sock.sendall(b"POST /druid/indexer/v1/task HTTP/1.1\r\nHost: x\r\nContent-Length: 209715200\r\n\r\n")
            assert status_of(read_all(sock)) == 413
        grown_mib = (running.peak_rss_kib() - before) / 1024
        assert running.stop() == 0
        log = running.log()
    assert grown_mib < 32, grown_mib  # at most the 4 MiB taken in, and copies of it: not the 200 MB offered
    assert "Traceback" not in log and "answering 413" in log


def test_bodies_within_the_limit_are_served_chunked_or_not(limited: LiveServer, port: int) -> None:
    body = SPEC + b"x" * (MIB // 2) + b'"}'
    headers = {"Content-Type": "application/json"}
    assert httpx.post(limited.url + TASK, content=body, headers=headers).status_code == 200
    chunked = httpx.post(limited.url + TASK, content=iter([body[:1000], body[1000:]]), headers=headers)
    assert chunked.status_code == 200
    assert tasks_of(limited) == 2


# -- heads ------------------------------------------------------------------------------------------


def test_a_head_over_8_kib_gets_431_and_a_url_over_it_414(port: int) -> None:
    with connect(port) as sock:
        sock.sendall(b"GET /status HTTP/1.1\r\nHost: x\r\nX-Big: " + b"a" * 9000 + b"\r\n\r\n")
        response = read_all(sock)
    assert status_of(response) == 431 and b"<h2>HTTP ERROR 431 Request Header Fields Too Large</h2>" in response
    with connect(port) as sock:
        sock.sendall(b"GET /status?q=" + b"a" * 9000 + b" HTTP/1.1\r\nHost: x\r\n\r\n")
        response = read_all(sock)
    assert status_of(response) == 414 and b"<h2>HTTP ERROR 414 URI Too Long</h2>" in response


def test_a_head_that_never_ends_is_refused_without_being_buffered(port: int) -> None:
    with connect(port) as sock:
        sock.sendall(b"GET /status HTTP/1.1\r\nHost: x\r\nX-Endless: ")
        for _ in range(64):  # 64 reads of 1 KiB each, none of them ending the header
            try:
                sock.sendall(b"a" * 1024)
            except OSError:  # the server answered and closed while we were still sending
                break
            time.sleep(0.002)
        assert status_of(read_all(sock)) == 431


# -- time -------------------------------------------------------------------------------------------


def test_a_slowloris_head_gets_408_after_the_request_timeout(port: int) -> None:
    with connect(port) as sock:
        sock.sendall(b"GET /status HTTP/1.1\r\nHost: x\r\n")  # and never the blank line
        response = read_all(sock)
    assert status_of(response) == 408 and b"connection: close" in response


def test_a_body_that_stops_arriving_gets_408_and_submits_nothing(port: int, limited: LiveServer) -> None:
    with connect(port) as sock:
        sock.sendall(
            b"POST /druid/indexer/v1/task HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
            b"Content-Length: 100\r\n\r\n" + SPEC
        )
        response = read_all(sock)
    assert status_of(response) == 408
    assert tasks_of(limited) == 0


def test_a_connection_that_never_sends_a_byte_is_closed_without_an_answer(port: int) -> None:
    with connect(port) as sock:
        assert read_all(sock) == b""


def test_an_idle_keep_alive_connection_is_closed(port: int) -> None:
    with connect(port) as sock:
        sock.sendall(b"GET /status/health HTTP/1.1\r\nHost: x\r\n\r\n")
        response = read_all(sock)  # returns only because the server closes the idle connection
    assert response.startswith(b"HTTP/1.1 200 OK\r\n") and response.endswith(b"true")


def test_a_keep_alive_client_that_keeps_asking_keeps_its_connection() -> None:
    """Idle between requests for twice the request timeout, and far less than the keep-alive timeout: the
    margins hold on a loaded machine too (a sleep never ends early; 4 s of slack before keep-alive ends)."""
    limits = replace(LIMITS, keep_alive_timeout=5.0)
    config = ServeConfig(scenario=None, time_scale=0, start_ms=START_MS, limits=limits)
    with live_server(config) as live, connect(int(live.url.rsplit(":", 1)[1])) as sock:
        for _ in range(3):
            sock.sendall(b"GET /status/health HTTP/1.1\r\nHost: x\r\n\r\n")
            assert read_response(sock).endswith(b"\r\n\r\ntrue")
            time.sleep(2 * limits.request_timeout)


def read_response(sock: socket.socket) -> bytes:
    """One response with a Content-Length, leaving the connection open."""
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = sock.recv(65536)
        assert chunk, f"the server closed the connection after {data!r}"
        data += chunk
    head = data.split(b"\r\n\r\n", 1)[0]
    length = int(next(line.split(b":")[1] for line in head.split(b"\r\n") if line.startswith(b"content-length")))
    while len(data) < len(head) + 4 + length:
        data += sock.recv(65536)
    return data


# -- connections ------------------------------------------------------------------------------------


def test_connections_beyond_the_cap_get_503_and_are_closed() -> None:
    limits = replace(LIMITS, max_connections=3)
    config = ServeConfig(scenario=None, time_scale=0, start_ms=START_MS, limits=limits)
    with live_server(config) as live:
        port = int(live.url.rsplit(":", 1)[1])
        held = [connect(port) for _ in range(3)]
        try:
            for sock in held:  # each is served: they are within the cap
                sock.sendall(b"GET /status/health HTTP/1.1\r\nHost: x\r\n\r\n")
                assert sock.recv(65536).startswith(b"HTTP/1.1 200 OK\r\n")
            with connect(port) as extra:
                extra.sendall(b"GET /status/health HTTP/1.1\r\nHost: x\r\n\r\n")
                response = read_all(extra)
            assert status_of(response) == 503 and b"connection: close" in response
        finally:
            for sock in held:
                sock.close()
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline:  # once they are gone, newcomers are served again
            if httpx.get(live.url + "/status/health").status_code == 200:
                break
            time.sleep(0.05)
        else:
            pytest.fail("the server kept refusing after the held connections closed")


# -- options ----------------------------------------------------------------------------------------


def test_sizes_are_written_as_druid_writes_them() -> None:
    assert [parse_size(text) for text in ("65536", "64MiB", "500KB", "8KiB", "1 GiB")] == [
        65536,
        64 * MIB,
        500_000,
        8192,
        1024 * MIB,
    ]
    assert format_size(64 * MIB) == "64MiB" and format_size(1500) == "1500B"
    with pytest.raises(ValueError, match="64MiB"):
        parse_size("lots")


def test_serve_makes_room_for_its_connections_in_the_open_file_limit() -> None:
    code = (
        "import resource; from druid_sim.server.serving import open_file_room\n"
        "resource.setrlimit(resource.RLIMIT_NOFILE, (256, 512))\n"
        "print(open_file_room(300)); print(resource.getrlimit(resource.RLIMIT_NOFILE)[0]); print(open_file_room(1000))"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=30, check=True)
    fits, soft, too_many = done.stdout.splitlines()
    assert (fits, soft) == ("None", "364")  # raised from 256 to what 300 connections need
    assert too_many.startswith("this process may open only 512 files (ulimit -n), too few for --max-connections 1000")
