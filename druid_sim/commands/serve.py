"""``druid-sim serve``: run the simulator (and, with a cassette, the replayer) on uvicorn."""

from __future__ import annotations

import argparse
import contextlib
import gc
import importlib.util
import logging
import os
import socket
import sys
from dataclasses import replace
from typing import TYPE_CHECKING, Any

from druid_sim.clock import check_scale, parse_instant
from druid_sim.commands.sizes import add_cassette_size_argument, size_type
from druid_sim.druid.web_console import WebConsoleError, check_console_dir
from druid_sim.limits import ServerLimits
from druid_sim.replay.command import add_replay_arguments
from druid_sim.server.serving import listen_error, listening_socket, open_file_room, uvicorn_settings

if TYPE_CHECKING:
    from druid_sim.config import ServeConfig
    from druid_sim.control.auth import TokenDecision
    from druid_sim.replay.engine import Replay
    from druid_sim.state import Settings, Store
    from druid_sim.state.fence import Fence


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "serve",
        help="serve the Tasks API from the simulator (a demo cluster by default)",
        description="Serve Druid's Overlord Tasks API on HOST:PORT from a stateful simulated cluster.",
    )
    parser.add_argument("--host", default="127.0.0.1", help="address to bind (default 127.0.0.1: this machine only)")
    parser.add_argument(
        "--port", type=_port, default=8888, help="port to listen on (default 8888, the Router's; 0 picks a free one)"
    )
    parser.add_argument(
        "--seed",
        type=_seed,
        default=None,
        help="seed for names, fates and timings (default: the scenario's seed, else 0)",
    )
    parser.add_argument(
        "--time-scale",
        type=float,
        default=1.0,
        help="virtual seconds per real second (default 1): 60 plays ten minutes in ten seconds, 0 freezes the clock",
    )
    parser.add_argument(
        "--start-time",
        type=_instant,
        default=None,
        help="where the virtual clock starts, ISO-8601 (default now; with --cassette, where the recording ended)",
    )
    parser.add_argument(
        "--scenario",
        default=None,
        help="a built-in scenario's name (`druid-sim scenario list`) or a scenario file (default demo; none "
        "with --cassette)",
    )
    parser.add_argument("--no-access-log", action="store_true", help="do not log one line per request")
    parser.add_argument(
        "--no-dashboard",
        action="store_true",
        help="do not serve the dashboard page at / (then / answers Druid's 404, as an Overlord without a console)",
    )
    parser.add_argument(
        "--web-console",
        metavar="PATH",
        default=None,
        help="serve a build of Druid's web console from PATH at /unified-console.html, as the Router does",
    )
    parser.add_argument(
        "--control-token",
        default=None,
        help="Bearer token the /__sim/ control API requires (default $DRUID_SIM_CONTROL_TOKEN; generated and "
        "printed when listening beyond loopback; none needed on loopback)",
    )
    parser.add_argument(
        "--journal-size", type=int, default=10_000, help="how many Druid requests the journal keeps (default 10000)"
    )
    parser.add_argument(
        "--workers",
        type=int,
        default=1,
        help="worker processes (default 1). More than one needs --cassette: the workers share the replay's "
        "sequence cursors, but each has its own model, clock, faults and journal, so /__sim/ answers reads "
        "only (changes get 409); always uvloop + httptools",
    )
    parser.add_argument(
        "--data-dir",
        action="append",
        default=[],
        metavar="DIR",
        help="a folder the control API may load scenario and cassette files from (repeatable; default: the "
        "working directory). Files given to --scenario and --cassette are always allowed",
    )
    parser.add_argument(
        "--state",
        default=None,
        metavar="PATH|URL",
        help="keep what clients did in a state store and rebuild from it on start (docs/state.md): an SQLite "
        "file, or postgresql://... for replicas that share it and elect a leader (default: memory only); with "
        "--cassette, keep the replay's sequence cursors there, shared by every replica replaying it",
    )
    parser.add_argument(
        "--advertise-url",
        default=None,
        metavar="URL",
        help="the URL clients know this Overlord by: what GET /druid/indexer/v1/leader answers while it leads, and, "
        "with --state postgresql://..., where other replicas redirect clients (default http://HOST:PORT)",
    )
    add_replay_arguments(parser)
    _add_limit_arguments(parser)
    parser.set_defaults(func=run)


