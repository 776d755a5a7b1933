"""``druid-sim serve --cassette FILE --workers N``: N uvicorn worker processes replaying one cassette.

The parent checks everything (options, cassette) as a single-process ``serve`` would, creates a cursor
file sized for the cassette's sequences, puts the configuration and that file's path in ``WORKER_ENV``
and hands uvicorn the import string of `create_app`. Each worker loads the same cassette (so numbers the
sequences the same way), builds its own simulation and shares the sequence cursors through
`FileCursors`: a client polling ``/task/{id}/status`` sees the recorded answers in order whichever
worker answers. The parent removes the file when the server stops.

Everything else is per process: the model behind misses, the clock, faults and the journal. So with
more than one worker, the control API's mutating calls (``POST``/``PUT``/``PATCH``/``DELETE`` under
``/__sim/``: reset, clock, faults, journal clearing, loading) answer 409 instead of changing one worker
only. Every ``/__sim/`` answer carries ``X-Druid-Sim-Worker: <pid>`` so a reader can tell the workers apart.
"""

from __future__ import annotations

import dataclasses
import gc
import os
import sys
from typing import Any

import orjson

from druid_sim.asgi import ASGIApp, Message, Receive, Scope, Send
from druid_sim.config import ServeConfig
from druid_sim.limits import ServerLimits

#: The environment variable carrying ``{"config": {...}, "cursors": PATH, "sequences": N}`` to workers.
WORKER_ENV = "DRUID_SIM_WORKER"

WORKER_HEADER = b"x-druid-sim-worker"
_READ_ONLY = frozenset({"GET", "HEAD", "OPTIONS"})


def encode_settings(config: ServeConfig, cursor_path: str, sequences: int) -> str:
    """The value of `WORKER_ENV` for ``config`` and the cursor file."""
    payload = {"config": dataclasses.asdict(config), "cursors": cursor_path, "sequences": sequences}
    return orjson.dumps(payload).decode()


def encode_state_settings(config: ServeConfig, fence_path: str) -> str:
    """The value of `WORKER_ENV` for a simulating server with a store (``--state``) and its fence file."""
    return orjson.dumps({"config": dataclasses.asdict(config), "fence": fence_path}).decode()


def decode_settings(value: str) -> tuple[ServeConfig, str, int]:
    """The configuration, cursor file path and sequence count encoded by `encode_settings`."""
    payload = orjson.loads(value)
    return decode_config(payload["config"]), str(payload["cursors"]), int(payload["sequences"])


def decode_config(encoded: dict[str, object]) -> ServeConfig:
    """A `ServeConfig` from ``dataclasses.asdict`` of one, as JSON gives it back (lists for tuples)."""
    fields: dict[str, Any] = dict(encoded)
    fields["replay_ignore"] = tuple(fields.get("replay_ignore", ()))
    fields["replay_match_on"] = tuple(fields.get("replay_match_on", ()))
    fields["limits"] = ServerLimits(**fields.get("limits", {}))
    fields["data_dirs"] = tuple(fields.get("data_dirs", ()))
    return ServeConfig(**fields)


#: With a store (``--state``), the control calls every worker applies (they are stored actions).
KEPT_CONTROL = ("/__sim/reset", "/__sim/clock", "/__sim/scenario", "/__sim/faults")


class WorkerControl:
    """The ``/__sim/`` API of one worker among several: reads pass, changes answer 409 (with a store, the
    changes it keeps pass: clock, reset, scenario, faults)."""

    def __init__(self, app: ASGIApp, workers: int, stored: bool = False) -> None:
        self.app = app
        self.pid = str(os.getpid()).encode()
        self.kept = KEPT_CONTROL if stored else ()
        if stored:
            self.message = (
                f"this server runs {workers} worker processes (--workers {workers}) sharing a state store, which "
                "keeps clock, reset, scenario and fault changes for all of them; this change would reach only the "
                "worker that answers (each has its own journal); restart druid-sim serve with --workers 1 to use it"
            )
        else:
            self.message = (
                f"this server runs {workers} worker processes (--workers {workers}), each with its own model, "
                "clock, faults and journal, so a change through /__sim/ would reach only the worker that "
                "answers; restart druid-sim serve without --workers (or with --workers 1) to use it"
            )

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        pid = self.pid

        async def tagged(message: Message) -> None:
            if message["type"] == "http.response.start":
                message = {**message, "headers": [*message.get("headers", []), (WORKER_HEADER, pid)]}
            await send(message)

        if scope["type"] != "http" or scope["method"] in _READ_ONLY or scope["path"].startswith(self.kept):
            await self.app(scope, receive, tagged)
            return
        body = orjson.dumps({"error": "conflict", "message": self.message})
        await tagged(
            {
                "type": "http.response.start",
                "status": 409,
                "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())],
            }
        )
        await send({"type": "http.response.body", "body": body})


