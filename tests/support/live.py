"""A real simulator server on a free loopback port, in a background thread, for tests.

The server is the real thing (uvicorn + httptools serving ``SimulatorApp``); the thread only lets a
test hold the simulation handle, so it can advance the virtual clock instead of sleeping.
"""

from __future__ import annotations

import asyncio
import socket
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace

import uvicorn

from simulator.app import SimulatorApp
from simulator.assembly import build_app
from simulator.config import ServeConfig, build_simulation
from simulator.runtime import Simulation

#: A fixed start keeps timestamps in expected bodies stable: 2026-01-01T00:00:00.000Z.
START_MS = 1767225600000


@dataclass
class LiveServer:
    url: str
    simulation: Simulation
    app: SimulatorApp

    @property
    def clock(self):  # type: ignore[no-untyped-def]
        return self.simulation.clock


def free_socket(host: str = "127.0.0.1") -> socket.socket:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    # asyncio sets TCP_NODELAY only on sockets it creates itself; accepted connections inherit it from
    # the listening socket, which spares every request a 40 ms delayed-ACK stall.
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    sock.bind((host, 0))
    sock.listen(128)
    sock.set_inheritable(True)
    return sock


@contextmanager
def live_server(config: ServeConfig | None = None, app_factory=None) -> Iterator[LiveServer]:  # type: ignore[no-untyped-def]
    """Start a real server for ``config`` (manual clock at START_MS unless told otherwise)."""
    sock = free_socket()
    port = sock.getsockname()[1]
    base = config or ServeConfig(scenario=None, time_scale=0, start_ms=START_MS)
    base = replace(base, port=port, access_log=False)
    simulation = build_simulation(base)
    app = app_factory(simulation) if app_factory else build_app(simulation, access_log=False)
    server = uvicorn.Server(
        uvicorn.Config(
            app,
            http="httptools",
            loop="asyncio",
            log_level="warning",
            lifespan="on",
            server_header=False,
            access_log=False,
        )
    )
    thread = threading.Thread(target=lambda: asyncio.run(server.serve(sockets=[sock])), daemon=True)
    thread.start()
    try:
        while not server.started:
            if not thread.is_alive():
                raise RuntimeError("the test server failed to start")
            threading.Event().wait(0.005)
        yield LiveServer(f"http://127.0.0.1:{port}", simulation, app)
    finally:
        server.should_exit = True
        thread.join(timeout=10)
        sock.close()
