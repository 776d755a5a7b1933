"""The replay options of ``druid-sim serve`` and loading the cassette before the server starts.

A cassette that does not load stops ``serve`` before it binds its port, with the loader's message (file,
line, column, problem, fix) and exit code 2, never a traceback.
"""

from __future__ import annotations

import argparse
from dataclasses import replace
from typing import TYPE_CHECKING, Any

from druid_sim.replay.options import IgnoreSpecError, LatencyMode, MissMode, SequencePolicy

if TYPE_CHECKING:
    from druid_sim.config import ServeConfig
    from druid_sim.replay.engine import Replay


class ReplaySetupError(Exception):
    """The cassette or a replay option is unusable; the message says which and how to fix it."""


def add_replay_arguments(parser: argparse.ArgumentParser) -> None:
    """Add ``--cassette`` and the options that shape a replay."""
    group = parser.add_argument_group("replay (with --cassette)")
    group.add_argument(
        "--cassette",
        metavar="FILE",
        help="serve the interactions recorded in this cassette: a file, or a shipped cassette's name "
        "(`druid-sim cassette list`)",
    )
    group.add_argument(
        "--on-miss",
        choices=[m.value for m in MissMode if m is not MissMode.FORWARD],
        default=MissMode.SIMULATE.value,
        help="who answers a request the cassette has no answer for: the model seeded with the cassette's tasks "
        "(simulate, default) or a 599 problem+json naming the nearest recorded requests (error)",
    )
    group.add_argument(
        "--latency",
        choices=[m.value for m in LatencyMode],
        default=LatencyMode.NONE.value,
        help="answer at once (none, default) or after the upstream's recorded time on the virtual clock (recorded)",
    )
    group.add_argument(
        "--sequence",
        choices=[p.value for p in SequencePolicy],
        default=SequencePolicy.STICK_LAST.value,
        help="after a repeated request's recorded answers are played: repeat the last (stick-last, default), "
        "start over (cycle) or treat it as a miss (exhaust)",
    )
    group.add_argument(
        "--ignore",
        action="append",
        default=[],
        metavar="KIND:NAME",
        help="leave a part of requests out of matching: query:KEY, header:NAME or body:/json/pointer (repeatable)",
    )
    group.add_argument(
        "--redaction-key",
        metavar="FILE",
        help="the key file of a cassette recorded with druid-sim record --redaction-key (default: "
        "$DRUID_SIM_REDACTION_KEY, else ~/.config/druid-sim/redaction.key); cassettes with a salt in their "
        "header need nothing",
    )
    group.add_argument(
        "--report-unused",
        action="store_true",
        help="when the server stops, list recorded interactions that were never played",
    )


def replay_settings(args: argparse.Namespace) -> dict[str, Any]:
    """The `ServeConfig` fields the replay options set."""
    return {
        "cassette": args.cassette,
        "replay_on_miss": args.on_miss,
        "replay_latency": args.latency,
        "replay_sequence": args.sequence,
        "replay_ignore": tuple(args.ignore),
        "report_unused": args.report_unused,
        "replay_redaction_key": args.redaction_key,
    }


def prepare_replay(config: ServeConfig) -> tuple[ServeConfig, Replay | None]:
    """Load the cassette, and start the clock where the recording ended unless ``--start-time`` says otherwise."""
    from druid_sim.cassette import CassetteError
    from druid_sim.replay.wiring import load_replay

    try:
        replay = load_replay(config)
    except CassetteError as exc:
        raise ReplaySetupError(f"cannot load the cassette: {exc}") from None
    except (IgnoreSpecError, ValueError) as exc:
        raise ReplaySetupError(str(exc)) from None
    if replay is None:
        return config, None
    if config.start_ms is None:
        config = replace(config, start_ms=replay.end_ms())
    return config, replay
