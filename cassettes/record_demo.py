"""Re-make ``cassettes/demo-recording.jsonl``: a real recording of every Tasks-API endpoint.

Usage::

    .venv/bin/python cassettes/record_demo.py [OUTPUT]      # or: make cassettes (every shipped cassette)

It starts ``druid-sim serve --scenario demo --seed 7 --start-time 2026-01-01T00:00:00Z --time-scale 0`` on
a free port and, in front of it, the recorder (``druid-sim record --mode overwrite --upstream-name
http://localhost:8888``, mitmproxy in reverse mode), each in its own process group, then drives a client
through: the lists with and without filters, the four shortcut lists, a submission polled until it ends,
payload, log (whole and tail), reports, segments, ``POST /taskStatus``, shutting a running task down,
``shutdownAllTasks``, ``pendingSegments``, ``leader``, ``isLeader``, ``/status``, ``/status/health``, and a
few errors (unknown id, bad state, bad max, wrong content type). Both processes are stopped (process
group) whatever happens.

The simulator's clock is frozen and the client moves it (``POST /__sim/clock``, straight to the simulator,
never recorded) where it would wait, 30 virtual seconds between two polls: the cluster's answers depend
on nothing but the flow, and the cassette is recorded under the name ``http://localhost:8888`` whatever
port the simulator had (which the simulator also answers ``GET /leader`` with: ``--advertise-url``). Recorded again over itself, the cassette keeps its header (its salt) and the
timings of the exchanges that did not change, so running this again gives the same bytes
(``tests/test_stable_cassettes.py`` checks it).
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from druid_sim.client import SimControl  # noqa: E402
from druid_sim.proxy.testing import record_argv, running_recorder  # noqa: E402

V1 = "/druid/indexer/v1"
DEFAULT_OUTPUT = Path(__file__).with_name("demo-recording.jsonl")
#: The simulator as the cassette names it, whatever port it had: where `druid-sim serve` listens by default.
UPSTREAM_NAME = "http://localhost:8888"
#: The simulator's options: a frozen clock, which the client moves (`drive`).
SERVE = ["--scenario", "demo", "--seed", "7", "--start-time", "2026-01-01T00:00:00Z", "--time-scale", "0"]
#: Virtual seconds between two polls of the submitted task.
POLL_S = 30
SPEC = {
    "type": "index_parallel",
    "spec": {
        "dataSchema": {
            "dataSource": "wikipedia",
            "timestampSpec": {"column": "time", "format": "iso"},
            "dimensionsSpec": {"useSchemaDiscovery": True},
            "granularitySpec": {"segmentGranularity": "day", "intervals": ["2015-09-12/2015-09-13"], "rollup": False},
        },
        "ioConfig": {
            "type": "index_parallel",
            "inputSource": {"type": "http", "uris": ["https://druid.apache.org/data/wikipedia.json.gz"]},
            "inputFormat": {"type": "json"},
        },
        "tuningConfig": {"type": "index_parallel", "maxRowsPerSegment": 5000000},
    },
}


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextmanager
def simulator(*serve: str) -> Iterator[str]:
    """``druid-sim serve SERVE`` on a free loopback port, in its own process group; yields its URL once it
    answers, and stops the group whatever happens."""
    port = _free_port()
    argv = [sys.executable, "-m", "druid_sim", "serve", *serve, "--port", str(port), "--no-access-log"]
    process = subprocess.Popen(argv, cwd=REPO, stdout=subprocess.DEVNULL, start_new_session=True)
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                if httpx.get(f"http://127.0.0.1:{port}/status/health", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                if process.poll() is not None or time.monotonic() > deadline:
                    raise SystemExit(f"the simulator did not start: {' '.join(argv)}") from None
                time.sleep(0.05)
        yield f"http://127.0.0.1:{port}"
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout=10)


def drive(client: httpx.Client, clock: SimControl) -> None:
    """The client flow: every endpoint, polls, errors; ``clock`` moves the simulator's time where a client waits."""
    get = client.get
    get(f"{V1}/tasks")
    running = get(f"{V1}/tasks", params={"state": "running"}).json()
    get(f"{V1}/tasks", params={"state": "complete", "max": "5"})
    get(f"{V1}/tasks", params={"state": "complete", "createdTimeInterval": "2025-12-31_2026-01-01"})
    for shortcut in ("completeTasks", "runningTasks", "waitingTasks", "pendingTasks"):
        get(f"{V1}/{shortcut}")
    task = client.post(f"{V1}/task", json=SPEC).json()["task"]
    get(f"{V1}/tasks", params={"datasource": "wikipedia"})
    for _ in range(240):  # two virtual hours at most; a demo batch task runs a few virtual minutes
        status = get(f"{V1}/task/{task}/status").json()["status"]
        if status["statusCode"] != "RUNNING":
            break
        clock.advance(POLL_S)
    get(f"{V1}/task/{task}")
    get(f"{V1}/task/{task}/log")
    get(f"{V1}/task/{task}/log", params={"offset": "-2000"})
    get(f"{V1}/task/{task}/reports")
    get(f"{V1}/task/{task}/segments")
    ids = [task] + [t["id"] for t in running[:2]]
    client.post(f"{V1}/taskStatus", json=[*ids, "no_such_task"])
    if running:
        victim = running[0]
        get(f"{V1}/task/{victim['id']}/reports")
        get(f"{V1}/task/{victim['id']}/log", params={"offset": "-1000"})
        client.post(f"{V1}/task/{victim['id']}/shutdown", json={})
        get(f"{V1}/task/{victim['id']}/status")
        client.post(f"{V1}/datasources/{victim['dataSource']}/shutdownAllTasks")
    client.post(f"{V1}/datasources/no_such_datasource/shutdownAllTasks")
    client.delete(f"{V1}/pendingSegments/wikipedia", params={"interval": "2000-01-01_2000-01-02"})
    for path in (f"{V1}/leader", f"{V1}/isLeader", "/status", "/status/health"):
        get(path)
    get(f"{V1}/task/no_such_task/status")
    get(f"{V1}/tasks", params={"state": "bogus"})
    get(f"{V1}/tasks", params={"max": "abc"})
    client.post(f"{V1}/task", content=b"{}", headers={"Content-Type": "text/plain"})
    get(f"{V1}/tasks")


def main(argv: list[str]) -> int:
    output = Path(argv[0]) if argv else DEFAULT_OUTPUT
    # What GET /leader answers is --advertise-url: the name, not the port.
    with simulator(*SERVE, "--advertise-url", UPSTREAM_NAME) as upstream, tempfile.TemporaryDirectory() as confdir:
        extra = ("--mode", "overwrite", "--upstream-name", UPSTREAM_NAME)
        recorder_argv = record_argv(upstream, output, *extra, confdir=confdir)
        with (
            running_recorder(recorder_argv) as proxy,
            httpx.Client(base_url=proxy.url, timeout=30) as client,
            SimControl(upstream) as clock,
        ):
            drive(client, clock)
    print(f"wrote {output}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
