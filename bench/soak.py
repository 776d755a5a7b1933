"""Soak: ``druid-sim serve`` under steady mixed traffic, good and hostile, with its memory sampled.

The demo cluster on a frozen clock is polled the way clients poll it (lists, statuses, logs, reports)
and sent the bad requests of the fuzz suite (malformed and deeply nested JSON, non-object contexts,
far intervals, invalid and unknown task ids) by two keep-alive connections for ``SOAK_SECONDS``
(default 120). Nothing it sends creates tasks, so a growing RSS would be a leak. Reports RSS after
warm-up and at the end, requests sent, statuses, and the tracebacks in the server's log (target 0).
"""

from __future__ import annotations

import http.client
import itertools
import os
import threading
import time
from collections import Counter
from pathlib import Path

from bench.common import RESULTS_DIR, BenchError, Server, druid_sim_argv, free_port, markdown_table, spawn, wait_ready

D = "/druid/indexer/v1"
JSON = {"Content-Type": "application/json"}
DEEP = b'{"type":"noop","extra":' + b"[" * 1100 + b"]" * 1100 + b"}"
#: (method, path, body or None): polls first, then what the fuzz suite found hostile.
REQUESTS: list[tuple[str, str, bytes | None]] = [
    ("GET", f"{D}/tasks", None),
    ("GET", f"{D}/runningTasks", None),
    ("GET", f"{D}/completeTasks?n=5", None),
    ("GET", f"{D}/tasks?createdTimeInterval=P1D_0001-01-01", None),
    ("GET", f"{D}/tasks?createdTimeInterval=P99999999999D/2020-01-01", None),
    ("GET", f"{D}/task/a%C2%A0b/status", None),
    ("GET", f"{D}/task/a%09b/status", None),
    ("GET", f"{D}/task/nope/log?offset=-2000", None),
    ("POST", f"{D}/task", b'{"type":"noop","context":"x"}'),
    ("POST", f"{D}/task", b'{"type":"noop","context":[1]}'),
    ("POST", f"{D}/task", b"{not json"),
    ("POST", f"{D}/task", DEEP),
    ("POST", f"{D}/taskStatus", b'["a",' + b"[" * 2000 + b"]" * 2000 + b"]"),
    ("DELETE", f"{D}/pendingSegments/wikipedia?interval=P2147483647D/2030-01-01", None),
    ("GET", "/__sim/health", None),
]


def _client(url_port: int, stop: float, statuses: Counter[int], task_paths: list[str]) -> None:
    connection = http.client.HTTPConnection("127.0.0.1", url_port, timeout=30)
    extra = [("GET", path, None) for path in task_paths]
    for method, path, body in itertools.cycle(REQUESTS + extra):
        if time.monotonic() >= stop:
            break
        connection.request(method, path, body=body, headers=JSON if body is not None else {})
        response = connection.getresponse()
        response.read()
        statuses[response.status] += 1
    connection.close()


def _task_paths(port: int) -> list[str]:
    import json

    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    connection.request("GET", f"{D}/tasks")
    tasks = json.loads(connection.getresponse().read())
    connection.close()
    paths = []
    for task in tasks[:20]:
        base = f"{D}/task/{task['id']}"
        paths += [f"{base}/status", f"{base}/reports", f"{base}/log?offset=-4000", base]
    return paths


def main() -> int:
    seconds = int(os.environ.get("SOAK_SECONDS", "120"))
    port = free_port()
    log_path = RESULTS_DIR / "soak-server.log"
    argv = druid_sim_argv(
        "serve", "--port", str(port), "--time-scale", "0", "--start-time", "2026-01-01T00:00:00Z", "--no-access-log"
    )
    server = Server("druid-sim", port, spawn(argv, log_path), log_path, time.perf_counter())
    try:
        wait_ready(server, "/status/health")
        paths = _task_paths(port)
        warmup: Counter[int] = Counter()
        _client(port, time.monotonic() + 5, warmup, paths)
        rss_start = server.rss_mb()
        statuses: Counter[int] = Counter()
        stop = time.monotonic() + seconds
        threads = [threading.Thread(target=_client, args=(port, stop, statuses, paths)) for _ in range(2)]
        samples = [rss_start]
        for thread in threads:
            thread.start()
        while any(thread.is_alive() for thread in threads):
            time.sleep(min(10.0, max(0.1, stop - time.monotonic())))
            samples.append(server.rss_mb())
        for thread in threads:
            thread.join()
        rss_end = server.rss_mb()
        if server.process.poll() is not None:
            raise BenchError(f"the server died during the soak:\n{server.log_tail()}")
    finally:
        server.stop()
    tracebacks = Path(log_path).read_text(errors="replace").count("Traceback (most recent call last)")
    total = sum(statuses.values())
    table = markdown_table(
        ["seconds", "requests", "req/s", "RSS after warm-up MiB", "RSS at end MiB", "RSS max MiB", "tracebacks"],
        [[seconds, total, total / seconds, rss_start, rss_end, max(samples), tracebacks]],
    )
    by_status = ", ".join(f"{status}: {count:,}" for status, count in sorted(statuses.items()))
    report = f"{table}\n\nstatuses: {by_status}\n"
    print(report, flush=True)
    RESULTS_DIR.mkdir(parents=True, exist_ok=True)
    (RESULTS_DIR / "soak.md").write_text(report)
    return 0 if tracebacks == 0 and rss_end <= rss_start * 1.1 + 5 else 1
