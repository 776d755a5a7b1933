"""A 200 MB task log of the ``log-growth`` scenario, streamed over HTTP by offset.

Targets (issue 5): the whole 200 MB streams at >= 100 MB/s, and the server's resident memory grows by
less than 50 MB while serving it (logs are built from 16 KiB blocks, never held whole).

Method: ``druid-sim serve --scenario log-growth --time-scale 0`` (a frozen clock), the clock advanced
through the control API until the running task's log passes 200 MB, then ``GET /task/{id}/log`` from
offset 0 and from offset 100 MB, each read to the end with the standard library's client in 1 MiB
reads, ``BENCH_REPETITIONS`` times. The server's VmRSS is sampled every 10 ms during each read.
"""

from __future__ import annotations

import http.client
import json
import statistics
import threading
import time

from bench.common import (
    BenchError,
    ServerGroup,
    druid_sim_argv,
    free_port,
    machine_note,
    markdown_table,
    repetitions,
    rss_mb,
    verdict,
    write_results,
)

TARGET_MB_S = 100.0
TARGET_RSS_GROWTH_MB = 50.0
LOG_BYTES = 200_000_000
MB = 1_000_000


def _request(port: int, method: str, path: str, body: bytes | None = None) -> tuple[int, bytes]:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    try:
        headers = {"Content-Type": "application/json"} if body is not None else {}
        connection.request(method, path, body=body, headers=headers)
        response = connection.getresponse()
        return response.status, response.read()
    finally:
        connection.close()


def _stream(port: int, path: str, pid: int) -> tuple[int, float, float]:
    """(bytes read, seconds, peak RSS in MiB) for one streamed GET."""
    peak = [rss_mb(pid)]
    done = threading.Event()

    def sample() -> None:
        while not done.wait(0.01):
            peak[0] = max(peak[0], rss_mb(pid))

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    try:
        started = time.perf_counter()
        connection.request("GET", path)
        response = connection.getresponse()
        if response.status != 200:
            raise BenchError(f"GET {path} answered {response.status}: {response.read(300)!r}")
        total = 0
        while chunk := response.read(1 << 20):
            total += len(chunk)
        elapsed = time.perf_counter() - started
    finally:
        connection.close()
        done.set()
        sampler.join()
    return total, elapsed, peak[0]


def main() -> int:
    port = free_port()
    argv = druid_sim_argv(
        "serve", "--no-access-log", "--scenario", "log-growth", "--time-scale", "0",
        "--start-time", "2026-01-01T00:00:00Z", "--port", str(port),
    )  # fmt: skip
    rows: list[list[object]] = []
    with ServerGroup() as group:
        server = group.start("log-growth", argv, port)
        # 2 MB per virtual second once the peon has started (t=3s, then a few seconds of start-up): 110 s gives a little over 200 MB.
        status, body = _request(port, "POST", "/__sim/clock", json.dumps({"advance": "110s"}).encode())
        if status != 200:
            raise BenchError(f"could not advance the clock through /__sim/clock ({status}): {body[:300]!r}")
        status, body = _request(port, "GET", "/druid/indexer/v1/runningTasks")
        tasks = json.loads(body)
        if status != 200 or len(tasks) != 1:
            raise BenchError(f"expected one running task in log-growth, got {status}: {body[:300]!r}")
        log = f"/druid/indexer/v1/task/{tasks[0]['id']}/log"
        baseline = server.rss_mb()
        passed = True
        for label, offset in (("whole log (offset 0)", 0), ("from offset 100 MB", 100 * MB)):
            speeds: list[float] = []
            growths: list[float] = []
            size = 0
            for _ in range(repetitions()):
                size, seconds, peak = _stream(port, f"{log}?offset={offset}", server.pid)
                speeds.append(size / MB / seconds)
                growths.append(peak - baseline)
            if offset == 0 and size < LOG_BYTES:
                raise BenchError(f"the log is only {size} bytes; expected at least {LOG_BYTES}")
            speed, growth = statistics.median(speeds), max(growths)
            ok = speed >= TARGET_MB_S and growth < TARGET_RSS_GROWTH_MB
            passed = passed and ok
            rows.append([label, f"{size / MB:.1f}", f"{speed:.0f}", f"{min(speeds):.0f}", f"{growth:.1f}", verdict(ok)])
        rows.append(["server RSS before streaming (MiB)", f"{baseline:.1f}", "", "", "", ""])
    table = markdown_table(
        ["read", "MB", "median MB/s", "worst MB/s", "max RSS growth MiB", f">= {TARGET_MB_S:.0f} MB/s, < 50 MiB"],
        rows,
    )
    write_results("logs", f"# bench logs: a 200 MB log-growth log over HTTP\n\n{machine_note()}\n\n{table}\n")
    return 0 if passed else 1


if __name__ == "__main__":
    raise SystemExit(main())
