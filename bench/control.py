"""The journal's and the security layer's cost per Druid request, and what the ``druid_sim`` fixture costs.

* journal: the ASGI middleware around a trivial app, driven directly (no sockets, so the figure is
  the journal's own cost), against the same app without it. Target: ≤ 5 µs per request.
* security: the same for the security layer, off (no ``security:`` section: every request passes it)
  and on (a polling client's Basic ``Authorization`` header, checked once and then remembered).
  Reported, not gated: both are below a microsecond, inside this machine's noise.
* fixture: starting a server for a configuration (the first test that uses it), a later test's handle
  and reset of the shared one (the demo cluster), a replayed cassette test (the shared server switching
  to its cassette, or keeping the one before), a recording test (``--druid-sim-record``: a reset and a
  cassette switch on the session's recorder, whose start is paid once), and, for comparison, a
  ``druid-sim serve`` subprocess until it answers.
  Target: ≤ 1 s per test.
* clock jumps: ``druid-sim serve --scenario demo --time-scale 0``, then ``POST /__sim/clock`` with a
  jump and the first ``GET /tasks`` after it (which adds the arrivals), for 2 days and for 3650 days
  in one run, with the server's RSS before and after (median of three interleaved runs, a fresh server
  each). A jump of years must cost what one of two days does (arrivals older than the catch-up window
  are skipped): ratio ≤ 2, RSS growth ≤ 100 MB.

``python -m bench control``
"""

from __future__ import annotations

import asyncio
import base64
import os
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx

from druid_sim.clock import Clock
from druid_sim.journal import Journal, JournalMiddleware

JOURNAL_TARGET_US = 5.0
FIXTURE_TARGET_S = 1.0


async def _app(scope: Any, receive: Any, send: Any) -> None:
    scope["druid_sim.answered_by"] = "model"
    await send({"type": "http.response.start", "status": 200, "headers": []})
    await send({"type": "http.response.body", "body": b"{}"})


async def _drive(app: Any, n: int, headers: list[tuple[bytes, bytes]] | None = None) -> float:
    scope = {
        "type": "http",
        "method": "GET",
        "path": "/druid/indexer/v1/task/x/status",
        "query_string": b"",
        "headers": headers or [],
    }

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: Any) -> None:
        return None

    started = time.perf_counter()
    for _ in range(n):
        await app(dict(scope), receive, send)
    return (time.perf_counter() - started) / n * 1e6


def journal_cost(n: int = 200_000) -> float:
    journal = Journal(Clock(0, 0), size=10_000)
    wrapped = JournalMiddleware(_app, journal)
    best = float("inf")
    for _ in range(5):
        bare = asyncio.run(_drive(_app, n))
        with_journal = asyncio.run(_drive(wrapped, n))
        best = min(best, with_journal - bare)
    return best


def security_costs(n: int = 200_000) -> tuple[float, float]:
    """(off, on): µs per request the security layer adds, best of 5 interleaved runs each."""
    from druid_sim.config import ServeConfig
    from druid_sim.scenario import load_scenario
    from druid_sim.security import install
    from druid_sim.simulation import build_simulation

    simulation = build_simulation(ServeConfig(scenario=None, time_scale=0, start_ms=0))
    wrapped = install(simulation)(_app)
    state = simulation.extensions["security"]
    credentials = [(b"authorization", b"Basic " + base64.b64encode(b"viewer:viewer-password"))]
    best_off = best_on = float("inf")
    for _ in range(5):
        bare = asyncio.run(_drive(_app, n, credentials))
        state.security = None
        best_off = min(best_off, asyncio.run(_drive(wrapped, n, credentials)) - bare)
        state.security = load_scenario("secured-cluster").security
        best_on = min(best_on, asyncio.run(_drive(wrapped, n, credentials)) - bare)
    return best_off, best_on


