"""Sizes on the command line (``64MiB``, ``500KB``, ``65536``) and the one size several commands share."""

from __future__ import annotations

import argparse
from typing import Any

from druid_sim.limits import MAX_CASSETTE_SIZE, parse_size


def size_type(value: str) -> int:
    """argparse's ``type=`` for a size: bytes, or a number with a unit (KB = 1000, KiB = 1024)."""
    try:
        return parse_size(value)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def add_cassette_size_argument(parser: Any) -> None:
    """``--max-cassette-size``, on every command that loads a cassette (``serve``, ``cassette show``...)."""
    parser.add_argument(
        "--max-cassette-size",
        type=size_type,
        default=MAX_CASSETTE_SIZE,
        metavar="SIZE",
        help="largest cassette file loaded, also through POST /__sim/cassette (default 256MiB; memory grows "
        "about 3 KB per interaction); a larger one is refused before it is read, and so is any line over 256MiB",
    )
