"""Replay speed (issue 4): ``druid-sim serve --cassette`` against the ceiling of this stack and WireMock.

In one interleaved series (``BENCH_REPETITIONS`` × ``BENCH_DURATION`` s wrk runs, medians), the same
recorded exchange (``GET /druid/indexer/v1/task/{id}/status``, a 600-byte Druid status) is served by:

* druid-sim replaying a cassette that holds it (``--on-miss error``, no access log), on one worker and
  on two (``--workers 2``), with its express lane (``druid_sim/server/express_http.py``) as ``serve`` runs it;
* a bare ASGI callable returning the same bytes on uvicorn + uvloop + httptools (the ceiling);
* WireMock 3 with the exchange as a stub, ``--no-request-journal`` (its fastest mode; the npm package
  ``wiremock`` bundles the standalone jar, installed once into ``$WIREMOCK_DIR`` or a temp dir; skipped
  with a message when Java or npm is missing);

in three series: 1 connection wherever the scheduler puts wrk and the server (``c1``), 1 connection with
wrk and the server's whole process group on cpu0 (``c1 one CPU``), and 32 connections (``c32``). On this
VM an unpinned round trip at one connection mostly measures how fast a halted vCPU wakes up (about
150 µs, the same for every server), so ``c1`` is reported but not gated; ``c1 one CPU`` measures what each
server does per request. Targets, on ``c1 one CPU`` and ``c32``: replay ≥ 1.0× WireMock's req/s with p99 ≤
WireMock's, and ≥ 0.8× the bare ceiling (met when either replay configuration meets them in both).
Also: loading (parse + index + prepared answers) of cassettes of 10,000 and 100,000 interactions in a
fresh interpreter (median of three), target ≤ 2 s for 100,000.

Helpers: ``python -m bench.replay bare --port P --body-file F`` (the ceiling) and
``python -m bench.replay load FILE`` (prints the load time as JSON).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import orjson

from bench.common import (
    UVICORN_SETTINGS,
    BenchError,
    Case,
    ServerGroup,
    druid_sim_argv,
    free_port,
    http_get,
    interleave,
    machine_note,
    markdown_table,
    python_argv,
    ratio,
    require_wrk,
    run_wrk,
    verdict,
    write_results,
)

TASK_ID = "index_parallel_wikipedia_auto_jndhkpbo_2026-01-01T00:00:00.000Z"
STATUS_PATH = f"/druid/indexer/v1/task/{TASK_ID}/status"
WIREMOCK_VERSION = "3"
LOAD_TARGET_S = 2.0
#: The load series: name → connections. ``c1 one CPU`` pins wrk and the server to cpu0 (`bench.common.on_cpu`).
SERIES = {"c1": 1, "c1 one CPU": 1, "c32": 32}
SERIES_CPU: dict[str, int | None] = {"c1": None, "c1 one CPU": 0, "c32": None}
#: The series the targets are checked on (see the note the bench prints about unpinned c1).
GATED = ("c1 one CPU", "c32")
REPLAY_1 = "druid-sim replay"
REPLAY_2 = "druid-sim replay --workers 2"


def status_body(task_id: str = TASK_ID, datasource: str = "wikipedia_auto") -> bytes:
    """A Druid ``GET /task/{id}/status`` answer, compact, in Druid's field order."""
    status = {
        "id": task_id,
        "groupId": task_id,
        "type": "index_parallel",
        "createdTime": "2026-01-01T00:00:00.000Z",
        "queueInsertionTime": "1970-01-01T00:00:00.000Z",
        "statusCode": "SUCCESS",
        "status": "SUCCESS",
        "runnerStatusCode": "WAITING",
        "duration": 27785,
        "location": {"host": "druid-middlemanager-1.example.internal", "port": 8100, "tlsPort": -1},
        "dataSource": datasource,
        "errorMsg": None,
    }
    return orjson.dumps({"task": task_id, "status": status})


def _interaction(method: str, path: str, body: bytes, request_body: bytes = b"", at: float = 0.0) -> Any:
    from druid_sim.cassette import Interaction, Request, Response, body_from_bytes

    headers = [("Content-Type", "application/json")] if request_body else []
    return Interaction(
        Request(method, path, [], headers, body_from_bytes(request_body)),
        Response(200, [("Content-Type", "application/json")], body_from_bytes(body, "application/json")),
        elapsed_ms=4.2,
        at=at,
    )


