"""Replay's sequence cursors (issue 18, replay across machines): what sharing them through a database costs.

Two views, each in one interleaved run (``BENCH_REPETITIONS`` rounds, the order rotated each round):

* **per advance**, in this process: ``BENCH_CURSOR_OPS`` calls (default 5,000) of each cursor store's
  ``advance`` (what each request through a ``--sequence cycle`` sequence, and each first pass through a
  stick-last one, does) and ``get`` (the read every replayed request makes first under stick-last),
  on the memory-mapped file of ``--workers N`` (`FileCursors`, the reference), on `StoreCursors` in
  SQLite (``--state FILE``), and in PostgreSQL over loopback TCP (``--state postgresql://...``), once as
  the suite's throw-away server runs (``fsync=off``) and once with ``fsync=on`` (what a real database
  does on commit); beside them, each database's bare round trip (``SELECT 1``). Medians, µs per call
  and the ratio to the mmap file (``SELECT 1``: to its ``get``);
* **over HTTP**: wrk (8 connections) polling a recorded two-answer sequence under ``--sequence cycle``,
  so every request advances it, against ``serve --cassette`` with memory cursors (one process), with
  ``--workers 2`` (mmap), with ``--state`` SQLite and with ``--state`` PostgreSQL (one replica).

No targets: the figures are what docs/state.md reports. PostgreSQL runs from the machine's binaries as in
the suite (``tests/support/postgres.py``); without it those rows say why they are missing.
"""

from __future__ import annotations

import os
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from bench.common import (
    Case,
    ServerGroup,
    druid_sim_argv,
    free_port,
    http_get,
    interleave,
    machine_note,
    markdown_table,
    ratio,
    repetitions,
    require_wrk,
    write_results,
)
from bench.state import postgres
from tests.support.postgres import Postgres
from tests.support.replay import exchange, write_cassette

TASK = "index_parallel_wikipedia_auto_jndhkpbo_2026-01-01T00:00:00.000Z"
STATUS = f"/druid/indexer/v1/task/{TASK}/status"
SLOTS = 64
MMAP = "mmap file (--workers N)"


def operations() -> int:
    return int(os.environ.get("BENCH_CURSOR_OPS", "5000"))


def set_fsync(pg: Postgres, on: bool) -> None:
    import psycopg

    with psycopg.connect(pg.url("postgres"), autocommit=True) as db:
        db.execute(f"ALTER SYSTEM SET fsync = {'on' if on else 'off'}")
        db.execute("SELECT pg_reload_conf()")


def timed_calls(call: Callable[[int], Any], count: int) -> float:
    """µs per call of ``call(i)`` for i in 0..count."""
    started = time.perf_counter()
    for index in range(count):
        call(index % SLOTS)
    return (time.perf_counter() - started) / count * 1e6


def per_advance(folder: Path, pg: Postgres | None) -> list[list[object]]:
    from druid_sim.replay.cursors import FileCursors
    from druid_sim.state.cursors import open_cursors

    stores: dict[str, Any] = {MMAP: FileCursors(folder / "cursors.bin", SLOTS, create=True)}
    stores["SQLite (--state FILE)"] = open_cursors(str(folder / "cursors.db"), "a" * 64)
    fsync: dict[str, bool] = {}
    if pg is not None:
        stores["PostgreSQL, fsync=off"] = open_cursors(pg.new_database(), "a" * 64)
        stores["PostgreSQL, fsync=on"] = open_cursors(pg.new_database(), "a" * 64)
        fsync = {"PostgreSQL, fsync=off": False, "PostgreSQL, fsync=on": True}
    count = operations()
    measured: dict[tuple[str, str], list[float]] = {}
    names = list(stores)
    for round_ in range(repetitions()):
        shift = round_ % len(names)
        for name in [*names[shift:], *names[:shift]]:
            store = stores[name]
            if pg is not None and name in fsync:
                set_fsync(pg, fsync[name])
            calls: list[tuple[str, Callable[[int], Any]]] = [
                ("advance", lambda slot, s=store: s.advance(slot, None)),
                ("get", store.get),
            ]
            if name != MMAP:  # the database's bare round trip, for scale
                calls.append(("SELECT 1", lambda _slot, s=store: s.store.run("SELECT 1")))
            for what, call in calls:
                took = timed_calls(call, count)
                measured.setdefault((name, what), []).append(took)
                print(f"  [{round_ + 1}] {name:<28} {what:<8} {took:8.1f} µs", file=sys.stderr, flush=True)
    if pg is not None:
        set_fsync(pg, False)
    rows: list[list[object]] = []
    for what in ("advance", "get", "SELECT 1"):
        base = statistics.median(measured[(MMAP, "get" if what == "SELECT 1" else what)])
        for name in names:
            if (name, what) not in measured:
                continue
            median = statistics.median(measured[(name, what)])
            runs = ", ".join(f"{value:.1f}" for value in measured[(name, what)])
            rows.append([what, name, f"{median:.1f} µs", f"{ratio(median, base):.0f}×", runs])
    for store in stores.values():
        store.close()
    if pg is None:
        rows.append(["advance", "PostgreSQL", "not measured: no PostgreSQL here", "", ""])
    return rows


