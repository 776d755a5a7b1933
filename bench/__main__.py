"""``python -m bench [NAME ...]``: run every benchmark module (``bench/*.py`` with a ``main()``), or the named ones.

Modules run one after the other, never in parallel: they share two CPUs with their own load generator.
A benchmark that fails to run (a missing tool, a server that never came up) is reported and the others
still run; the exit code is non-zero if any of them failed to run or returned non-zero (a missed target).
"""

from __future__ import annotations

import argparse
import importlib
import os
import pkgutil
import signal
import sys
import time
import traceback
from collections.abc import Callable, Sequence
from typing import Any, cast

import bench
from bench.common import BenchError

#: Modules that hold helpers, not benchmarks.
NOT_BENCHMARKS = {"common"}


def available() -> list[str]:
    """Names of the modules in ``bench/`` that could be benchmarks, alphabetically."""
    names = [info.name for info in pkgutil.iter_modules(bench.__path__) if not info.ispkg]
    return sorted(name for name in names if not name.startswith("_") and name not in NOT_BENCHMARKS)


def load_main(name: str) -> Callable[[], Any] | None:
    module = importlib.import_module(f"bench.{name}")
    entry = getattr(module, "main", None)
    return cast(Callable[[], Any], entry) if callable(entry) else None


def run_one(name: str) -> int:
    """Run ``bench.<name>.main()``; 0 when it ran and met its targets."""
    print(f"\n=== bench {name} ===", flush=True)
    started = time.perf_counter()
    try:
        entry = load_main(name)
        if entry is None:
            print(f"bench/{name}.py has no main(); skipped", flush=True)
            return 0
        outcome = entry()
    except BenchError as exc:
        print(f"bench {name} could not run: {exc}", file=sys.stderr, flush=True)
        return 1
    except KeyboardInterrupt:
        raise
    except Exception as exc:
        # A crash in a benchmark is a bug in it: say where, in one line (BENCH_DEBUG=1 for the traceback).
        frame = traceback.extract_tb(exc.__traceback__)[-1]
        print(
            f"bench {name} crashed: {type(exc).__name__}: {exc} ({frame.filename}:{frame.lineno}); "
            "BENCH_DEBUG=1 shows the traceback",
            file=sys.stderr,
        )
        if os.environ.get("BENCH_DEBUG"):
            traceback.print_exc()
        return 1
    code = outcome if isinstance(outcome, int) else 0
    print(f"=== bench {name}: {'ok' if code == 0 else 'targets missed'} in {time.perf_counter() - started:.0f} s ===")
    return code


def main(argv: Sequence[str] | None = None) -> int:
    names = available()
    parser = argparse.ArgumentParser(
        prog="python -m bench",
        description="Run druid-sim's benchmarks (all of them, or the named ones). "
        "BENCH_DURATION (s per wrk run, default 5) and BENCH_REPETITIONS (default 3) tune every bench.",
    )
    parser.add_argument("names", nargs="*", metavar="NAME", help=f"benchmarks to run (default all: {', '.join(names)})")
    parser.add_argument("--list", action="store_true", help="list the benchmarks and exit")
    args = parser.parse_args(argv)
    if args.list:
        print("\n".join(names))
        return 0
    unknown = [name for name in args.names if name not in names]
    if unknown:
        parser.error(f"no benchmark named {', '.join(unknown)}; choose from {', '.join(names)}")
    failures = [name for name in (args.names or names) if run_one(name) != 0]
    if failures:
        print(f"\nbenchmarks with missed targets or errors: {', '.join(failures)}", file=sys.stderr)
        return 1
    return 0


def _stop_on_sigterm(signum: int, frame: object) -> None:
    raise KeyboardInterrupt  # unwinds through every ServerGroup, which stops its servers


if __name__ == "__main__":
    signal.signal(signal.SIGTERM, _stop_on_sigterm)
    try:
        sys.exit(main())
    except KeyboardInterrupt:
        print("\ninterrupted; every server started by the benchmarks has been stopped", file=sys.stderr)
        sys.exit(130)
