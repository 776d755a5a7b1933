"""The simulator on several processes (issue 18, "One server, several processes") against WireMock, in one run.

``GET /task/{id}/status`` of ``druid-sim serve --scenario demo`` in four forms, interleaved with WireMock 3
serving the very same bytes from a static stub (``--no-request-journal``, its fastest mode, JIT warmed):

* in memory, one process (what ``make run`` starts);
* ``--state FILE`` (SQLite), one process;
* ``--state FILE --workers 2``: two processes sharing the store (`druid_sim.state.fence`);
* at 1 and 32 connections; target: the two workers ≥ 1.0× WireMock's req/s at 32 connections, with a
  p99 no worse than WireMock's.

Also, how the workers keep up with writes: ``POST /task`` at 4 connections (each one durable before its
answer, serialized through the store) on one process and on two, with reads of the same task list
answered meanwhile (a mixed wrk script: 1 write per 10 requests).

The task polled is one of the demo's complete tasks, so every form answers the same bytes.
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

import orjson

from bench.common import (
    BenchError,
    Case,
    Server,
    ServerGroup,
    free_port,
    http_get,
    interleave,
    machine_note,
    markdown_table,
    ratio,
    require_wrk,
    run_wrk,
    verdict,
    write_results,
)
from bench.replay import wiremock_argv
from bench.state import PREFIX
from bench.state import serve as serve_demo

WIREMOCK = "WireMock 3 (no journal)"
MEMORY = "simulate, memory, 1 process"
SQLITE = "simulate, --state, 1 process"
WORKERS = "simulate, --state, --workers 2"

SUBMIT_LUA = """
local n = 0
request = function()
  n = n + 1
  if n % 10 == 0 then
    return wrk.format("POST", "/druid/indexer/v1/task", {["Content-Type"] = "application/json"},
      '{"type":"kill","dataSource":"wikipedia","interval":"2025-01-01/2025-02-01"}')
  end
  return wrk.format("GET", "/druid/indexer/v1/runningTasks")
end
"""


def serve(group: ServerGroup, name: str, *args: str) -> Server:
    """`bench.state.serve` (the demo from a fixed start) on a frozen clock: every server holds the same tasks."""
    return serve_demo(group, name, "--time-scale", "0", *args)


def run() -> tuple[str, bool]:
    require_wrk()
    rows: list[list[object]] = []
    notes: list[str] = []
    passed = True
    with tempfile.TemporaryDirectory(prefix="druid-sim-bench-workers-") as scratch, ServerGroup() as group:
        folder = Path(scratch)
        servers = {
            MEMORY: serve(group, "memory"),
            SQLITE: serve(group, "sqlite", "--state", str(folder / "one.db")),
            WORKERS: serve(group, "workers", "--state", str(folder / "two.db"), "--workers", "2"),
        }
        _status, listed = http_get(f"{servers[MEMORY].url}{PREFIX}/tasks?state=complete")
        path = f"{PREFIX}/task/{orjson.loads(listed)[0]['id']}/status"
        bodies = {name: http_get(server.url + path) for name, server in servers.items()}
        if len({body for _status, body in bodies.values()}) != 1:
            raise BenchError(f"the three forms answer {path} differently: {bodies}")
        body = bodies[MEMORY][1]
        try:
            port = free_port()
            servers[WIREMOCK] = group.start(
                "wiremock", wiremock_argv(port, folder / "wiremock", body, path), port, ready_path=path, timeout_s=90
            )
            run_wrk(servers[WIREMOCK].url + path, 32, duration=15)  # its JIT warmed, as docs/performance.md says
        except BenchError as exc:
            notes.append(f"WireMock skipped: {exc}")
            print(f"WireMock skipped: {exc}", file=sys.stderr)
        for server in servers.values():
            run_wrk(server.url + path, 32, duration=2)
        cases = {
            (name, connections): Case(f"{name} c{connections}", server.url + path, connections, pid=server.pid)
            for name, server in servers.items()
            for connections in (1, 32)
        }
        print("reads, interleaved…", file=sys.stderr, flush=True)
        interleave(list(cases.values()))
        for (name, connections), case in cases.items():
            wiremock = cases.get((WIREMOCK, connections))
            share = "" if wiremock is None else f"{ratio(case.rps, wiremock.rps):.2f}×"
            target = ""
            if name == WORKERS and connections == 32 and wiremock is not None:
                ok = case.rps >= wiremock.rps and case.p99_ms <= wiremock.p99_ms
                passed &= ok
                target = f"≥ 1.0× WireMock and p99 ≤ its {wiremock.p99_ms:.2f} ms ({verdict(ok)})"
            rows.append(
                [
                    f"GET status c={connections}",
                    name,
                    f"{case.rps:,.0f} req/s",
                    share,
                    f"p99 {case.p99_ms:.2f} ms",
                    target,
                ]
            )
        script = folder / "mixed.lua"
        script.write_text(SUBMIT_LUA)
        print("writes among reads…", file=sys.stderr, flush=True)
        for name in (SQLITE, WORKERS):
            result = run_wrk(servers[name].url + f"{PREFIX}/runningTasks", 4, script=script)
            rows.append(
                [
                    "1 POST /task per 10 requests, c=4",
                    name,
                    f"{result.requests_per_s:,.0f} req/s",
                    "",
                    f"p99 {result.p99_ms:.2f} ms",
                    f"errors {result.errors}",
                ]
            )
    table = markdown_table(["what", "server", "measured", "vs WireMock", "latency", "target"], rows)
    extra = "\n".join(f"* {note}" for note in notes)
    return f"# bench workers\n\n{machine_note()}\n\n{table}\n\n{extra}\n", passed


def main() -> int:
    report, passed = run()
    write_results("workers", report)
    return 0 if passed else 1


if __name__ == "__main__":
    sys.exit(main())
