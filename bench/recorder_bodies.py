"""The recorder's memory on huge bodies (issue 22, item 2): peak RSS of ``druid-sim record`` proxying 2 GB.

Before the fix, a 2 GB answer reached the client, then the recorder read it back whole to write it,
tried to allocate 34 GB and died. Now every large body is streamed through a tee that keeps at most
``--max-recorded-body`` (8 MiB by default) of it. This bench runs ``druid-sim record`` (defaults) in
front of a tiny upstream and, one after the other, sends through it a 2 GB task log sent chunked, the
same with a Content-Length, and a 2 GB upload; after each it reads the recorder's peak resident memory
(``VmHWM``: the high-water mark, so a short spike counts) and checks that the client, or the upstream,
got every byte. Target: peak RSS at most ``MAX_PEAK_MB`` whatever the body's size.

``BENCH_BODY_MB`` changes the size (default 2048). Run alone with ``python -m bench recorder_bodies``.
"""

from __future__ import annotations

import asyncio
import http.client
import os
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

from bench.common import (
    BenchError,
    ServerGroup,
    druid_sim_argv,
    free_port,
    machine_note,
    markdown_table,
    python_argv,
    verdict,
    write_results,
)

MIB = 1024 * 1024
#: What the upstream sends at a time (and the client reads and uploads at a time).
CHUNK = MIB
#: The recorder's peak resident memory may not pass this, whatever the body's size: mitmproxy and the
#: recorder (~80 MB), 8 MiB kept of each body, and buffers.
MAX_PEAK_MB = 160.0
LOG_PATH = "/druid/indexer/v1/task/big/log"


def body_mb() -> int:
    """The size of each body, ``BENCH_BODY_MB`` (default 2048)."""
    try:
        return max(1, int(os.environ.get("BENCH_BODY_MB", "2048")))
    except ValueError:
        raise BenchError("BENCH_BODY_MB must be a whole number of MiB, e.g. 2048") from None


# -- the upstream: a task log of any size, and a sink for uploads --------------------------------------------


