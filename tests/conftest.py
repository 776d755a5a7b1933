"""Shared fixtures: one real server for the session, reset to its start before each test."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from simulator.client import tls_context
from simulator.config import reset_simulation
from simulator.replay.wiring import switch_cassette
from tests.support.live import LiveServer, live_server


@pytest.fixture(scope="session")
def _shared_server() -> Iterator[LiveServer]:
    with live_server() as live:
        live.simulation.extensions["tests.original_config"] = live.simulation.config
        yield live


@pytest.fixture
def server(_shared_server: LiveServer) -> LiveServer:
    """An empty cluster (no demo tasks) with a frozen clock at 2026-01-01T00:00:00Z.

    The server is shared by the session and reset (tasks, clock, leader, faults, journal) before each
    test, which is what ``POST /__sim/reset`` does; starting a server per test would cost far more.
    """
    simulation = _shared_server.simulation
    simulation.config = simulation.extensions["tests.original_config"]  # a test may have loaded a scenario
    if simulation.extensions.get("replay") is not None:  # or a cassette: stop replaying it (this resets)
        switch_cassette(simulation, None)
    reset_simulation(simulation)
    return _shared_server


@pytest.fixture
def client(server: LiveServer) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=server.url, timeout=10, verify=tls_context()) as http:
        yield http