def fixture_costs() -> dict[str, float]:
    from druid_sim.pytest_plugin import DruidSim, SimOptions, SimServer

    started = time.perf_counter()
    server = SimServer(SimOptions(scenario="demo"))
    first = time.perf_counter() - started
    started = time.perf_counter()
    second = SimServer(SimOptions(scenario="demo", seed=1))
    warm = time.perf_counter() - started
    second.stop()
    per_test = []
    for _ in range(20):  # what the fixture does for every later test: a handle (two HTTP clients), reset, close
        started = time.perf_counter()
        handle = DruidSim(server)
        handle.reset()
        handle.close()
        per_test.append(time.perf_counter() - started)
    server.stop()
    return {
        "first server of the session (imports included, demo scenario)": first,
        "server for another configuration": warm,
        "per later test: handle, reset, close (median of 20)": sorted(per_test)[len(per_test) // 2],
    }


def _median(samples: list[float]) -> float:
    return sorted(samples)[len(samples) // 2]


def cassette_fixture_costs(repeat: int = 20) -> dict[str, float]:
    """What a test with a cassette costs: replayed (the shared server switches to its cassette, or keeps
    the one the test before used), and recorded (the shared forwarding server is reset, the session's
    recorder switches cassettes; its start is paid once per session)."""
    import tempfile
    from pathlib import Path

    from druid_sim.builtin import shipped_cassette
    from druid_sim.cassette import RecordMode
    from druid_sim.proxy.embedded import EmbeddedRecorder
    from druid_sim.pytest_plugin import DruidSim, SimOptions, SimServer
    from druid_sim.pytest_plugin.recording import Plan

    cassettes = [str(shipped_cassette(name)) for name in ("docs-examples", "demo-recording")]
    server = SimServer(SimOptions())
    switched, kept = [], []
    for n in range(repeat):
        for cassette, samples in ((cassettes[n % 2], switched), (cassettes[n % 2], kept)):
            started = time.perf_counter()
            handle = DruidSim(server, cassette)
            handle.reset()
            handle.close()
            samples.append(time.perf_counter() - started)
    folder = Path(tempfile.mkdtemp(prefix="bench-control-"))
    started = time.perf_counter()
    recorder = EmbeddedRecorder(server.url, folder / "mitmproxy")
    recorder_start = time.perf_counter() - started
    forwarding = SimServer(SimOptions(), forward=recorder.url)  # shared by the recording tests
    recorded = []
    for n in range(repeat):
        plan = Plan(folder / f"{n}.jsonl", replay=False, record=RecordMode.OVERWRITE)
        started = time.perf_counter()
        handle = DruidSim(forwarding, None, plan)
        handle.reset()
        forwarding.catch_up()
        recorder.record_into(plan.path, RecordMode.OVERWRITE)
        recorder.finish()
        handle.close()
        recorded.append(time.perf_counter() - started)
    recorder.stop()
    forwarding.stop()
    server.stop()
    return {
        f"replayed cassette test, switching from another test's cassette (median of {repeat})": _median(switched),
        f"replayed cassette test, the same cassette as the test before (median of {repeat})": _median(kept),
        "the session's recorder, started by its first recording test (once)": recorder_start,
        f"recording test: reset, the recorder's cassette opened and closed (median of {repeat})": _median(recorded),
    }


def subprocess_start() -> float:
    with socket.socket() as free:
        free.bind(("127.0.0.1", 0))
        port = free.getsockname()[1]
    started = time.perf_counter()
    command = [sys.executable, "-m", "druid_sim", "serve", "--port", str(port), "--no-access-log"]
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=dict(os.environ))
    try:
        while True:
            try:
                httpx.get(f"http://127.0.0.1:{port}/__sim/health")
                return time.perf_counter() - started
            except httpx.TransportError:
                time.sleep(0.01)
    finally:
        process.terminate()
        process.wait(timeout=10)


JUMP_RATIO_TARGET = 2.0
JUMP_RUNS = 3
JUMP_RSS_TARGET_MB = 100.0


def _rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def jump_costs(days: float) -> tuple[float, int, float, float]:
    """A fresh demo server: seconds for the jump plus the first /tasks, tasks listed, RSS MB before and after."""
    with socket.socket() as free:
        free.bind(("127.0.0.1", 0))
        port = free.getsockname()[1]
    command = [sys.executable, "-m", "druid_sim", "serve", "--port", str(port), "--no-access-log", "--time-scale", "0"]
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    try:
        while True:
            try:
                httpx.get(f"{url}/druid/indexer/v1/tasks")
                break
            except httpx.TransportError:
                time.sleep(0.01)
        before = _rss_mb(process.pid)
        started = time.perf_counter()
        httpx.post(f"{url}/__sim/clock", json={"advance": f"{days}d"}, timeout=600).raise_for_status()
        tasks = httpx.get(f"{url}/druid/indexer/v1/tasks", timeout=600).json()
        elapsed = time.perf_counter() - started
        return elapsed, len(tasks), before, _rss_mb(process.pid)
    finally:
        process.terminate()
        process.wait(timeout=10)


def main() -> int:
    cost = journal_cost()
    print(f"journal: {cost:.2f} µs per request (target ≤ {JOURNAL_TARGET_US} µs)")
    security_off, security_on = security_costs()
    print(f"security layer, off: {security_off:.2f} µs per request")
    print(f"security layer, on (a poll's Basic credentials): {security_on:.2f} µs per request")
    costs = fixture_costs() | cassette_fixture_costs()
    for name, seconds in costs.items():
        print(f"druid_sim fixture, {name}: {seconds * 1000:.0f} ms")
    print(f"druid-sim serve subprocess until /__sim/health answers: {subprocess_start() * 1000:.0f} ms")
    per_test = [seconds for name, seconds in costs.items() if not name.startswith(("first", "the session's"))]
    runs: dict[int, list[tuple[float, int, float, float]]] = {2: [], 3650: []}
    for _ in range(JUMP_RUNS):  # interleaved, so both see the same machine
        for days, results in runs.items():
            results.append(jump_costs(days))
    jumps = {days: sorted(results)[len(results) // 2] for days, results in runs.items()}  # the median run
    for days, (seconds, listed, before, after) in jumps.items():
        print(
            f"clock jump of {days} days, then GET /tasks (median of {JUMP_RUNS}): {seconds * 1000:.0f} ms, {listed} tasks listed, "
            f"server RSS {before:.0f} -> {after:.0f} MB"
        )
    ratio = jumps[3650][0] / jumps[2][0]
    growth = jumps[3650][3] - jumps[3650][2]
    print(
        f"3650-day jump / 2-day jump: {ratio:.2f}x (target ≤ {JUMP_RATIO_TARGET}x; RSS growth ≤ {JUMP_RSS_TARGET_MB:.0f} MB)"
    )
    missed = cost > JOURNAL_TARGET_US or max(per_test) > FIXTURE_TARGET_S
    missed = missed or ratio > JUMP_RATIO_TARGET or growth > JUMP_RSS_TARGET_MB
    return 1 if missed else 0