def _add_limit_arguments(parser: argparse.ArgumentParser) -> None:
    """What one client may take of the server (`druid_sim.limits` says why each default)."""
    limits = ServerLimits()
    group = parser.add_argument_group(
        "limits", "what a client may take of the server; beyond them it gets the answer Druid's Jetty would give"
    )
    group.add_argument(
        "--max-body-size",
        type=size_type,
        default=limits.max_body_size,
        metavar="SIZE",
        help="largest request body, e.g. 64MiB, 500KB, 65536 (default 64MiB, MySQL 8's max_allowed_packet, "
        "which bounds what a Druid metadata store takes); larger ones get 413 before they are read",
    )
    group.add_argument(
        "--max-header-size",
        type=size_type,
        default=limits.max_header_size,
        metavar="SIZE",
        help="largest request line plus headers (default 8KiB, Druid's druid.server.http.maxRequestHeaderSize); "
        "larger ones get 431 (414 for a long URL)",
    )
    group.add_argument(
        "--request-timeout",
        type=float,
        default=limits.request_timeout,
        metavar="SECONDS",
        help="how long a request may take to arrive whole, from the connection opening or its first byte "
        "(default 30); then 408, or a silent close if nothing arrived",
    )
    group.add_argument(
        "--keep-alive-timeout",
        type=float,
        default=limits.keep_alive_timeout,
        metavar="SECONDS",
        help="how long an idle keep-alive connection stays open (default 300, Druid's druid.server.http.maxIdleTime)",
    )
    group.add_argument(
        "--max-connections",
        type=int,
        default=limits.max_connections,
        metavar="N",
        help="open connections (per worker) before new ones get 503 and are closed (default 1000)",
    )
    group.add_argument(
        "--max-stored-payloads",
        type=size_type,
        default=limits.max_stored_payloads,
        metavar="SIZE",
        help="submitted task payloads kept for GET /task/{id} (default 128MiB); beyond it the oldest complete "
        "tasks' payloads are let go of (404 payload null, as after Druid's metadata cleanup)",
    )
    group.add_argument(
        "--max-complete-tasks",
        type=int,
        default=limits.max_complete_tasks,
        metavar="N",
        help="complete tasks remembered (default 100000, about 1.5 KB each); past it the oldest are forgotten, "
        "a tenth of N at a time "
        "(GET /task/{id} then answers 404, as after Druid's metadata cleanup)",
    )
    group.add_argument(
        "--queue-max-size",
        type=int,
        default=limits.queue_max_size,
        metavar="N",
        help="Druid's druid.indexer.queue.maxSize: active tasks before a submit gets 429 (default: the "
        "scenario's queue_max_size, else unlimited as in Druid)",
    )
    add_cassette_size_argument(group)


def _limits(args: argparse.Namespace) -> ServerLimits:
    return ServerLimits(
        max_body_size=args.max_body_size,
        max_header_size=args.max_header_size,
        request_timeout=args.request_timeout,
        keep_alive_timeout=args.keep_alive_timeout,
        max_connections=args.max_connections,
        max_stored_payloads=args.max_stored_payloads,
        max_cassette_size=args.max_cassette_size,
        max_complete_tasks=args.max_complete_tasks,
        queue_max_size=args.queue_max_size,
    )


def _port(value: str) -> int:
    try:
        port = int(value)
    except ValueError:
        port = -1
    if not 0 <= port <= 65535:
        raise argparse.ArgumentTypeError(f"{value!r} is not a port: give 1 to 65535, or 0 to pick a free one")
    return port