def over_http(folder: Path, pg: Postgres | None) -> list[list[object]]:
    require_wrk()
    cassette = write_cassette(
        folder / "cycle.jsonl",
        [exchange("GET", STATUS, 200, {"task": TASK, "status": {"status": s}}) for s in ("RUNNING", "SUCCESS")],
    )
    configurations: dict[str, tuple[str, ...]] = {
        "memory, 1 process": (),
        "mmap, --workers 2": ("--workers", "2"),
        "SQLite, 1 process": ("--state", str(folder / "http.db")),
    }
    if pg is not None:
        configurations["PostgreSQL, 1 replica"] = ("--state", pg.new_database())
    rows: list[list[object]] = []
    with ServerGroup() as group:
        cases: dict[str, Case] = {}
        for name, extra in configurations.items():
            port = free_port()
            argv = druid_sim_argv(
                "serve", "--cassette", str(cassette), "--sequence", "cycle", "--no-access-log", "--port", str(port)
            )
            slug = "cursors-" + "".join(c if c.isalnum() else "-" for c in name)
            server = group.start(slug, [*argv, *extra], port, ready_path="/status/health")
            status, _ = http_get(server.url + STATUS)
            if status != 200:
                raise RuntimeError(f"{name} answered {status} to the recorded poll")
            cases[name] = Case(name, server.url + STATUS, 8, pid=server.pid)
        interleave(list(cases.values()))
        base = cases["mmap, --workers 2"].rps
        memory = cases["memory, 1 process"].rps
        for name, case in cases.items():
            rows.append(
                [
                    "GET (cycle) c=8",
                    name,
                    f"{case.rps:,.0f} req/s",
                    f"{ratio(case.rps, base):.2f}×",
                    f"{ratio(case.rps, memory):.2f}×",
                    f"p99 {case.p99_ms:.2f} ms",
                ]
            )
    return rows


def run() -> str:
    with tempfile.TemporaryDirectory(prefix="druid-sim-bench-cursors-") as scratch, postgres() as pg:
        folder = Path(scratch)
        print("per advance, interleaved…", file=sys.stderr, flush=True)
        calls = per_advance(folder, pg)
        print("over HTTP, interleaved…", file=sys.stderr, flush=True)
        http = over_http(folder, pg)
    first = markdown_table(["call", "cursors", "median", "vs mmap", "rounds (µs)"], calls)
    second = markdown_table(["what", "server", "throughput", "vs mmap", "vs memory", "latency"], http)
    return (
        f"# bench cursors\n\n{machine_note()}; {operations():,} calls per round\n\n## Per call\n\n{first}\n\n"
        f"## Over HTTP (every request advances)\n\n{second}\n"
    )


def main() -> int:
    write_results("cursors", run())
    return 0


if __name__ == "__main__":
    sys.exit(main())
