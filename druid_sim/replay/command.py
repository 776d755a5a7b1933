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
    from druid_sim.replay.spy import ForwardLog


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
        choices=[m.value for m in MissMode],
        default=MissMode.ERROR.value,
        help="who answers a request the cassette has no answer for: a 599 problem+json naming the nearest "
        "recorded requests (error, default: VCR.py's record mode none), the model seeded with the cassette's "
        "tasks (simulate: hybrid), or the real cluster at --upstream (forward: spy mode)",
    )
    group.add_argument(
        "--upstream",
        metavar="URL",
        help="with --on-miss forward: the Druid Router or Overlord that answers what the cassette does not "
        "(e.g. http://router:8888)",
    )
    group.add_argument(
        "--record-new",
        action="store_true",
        help="with --on-miss forward: append what is forwarded to the cassette, redacted as druid-sim record "
        "does, so the cassette grows as you work (VCR.py's new_episodes)",
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
        "--match-on",
        action="append",
        default=[],
        metavar="header:NAME",
        help="a request header that takes part in matching besides Content-Type and Authorization (repeatable)",
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
        "replay_match_on": tuple(args.match_on),
        "replay_upstream": args.upstream,
        "replay_record_new": args.record_new,
        "report_unused": args.report_unused,
        "replay_redaction_key": args.redaction_key,
    }


def prepare_replay(config: ServeConfig) -> tuple[ServeConfig, Replay | None]:
    """Load the cassette, and start the clock where the recording ended unless ``--start-time`` says otherwise."""
    from druid_sim.cassette import CassetteError
    from druid_sim.replay.wiring import load_replay

    problem = spy_problem(config)
    if problem is not None:
        raise ReplaySetupError(problem)
    if config.replay_record_new and config.cassette is not None:
        start_cassette(config.cassette, config.replay_upstream or "")
    try:
        replay = load_replay(config)
    except CassetteError as exc:
        raise ReplaySetupError(f"cannot load the cassette: {exc}") from None
    except (IgnoreSpecError, ValueError) as exc:
        raise ReplaySetupError(str(exc)) from None
    if replay is None:
        return config, None
    if config.replay_on_miss == MissMode.FORWARD:
        replay.forward_log = open_forward_log(config)
    if config.start_ms is None:
        config = replace(config, start_ms=replay.end_ms())
    return config, replay


def spy_problem(config: ServeConfig) -> str | None:
    """Why ``--on-miss``, ``--upstream`` and ``--record-new`` do not go together, or None (the URL itself is
    checked by ``serve``, with the recorder's own check)."""
    forward = config.replay_on_miss == MissMode.FORWARD
    if forward and config.cassette is None:
        return "--on-miss forward answers from a cassette and forwards the rest: give --cassette FILE"
    if forward and not config.replay_upstream:
        return "--on-miss forward sends what the cassette has no answer for to a cluster: give --upstream URL"
    if config.replay_upstream and not forward:
        return "--upstream is where --on-miss forward sends misses: add --on-miss forward (or leave --upstream out)"
    if config.replay_record_new and not forward:
        return "--record-new appends what is forwarded: add --on-miss forward --upstream URL"
    if forward and config.workers > 1:
        return "--on-miss forward serves from one process: leave --workers out"
    return None


def open_forward_log(config: ServeConfig) -> ForwardLog:
    """Spy mode's log of what is forwarded, appending to the cassette with ``--record-new``; a cassette that
    cannot be appended to stops ``serve`` before it listens, saying why."""
    from druid_sim.cassette import CassetteError, RuleError
    from druid_sim.cassette.keys import RedactionKeyError
    from druid_sim.replay.spy import ForwardLog

    assert config.replay_upstream is not None and config.cassette is not None
    path = config.cassette if config.replay_record_new else None
    try:
        return ForwardLog(config.replay_upstream, path, config.replay_redaction_key)
    except (CassetteError, RuleError, RedactionKeyError, OSError) as exc:
        raise ReplaySetupError(f"--record-new cannot append to {config.cassette}: {exc}") from None


def start_cassette(path: str, upstream: str) -> None:
    """With ``--record-new``, a cassette that does not exist yet is started (its header, with a fresh salt),
    so spy mode can record a whole session from nothing, as WireMock's record-while-proxying does."""
    from pathlib import Path

    from druid_sim.cassette import CassetteWriter, RecordMode, Redactor, new_meta, new_salt

    if Path(path).exists() or not path.endswith(".jsonl"):
        return
    try:
        CassetteWriter.open(path, RecordMode.REFUSE, new_meta(upstream, Redactor(new_salt()).redaction)).close()
    except OSError as exc:
        raise ReplaySetupError(f"--record-new cannot start the cassette {path}: {exc.strerror or exc}") from None