def _seed(value: str) -> int:
    """A seed a scenario could give too: a whole number from 0 to a Java long's maximum."""
    from druid_sim.fields import LONG_MAX

    try:
        seed = int(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a whole number: {value!r}") from None
    if not 0 <= seed <= LONG_MAX:
        raise argparse.ArgumentTypeError(f"must be between 0 and {LONG_MAX}, not {value}")
    return seed


def _instant(value: str) -> int:
    try:
        return parse_instant(value)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def _check_scenario(config: ServeConfig, seed: int | None) -> ServeConfig | None:
    """Validate the scenario before anything starts (None after printing why); apply its seed."""
    from druid_sim.scenario import ScenarioError, load_scenario

    if config.scenario is None:
        return config
    try:
        scenario = load_scenario(config.scenario)
    except ScenarioError as exc:
        print(f"druid-sim serve: the scenario cannot be used:\n{exc}", file=sys.stderr)
        return None
    if seed is None and scenario.seed is not None:
        return replace(config, seed=scenario.seed)
    return config


def run(args: argparse.Namespace) -> int:
    from druid_sim.config import ServeConfig
    from druid_sim.control.auth import TOKEN_ENV, decide_control_token
    from druid_sim.replay.command import ReplaySetupError, prepare_replay, replay_settings

    try:
        check_scale(args.time_scale)
    except ValueError as exc:
        print(f"druid-sim serve: --time-scale: {exc}; use 0 to freeze the clock", file=sys.stderr)
        return 2
    if args.journal_size < 1:
        print("druid-sim serve: --journal-size must be at least 1 (default 10000)", file=sys.stderr)
        return 2
    if args.workers < 1:
        print("druid-sim serve: --workers must be at least 1 (default 1)", file=sys.stderr)
        return 2
    limits = _limits(args)
    for problem in limits.problems():
        print(f"druid-sim serve: {problem}", file=sys.stderr)
    if limits.problems():
        return 2
    if args.workers > 1 and not args.cassette and args.state is None:
        print(
            "druid-sim serve: --workers above 1 needs --state FILE (the workers share the simulated cluster "
            "through it) or --cassette (replay shares its sequence cursors between workers); without either "
            "each worker would invent its own cluster",
            file=sys.stderr,
        )
        return 2
    if args.workers > 1 and importlib.util.find_spec("uvloop") is None:
        print(
            "druid-sim serve: --workers above 1 needs uvloop (pip install uvloop): on the asyncio loop "
            "uvicorn's workers lose TCP_NODELAY and every request waits ~44 ms",
            file=sys.stderr,
        )
        return 2
    if args.state is not None and args.workers > 1 and (args.cassette or "://" in args.state):
        print(
            "druid-sim serve: --workers above 1 with --state needs an SQLite file and no --cassette: "
            + (
                "replay's workers share their cursors through a file of their own; with --state run more "
                "replicas on it instead"
                if args.cassette
                else "with PostgreSQL, run more replicas on the same --state instead, each with --workers 1"
            )
            + " (docs/state.md)",
            file=sys.stderr,
        )
        return 2
    if args.web_console is not None:
        try:
            check_console_dir(args.web_console)
        except WebConsoleError as exc:
            print(f"druid-sim serve: {exc}", file=sys.stderr)
            return 2
    if args.upstream is not None:
        from druid_sim.proxy.launcher import LaunchError, check_upstream

        try:
            args.upstream = check_upstream(args.upstream, flag="--upstream")
        except LaunchError as exc:
            print(f"druid-sim serve: {exc}", file=sys.stderr)
            return 2
    control = decide_control_token(args.host, args.control_token or os.environ.get(TOKEN_ENV))
    config = ServeConfig(
        control_token=control.token,
        journal_size=args.journal_size,
        host=args.host,
        port=args.port,
        seed=args.seed if args.seed is not None else 0,
        time_scale=args.time_scale,
        start_ms=args.start_time,
        scenario=args.scenario or (None if args.cassette else "demo"),
        access_log=not args.no_access_log,
        dashboard=not args.no_dashboard,
        web_console=args.web_console,
        workers=args.workers,
        limits=limits,
        data_dirs=tuple(args.data_dir),
        state=args.state,
        advertise_url=args.advertise_url,
        **replay_settings(args),
    )
    store: Store | None = None
    stored: tuple[Store, Settings] | None = None
    if config.state is not None and config.cassette is None:  # with a cassette, the store keeps its cursors only
        from druid_sim.state import StoreError
        from druid_sim.state.serving import open_for

        try:
            config, store, settings = open_for(config, args.scenario is not None, args.seed is not None)
        except StoreError as exc:
            print(f"druid-sim serve: {exc}", file=sys.stderr)
            return 2
        stored = (store, settings)
    checked = _check_scenario(config, config.seed if store is not None else args.seed)
    if checked is None:
        return 2
    config = checked
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    try:
        config, replay = prepare_replay(config)
    except ReplaySetupError as exc:
        print(f"druid-sim serve: {exc}", file=sys.stderr)
        return 2
    if replay is not None and config.state is not None and not _share_cursors(replay, config.state):
        return 2
    warning = open_file_room(limits.max_connections)
    if warning is not None:
        print(f"druid-sim serve: {warning}", file=sys.stderr)
    try:  # before anything is announced: a port in use is said plainly, and port 0 announces the real one
        sock = listening_socket(args.host, args.port)
    except OSError as exc:
        print(
            f"druid-sim serve: {listen_error(args.host, args.port, exc)} with --port (0 picks a free one)",
            file=sys.stderr,
        )
        return 1
    with sock:
        return _serve(replace(config, port=sock.getsockname()[1]), replay, control, sock, stored)


def _share_cursors(replay: Replay, location: str) -> bool:
    """``--cassette FILE --state URL``: the replay's cursors in the store, shared by every replica on it
    (`druid_sim.state.cursors`); False after saying why the store cannot be used."""
    from druid_sim.replay.cursors import cassette_identity
    from druid_sim.state import StoreError
    from druid_sim.state.cursors import open_cursors

    try:
        cursors = open_cursors(location, cassette_identity(replay.cassette.path, replay.options.rules))
    except StoreError as exc:
        print(f"druid-sim serve: {exc}", file=sys.stderr)
        return False
    except OSError as exc:
        print(f"druid-sim serve: cannot read the cassette {replay.name}: {exc.strerror or exc}", file=sys.stderr)
        return False
    replay.cursors = cursors
    return True


def _serve(
    config: ServeConfig,
    replay: Replay | None,
    control: TokenDecision,
    sock: socket.socket,
    stored: tuple[Store, Settings] | None = None,
) -> int:
    """Announce, then serve on ``sock`` until stopped (`druid_sim.server.stopping`); the exit status."""
    from druid_sim.replay.engine import format_banner
    from druid_sim.replay.wiring import install_replay
    from druid_sim.security import announcement as security_announcement
    from druid_sim.server.assembly import build_app
    from druid_sim.server.stopping import serve as serve_until_stopped
    from druid_sim.simulation import build_simulation

    if replay is not None:
        print(format_banner(replay), flush=True)
        kept = replay.cursors.describe()
        if kept.get("shared"):
            print(
                f"druid-sim: sequence cursors in {kept['location']} (cassette {kept['cassetteId'][:12]}), shared by "
                "every replica replaying it there",
                flush=True,
            )
    if replay is not None and config.workers > 1:
        generated = control.token if control.generated else None
        return _run_workers(config, replay, control.announcement(config.self_url), generated, sock)
    if stored is not None and config.workers > 1:
        return _run_state_workers(config, stored, control, sock)
    simulation = build_simulation(config)
    forward = None
    if replay is not None:
        install_replay(simulation, replay)
        if replay.forward_log is not None and config.replay_upstream is not None:
            from druid_sim.replay.forward import Forwarder

            forward = Forwarder(config.replay_upstream, replay.forward_log, name="the upstream")
    app = build_app(simulation, forward=forward)
    if stored is not None:
        from druid_sim.state import StoreError
        from druid_sim.state.serving import install

        try:
            ledger = install(simulation, app, *stored)
        except StoreError as exc:
            stored[0].close()
            print(f"druid-sim serve: {exc}", file=sys.stderr)
            return 2
        role = "leading" if ledger.leading else f"standing by ({simulation.leadership.current or 'no leader yet'})"
        since = f" (from the snapshot at action {ledger.snapshot_seq})" if ledger.snapshot_seq else ""
        print(
            f"druid-sim: state in {ledger.store.location}: {ledger.applied} actions rebuilt{since}, {role}", flush=True
        )
    print(f"druid-sim: Overlord Tasks API on {config.self_url}/druid/indexer/v1/tasks (Ctrl-C stops)", flush=True)
    print(control.announcement(config.self_url), flush=True)
    secured = security_announcement(simulation)
    if secured:
        print(secured, flush=True)
    _announce_dashboard(config, control.token if control.generated else None)
    # The starting cluster lives as long as the server: move it out of the cyclic GC's reach, or every
    # full collection walks it (~0.3 s with 100,000 tasks held, in the middle of some request).
    gc.collect()
    gc.freeze()
    snapshots = None
    if stored is not None:  # a process of its own follows the store and snapshots the model (docs/state.md)
        from druid_sim.server.snapshots import start as start_snapshots

        snapshots = start_snapshots(config)
    try:
        return 0 if serve_until_stopped(app, sock, uvicorn_settings(), lambda: _summarise(config, replay)) else 1
    finally:
        if snapshots is not None:
            snapshots.stop()


def _summarise(config: ServeConfig, replay: Replay | None) -> None:
    """What a stopped replay says, on SIGINT and SIGTERM alike: hits, misses, what was forwarded, unused."""
    from druid_sim.actions import StoreUnavailable
    from druid_sim.replay.engine import format_totals, format_unused

    if replay is None:
        return
    if replay.forward_log is not None:
        replay.forward_log.close()
    try:
        print(format_totals(replay, listed=config.report_unused), flush=True)
        if config.report_unused:
            print(format_unused(replay), flush=True)
    except StoreUnavailable as exc:  # cursors in a database that went away: nothing to count with
        print(f"druid-sim: {replay.name}: {replay.hits} hits, {replay.miss_count} misses ({exc})", flush=True)


def _announce_dashboard(config: ServeConfig, generated_token: str | None) -> None:
    """The start banner's dashboard line; with a generated token, a link that carries it (in the fragment,
    which browsers never send to a server, so it stays out of access logs and Referer headers)."""
    if not config.dashboard:
        return
    link = f"{config.self_url}/" + (f"#token={generated_token}" if generated_token else "")
    print(f"druid-sim: dashboard on {link}", flush=True)


def _run_state_workers(
    config: ServeConfig, stored: tuple[Store, Settings], control: TokenDecision, sock: socket.socket
) -> int:
    """``--workers N --state FILE``: N uvicorn processes, each with the whole model, sharing the store.

    This process rebuilds the model once, in a thread, while the workers rebuild theirs side by side: a
    store that cannot be served is refused in one line (exit status 2) and no worker ever answers; else it
    goes live (a jump of the clock since the store was last served is kept, as a single server keeps it),
    lets its copy go and tells the workers, through their fence (`druid_sim.state.fence`), that they may
    serve. It keeps the file's lock while they do, and runs the snapshotter.
    """
    import signal
    import tempfile
    import threading

    from druid_sim.server.stopping import serve_workers
    from druid_sim.server.workers import WORKER_ENV, encode_state_settings
    from druid_sim.state.fence import READY, REFUSED, Fence

    store = stored[0]
    descriptor, fence_path = tempfile.mkstemp(prefix="druid-sim-fence-", suffix=".bin")
    os.close(descriptor)
    fence = Fence(fence_path, create=True)
    refused: list[str] = []
    snapshots: list[Any] = []

    def go_live() -> None:
        problem = _rebuild_once(config, stored, fence)
        if problem is not None:
            refused.append(problem)
            print(f"druid-sim serve: {problem}", file=sys.stderr, flush=True)
            fence.settle(REFUSED)
            os.kill(os.getpid(), signal.SIGTERM)  # the workers never answered: stop them
            return
        from druid_sim.server.snapshots import start as start_snapshots

        snapshots.append(start_snapshots(config))
        print(
            f"druid-sim: Overlord Tasks API on {config.self_url}/druid/indexer/v1/tasks, {config.workers} workers "
            "sharing the state store (Ctrl-C stops)",
            flush=True,
        )
        print(control.announcement(config.self_url), flush=True)
        _announce_dashboard(config, control.token if control.generated else None)

    try:
        os.environ[WORKER_ENV] = encode_state_settings(config, fence_path)
        threading.Thread(target=go_live, name="druid-sim-rebuild", daemon=True).start()
        serve_workers("druid_sim.server.workers:create_app", sock, config.workers, uvicorn_settings())
    finally:
        os.environ.pop(WORKER_ENV, None)
        for process in snapshots:
            process.stop()
        if fence.ready != READY and not refused:
            fence.settle(REFUSED)  # stopped before the rebuild was done: no worker may go on waiting
        fence.close()
        with contextlib.suppress(FileNotFoundError):
            os.unlink(fence_path)
        store.close()
    return 2 if refused else 0


def _rebuild_once(config: ServeConfig, stored: tuple[Store, Settings], fence: Fence) -> str | None:
    """Rebuild the model from the store, go live and settle the fence `READY`; the refusal, if any."""
    from druid_sim.server.assembly import build_app
    from druid_sim.simulation import build_simulation
    from druid_sim.state import StoreError
    from druid_sim.state.fence import READY
    from druid_sim.state.serving import install

    simulation = build_simulation(config)
    try:
        ledger = install(simulation, build_app(simulation), *stored)
    except StoreError as exc:
        return str(exc)
    since = f" (from the snapshot at action {ledger.snapshot_seq})" if ledger.snapshot_seq else ""
    print(f"druid-sim: state in {stored[0].location}: {ledger.applied} actions rebuilt{since}", flush=True)
    fence.settle(READY, ledger.applied, simulation.clock.now_ms())
    return None


def _run_workers(
    config: ServeConfig, replay: Replay, announcement: str | None, generated_token: str | None, sock: socket.socket
) -> int:
    """``--workers N``: N uvicorn processes built by `druid_sim.server.workers.create_app`, sharing a cursor file
    and the listening socket ``sock``."""
    import tempfile

    from druid_sim.replay.cursors import FileCursors
    from druid_sim.replay.engine import format_totals, format_unused
    from druid_sim.server.stopping import serve_workers
    from druid_sim.server.workers import WORKER_ENV, encode_settings

    sequences = len(replay.index.sequences)
    descriptor, cursor_path = tempfile.mkstemp(prefix="druid-sim-cursors-", suffix=".bin")
    os.close(descriptor)
    try:
        cursors = FileCursors(cursor_path, sequences, create=True)
        os.environ[WORKER_ENV] = encode_settings(config, cursor_path, sequences)
        print(
            f"druid-sim: Overlord Tasks API on {config.self_url}/druid/indexer/v1/tasks, {config.workers} workers "
            "(/__sim/ is read-only; Ctrl-C stops)",
            flush=True,
        )
        print(announcement, flush=True)
        _announce_dashboard(config, generated_token)
        serve_workers("druid_sim.server.workers:create_app", sock, config.workers, uvicorn_settings())
        replay.cursors = cursors  # the parent's replay reads what every worker played
        print(format_totals(replay, counted=False, listed=config.report_unused), flush=True)
        if config.report_unused:
            print(format_unused(replay), flush=True)
        cursors.close()
    finally:
        os.environ.pop(WORKER_ENV, None)
        with contextlib.suppress(FileNotFoundError):
            os.unlink(cursor_path)
    return 0
