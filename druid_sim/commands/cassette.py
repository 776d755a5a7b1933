"""`druid-sim cassette list|show|check`: the shipped cassettes; summarise one, or fail if it still holds a secret.

FILE may be a path or a shipped cassette's name (``docs-examples``), as everywhere a cassette is taken.
"""

from __future__ import annotations

import argparse
import sys
from typing import Any

from druid_sim.builtin import cassette_names
from druid_sim.cassette import CassetteError, find_secrets, load_cassette, summarize
from druid_sim.cassette.summary import format_summary
from druid_sim.commands.sizes import add_cassette_size_argument

#: Exit codes of `check`: 0 clean, 1 secrets found, 2 the cassette cannot be read.
EXIT_CLEAN, EXIT_SECRETS, EXIT_INVALID = 0, 1, 2


def register(subparsers: Any) -> None:
    """Add the `cassette` subcommand and its actions."""
    parser: argparse.ArgumentParser = subparsers.add_parser("cassette", help="inspect and check cassettes")
    actions = parser.add_subparsers(dest="action", metavar="ACTION", required=True)
    listing = actions.add_parser("list", help="the cassettes shipped with druid-sim, one line each")
    listing.set_defaults(func=run_list)
    show = actions.add_parser("show", help="summary: interactions per endpoint, tasks seen, time span")
    show.add_argument("file", metavar="FILE", help="a cassette file or a shipped cassette's name")
    add_cassette_size_argument(show)
    show.set_defaults(func=run_show)
    check = actions.add_parser(
        "check",
        help="validate a cassette and fail (exit 1) if anything looks like a secret",
        description="Exit codes: 0 clean, 1 something secret-looking is present, 2 the cassette is invalid.",
    )
    check.add_argument("file", metavar="FILE", nargs="+")
    add_cassette_size_argument(check)
    check.set_defaults(func=run_check)


def run_list(args: argparse.Namespace) -> int:
    """Print each shipped cassette: its name, how many interactions, and where it was recorded."""
    names = cassette_names()
    width = max((len(name) for name in names), default=0)
    status = 0
    for name in names:
        try:
            cassette = load_cassette(name)
        except CassetteError as exc:
            print(f"{name.ljust(width)}  (invalid: {exc})")
            status = EXIT_INVALID
            continue
        meta = cassette.meta
        source = f" from {meta.upstream}" if meta.upstream else ""
        print(
            f"{name.ljust(width)}  {len(cassette.interactions)} interactions recorded {meta.recorded_at[:10]}{source}"
        )
    return status


def run_show(args: argparse.Namespace) -> int:
    """Print the summary of one cassette."""
    try:
        cassette = load_cassette(args.file, args.max_cassette_size)
    except CassetteError as exc:
        print(f"druid-sim cassette show: {exc}", file=sys.stderr)
        return EXIT_INVALID
    print(format_summary(cassette, summarize(cassette)))
    return 0


def run_check(args: argparse.Namespace) -> int:
    """Check each cassette; the worst result decides the exit code."""
    worst = EXIT_CLEAN
    for file in args.file:
        try:
            cassette = load_cassette(file, args.max_cassette_size)
        except CassetteError as exc:
            print(f"{exc}", file=sys.stderr)
            worst = EXIT_INVALID
            continue
        findings = find_secrets(cassette)
        for warning in cassette.warnings:
            print(f"warning: {warning}", file=sys.stderr)
        for finding in findings:
            print(f"{file}: {finding}")
        if findings:
            print(
                f"{file}: {len(findings)} secret-looking value(s). Re-record with redaction on (add --redact-rule for "
                "custom fields), or replace them by hand with <redacted:...> placeholders.",
                file=sys.stderr,
            )
            worst = max(worst, EXIT_SECRETS)
        else:
            print(f"{file}: ok ({len(cassette.interactions)} interactions, nothing secret-looking)")
    return worst
