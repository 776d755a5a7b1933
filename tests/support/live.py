"""A real simulator server on a free loopback port, in a background thread, for tests.

The server is the real thing (uvicorn serving the assembled app on ``druid-sim serve``'s settings:
uvloop, httptools); the thread only lets a test hold the simulation handle, so it can advance the
virtual clock instead of sleeping.
"""

from __future__ import annotations

import os
import socket
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from typing import TypeVar

from druid_sim.asgi import ASGIApp
from druid_sim.clock import Clock
from druid_sim.config import ServeConfig
from druid_sim.runtime import Simulation
from druid_sim.server.assembly import build_app
from druid_sim.server.serving import Loop
from druid_sim.server.threaded import ThreadedServer, listening_socket
from druid_sim.simulation import build_simulation

T = TypeVar("T")

#: A fixed start keeps timestamps in expected bodies stable: 2026-01-01T00:00:00.000Z.
START_MS = 1767225600000


@dataclass
class LiveServer:
    url: str
    simulation: Simulation
    app: ASGIApp
    server: ThreadedServer | None = field(default=None, repr=False)

    @property
    def clock(self) -> Clock:
        """The simulation's clock: thread-safe, so a test may advance it from its own thread."""
        return self.simulation.clock

    def call(self, function: Callable[[], T]) -> T:
        """Run ``function`` on the server's event loop, as the pytest plugin changes the model (the model
        is not thread-safe); directly when there is no loop (a server built without one)."""
        return function() if self.server is None else self.server.call(function)


def free_socket(host: str = "127.0.0.1") -> socket.socket:
    """A listening socket on a free port (close it to free the port for a subprocess)."""
    return listening_socket(host)


@contextmanager
def live_server(
    config: ServeConfig | None = None,
    app_factory: Callable[[Simulation], ASGIApp] | None = None,
    http: str | None = None,
    *,
    loop: Loop = "uvloop",
) -> Iterator[LiveServer]:
    """Start a real server for ``config`` (default: empty cluster, manual clock at START_MS) on ``loop``;
    ``http`` is uvicorn's protocol setting (default: the one ``druid-sim serve`` picks)."""
    sock = listening_socket()
    # The control API may load files from the working directory and from the temporary folder, where
    # pytest's tmp_path lives (the default would be the working directory only: docs/control-api.md).
    data_dirs = (os.getcwd(), tempfile.gettempdir())
    base = config or ServeConfig(scenario=None, time_scale=0, start_ms=START_MS, data_dirs=data_dirs)
    simulation = build_simulation(replace(base, port=sock.getsockname()[1], access_log=False))
    app = app_factory(simulation) if app_factory else build_app(simulation, access_log=False)
    server = ThreadedServer(app, sock, name="test", loop=loop, http=http)
    try:
        yield LiveServer(server.url, simulation, app, server)
    finally:
        server.stop()
