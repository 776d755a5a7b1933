"""``serve --state``'s snapshotter process (`druid_sim.state.snapshotter`): started beside the server, gone with it.

The server starts it once it has rebuilt its model (`start`), giving it its configuration in
`SNAPSHOTTER_ENV`; it builds the same simulation and app (so faults and the Druid handlers it
replays are the server's), follows the store, and writes snapshots. It stops when the server stops it
(`Snapshotter.stop`), on SIGINT or SIGTERM, and when the server is gone in any other way (``kill -9``
included): its stdin is a pipe from the server, which the kernel closes when the server dies.
"""

from __future__ import annotations

import contextlib
import dataclasses
import logging
import os
import signal
import subprocess
import sys
import threading
import time

import orjson

from druid_sim.actions import EXTENSION
from druid_sim.config import ServeConfig
from druid_sim.state.snapshotter import Snapshotter

#: The environment variable carrying the server's configuration (``dataclasses.asdict``, JSON) to the process.
SNAPSHOTTER_ENV = "DRUID_SIM_SNAPSHOTTER"
#: How often (real seconds) it looks for new actions.
POLL_S = 0.5


class SnapshotProcess:
    """The running snapshotter process of one server."""

    def __init__(self, process: subprocess.Popen[bytes]) -> None:
        self.process = process

    def stop(self, timeout: float = 5.0) -> None:
        """Ask it to stop (its stdin closes) and wait; killed if it does not within ``timeout``."""
        process = self.process
        if process.stdin is not None:
            with contextlib.suppress(OSError):
                process.stdin.close()
        try:
            process.wait(timeout)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def start(config: ServeConfig) -> SnapshotProcess:
    """Start the snapshotter of the server ``config`` describes (``config.state`` set)."""
    env = {**os.environ, SNAPSHOTTER_ENV: orjson.dumps(dataclasses.asdict(config)).decode()}
    process = subprocess.Popen(
        [sys.executable, "-m", "druid_sim.server.snapshots"], stdin=subprocess.PIPE, env=env, close_fds=True
    )
    return SnapshotProcess(process)


def snapshotter_for(config: ServeConfig) -> Snapshotter:
    """The `Snapshotter` of a server with ``config``: its simulation, app and ledger built as the server builds them."""
    from druid_sim.server.assembly import build_app
    from druid_sim.simulation import build_simulation
    from druid_sim.state.ledger import Ledger
    from druid_sim.state.store import StoreError, open_store

    assert config.state is not None
    store = open_store(config.state, follower=True)
    settings = store.load_settings()
    if settings is None:
        store.close()
        raise StoreError(f"the state store {store.location} has no settings yet")
    simulation = build_simulation(config)
    build_app(simulation)  # the extensions (faults, security) the replayed actions reach
    ledger = Ledger(simulation, store, settings)
    simulation.extensions[EXTENSION] = ledger
    return Snapshotter(ledger)


def _exit_when_the_server_is_gone() -> None:
    """Block on stdin (the server's pipe) until it closes, then end this process at once."""
    with contextlib.suppress(OSError):
        while sys.stdin.buffer.read(4096):
            pass
    os._exit(0)


def main() -> int:
    from druid_sim.server.workers import decode_config
    from druid_sim.state.store import StoreError

    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: os._exit(0))  # a snapshot cut short is never used: nothing to tidy
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    value = os.environ.get(SNAPSHOTTER_ENV)
    if not value:
        print(f"druid_sim.server.snapshots runs beside druid-sim serve --state (${SNAPSHOTTER_ENV})", file=sys.stderr)
        return 2
    threading.Thread(target=_exit_when_the_server_is_gone, daemon=True).start()
    try:
        snapshotter = snapshotter_for(decode_config(orjson.loads(value)))
        while True:
            try:
                snapshotter.step()
            except StoreError as exc:  # the store is away, or an action did not apply: start over when it answers
                logging.getLogger(__name__).warning("snapshotter: %s; rebuilding, then trying again", exc)
                snapshotter.ledger.dirty = True
                time.sleep(10 * POLL_S)
            time.sleep(POLL_S)
    except StoreError as exc:
        print(f"druid-sim snapshotter: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
