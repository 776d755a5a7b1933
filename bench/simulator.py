"""The simulator's speed (issue 2, "Speed"), as ratios against the ceiling of this stack in the same run.

Measured in one interleaved series (``BENCH_REPETITIONS`` × ``BENCH_DURATION`` s wrk runs, medians):

* ``GET /task/{id}/status`` of ``druid-sim serve --scenario demo`` vs a bare Starlette route returning
  the same status bytes, at 1 and 32 connections: target ≥ 0.6×;
* a ~250-task cluster's full ``GET /tasks`` (~110 KB) vs the same bytes pre-encoded on a bare route:
  target ≥ 0.8×;
* 100,000 tasks held (spread over 30 days, nearly all complete): ``GET /tasks?state=complete&max=100``
  p50 ≤ 10 ms and server RSS ≤ 300 MB; also shown uncached (a different ``createdTimeInterval`` per
  request, so every answer is built);
* start-up: spawn of ``druid-sim serve`` to its first 200 on ``/status/health``, median of 5: ≤ 1 s.

The populated clusters are served by ``python -m bench.simulator populated --tasks N --days D --port P``,
which builds tasks with the demo's own helpers (``make_task``, ``behaviour_for_type``) and runs the app from
``druid_sim.server.assembly.build_app`` on the same uvicorn settings as ``druid-sim serve``.
"""

from __future__ import annotations

import argparse
import gc
import random
import statistics
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from bench.common import (
    UVICORN_SETTINGS,
    BenchError,
    Case,
    Server,
    ServerGroup,
    bare_route_argv,
    druid_sim_argv,
    duration_s,
    free_port,
    http_get,
    interleave,
    machine_note,
    markdown_table,
    python_argv,
    ratio,
    repetitions,
    require_wrk,
    verdict,
    write_results,
)
from druid_sim.config import ServeConfig
from druid_sim.overlord.demo import TYPE_MIX, behaviour_for_type, datasource_names, make_task
from druid_sim.runtime import Simulation
from druid_sim.simulation import build_simulation

PREFIX = "/druid/indexer/v1"
DAY_MS = 24 * 3600 * 1000

STATUS_TARGET = 0.6  # × ceiling, at 1 and 32 connections
LIST_TARGET = 0.8  # × pre-encoded bytes
BIG_P50_MS = 10.0
BIG_RSS_MB = 300.0
STARTUP_S = 1.0
BIG_TASKS = 100_000
SMALL_TASKS = 250
STARTUPS = 5
ID_FIELD = b'{"id":'
MONTH_PATH = f"{PREFIX}/tasks?createdTimeInterval=2000-01-01/P31D"
TYPES = [entry[0] for entry in TYPE_MIX]
WEIGHTS = [entry[1] for entry in TYPE_MIX]

_UNCACHED_LUA = """\
-- Every request asks for a different createdTimeInterval (30 days plus a random number of seconds),
-- so the simulator cannot answer from its list cache and builds every answer.
math.randomseed(os.time())
request = function()
  local extra = math.random(0, 100000000)
  return wrk.format("GET", "/druid/indexer/v1/tasks?state=complete&max=100&createdTimeInterval=2025-01-01/P30DT" .. extra .. "S")
end
"""


# -- the populated-cluster server (runs in its own process) ------------------------------------------------


def populate(simulation: Simulation, tasks: int, days: float, seed: int = 7) -> None:
    """Fill the simulation's Overlord with ``tasks`` demo tasks created over the last ``days``.

    Creation times are spread uniformly up to a minute ago; every task runs as soon as it is ready
    (no slot queueing), so nearly all are complete and the recent ones are still running.
    """
    overlord, pools = simulation.overlord, simulation.pools
    rng = random.Random(f"bench:{seed}")
    now = overlord.clock.now_ms()
    span = int(days * DAY_MS)
    datasources = datasource_names(rng, count=7)
    created_times = sorted(now - 60_000 - rng.randrange(span) for _ in range(tasks))
    for created in created_times:
        task_type = rng.choices(TYPES, weights=WEIGHTS)[0]
        behaviour = behaviour_for_type(task_type)
        task = make_task(overlord, pools, rng, task_type, rng.choice(datasources), created)
        pending_at = created + int(behaviour.waiting.sample(rng) * 1000)
        running_at = pending_at + int(behaviour.pending.sample(rng) * 1000)
        end_at = running_at + int(behaviour.run.sample(rng) * 1000)
        failed = rng.random() < behaviour.failure_probability
        location = overlord.workers.location(rng.randrange(9))
        task.plan = behaviour.plan(pending_at, running_at, end_at, location, failed, rng)
        overlord.add(task)


