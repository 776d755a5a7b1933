"""Shared fixtures: one real server for the session, reset to its start before each test; and, when the
session ends, `druid-sim cassette check` over every cassette the recorder wrote during it."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from simulator.cassette import CassetteError, read_meta
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


def _written_by_the_recorder(path: Path) -> bool:
    """A cassette written with the recorder's built-in redaction (test helpers write none)."""
    try:
        meta = read_meta(path)
    except (OSError, CassetteError):
        return False  # not a cassette, or one a test broke on purpose
    return meta.redaction is not None and meta.redaction.builtin


@pytest.fixture(scope="session", autouse=True)
def _recorded_cassettes_pass_check(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """Issue 10: `druid-sim cassette check` exits 0 on every cassette the suite records (its own placeholders
    are never flagged, and no secret slipped through). Runs the real command once, at the end."""
    yield
    recorded = sorted(p for p in tmp_path_factory.getbasetemp().rglob("*.jsonl") if _written_by_the_recorder(p))
    if recorded:
        command = [sys.executable, "-m", "simulator", "cassette", "check", *map(str, recorded)]
        result = subprocess.run(command, capture_output=True, text=True, timeout=120)
        assert result.returncode == 0, f"cassette check failed on a recorded cassette:\n{result.stdout}{result.stderr}"
