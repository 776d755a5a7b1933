"""``druid-sim serve``: run the simulator (and, with a cassette, the replayer) on uvicorn."""

from __future__ import annotations

import argparse
import logging
import sys
from typing import Any

from simulator.clock import parse_instant


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "serve",
        help="serve the Tasks API from the simulator (a demo cluster by default)",
        description="Serve Druid's Overlord Tasks API on HOST:PORT from a stateful simulated cluster.",
    )
    parser.add_argument("--host", default="127.0.0.1", help="address to bind (default 127.0.0.1: this machine only)")
    parser.add_argument("--port", type=int, default=8888, help="port to listen on (default 8888, the Router's)")
    parser.add_argument("--seed", type=int, default=0, help="seed for names, fates and timings (default 0)")
    parser.add_argument(
        "--time-scale",
        type=float,
        default=1.0,
        help="virtual seconds per real second: 60 plays ten minutes in ten seconds, 0 freezes the clock",
    )
    parser.add_argument("--start-time", type=_instant, default=None, help="where the virtual clock starts (ISO-8601)")
    parser.add_argument("--scenario", default="demo", help="scenario name or file (default demo)")
    parser.add_argument("--no-access-log", action="store_true", help="do not log one line per request")
    parser.set_defaults(func=run)


def _instant(value: str) -> int:
    try:
        return parse_instant(value)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def run(args: argparse.Namespace) -> int:
    import uvicorn

    from simulator.assembly import build_app
    from simulator.config import ServeConfig, build_simulation

    if args.time_scale < 0:
        print("druid-sim serve: --time-scale cannot be negative; use 0 to freeze the clock", file=sys.stderr)
        return 2
    config = ServeConfig(
        host=args.host,
        port=args.port,
        seed=args.seed,
        time_scale=args.time_scale,
        start_ms=args.start_time,
        scenario=args.scenario,
        access_log=not args.no_access_log,
    )
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    simulation = build_simulation(config)
    app = build_app(simulation)
    print(f"druid-sim: Overlord Tasks API on {config.self_url}/druid/indexer/v1/tasks (Ctrl-C stops)", flush=True)
    uvicorn.run(
        app,
        host=config.host,
        port=config.port,
        loop="uvloop",
        http="httptools",
        access_log=False,
        server_header=False,
        log_level="warning",
        lifespan="on",
    )
    return 0
