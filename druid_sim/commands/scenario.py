"""``druid-sim scenario``: list the built-in scenarios, validate a scenario file, show one."""

from __future__ import annotations

import argparse
import sys
from typing import Any


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "scenario",
        help="list, validate and show scenarios",
        description="Scenarios script the simulated cluster: starting tasks, behaviour, faults, timeline "
        "(docs/scenarios.md).",
    )
    actions = parser.add_subparsers(dest="action", metavar="ACTION")
    listing = actions.add_parser("list", help="the built-in scenarios, one line each")
    listing.set_defaults(func=run_list)
    validate = actions.add_parser("validate", help="check scenario files; problems as FILE:LINE: FIELD: MESSAGE")
    validate.add_argument("files", nargs="+", metavar="FILE", help="scenario file(s) or built-in name(s)")
    validate.set_defaults(func=run_validate)
    show = actions.add_parser("show", help="print a scenario (a built-in's name or a file)")
    show.add_argument("name", metavar="NAME", help="built-in name (see `scenario list`) or a file")
    show.set_defaults(func=run_show)
    parser.set_defaults(func=lambda args: _usage(parser))


def _usage(parser: argparse.ArgumentParser) -> int:
    parser.print_help(sys.stderr)
    return 2


def run_list(args: argparse.Namespace) -> int:
    from druid_sim.scenario import ScenarioError, builtin_names, load_scenario

    names = builtin_names()
    width = max((len(name) for name in names), default=0)
    status = 0
    for name in names:
        try:
            description = load_scenario(name).description
        except ScenarioError as exc:
            description = f"(invalid: {exc.problems[0].render(exc.source)})"
            status = 1
        print(f"{name.ljust(width)}  {description}")
    return status


def run_validate(args: argparse.Namespace) -> int:
    from druid_sim.scenario import ScenarioError, load_scenario

    status = 0
    for ref in args.files:
        try:
            scenario = load_scenario(ref)
        except ScenarioError as exc:
            print(exc.render(), file=sys.stderr)
            status = 1
            continue
        print(f"{scenario.source}: ok ({scenario.name}: {scenario.description})")
    return status


def run_show(args: argparse.Namespace) -> int:
    from druid_sim.scenario import ScenarioError, load_scenario, resolve

    try:
        scenario = load_scenario(args.name)
        text = resolve(args.name).read_text(encoding="utf-8")
    except ScenarioError as exc:
        print(exc.render(), file=sys.stderr)
        return 1
    print(f"# {scenario.name}: {scenario.description}\n# file: {scenario.source}")
    print(text, end="" if text.endswith("\n") else "\n")
    return 0
