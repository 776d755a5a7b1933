"""The state store (issue 18, "Performance"): what ``--state`` costs, and how fast it comes back.

Measured in one run, as ratios where there is something to compare with:

* reads (``GET /task/{id}/status`` at 1 and 32 connections, ``GET /tasks`` at 32) of ``serve --state``
  on SQLite and PostgreSQL vs the same server in memory, interleaved: target ≥ 0.9× (within 10%);
* submissions per second (``POST /task`` with wrk, 4 connections) in memory, on SQLite and on
  PostgreSQL: each one is durable before its answer, so this is the price of durability;
* restart time with ``BENCH_STATE_TASKS`` stored submissions (default 100,000), on SQLite and on
  PostgreSQL: spawn of ``serve --state`` on the store to its first 200 (the whole model rebuilt from the
  store by then): target ≤ 3 s. The store holds a snapshot taken `SNAPSHOT_TAIL` submissions before
  the end (as many as the snapshotter lets pass before it takes the next one, so the most a restart
  replays after its snapshot), written by the snapshotter's own code;
* takeover after ``kill -9`` of the leader of two PostgreSQL replicas: from the kill to the standby's
  first ``/isLeader`` 200, median of 3: target ≤ 5 s with the default lease (3 s).

PostgreSQL runs from the machine's binaries as in the suite (``tests/support/postgres.py``); without it
those rows say why they are missing.
"""

from __future__ import annotations

import os
import signal
import sqlite3
import statistics
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path

import orjson