def write_cassette(path: Path, interactions: int) -> Path:
    """A cassette of ``interactions``: 90% status polls of distinct tasks, 10% submissions (~800-byte specs)."""
    from druid_sim.cassette import CassetteWriter, RecordMode, new_meta

    spec = {
        "type": "index_parallel",
        "spec": {
            "dataSchema": {
                "dataSource": "wikipedia_auto",
                "timestampSpec": {"column": "time", "format": "iso"},
                "dimensionsSpec": {"useSchemaDiscovery": True},
                "granularitySpec": {"segmentGranularity": "day", "intervals": ["2015-09-12/2015-09-13"]},
            },
            "ioConfig": {
                "type": "index_parallel",
                "inputSource": {"type": "local", "baseDir": "quickstart/tutorial/", "filter": "wiki.json.gz"},
                "inputFormat": {"type": "json"},
            },
            "tuningConfig": {"type": "index_parallel", "maxRowsPerSegment": 5000000, "maxRowsInMemory": 25000},
        },
    }
    with CassetteWriter.open(path, RecordMode.OVERWRITE, new_meta("http://bench.invalid:8888", None)) as writer:
        for n in range(interactions):
            task_id = f"index_parallel_wikipedia_auto_{n:08d}_2026-01-01T00:00:00.000Z"
            if n % 10 == 9:
                body = orjson.dumps({"task": task_id})
                writer.append(_interaction("POST", "/druid/indexer/v1/task", body, orjson.dumps(spec), n / 100))
            else:
                path_n = f"/druid/indexer/v1/task/{task_id}/status"
                writer.append(_interaction("GET", path_n, status_body(task_id), at=n / 100))
    return path


# -- servers ---------------------------------------------------------------------------------------------


def serve_bare(port: int, body: bytes) -> None:
    """The ceiling: a bare ASGI callable answering every request with ``body``."""
    import uvicorn

    headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]

    async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            if scope["type"] == "lifespan":
                while (await receive())["type"] != "lifespan.shutdown":
                    await send({"type": "lifespan.startup.complete"})
                await send({"type": "lifespan.shutdown.complete"})
            return
        await send({"type": "http.response.start", "status": 200, "headers": headers})
        await send({"type": "http.response.body", "body": body})

    settings = {key: value for key, value in UVICORN_SETTINGS.items() if key != "workers"}
    uvicorn.run(app, host="127.0.0.1", port=port, **settings)  # type: ignore[arg-type]


def wiremock_jar() -> Path:
    """The standalone jar the npm package ``wiremock`` bundles (installed on first use)."""
    if shutil.which("java") is None:
        raise BenchError("WireMock needs Java 17+ (`java` is not on PATH); install a JRE to include it")
    folder = Path(os.environ.get("WIREMOCK_DIR") or Path(tempfile.gettempdir()) / "druid-sim-wiremock")
    jars = sorted(folder.glob("node_modules/wiremock/build/wiremock-standalone-*.jar"))
    if not jars:
        npm = shutil.which("npm")
        if npm is None:
            raise BenchError("WireMock is installed with npm (`npm install wiremock`), and npm is not on PATH")
        folder.mkdir(parents=True, exist_ok=True)
        if not (folder / "package.json").exists():
            subprocess.run([npm, "init", "-y"], cwd=folder, capture_output=True, check=True)
        done = subprocess.run(
            [npm, "install", f"wiremock@{WIREMOCK_VERSION}"], cwd=folder, capture_output=True, text=True
        )
        if done.returncode != 0:
            raise BenchError(f"`npm install wiremock` failed in {folder}:\n{done.stdout}{done.stderr}")
        jars = sorted(folder.glob("node_modules/wiremock/build/wiremock-standalone-*.jar"))
        if not jars:
            raise BenchError(f"`npm install wiremock` did not leave a standalone jar under {folder}")
    return jars[-1]


def wiremock_argv(port: int, root: Path, body: bytes, path: str = STATUS_PATH) -> list[str]:
    """WireMock with the exchange (``GET path`` answered ``body``) as a file stub, its request journal off."""
    jar = wiremock_jar()
    (root / "mappings").mkdir(parents=True, exist_ok=True)
    stub = {
        "request": {"method": "GET", "url": path},
        "response": {"status": 200, "headers": {"Content-Type": "application/json"}, "body": body.decode()},
    }
    (root / "mappings" / "status.json").write_text(json.dumps(stub))
    return [
        "java",
        "-jar",
        str(jar),
        "--port",
        str(port),
        "--bind-address",
        "127.0.0.1",
        "--disable-banner",
        "--no-request-journal",
        "--root-dir",
        str(root),
    ]


# -- measurements ------------------------------------------------------------------------------------------


#: Fresh-interpreter loads per cassette size; the run with the median total is reported.
LOAD_RUNS = 3


