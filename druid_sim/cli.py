"""The `druid-sim` command line.

Each subcommand lives in its own module under `druid_sim.commands` and exposes
`register(subparsers)`, which adds its parser and sets `func` to a callable taking the parsed
arguments and returning an exit code. Modules are imported here, but anything heavy (mitmproxy,
uvicorn) is imported inside `func`, so `druid-sim --help` stays fast.
"""

from __future__ import annotations

import argparse
import importlib
import os
import sys
from collections.abc import Sequence

from druid_sim import __version__

#: Subcommand modules, in the order `--help` lists them.
COMMAND_MODULES = (
    "druid_sim.commands.serve",
    "druid_sim.commands.record",
    "druid_sim.commands.cassette",
    "druid_sim.commands.scenario",
    "druid_sim.commands.control",
)


def build_parser() -> argparse.ArgumentParser:
    """Build the top-level parser with every available subcommand."""
    parser = argparse.ArgumentParser(
        prog="druid-sim",
        description="Record, replay and simulate Apache Druid's Overlord Tasks API.",
    )
    parser.add_argument("--version", action="version", version=f"druid-sim {__version__}")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in COMMAND_MODULES:
        importlib.import_module(name).register(subparsers)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the `druid-sim` console script."""
    parser = build_parser()
    args = parser.parse_args(argv)
    func = getattr(args, "func", None)
    if func is None:
        parser.print_help()
        return 2
    try:
        return int(func(args) or 0)
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:
        # The reader went away (`druid-sim cassette show X | head`): stop quietly, as `cat` does, and
        # point stdout at /dev/null so the interpreter's final flush does not fail again.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 141


if __name__ == "__main__":
    sys.exit(main())