#: The pid of the ``serve`` process that started the workers: a worker outliving it ends at once.
PARENT_ENV = "DRUID_SIM_SERVE_PID"


def die_with_parent() -> None:
    """End this worker when the ``serve`` process that started it dies, however it dies (``kill -9``
    included): Linux's parent-death signal. Without it, orphaned workers would go on answering on the
    port (and writing the store) beside the next server started in its place."""
    if not sys.platform.startswith("linux"):
        return
    import ctypes
    import signal

    libc = ctypes.CDLL(None, use_errno=True)
    libc.prctl(1, int(signal.SIGKILL))  # PR_SET_PDEATHSIG
    parent = os.environ.get(PARENT_ENV)
    if parent is not None and os.getppid() != int(parent):  # it died before the signal was asked for
        os._exit(1)


def create_app() -> ASGIApp:
    """uvicorn's factory in each worker: the simulation from `WORKER_ENV`, cursors in the shared file."""
    die_with_parent()
    from druid_sim.replay.command import prepare_replay
    from druid_sim.replay.cursors import FileCursors
    from druid_sim.replay.wiring import install_replay
    from druid_sim.server.assembly import build_app
    from druid_sim.simulation import build_simulation

    value = os.environ.get(WORKER_ENV)
    if not value:
        raise RuntimeError(
            f"druid_sim.server.workers:create_app runs in druid-sim serve --workers workers (${WORKER_ENV})"
        )
    payload = orjson.loads(value)
    if "fence" in payload:
        return _state_app(decode_config(payload["config"]), str(payload["fence"]))
    config, cursor_path, sequences = decode_settings(value)
    config, replay = prepare_replay(config)
    if replay is None:
        raise RuntimeError("druid-sim serve --workers needs --cassette")
    if len(replay.index.sequences) != sequences:
        raise RuntimeError(f"the cassette changed since the server started: {cursor_path} no longer matches it")
    replay.cursors = FileCursors(cursor_path, sequences)
    simulation = build_simulation(config)
    install_replay(simulation, replay)
    app = build_app(simulation)
    if app.control is not None:
        app.control = WorkerControl(app.control, config.workers)
    gc.collect()
    gc.freeze()
    return app


def _state_app(config: ServeConfig, fence_path: str) -> ASGIApp:
    """One worker of a simulating server with a store: the whole model, rebuilt from the store, following
    the other workers' writes through it (`druid_sim.state.shared`)."""
    from druid_sim.actions import EXTENSION
    from druid_sim.control.errors import error_response
    from druid_sim.server.assembly import build_app
    from druid_sim.server.serialized import SerializedWrites
    from druid_sim.simulation import build_simulation
    from druid_sim.state.fence import READY, Fence
    from druid_sim.state.shared import WorkerLedger
    from druid_sim.state.store import StoreError, open_store
    from druid_sim.wire import error_page

    assert config.state is not None
    store = open_store(config.state, follower=True)
    settings = store.load_settings()
    if settings is None:
        raise RuntimeError(f"the state store {store.location} lost its settings since the server started")
    simulation = build_simulation(config)
    ledger = WorkerLedger(simulation, store, settings, Fence(fence_path))
    simulation.extensions[EXTENSION] = ledger

    def druid_refusal(scope: Scope, _why: str) -> ASGIApp:
        accept = next((value.decode("latin-1") for name, value in scope["headers"] if name == b"accept"), None)
        return error_page(503, scope["path"], accept)

    def control_refusal(_scope: Scope, why: str) -> ASGIApp:
        return error_response(503, f"the change could not be kept ({why}); retry once the state store answers")

    app = build_app(simulation, serialize=lambda inner: SerializedWrites(inner, ledger, druid_refusal))
    try:
        ledger.start()  # side by side with the parent's own rebuild
    except StoreError as exc:
        if ledger.fence.wait_settled() == READY:  # the parent could: this worker's store read failed
            print(f"druid-sim worker {os.getpid()}: {exc}", file=sys.stderr, flush=True)
        os._exit(2)  # else the parent refused the store and says why, once
    if ledger.fence.wait_settled() != READY:
        os._exit(2)  # the parent refused the store (and said why): this worker never answers
    ledger.follow()  # what the parent kept in going live (a jump of the clock)
    if app.control is not None:
        app.control = WorkerControl(SerializedWrites(app.control, ledger, control_refusal), config.workers, True)
    gc.collect()
    gc.freeze()
    return app


__all__ = ["WORKER_ENV", "WorkerControl", "create_app", "decode_config", "decode_settings", "encode_settings"]
