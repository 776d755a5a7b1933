"""Shared fixtures: one real server for the session, reset to its start before each test; and, when the
session ends, `druid-sim cassette check` over every cassette the recorder wrote during it."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import httpcore  # noqa: F401  (see below)
import httpx
import pytest

from druid_sim.cassette import CassetteError, read_meta
from druid_sim.client import tls_context
from druid_sim.replay.wiring import switch_cassette
from druid_sim.server.serving import LOOPS

# httpx imports httpcore only when its first client is made. If that happens inside a pytester
# in-process run (tests/test_pytest_plugin.py), pytester drops httpcore from sys.modules afterwards, and
# the httpcore imported next has new exception classes that httpx no longer maps: a refused connection
# then escapes as httpcore.ConnectError instead of httpx.ConnectError. Importing it here keeps one httpcore.
from druid_sim.simulation import reset_simulation
from tests.support.live import LiveServer, live_server
from tests.support.postgres import Postgres, PostgresUnavailable, postgres_server


@pytest.fixture(scope="module")
def postgres() -> Iterator[Postgres]:
    """A throw-away PostgreSQL server for a module's tests (`tests.support.postgres`); they skip, saying why,
    where none can be run."""
    try:
        with postgres_server() as server:
            yield server
    except PostgresUnavailable as exc:
        pytest.skip(f"no PostgreSQL here: {exc}")


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
    """Put a shared server back to its start, as ``POST /__sim/reset`` does: on the server's event loop, as
    the pytest plugin changes the model (issue 23, item 1)."""
    simulation = live.simulation

    def reset() -> None:
        simulation.config = simulation.extensions["tests.original_config"]  # a test may have loaded a scenario
        if simulation.extensions.get("replay") is not None:  # or a cassette: stop replaying it (this resets)
            switch_cassette(simulation, None)
        reset_simulation(simulation)

    live.call(reset)
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
        command = [sys.executable, "-m", "druid_sim", "cassette", "check", *map(str, recorded)]
        result = subprocess.run(command, capture_output=True, text=True, timeout=120)
        assert result.returncode == 0, f"cassette check failed on a recorded cassette:\n{result.stdout}{result.stderr}"
