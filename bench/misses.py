"""Replay misses and cassette memory at scale (issue 22, items 5 and 6).

For cassettes of 100,000 and 1,000,000 interactions (``bench.replay.write_cassette``: 90% status polls of
distinct tasks, 10% task submissions with ~800-byte specs), each in a fresh interpreter:

* memory: the process's RSS before loading, after loading the cassette, and after indexing it for
  replay (``Replay``), per interaction: what ``docs/cassettes.md`` states for ``--max-cassette-size``;
* misses: the time to explain distinct misses (``Replay.explain_miss``, the near-miss search a miss runs
  on the event loop before it is answered or logged): a status poll of an unrecorded task (same shape,
  another id), a submission with another body (same path: 100,000 recorded sequences there at 1 M), an
  unrecorded list query, a shutdown of an unrecorded task (same shape, another method), and the first
  miss (which before issue 22 also built the endpoint index: 4-22 s at 1 M). Target: the slowest miss
  under 50 ms at 1 M interactions.

``BENCH_MISS_SIZES`` (comma-separated, default ``100000,1000000``) picks the sizes.
``python -m bench.misses measure FILE`` prints one cassette's figures as JSON.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from bench.common import BenchError, machine_note, markdown_table, python_argv, write_results
from bench.replay import write_cassette

TARGET_MS = 50.0
MISSES = (
    ("status of an unrecorded task", "GET", "/druid/indexer/v1/task/index_parallel_unrecorded/status", None),
    ("submission with another body", "POST", "/druid/indexer/v1/task", {"type": "index", "spec": {}}),
    ("unrecorded list query", "GET", "/druid/indexer/v1/tasks?state=running", None),
    ("shutdown of an unrecorded task", "POST", "/druid/indexer/v1/task/index_parallel_other/shutdown", None),
)


def _rss_kib() -> int:
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


def _normalized(method: str, target: str, body: Any) -> Any:
    import orjson

    from druid_sim.cassette import Request, body_from_bytes
    from druid_sim.replay.normalize import normalize_recorded
    from druid_sim.replay.options import MatchRules

    path, _, query = target.partition("?")
    pairs = [tuple(pair.split("=", 1)) for pair in query.split("&")] if query else []
    raw = b"" if body is None else orjson.dumps(body)
    headers = [("Content-Type", "application/json")] if raw else []
    request = Request(method, path, pairs, headers, body_from_bytes(raw, "application/json" if raw else None))
    return normalize_recorded(request, MatchRules())


def measure(path: Path) -> dict[str, Any]:
    """Load and index ``path``, then time each miss of `MISSES` twice (another id the second time)."""
    import gc

    from druid_sim.cassette import load_cassette
    from druid_sim.replay.engine import Replay, ReplayOptions
    from druid_sim.replay.options import MissMode

    gc.collect()
    before = _rss_kib()
    started = time.perf_counter()
    cassette = load_cassette(path, max_size=1 << 40)
    loaded_at, loaded = time.perf_counter(), _rss_kib()
    replay = Replay(cassette, ReplayOptions(on_miss=MissMode.ERROR))
    indexed_at, indexed = time.perf_counter(), _rss_kib()
    count = len(cassette.interactions)
    misses: dict[str, float] = {}
    for name, method, target, body in MISSES:
        for attempt in (1, 2):
            live = _normalized(method, target.replace("unrecorded", f"unrecorded{attempt}"), body)
            began = time.perf_counter()
            near = replay.explain_miss(live)
            misses[f"{name} #{attempt}"] = (time.perf_counter() - began) * 1000
            if not near:
                raise BenchError(f"no near miss found for {method} {target}")
    return {
        "interactions": count,
        "file_bytes": path.stat().st_size,
        "load_s": loaded_at - started,
        "index_s": indexed_at - loaded_at,
        "loaded_bytes_per_interaction": (loaded - before) * 1024 / count,
        "indexed_bytes_per_interaction": (indexed - before) * 1024 / count,
        "misses_ms": misses,
    }


def sizes() -> list[int]:
    raw = os.environ.get("BENCH_MISS_SIZES", "100000,1000000")
    return [int(size) for size in raw.split(",") if size.strip()]


def run() -> int:
    rows: list[list[object]] = []
    miss_rows: list[list[object]] = []
    slowest = 0.0
    with tempfile.TemporaryDirectory(prefix="druid-sim-bench-misses-") as tmp:
        for size in sizes():
            path = write_cassette(Path(tmp) / f"c{size}.jsonl", size)
            done = subprocess.run(
                python_argv("-m", "bench.misses", "measure", str(path)), capture_output=True, text=True
            )
            if done.returncode != 0:
                raise BenchError(f"measuring {path} failed:\n{done.stdout}{done.stderr}")
            figures = json.loads(done.stdout.strip().splitlines()[-1])
            path.unlink()
            rows.append(
                [
                    f"{size:,}",
                    round(figures["file_bytes"] / size),
                    round(figures["loaded_bytes_per_interaction"]),
                    round(figures["indexed_bytes_per_interaction"]),
                    round(figures["load_s"], 2),
                    round(figures["index_s"], 2),
                ]
            )
            for name, ms in figures["misses_ms"].items():
                miss_rows.append([f"{size:,}", name, round(ms, 2)])
                slowest = max(slowest, ms) if size >= 1_000_000 else slowest
    passed = slowest <= TARGET_MS
    markdown = "\n\n".join(
        [
            "# Replay misses and cassette memory",
            machine_note(),
            markdown_table(
                [
                    "interactions",
                    "file bytes / interaction",
                    "RSS bytes / interaction, loaded",
                    "RSS bytes / interaction, loaded + indexed",
                    "load s",
                    "index s",
                ],
                rows,
            ),
            markdown_table(["interactions", "miss", "ms to explain"], miss_rows),
            f"Target: the slowest miss at 1 M interactions ≤ {TARGET_MS:g} ms: "
            + (f"met ({slowest:.1f} ms)" if passed else f"missed ({slowest:.1f} ms)"),
        ]
    )
    write_results("misses", markdown)
    return 0 if passed else 1


def main() -> int:
    """The benchmark (``python -m bench misses``)."""
    return run()


def _cli(argv: Sequence[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.misses", description=__doc__.split("\n")[0])
    sub = parser.add_subparsers(dest="command")
    one = sub.add_parser("measure", help="print one cassette's memory and miss figures as JSON")
    one.add_argument("file", type=Path)
    args = parser.parse_args(argv)
    if args.command == "measure":
        print(json.dumps(measure(args.file)))
        return 0
    return run()


if __name__ == "__main__":
    sys.exit(_cli(sys.argv[1:]))
