"""Shared fixtures: one real server for the session, reset to its start before each test."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from simulator.config import reset_simulation
from simulator.replay.wiring import switch_cassette
from simulator.serving import LOOPS
from tests.support.live import LiveServer, live_server


@pytest.fixture(scope="session")
def _shared_server() -> Iterator[LiveServer]:
    with live_server() as live:
        live.simulation.extensions["tests.original_config"] = live.simulation.config
        yield live


@pytest.fixture(scope="session")
def _shared_asyncio_server() -> Iterator[LiveServer]:
    """The same server on the asyncio loop, for code that must work on both (started only if asked for)."""
    with live_server(loop="asyncio") as live:
        live.simulation.extensions["tests.original_config"] = live.simulation.config
        yield live


def reset_server(live: LiveServer) -> LiveServer:
    """Put a shared server back to its start, as ``POST /__sim/reset`` does."""
    simulation = live.simulation
    simulation.config = simulation.extensions["tests.original_config"]  # a test may have loaded a scenario
    if simulation.extensions.get("replay") is not None:  # or a cassette: stop replaying it (this resets)
        switch_cassette(simulation, None)
    reset_simulation(simulation)
    return live


@pytest.fixture
def server(_shared_server: LiveServer) -> LiveServer:
    """An empty cluster (no demo tasks) with a frozen clock at 2026-01-01T00:00:00Z, on ``serve``'s settings.

    The server is shared by the session and reset (tasks, clock, leader, faults, journal) before each
    test, which is what ``POST /__sim/reset`` does; starting a server per test would cost far more.
    """
    return reset_server(_shared_server)


@pytest.fixture(params=LOOPS)
def server_on_each_loop(request: pytest.FixtureRequest) -> LiveServer:
    """`server`, once on uvloop (what ``serve`` runs) and once on the asyncio loop."""
    shared = "_shared_server" if request.param == "uvloop" else "_shared_asyncio_server"
    live: LiveServer = request.getfixturevalue(shared)
    return reset_server(live)


@pytest.fixture
def client(server: LiveServer) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=server.url, timeout=10) as http:
        yield http