def _block() -> bytes:
    line = b"2026-01-01T00:00:00,000 INFO [task-runner] org.apache.druid.indexing.common.task.Task - a log line\n"
    return (line * (CHUNK // len(line) + 1))[:CHUNK]


async def _answer(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, size: int) -> None:
    """One HTTP/1.1 connection: ``GET`` a log of ``size`` bytes (chunked, or sized with ``?length``),
    ``POST`` anything (answered with how many bytes it had), ``/status/health`` for readiness."""
    block = _block()
    while head := await reader.readuntil(b"\r\n\r\n"):
        request_line, *header_lines = head.decode("latin-1").split("\r\n")
        method, target, _ = request_line.split(" ", 2)
        headers = {k.strip().lower(): v.strip() for k, _, v in (h.partition(":") for h in header_lines if h)}
        if method == "POST":
            received, left = 0, int(headers.get("content-length", "0"))
            while left:
                data = await reader.read(min(left, CHUNK))
                if not data:
                    return
                received, left = received + len(data), left - len(data)
            body = b'{"received":%d}' % received
            writer.write(
                b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: %d\r\n\r\n%s" % (len(body), body)
            )
        elif target.startswith("/status"):
            writer.write(b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: 4\r\n\r\ntrue")
        elif "length" in target:
            writer.write(b"HTTP/1.1 200 OK\r\ncontent-type: text/plain\r\ncontent-length: %d\r\n\r\n" % size)
            for _ in range(size // CHUNK):
                writer.write(block)
                await writer.drain()
        else:
            writer.write(b"HTTP/1.1 200 OK\r\ncontent-type: text/plain\r\ntransfer-encoding: chunked\r\n\r\n")
            frame = b"%x\r\n%s\r\n" % (len(block), block)
            for _ in range(size // CHUNK):
                writer.write(frame)
                await writer.drain()
            writer.write(b"0\r\n\r\n")
        await writer.drain()


async def _serve_upstream(port: int, size: int) -> None:
    async def connection(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            await _answer(reader, writer, size)
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            writer.close()

    server = await asyncio.start_server(connection, "127.0.0.1", port)
    async with server:
        await server.serve_forever()


# -- the client ----------------------------------------------------------------------------------------------


def download(url_port: int, path: str) -> int:
    """GET ``path`` through the recorder, reading it a MiB at a time; the bytes received."""
    connection = http.client.HTTPConnection("127.0.0.1", url_port, timeout=120)
    try:
        connection.request("GET", path)
        response = connection.getresponse()
        if response.status != 200:
            raise BenchError(f"GET {path} through the recorder answered {response.status}")
        received = 0
        while chunk := response.read(CHUNK):
            received += len(chunk)
        return received
    finally:
        connection.close()


def upload(port: int, size: int) -> int:
    """POST ``size`` bytes through the recorder; how many the upstream says it received."""
    block = _block()

    def body() -> Iterator[bytes]:
        for _ in range(size // CHUNK):
            yield block

    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
    try:
        connection.request(
            "POST",
            "/druid/indexer/v1/task",
            body=body(),
            headers={"Content-Type": "application/json", "Content-Length": str(size)},
        )
        answer = connection.getresponse().read()
        return int(answer.split(b":")[1].rstrip(b"}"))
    finally:
        connection.close()


def peak_mb(pid: int) -> float:
    """VmHWM (peak resident memory) of ``pid`` in MiB."""
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    raise BenchError(f"/proc/{pid}/status has no VmHWM line (is this Linux?)")


def measure(work: Path) -> tuple[str, bool]:
    """Each huge body through `druid-sim record`; a table and a verdict."""
    size = body_mb() * MIB
    cassette = work / "bodies.jsonl"
    with ServerGroup() as group:
        upstream_port, recorder_port = free_port(), free_port()
        group.start(
            "huge-body-upstream",
            python_argv("-m", "bench.recorder_bodies", "upstream", str(upstream_port), str(size)),
            upstream_port,
        )
        recorder = group.start(
            "druid-sim-record-huge",
            druid_sim_argv(
                "record",
                "--upstream",
                f"http://127.0.0.1:{upstream_port}",
                "--listen",
                f"127.0.0.1:{recorder_port}",
                "--cassette",
                str(cassette),
                "--mode",
                "overwrite",
                "--confdir",
                str(work / "mitmproxy"),
            ),
            recorder_port,
        )
        rows: list[list[object]] = [["after start-up", "", "", f"{peak_mb(recorder.pid):.0f}", ""]]
        passed = True
        cases = (
            ("GET, chunked", lambda: download(recorder_port, LOG_PATH)),
            ("GET, Content-Length", lambda: download(recorder_port, LOG_PATH + "?length")),
            ("POST upload, Content-Length", lambda: upload(recorder_port, size)),
        )
        for name, run in cases:
            started = time.perf_counter()
            moved = run()
            seconds = time.perf_counter() - started
            peak = peak_mb(recorder.pid)
            ok = moved == size and peak <= MAX_PEAK_MB
            passed = passed and ok
            rows.append([name, f"{moved / MIB:,.0f} MiB", f"{moved / MIB / seconds:,.0f}", f"{peak:.0f}", verdict(ok)])
    table = markdown_table(
        ["case", "bytes through (all of them?)", "MiB/s", "recorder peak RSS MiB (VmHWM)", f"≤ {MAX_PEAK_MB:.0f}"], rows
    )
    note = (
        f"\nEach body is {size / MIB:,.0f} MiB; `druid-sim record` with its defaults (`--max-recorded-body 8MiB`). "
        f"The cassette came to {cassette.stat().st_size / MIB:.1f} MiB: each body recorded cut at 8 MiB, "
        "marked truncated with its full size.\n"
    )
    return table + note, passed


def main() -> int:
    """Measure and write `bench/results/recorder_bodies.md`; non-zero if the target was missed."""
    with tempfile.TemporaryDirectory(prefix="druid-sim-bench-bodies-") as tmp:
        table, passed = measure(Path(tmp))
    markdown = "\n".join(
        [
            "# Recorder memory on huge bodies",
            "",
            machine_note(),
            "",
            table,
            "",
            f"Overall: {verdict(passed)}",
        ]
    )
    write_results("recorder_bodies", markdown)
    return 0 if passed else 1


if __name__ == "__main__":
    if len(sys.argv) == 4 and sys.argv[1] == "upstream":
        asyncio.run(_serve_upstream(int(sys.argv[2]), int(sys.argv[3])))
    else:
        sys.exit(main())