from bench.common import (
    Case,
    Server,
    ServerGroup,
    druid_sim_argv,
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
from druid_sim.state.snapshotter import EVERY_ACTIONS
from tests.support.postgres import Postgres, PostgresUnavailable, postgres_server

PREFIX = "/druid/indexer/v1"
START = "2026-01-01T00:00:00Z"
READ_TARGET = 0.9
RESTART_TARGET_S = 3.0
TAKEOVER_TARGET_S = 5.0
TAKEOVERS = 3
#: Submissions stored after the snapshot: the snapshotter's cadence, the most a restart replays after one.
SNAPSHOT_TAIL = EVERY_ACTIONS
KILL_INTERVAL = "2025-01-01/2025-02-01"
SUBMIT_LUA = """\
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.body = '{"type":"index_parallel","spec":{"dataSchema":{"dataSource":"wikipedia"}}}'
"""


def restart_only() -> bool:
    return os.environ.get("BENCH_STATE_ONLY") == "restart"


def stored_tasks() -> int:
    return int(os.environ.get("BENCH_STATE_TASKS", "100000"))


@contextmanager
def postgres() -> Iterator[Postgres | None]:
    """A throw-away PostgreSQL server (`tests.support.postgres`), or None with the reason printed."""
    try:
        with postgres_server() as server:
            yield server
    except PostgresUnavailable as exc:
        print(f"no PostgreSQL: {exc}", file=sys.stderr)
        yield None


def serve(group: ServerGroup, name: str, *args: str) -> Server:
    port = free_port()
    argv = druid_sim_argv("serve", "--no-access-log", "--scenario", "demo", "--start-time", START, "--port", str(port))
    return group.start(name, [*argv, *args], port, timeout_s=300)


def status_path(server: Server) -> str:
    _status, body = http_get(f"{server.url}{PREFIX}/tasks?state=complete")
    return f"{PREFIX}/task/{orjson.loads(body)[0]['id']}/status"


def build_store(location: str, tasks: int, tail: int) -> tuple[float, float]:
    """A store holding ``tasks`` submissions, written through the ledger in this process, with a snapshot
    ``tail`` submissions before the end; seconds taken to write it all, and to write the snapshot."""
    from druid_sim import actions
    from druid_sim.actions import record
    from druid_sim.config import ServeConfig
    from druid_sim.druid.submission import parse_submission
    from druid_sim.server.assembly import build_app
    from druid_sim.server.snapshots import snapshotter_for
    from druid_sim.simulation import build_simulation
    from druid_sim.state.serving import install, open_for

    started = time.perf_counter()
    config = ServeConfig(scenario="demo", start_ms=1_767_225_600_000, time_scale=0, state=location, access_log=False)
    config, store, settings = open_for(config, True, True)
    simulation = build_simulation(config)
    ledger = install(simulation, build_app(simulation), store, settings)
    renewed = time.monotonic()
    snapshot_s = 0.0
    for number in range(tasks):
        if number == max(0, tasks - tail):
            snapshotter = snapshotter_for(config)
            snapshotter.ledger.catch_up()
            began = time.perf_counter()
            snapshotter.write()
            snapshot_s = time.perf_counter() - began
            snapshotter.ledger.store.close()
            if store.shared:  # catching up took a while: renew the lease before the next write
                store.heartbeat(ledger.holder, simulation.leadership.self_url)
                renewed = time.monotonic()
        body = orjson.dumps({"type": "kill", "dataSource": f"ds{number % 7}", "interval": KILL_INTERVAL})
        submission = parse_submission(body)
        task = simulation.overlord.submit(submission)
        record(simulation, actions.submitted(task, submission))
        # One every 12 virtual seconds (100,000: two weeks): what the three slots the demo's Kafka tasks
        # leave can run, so the queue stays short, as a cluster's does (a queue thousands deep makes every
        # submission re-plan it, and writing the store would take most of the bench).
        simulation.clock.advance(12)
        if store.shared and time.monotonic() - renewed > 0.5:  # the lease, as the elector would renew it
            store.heartbeat(ledger.holder, simulation.leadership.self_url)
            renewed = time.monotonic()
    store.close()
    return time.perf_counter() - started, snapshot_s


def restart_seconds(location: str) -> float:
    with ServerGroup() as group:
        port = free_port()
        server = group.start(
            "restart",
            druid_sim_argv("serve", "--no-access-log", "--state", location, "--port", str(port)),
            port,
            timeout_s=600,
        )
        assert server.ready_after_s is not None
        return server.ready_after_s


def takeover_seconds(url: str) -> float:
    """Kill -9 the leader of two replicas; seconds until the standby answers ``/isLeader`` 200."""
    with ServerGroup() as group:
        leader = serve(group, "leader", "--state", url)
        standby = serve(group, "standby", "--state", url)
        killed = time.perf_counter()
        os.killpg(leader.process.pid, signal.SIGKILL)
        while http_get(f"{standby.url}{PREFIX}/isLeader")[0] != 200:
            if time.perf_counter() - killed > 60:
                return float("nan")
            time.sleep(0.02)
        return time.perf_counter() - killed


def run() -> tuple[str, bool]:
    require_wrk()
    rows: list[list[object]] = []
    passed = True
    with (
        tempfile.TemporaryDirectory(prefix="druid-sim-bench-state-") as scratch,
        postgres() as pg,
        ExitStack() as stack,
    ):
        folder = Path(scratch)
        if not restart_only():  # BENCH_STATE_ONLY=restart skips the reads, submissions and takeovers
            group = stack.enter_context(ServerGroup())
            stores = {"memory": (), "sqlite": ("--state", str(folder / "reads.db"))}
            if pg is not None:
                stores["postgresql"] = ("--state", pg.new_database())
            servers = {name: serve(group, name, *args) for name, args in stores.items()}
            # Each server's own task: the demo's starting tasks are seeded from each server's clock, so their
            # ids differ by milliseconds from server to server (another's id would be a 404 on the others).
            paths = {name: status_path(server) for name, server in servers.items()}
            cases = {
                (name, what): Case(f"{what}: {name}", server.url + target, connections, pid=server.pid)
                for name, server in servers.items()
                for what, target, connections in (
                    ("status c=1", paths[name], 1),
                    ("status c=32", paths[name], 32),
                    ("tasks c=32", f"{PREFIX}/tasks", 32),
                )
            }
            print("reads, interleaved…", file=sys.stderr, flush=True)
            interleave(list(cases.values()))
            for (name, what), case in cases.items():
                base = cases[("memory", what)]
                share = ratio(case.rps, base.rps)
                ok = name == "memory" or share >= READ_TARGET
                passed &= ok
                target = "" if name == "memory" else f"≥ {READ_TARGET}× ({verdict(ok)})"
                rows.append(
                    [
                        f"read {what}",
                        name,
                        f"{case.rps:,.0f} req/s",
                        f"{share:.2f}×",
                        f"p99 {case.p99_ms:.2f} ms",
                        target,
                    ]
                )
            script = folder / "submit.lua"
            script.write_text(SUBMIT_LUA)
            print("submissions…", file=sys.stderr, flush=True)
            submits = {
                name: run_wrk(server.url + f"{PREFIX}/task", 4, script=script) for name, server in servers.items()
            }
            for name, result in submits.items():
                share = ratio(result.requests_per_s, submits["memory"].requests_per_s)
                rows.append(
                    [
                        "POST /task c=4",
                        name,
                        f"{result.requests_per_s:,.0f} /s",
                        f"{share:.2f}×",
                        f"p99 {result.p99_ms:.2f} ms",
                        "",
                    ]
                )
            group.stop_all()

        tasks = stored_tasks()
        big = {"sqlite": str(folder / "big.db")}
        if pg is not None:
            big["postgresql"] = pg.new_database()
        for name, location in big.items():
            print(f"writing a {name} store of {tasks:,} submissions…", file=sys.stderr, flush=True)
            built, snapshot_s = build_store(location, tasks, SNAPSHOT_TAIL)
            restart = restart_seconds(location)
            ok = restart <= RESTART_TARGET_S
            passed &= ok
            if name == "sqlite":  # for comparison: the same store without its snapshot, every action replayed
                with sqlite3.connect(location) as db:
                    db.execute("DELETE FROM druid_sim_snapshots")
                replayed = restart_seconds(location)
                rows.append(
                    [
                        f"restart, {tasks:,} stored, no snapshot",
                        name,
                        f"{replayed:.2f} s",
                        "",
                        "every action replayed",
                        "",
                    ]
                )
            rows.append(
                [
                    f"restart, {tasks:,} stored (snapshot + {SNAPSHOT_TAIL:,} after it)",
                    name,
                    f"{restart:.2f} s",
                    "",
                    f"(written in {built:.0f} s; the snapshot in {snapshot_s:.1f} s)",
                    f"≤ {RESTART_TARGET_S} s ({verdict(ok)})",
                ]
            )

        if restart_only():
            pass
        elif pg is not None:
            print("takeovers…", file=sys.stderr, flush=True)
            times = [takeover_seconds(pg.new_database()) for _ in range(TAKEOVERS)]
            median = statistics.median(times)
            ok = median <= TAKEOVER_TARGET_S
            passed &= ok
            shown = ", ".join(f"{value:.2f}" for value in times)
            rows.append(
                [
                    "takeover after kill -9",
                    "postgresql",
                    f"{median:.2f} s",
                    "",
                    f"runs: {shown} s",
                    f"≤ {TAKEOVER_TARGET_S} s ({verdict(ok)})",
                ]
            )
        else:
            rows.append(["takeover after kill -9", "postgresql", "not measured: no PostgreSQL here", "", "", ""])
    table = markdown_table(["what", "store", "measured", "vs memory", "detail", "target"], rows)
    return f"# bench state\n\n{machine_note()}\n\n{table}\n", passed


def main() -> int:
    report, passed = run()
    write_results("state", report)
    return 0 if passed else 1


if __name__ == "__main__":
    sys.exit(main())