def measure_load(path: Path, runs: int = LOAD_RUNS) -> dict[str, float]:
    """Load + index time of a cassette, each time in a fresh interpreter: the median run, and the fastest."""
    samples: list[dict[str, float]] = []
    for _ in range(runs):
        done = subprocess.run(python_argv("-m", "bench.replay", "load", str(path)), capture_output=True, text=True)
        if done.returncode != 0:
            raise BenchError(f"loading {path} failed:\n{done.stdout}{done.stderr}")
        samples.append(json.loads(done.stdout.strip().splitlines()[-1]))
    samples.sort(key=lambda sample: sample["seconds"])
    return {**samples[len(samples) // 2], "fastest": samples[0]["seconds"]}


def _load_cli(path: Path) -> int:
    from druid_sim.cassette import load_cassette
    from druid_sim.replay.engine import Replay

    started = time.perf_counter()
    cassette = load_cassette(path)
    loaded = time.perf_counter()
    Replay(cassette)
    done = time.perf_counter()
    print(
        json.dumps(
            {
                "seconds": done - started,
                "parse": loaded - started,
                "index": done - loaded,
                "interactions": len(cassette.interactions),
            }
        )
    )
    return 0


def run() -> int:
    require_wrk()
    body = status_body()
    rows: list[list[object]] = []
    notes: list[str] = []
    with tempfile.TemporaryDirectory(prefix="druid-sim-bench-replay-") as tmp:
        folder = Path(tmp)
        cassette = folder / "exchange.jsonl"
        from druid_sim.cassette import CassetteWriter, RecordMode, new_meta

        with CassetteWriter.open(cassette, RecordMode.OVERWRITE, new_meta("http://bench.invalid:8888", None)) as w:
            w.append(_interaction("GET", STATUS_PATH, body))
        body_file = folder / "body.json"
        body_file.write_bytes(body)
        with ServerGroup() as group:
            port = free_port()
            replay = group.start(
                "replay",
                druid_sim_argv(
                    "serve", "--cassette", str(cassette), "--port", str(port), "--on-miss", "error", "--no-access-log"
                ),
                port,
                ready_path=STATUS_PATH,
            )
            port = free_port()
            replay2 = group.start(
                "replay-workers2",
                druid_sim_argv(
                    "serve",
                    "--cassette",
                    str(cassette),
                    "--port",
                    str(port),
                    "--on-miss",
                    "error",
                    "--no-access-log",
                    "--workers",
                    "2",
                ),
                port,
                ready_path=STATUS_PATH,
            )
            for server in (replay, replay2):
                status, got = http_get(server.url + STATUS_PATH)
                if (status, got) != (200, body):
                    raise BenchError(f"druid-sim replay answered {status} {got[:80]!r}, not the recorded exchange")
            port = free_port()
            bare = group.start(
                "bare-asgi",
                python_argv("-m", "bench.replay", "bare", "--port", str(port), "--body-file", str(body_file)),
                port,
                ready_path=STATUS_PATH,
            )
            servers = {REPLAY_1: replay, REPLAY_2: replay2, "bare ASGI (ceiling)": bare}
            try:
                port = free_port()
                servers["WireMock 3 (no journal)"] = group.start(
                    "wiremock",
                    wiremock_argv(port, folder / "wiremock", body),
                    port,
                    ready_path=STATUS_PATH,
                    timeout_s=90,
                )
            except (BenchError, subprocess.CalledProcessError) as exc:
                notes.append(f"WireMock skipped: {exc}")
                print(f"WireMock skipped: {exc}", file=sys.stderr)
            if "WireMock 3 (no journal)" in servers:
                # Warm WireMock's JIT up before measuring, as docs/performance.md describes (15 s at c32).
                run_wrk(servers["WireMock 3 (no journal)"].url + STATUS_PATH, 32, duration=15)
            for server in servers.values():
                run_wrk(server.url + STATUS_PATH, 32, duration=2)
            cases = {
                (name, series): Case(
                    f"{name} {series}", server.url + STATUS_PATH, conns, pid=server.pid, cpu=SERIES_CPU[series]
                )
                for name, server in servers.items()
                for series, conns in SERIES.items()
            }
            interleave(list(cases.values()))
        wm_name = "WireMock 3 (no journal)"
        met = {REPLAY_1: True, REPLAY_2: True}
        for series in SERIES:
            ceiling = cases[("bare ASGI (ceiling)", series)]
            wm = cases.get((wm_name, series))
            for name, server_case in ((n, cases[(n, series)]) for n in servers):
                rows.append(
                    [
                        name,
                        series,
                        server_case.rps,
                        server_case.rps_min,
                        server_case.p50_ms,
                        server_case.p99_ms,
                        server_case.cpu_us,
                        server_case.errors,
                    ]
                )
            for replay_name in (REPLAY_1, REPLAY_2):
                ours = cases[(replay_name, series)]
                vs_ceiling = ratio(ours.rps, ceiling.rps)
                ok = vs_ceiling >= 0.8
                gated = series in GATED
                line = f"{series} {replay_name}: replay/ceiling {vs_ceiling:.2f}× (target ≥ 0.8: {verdict(ok)})"
                if wm is not None:
                    vs_wm = ratio(ours.rps, wm.rps)
                    ok_wm = vs_wm >= 1.0 and ours.p99_ms <= wm.p99_ms
                    ok = ok and ok_wm
                    line += (
                        f"; replay/WireMock {vs_wm:.2f}× req/s, p99 {ours.p99_ms:.2f} vs {wm.p99_ms:.2f} ms "
                        f"(target ≥ 1.0× and p99 ≤: {verdict(ok_wm)})"
                    )
                if gated:
                    met[replay_name] = met[replay_name] and ok
                else:
                    line += " [not gated: see below]"
                notes.append(line)
        # The replay targets hold when one of the two configurations meets them in every gated series.
        passed = met[REPLAY_1] or met[REPLAY_2]
        notes.append(
            f"replay targets on {' and '.join(GATED)}: 1 worker {verdict(met[REPLAY_1])}, "
            f"2 workers {verdict(met[REPLAY_2])}"
        )
        loads = []
        for size in (10_000, 100_000):
            path = write_cassette(folder / f"load-{size}.jsonl", size)
            result = measure_load(path)
            loads.append(
                [
                    f"{size:,} interactions",
                    path.stat().st_size / 1e6,
                    result["parse"],
                    result["index"],
                    result["seconds"],
                    result["fastest"],
                ]
            )
        total, index_s = result["seconds"], result["index"]  # the last one: 100,000 interactions
        ok_load = total <= LOAD_TARGET_S
        passed = passed and ok_load
        notes.append(
            f"load of 100,000 interactions (median of {LOAD_RUNS} fresh interpreters): {total:.2f} s in all, "
            f"{index_s:.2f} s of it the replay index "
            f"(target ≤ {LOAD_TARGET_S} s: {verdict(ok_load)})"
        )
        notes.append(
            "druid-sim replay runs the whole `druid-sim serve` chain (journal, faults, replay) as users get it, "
            "express lane included (a GET matched once is answered from uvicorn's parser callback, skipping the "
            "ASGI cycle the bare ceiling goes through), on one worker or on two (`--workers 2`: sequence cursors "
            "shared through a memory-mapped file); WireMock runs with --no-request-journal, its fastest mode"
        )
    notes.append(
        "c1 (not gated) lets the scheduler place wrk and the server; on this VM a round trip between two vCPUs "
        "is dominated by waking the halted one (~150 µs), so every server lands near the same figure and the "
        "order depends on placement. `c1 one CPU` runs wrk and the server's whole process group on cpu0, which "
        "measures each server's own work per request; that series and c32 are gated"
    )
    table = markdown_table(
        ["server", "series", "req/s median", "req/s min", "p50 ms", "p99 ms", "server CPU µs/req", "errors"], rows
    )
    load_table = markdown_table(
        ["cassette", "MB", "parse s (loader)", "index s (replay)", f"total s (median of {LOAD_RUNS})", "fastest s"],
        loads,
    )
    markdown = "\n\n".join(
        [
            "# Replay: druid-sim vs bare ASGI vs WireMock",
            machine_note(),
            f"Exchange: `GET {STATUS_PATH}` → 200, {len(body)} bytes of JSON.",
            table,
            load_table,
            "\n".join(f"* {note}" for note in notes),
        ]
    )
    write_results("replay", markdown)
    return 0 if passed else 1


def main() -> int:
    """The benchmark (``make bench`` / ``python -m bench replay``)."""
    return run()


def _cli(argv: Sequence[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.replay", description=__doc__.split("\n")[0])
    sub = parser.add_subparsers(dest="command")
    bare = sub.add_parser("bare", help="the ceiling: a bare ASGI app returning a file's bytes")
    bare.add_argument("--port", type=int, required=True)
    bare.add_argument("--body-file", type=Path, required=True)
    load = sub.add_parser("load", help="print the load + index time of a cassette as JSON")
    load.add_argument("file", type=Path)
    args = parser.parse_args(argv)
    if args.command == "bare":
        serve_bare(args.port, args.body_file.read_bytes())
        return 0
    if args.command == "load":
        return _load_cli(args.file)
    return run()


if __name__ == "__main__":
    sys.exit(_cli(sys.argv[1:]))
