"""Driving a running simulator from the shell: ``druid-sim health|reset|clock|faults|journal|unused|load``.

Thin wrappers over :class:`druid_sim.client.SimControl`. Each takes ``--url`` (or ``DRUID_SIM_URL``)
and ``--token`` (or ``DRUID_SIM_CONTROL_TOKEN``), prints something a person can read, or the raw JSON
with ``--json``, and exits 1 with the server's message when a call fails.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from druid_sim.client import DEFAULT_URL, TOKEN_ENV, URL_ENV, Clock, SimControl, SimControlError
from druid_sim.clock import wall_clock_ms

Action = Callable[[SimControl, argparse.Namespace], Any]


def _common(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--url", default=None, help=f"the simulator's base URL (default ${URL_ENV} or {DEFAULT_URL})")
    parser.add_argument(
        "--token", default=None, help=f"control API token, if the server requires one (default ${TOKEN_ENV})"
    )
    parser.add_argument("--json", action="store_true", help="print the answer as JSON")


def _add(subparsers: Any, name: str, help: str, action: Action, **kwargs: Any) -> argparse.ArgumentParser:
    parser: argparse.ArgumentParser = subparsers.add_parser(
        name, help=help, description=help[:1].upper() + help[1:] + ".", **kwargs
    )
    _common(parser)
    parser.set_defaults(func=lambda args: _run(action, args))
    return parser


def register(subparsers: Any) -> None:
    _add(subparsers, "health", "check that a simulator answers, and show what it serves", _health)
    _add(subparsers, "reset", "put a running simulator back to its scenario's start, clock included", _reset)

    clock = _add(subparsers, "clock", "show or move a running simulator's virtual clock", _clock)
    steps = clock.add_subparsers(dest="step", metavar="STEP")
    for name, help_text, argument in (
        ("advance", "move forward by a duration", ("duration", "seconds, or 250ms, 30s, 5m, 2h, 1d")),
        ("to", "move forward to an instant", ("instant", "ISO-8601, e.g. 2026-01-01T01:00:00Z")),
        ("scale", "virtual seconds per real second from now on (0 freezes)", ("scale", "a number ≥ 0")),
        ("freeze", "stop time (it then moves only with 'advance')", None),
    ):
        step = steps.add_parser(name, help=help_text)
        if argument:
            step.add_argument(argument[0], help=argument[1])
        _common(step)

    faults = _add(subparsers, "faults", "list, add, remove or clear a running simulator's faults", _faults)
    verbs = faults.add_subparsers(dest="verb", metavar="VERB")
    _common(verbs.add_parser("list", help="the faults in force, with their counters"))
    add = verbs.add_parser("add", help="add faults: inline JSON, or a JSON/YAML file with one fault or a list")
    add.add_argument("spec", help='e.g. \'{"kind": "error", "status": 503, "when": {"first": 2}}\' or faults.yaml')
    _common(add)
    remove = verbs.add_parser("remove", help="remove one fault by name")
    remove.add_argument("name")
    _common(remove)
    _common(verbs.add_parser("clear", help="remove every fault"))

    journal = _add(subparsers, "journal", "show, count or clear the Druid requests a simulator received", _journal)
    journal.add_argument("--method", help="GET, POST, ... (case-insensitive)")
    journal.add_argument("--path", help="glob on the path; * also crosses /, e.g. '/druid/indexer/v1/task/*'")
    journal.add_argument("--status", type=int, help="status code answered")
    journal.add_argument(
        "--answered-by", choices=("model", "replay", "fault", "security", "upstream"), help="what answered"
    )
    journal.add_argument("--fault", help="name of the fault applied")
    journal.add_argument("--user", help="the user a request was made as (a secured cluster)")
    journal.add_argument("--since", type=int, help="only entries after this sequence number")
    journal.add_argument("--limit", type=int, help="only the newest N matches")
    journal.add_argument("--count", action="store_true", help="print how many match instead of listing them")
    journal.add_argument(
        "--group-by", choices=("method", "path", "status", "answeredBy", "fault", "user"), help="count per group"
    )
    journal.add_argument("--clear", action="store_true", help="forget every entry")
    journal.add_argument(
        "--save",
        metavar="FILE",
        help="save the matching exchanges as a cassette (redacted as druid-sim record redacts), to replay with "
        "druid-sim serve --cassette FILE; an existing FILE is not overwritten",
    )

    _add(subparsers, "unused", "list recorded interactions the replayed cassette has not played", _unused)
    load = _add(subparsers, "load", "load another scenario or cassette into a running simulator", _load)
    which = load.add_mutually_exclusive_group(required=True)
    which.add_argument("--scenario", help="built-in scenario name or scenario file")
    which.add_argument("--cassette", help="cassette file (a path on the server's machine) or a shipped cassette's name")


def _run(action: Action, args: argparse.Namespace) -> int:
    try:
        with SimControl(args.url, args.token) as sim:
            result = action(sim, args)
    except SimControlError as exc:
        print(f"druid-sim {args.command}: {exc}", file=sys.stderr)
        for problem in exc.problems:
            print(f"  {problem.get('field') or '(fault)'}: {problem.get('message')}", file=sys.stderr)
        return 1
    if isinstance(result, str):
        print(result)
    elif result is not None:
        print(json.dumps(result, indent=None if args.json else 2, ensure_ascii=False))
    return 0


def _health(sim: SimControl, args: argparse.Namespace) -> Any:
    health = sim.health()
    if args.json:
        return health
    clock = health["clock"]
    state = "frozen" if clock["frozen"] else f"x{clock['scale']:g}"
    scenario = f"scenario {health['scenario']}" if health["scenario"] else "no scenario"
    cassette = f"cassette {health['cassette']}" if health["cassette"] else "no cassette"
    return (
        f"druid-sim at {sim.url}: {health['status']}, Druid {health['druidVersion']}, {scenario}, {cassette}, "
        f"clock {clock['now']} ({state}), journal {health['journal']['held']}/{health['journal']['size']}"
    )


def _reset(sim: SimControl, args: argparse.Namespace) -> Any:
    clock = sim.reset()
    if args.json:
        return clock
    return "back to the start: tasks, faults, journal and replay cursors; " + _rewound(clock)


def _rewound(clock: Clock) -> str:
    """Say that the clock went back to its start, and how far behind the wall clock that leaves it."""
    rewound_from = clock.get("rewoundFrom")
    if rewound_from is None or rewound_from == clock["now"]:
        said = f"the clock is at its start, {clock['now']}"
    else:
        said = f"the clock went back from {rewound_from} to its start, {clock['now']}"
    behind_s = (wall_clock_ms() - clock["nowMillis"]) // 1000
    if behind_s > 0:
        said += f" ({_span(behind_s)} behind the wall clock; `druid-sim clock to INSTANT` moves it forward)"
    return said


def _span(seconds: int) -> str:
    """``3d4h``, ``2h5m``, ``3m12s``, ``42s``: the two largest units."""
    parts: list[str] = []
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60), ("s", 1)):
        if seconds >= size or (unit == "s" and not parts):
            parts.append(f"{seconds // size}{unit}")
            seconds %= size
    return "".join(parts[:2])


def _clock(sim: SimControl, args: argparse.Namespace) -> Any:
    step = getattr(args, "step", None)
    if step == "advance":
        clock = sim.advance(_number_or_text(args.duration))
    elif step == "to":
        clock = sim.advance_to(args.instant)
    elif step == "scale":
        clock = sim.set_scale(float(_number_or_text(args.scale)))
    elif step == "freeze":
        clock = sim.freeze()
    else:
        clock = sim.clock()
    if args.json:
        return clock
    state = "frozen" if clock["frozen"] else f"running x{clock['scale']:g}"
    return f"{clock['now']} ({state})"


def _number_or_text(value: str) -> float | str:
    try:
        return float(value)
    except ValueError:
        return value


def _faults(sim: SimControl, args: argparse.Namespace) -> Any:
    verb = getattr(args, "verb", None) or "list"
    if verb == "add":
        return sim.add_fault(_fault_spec(args.spec))
    if verb == "remove":
        sim.remove_fault(args.name)
        return {"removed": args.name} if args.json else f"removed {args.name}"
    if verb == "clear":
        cleared = sim.clear_faults()
        return {"cleared": cleared} if args.json else f"cleared {cleared} fault(s)"
    faults = sim.faults()
    if args.json:
        return faults
    if not faults:
        return "no faults"
    return "\n".join(
        f"{fault['name']}: {fault['kind']} (seen {fault['seen']}, fired {fault['fired']}) "
        + json.dumps({k: v for k, v in fault.items() if k not in ("name", "kind", "seen", "fired")})
        for fault in faults
    )


def _fault_spec(text: str) -> Any:
    """Inline JSON, or a JSON or YAML file holding one fault, a list, or a scenario with ``faults:``."""
    import yaml

    path = Path(text)
    if not text.lstrip().startswith(("{", "[")) and path.suffix.lower() in (".json", ".yaml", ".yml"):
        try:
            source = path.read_text(encoding="utf-8")
        except OSError as exc:
            raise SimControlError(
                0, f"cannot read {text}: {exc.strerror}; give inline JSON or a readable file"
            ) from None
    else:
        source = text
    try:
        spec = yaml.safe_load(source)  # JSON is YAML
    except yaml.YAMLError as exc:
        raise SimControlError(0, f'{text!r} is neither JSON nor YAML ({exc}); e.g. \'{{"kind": "hang"}}\'') from None
    if isinstance(spec, dict) and "faults" in spec and "kind" not in spec:
        spec = spec["faults"]
    return spec


def _journal(sim: SimControl, args: argparse.Namespace) -> Any:
    if args.save:
        return _save_journal(sim, args)
    if args.clear:
        cleared = sim.clear_journal()
        return {"cleared": cleared} if args.json else f"cleared {cleared} entr{'y' if cleared == 1 else 'ies'}"
    filters = dict(
        method=args.method,
        path=args.path,
        status=args.status,
        answered_by=args.answered_by,
        fault=args.fault,
        user=args.user,
        since=args.since,
    )
    if args.group_by:
        return sim.count_by(args.group_by, method=args.method, path=args.path)
    if args.count:
        count = sim.count(**filters)
        return {"count": count} if args.json else str(count)
    entries = sim.journal(**filters, limit=args.limit)
    if args.json:
        return entries
    lines = []
    for entry in entries:
        query = "?" + entry["query"] if entry["query"] else ""
        by = entry["answeredBy"] or "-"
        if entry["fault"]:
            by += f" ({entry['fault']})"
        if entry.get("user"):
            by += f" as {entry['user']}"
        lines.append(
            f"{entry['seq']:>6} {entry['time']} {entry['method']:<6} {entry['path']}{query} -> {entry['status'] or '-'} by {by}"
        )
    return "\n".join(lines) if lines else "no requests"


def _save_journal(sim: SimControl, args: argparse.Namespace) -> Any:
    """``journal --save FILE``: the journal as a cassette, written only if FILE does not exist yet."""
    exported = sim.journal_cassette(
        args.method, args.path, status=args.status, answered_by=args.answered_by, user=args.user, since=args.since
    )
    try:
        with open(args.save, "xb") as file:
            file.write(exported.cassette)
    except FileExistsError:
        raise SimControlError(0, f"{args.save} exists already; choose another file or delete it first") from None
    except OSError as exc:
        raise SimControlError(0, f"cannot write {args.save}: {exc.strerror or exc}") from None
    if args.json:
        return {"file": args.save, "exported": exported.exported, "skipped": exported.skipped}
    left_out = "" if exported.skipped == "none" else f" (left out: {exported.skipped})"
    return f"saved {exported.exported} exchange(s) as a cassette in {args.save}{left_out}; replay it with druid-sim serve --cassette {args.save}"


def _unused(sim: SimControl, args: argparse.Namespace) -> Any:
    unused = sim.unused()
    if args.json:
        return unused
    if not unused:
        return "every recorded interaction was played"
    return "\n".join(
        f"#{item['interaction']} {item['method']} {item['path']} -> {item['status']} (played {item['played']} of {item['recorded']})"
        for item in unused
    )


def _load(sim: SimControl, args: argparse.Namespace) -> Any:
    loaded = sim.load_scenario(args.scenario) if args.scenario else sim.load_cassette(args.cassette)
    if args.json:
        return loaded
    if args.scenario:
        what = f"scenario {loaded['scenario']}: {loaded.get('description', '')}"
    else:
        what = f"cassette {loaded.get('cassette')}" if loaded.get("cassette") else "no cassette (the model answers)"
    return f"loaded {what}\nthe simulation was reset; {_rewound(loaded['clock'])}"
