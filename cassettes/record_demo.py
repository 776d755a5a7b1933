"""Re-make ``cassettes/demo-recording.jsonl``: a real recording of every Tasks-API endpoint.

Usage::

    .venv/bin/python cassettes/record_demo.py [OUTPUT]

It starts ``druid-sim serve --scenario demo --time-scale 60 --seed 7 --start-time 2026-01-01T00:00:00Z``
and, in front of it, the recorder (``druid-sim record``, mitmproxy in reverse mode), each in its own
process group, then drives a client through: the lists with and without filters, the four shortcut
lists, a submission polled until it ends, payload, log (whole and tail), reports, segments,
``POST /taskStatus``, shutting a running task down, ``shutdownAllTasks``, ``pendingSegments``,
``leader``, ``isLeader``, ``/status``, ``/status/health``, and a few errors (unknown id, bad state,
bad max, wrong content type). Both processes are stopped (process group) whatever happens.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from druid_sim.proxy.testing import record_argv, running_recorder  # noqa: E402

V1 = "/druid/indexer/v1"
DEFAULT_OUTPUT = Path(__file__).with_name("demo-recording.jsonl")
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


def _start_simulator(port: int) -> subprocess.Popen[bytes]:
    argv = [sys.executable, "-m", "druid_sim", "serve", "--scenario", "demo", "--time-scale", "60", "--seed", "7"]
    argv += ["--start-time", "2026-01-01T00:00:00Z", "--port", str(port), "--no-access-log"]
    process = subprocess.Popen(argv, cwd=REPO, stdout=subprocess.DEVNULL, start_new_session=True)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"http://127.0.0.1:{port}/status/health", timeout=1).status_code == 200:
                return process
        except httpx.TransportError:
            time.sleep(0.05)
    os.killpg(process.pid, signal.SIGKILL)
    raise SystemExit("the simulator did not start")


def drive(client: httpx.Client) -> None:
    """The client flow: every endpoint, polls, errors."""
    get = client.get
    get(f"{V1}/tasks")
    running = get(f"{V1}/tasks", params={"state": "running"}).json()
    get(f"{V1}/tasks", params={"state": "complete", "max": "5"})
    get(f"{V1}/tasks", params={"state": "complete", "createdTimeInterval": "2025-12-31_2026-01-01"})
    for shortcut in ("completeTasks", "runningTasks", "waitingTasks", "pendingTasks"):
        get(f"{V1}/{shortcut}")
    task = client.post(f"{V1}/task", json=SPEC).json()["task"]
    get(f"{V1}/tasks", params={"datasource": "wikipedia"})
    for _ in range(240):  # about two minutes at most; a demo batch task runs a few virtual minutes
        status = get(f"{V1}/task/{task}/status").json()["status"]
        if status["statusCode"] != "RUNNING":
            break
        time.sleep(0.5)
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
    port = _free_port()
    simulator = _start_simulator(port)
    try:
        with tempfile.TemporaryDirectory() as confdir:
            recorder_argv = record_argv(f"http://127.0.0.1:{port}", output, "--mode", "overwrite", confdir=confdir)
            with running_recorder(recorder_argv) as proxy, httpx.Client(base_url=proxy.url, timeout=30) as client:
                drive(client)
    finally:
        os.killpg(simulator.pid, signal.SIGTERM)
        simulator.wait(timeout=10)
    print(f"wrote {output}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