def serve_populated(port: int, tasks: int, days: float) -> None:
    """Build an empty simulation, populate it, and serve it like ``druid-sim serve --no-access-log``."""
    import uvicorn

    from druid_sim.server.assembly import build_app  # the whole app, wired as ``druid-sim serve`` wires it

    started = time.perf_counter()
    config = ServeConfig(port=port, scenario=None, access_log=False)
    simulation = build_simulation(config)
    populate(simulation, tasks, days)
    app = build_app(simulation)
    print(f"populated {tasks} tasks over {days} days in {time.perf_counter() - started:.2f} s", flush=True)
    settings = {key: value for key, value in UVICORN_SETTINGS.items() if key != "workers"}
    gc.collect()  # as `druid-sim serve` does: keep the held tasks out of the cyclic GC's walks
    gc.freeze()
    uvicorn.run(app, host="127.0.0.1", port=port, **settings)  # type: ignore[arg-type]


def populated_argv(port: int, tasks: int, days: float) -> list[str]:
    return python_argv(
        "-m", "bench.simulator", "populated", "--port", str(port), "--tasks", str(tasks), "--days", str(days)
    )


# -- the bench ---------------------------------------------------------------------------------------------


@dataclass
class Target:
    what: str
    measured: str
    target: str
    passed: bool


def _fetch(server: Server, path: str) -> bytes:
    status, body = http_get(server.url + path)
    if status != 200:
        raise BenchError(f"{server.name} answered {status} to GET {path}: {body[:200]!r}")
    return body


def _pick_status_path(server: Server) -> str:
    """A complete task's status path: its answer stays the same for the whole run."""
    import orjson

    tasks = orjson.loads(_fetch(server, f"{PREFIX}/tasks?state=complete"))
    if not tasks:
        raise BenchError(f"{server.name} has no complete task to poll; is the demo scenario loaded?")
    return f"{PREFIX}/task/{tasks[0]['id']}/status"


def measure_startup(count: int) -> list[float]:
    """Seconds from spawning ``druid-sim serve`` to its first 200 on ``/status/health``."""
    times = []
    for _ in range(count):
        with ServerGroup() as group:
            port = free_port()
            server = group.start(
                "startup", druid_sim_argv("serve", "--no-access-log", "--scenario", "demo", "--port", str(port)), port
            )
            assert server.ready_after_s is not None
            times.append(server.ready_after_s)
    return times


def run() -> tuple[str, bool]:
    """Run the whole series; returns the markdown report and whether every target was met."""
    require_wrk()
    duration_s(), repetitions()  # bad BENCH_* settings fail now, not after the servers are up
    with tempfile.TemporaryDirectory(prefix="druid-sim-bench-") as scratch, ServerGroup() as group:
        workdir = Path(scratch)
        print("starting servers…", file=sys.stderr, flush=True)
        port = free_port()
        demo = group.start(
            "simulator", druid_sim_argv("serve", "--no-access-log", "--scenario", "demo", "--port", str(port)), port
        )
        status_path = _pick_status_path(demo)
        status_body = _fetch(demo, status_path)
        (workdir / "status.json").write_bytes(status_body)
        port = free_port()
        bare_status = group.start("ceiling-status", bare_route_argv(port, status_path, workdir / "status.json"), port)

        port = free_port()
        small = group.start(f"simulator-{SMALL_TASKS}", populated_argv(port, SMALL_TASKS, 0.9), port)
        list_body = _fetch(small, f"{PREFIX}/tasks")
        (workdir / "tasks.json").write_bytes(list_body)
        port = free_port()
        bare_list = group.start("ceiling-list", bare_route_argv(port, f"{PREFIX}/tasks", workdir / "tasks.json"), port)

        port = free_port()
        big = group.start(f"simulator-{BIG_TASKS}", populated_argv(port, BIG_TASKS, 30), port, timeout_s=300)
        big_rss_idle = big.rss_mb()
        big_path = f"{PREFIX}/tasks?state=complete&max=100"
        first_started = time.perf_counter()
        big_body = _fetch(big, big_path)
        first_ms = (time.perf_counter() - first_started) * 1000
        lua = workdir / "uncached.lua"
        lua.write_text(_UNCACHED_LUA)

        cases = {
            "status_sim_1": Case("status: simulator, c=1", demo.url + status_path, 1, pid=demo.pid),
            "status_bare_1": Case("status: bare route, c=1", bare_status.url + status_path, 1, pid=bare_status.pid),
            "status_sim_32": Case("status: simulator, c=32", demo.url + status_path, 32, pid=demo.pid),
            "status_bare_32": Case("status: bare route, c=32", bare_status.url + status_path, 32, pid=bare_status.pid),
            "list_sim_1": Case(
                f"full list ({SMALL_TASKS}): simulator, c=1", small.url + f"{PREFIX}/tasks", 1, pid=small.pid
            ),
            "list_bare_1": Case(
                f"full list ({SMALL_TASKS}): pre-encoded, c=1", bare_list.url + f"{PREFIX}/tasks", 1, pid=bare_list.pid
            ),
            "list_sim_32": Case(
                f"full list ({SMALL_TASKS}): simulator, c=32", small.url + f"{PREFIX}/tasks", 32, pid=small.pid
            ),
            "list_bare_32": Case(
                f"full list ({SMALL_TASKS}): pre-encoded, c=32",
                bare_list.url + f"{PREFIX}/tasks",
                32,
                pid=bare_list.pid,
            ),
            "big_1": Case("100k: complete max=100, c=1", big.url + big_path, 1, pid=big.pid),
            "big_32": Case("100k: complete max=100, c=32", big.url + big_path, 32, pid=big.pid),
            "big_uncached_1": Case(
                "100k: complete max=100 uncached, c=1", big.url + big_path, 1, script=lua, pid=big.pid
            ),
        }
        print("interleaved wrk series…", file=sys.stderr, flush=True)
        interleave(list(cases.values()))
        big_rss_after = big.rss_mb()
        rss = {server.name: server.rss_mb() for server in group.servers}
        ready = {server.name: server.ready_after_s or 0.0 for server in group.servers}
        # Not a target, but what a client can do to memory: one list of all 100k tasks (31-day look-back).
        month_started = time.perf_counter()
        month_body = _fetch(big, MONTH_PATH)
        month_ms = (time.perf_counter() - month_started) * 1000
        big_rss_month = big.rss_mb()
    print("start-up times…", file=sys.stderr, flush=True)
    startups = measure_startup(STARTUPS)

    c = cases
    status_1 = ratio(c["status_sim_1"].rps, c["status_bare_1"].rps)
    status_32 = ratio(c["status_sim_32"].rps, c["status_bare_32"].rps)
    list_1 = ratio(c["list_sim_1"].rps, c["list_bare_1"].rps)
    list_32 = ratio(c["list_sim_32"].rps, c["list_bare_32"].rps)
    big_rss = max(big_rss_idle, big_rss_after)
    startup = statistics.median(startups)
    targets = [
        Target("status vs ceiling, c=1", f"{status_1:.2f}×", f"≥ {STATUS_TARGET}×", status_1 >= STATUS_TARGET),
        Target("status vs ceiling, c=32", f"{status_32:.2f}×", f"≥ {STATUS_TARGET}×", status_32 >= STATUS_TARGET),
        Target(
            f"full list ({len(list_body) / 1024:.0f} KB) vs pre-encoded, c=1",
            f"{list_1:.2f}×",
            f"≥ {LIST_TARGET}×",
            list_1 >= LIST_TARGET,
        ),
        Target(
            f"full list ({len(list_body) / 1024:.0f} KB) vs pre-encoded, c=32",
            f"{list_32:.2f}×",
            f"≥ {LIST_TARGET}×",
            list_32 >= LIST_TARGET,
        ),
        Target(
            "100k tasks: complete max=100 p50, c=1",
            f"{c['big_1'].p50_ms:.3f} ms",
            f"≤ {BIG_P50_MS:.0f} ms",
            c["big_1"].p50_ms <= BIG_P50_MS,
        ),
        Target("100k tasks: server RSS", f"{big_rss:.0f} MB", f"≤ {BIG_RSS_MB:.0f} MB", big_rss <= BIG_RSS_MB),
        Target(
            f"start-up to first 200, median of {STARTUPS}",
            f"{startup:.2f} s",
            f"≤ {STARTUP_S:.0f} s",
            startup <= STARTUP_S,
        ),
    ]
    errors = sum(case.errors for case in c.values())

    rows = [
        [case.name, case.rps, case.rps_min, case.p50_ms, case.p99_ms, case.cpu_us, case.errors]
        for case in cases.values()
    ]
    report = [
        "# bench simulator",
        "",
        machine_note(),
        "",
        "## Targets (issue 2, Speed)",
        "",
        markdown_table(
            ["what", "measured", "target", "verdict"],
            [[t.what, t.measured, t.target, verdict(t.passed)] for t in targets],
        ),
        "",
        "## wrk series (medians; min req/s as a floor)",
        "",
        markdown_table(["case", "req/s", "min req/s", "p50 ms", "p99 ms", "server CPU µs/req", "errors"], rows),
        "",
        "## Servers",
        "",
        markdown_table(
            ["server", "ready after s", "RSS MB after the series"], [[name, ready[name], rss[name]] for name in ready]
        ),
        "",
        f"- status body: {len(status_body)} bytes (`{status_path}`)",
        f"- full list body: {len(list_body):,} bytes, {list_body.count(ID_FIELD)} tasks",
        f"- 100k server: RSS {big_rss_idle:.0f} MB idle, {big_rss_after:.0f} MB after the series; "
        f"first `{big_path}` answer ({len(big_body):,} bytes) in {first_ms:.1f} ms",
        f"- 100k server after one `{MONTH_PATH}` ({month_body.count(ID_FIELD):,} tasks, "
        f"{len(month_body) / 2**20:.1f} MB, {month_ms:.0f} ms): RSS {big_rss_month:.0f} MB (not a target)",
        f"- start-up of `druid-sim serve --scenario demo`: {', '.join(f'{s:.2f}' for s in startups)} s",
        f"- 100k tasks at c=32 (not gated: p50 there is queueing, about 32 / req/s, as the status case shows): "
        f"p50 {c['big_32'].p50_ms:.2f} ms vs {c['status_sim_32'].p50_ms:.2f} ms for one task's status",
    ]
    if errors:
        report.append(f"- **{errors} wrk errors or non-2xx answers**: the figures above are suspect")
    passed = all(t.passed for t in targets) and errors == 0
    return "\n".join(report), passed


def main() -> int:
    """``python -m bench simulator``: run the series, print and save the report; 1 if a target was missed."""
    report, passed = run()
    write_results("simulator", report)
    return 0 if passed else 1


def _cli(argv: Sequence[str]) -> int:
    """``python -m bench.simulator``: the bench; ``... populated --port P --tasks N --days D``: its server."""
    if not argv or argv[0] != "populated":
        return main()
    parser = argparse.ArgumentParser(
        prog="python -m bench.simulator populated", description="serve a cluster of N tasks created over D days"
    )
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--tasks", type=int, default=BIG_TASKS)
    parser.add_argument("--days", type=float, default=30.0)
    args = parser.parse_args(argv[1:])
    serve_populated(args.port, args.tasks, args.days)
    return 0


if __name__ == "__main__":
    sys.exit(_cli(sys.argv[1:]))
