"""The session's servers: one real druid-sim server per distinct set of options, shared by the tests that ask it.

Each runs in its own daemon thread on a free loopback port, on ``druid-sim serve``'s own stack (uvicorn, uvloop,
httptools, a real socket); the test process holds its simulation and changes it only on the server's event loop
(`SimServer.call`), because the model is not thread-safe.
"""

from __future__ import annotations

import shutil
import socket
import tempfile
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, TypeVar

import pytest

from druid_sim.pytest_plugin.options import RecordSettings, SimOptions
from druid_sim.pytest_plugin.recording import Plan, unreachable
from druid_sim.runtime import Simulation
from druid_sim.server.threaded import ThreadedServer, listening_socket

if TYPE_CHECKING:
    from druid_sim.cassette.again import KeptTimings
    from druid_sim.client import SimControl
    from druid_sim.config import ServeConfig
    from druid_sim.proxy.embedded import EmbeddedRecorder
    from druid_sim.replay.forward import Forwarder
    from druid_sim.state import Settings, Store

T = TypeVar("T")


class SimServer:
    """One real server (uvicorn, uvloop, httptools, as `serve` runs) on a free loopback port, in a daemon thread.

    ``forward``: the innermost layer forwards to this upstream instead of asking the model (a test
    recording through the session's recorder), and the clock is real time from now; or, with
    ``cluster_ms`` (the time of a cluster that is druid-sim on a frozen clock), a frozen clock at that
    time, which the test moves with the cluster's (`DruidSim.advance`).
    """

    def __init__(self, options: SimOptions, forward: str | None = None, cluster_ms: int | None = None) -> None:
        self.options = options
        self.forwarder: Forwarder | None = None
        config = options.config()
        if forward is not None:
            from druid_sim.replay.forward import Forwarder

            self.forwarder = Forwarder(forward)
            scale = 1.0 if cluster_ms is None else 0.0
            config = replace(config, time_scale=scale, start_ms=cluster_ms, replay_on_miss="forward")
        self._start(config, listening_socket())

    def _start(self, config: ServeConfig, sock: socket.socket) -> None:
        """Build the simulation for ``config`` (from its state store, when it names one) and serve it on ``sock``."""
        from druid_sim.server.assembly import build_app
        from druid_sim.simulation import build_simulation

        config = replace(config, port=sock.getsockname()[1])
        stored: tuple[Store, Settings] | None = None
        if config.state is not None:
            from druid_sim.state import StoreError
            from druid_sim.state.serving import open_for

            try:
                config, store, settings = open_for(config, True, True)
            except StoreError as exc:
                sock.close()
                pytest.fail(f"druid_sim: state={config.state!r}: {exc}", pytrace=False)
            stored = (store, settings)
        self.config = config  # what every test sharing this server starts from (with its own cassette)
        self.simulation: Simulation = build_simulation(config)
        app = build_app(self.simulation, access_log=False, forward=self.forwarder)
        if stored is not None:
            from druid_sim.state.serving import install

            install(self.simulation, app, *stored)
        self._threaded = ThreadedServer(app, sock, name="druid-sim test")
        self.url = self._threaded.url

    def restart(self) -> None:
        """Stop the server and start it again on the same port, as a restarted process would be: with a
        state store, rebuilt from it; without one, from scratch (everything the test did is gone)."""
        port = self._threaded.port
        self.stop()
        self._start(self.config, listening_socket(port=port))

    def call(self, function: Callable[[], T]) -> T:
        """Run ``function`` on the server's event loop (the model is not thread-safe) and return its result."""
        return self._threaded.call(function)

    def use_cassette(self, cassette: str | None) -> None:
        """Put the server back to its own configuration, replaying ``cassette`` (None: none).

        A test may have loaded another scenario or cassette through the control API; the next test
        sharing this server must not inherit it. A cassette that does not load fails the test with the
        loader's message (file, line, fix) and changes nothing.
        """
        wanted = replace(self.config, cassette=cassette)

        def restore() -> None:
            simulation = self.simulation
            if simulation.config == wanted:
                return
            cassette_changed = simulation.config.cassette != cassette
            simulation.config = wanted
            if cassette_changed:
                from druid_sim.replay.wiring import switch_cassette

                switch_cassette(simulation, cassette)

        from druid_sim.cassette import CassetteError

        try:
            self.call(restore)
        except (CassetteError, ValueError, OSError) as exc:
            hint = " (with pytest: --druid-sim-max-cassette-size)" if "--max-cassette-size" in str(exc) else ""
            pytest.fail(f"druid_sim: cannot load the cassette: {exc}{hint}", pytrace=False)

    def catch_up(self, cluster: SimControl | None = None) -> None:
        """A recording server's clock is real time, which a reset rewinds to when the server was built; or,
        recording a frozen simulator (``cluster``), that simulator's time."""
        from druid_sim.clock import wall_clock_ms

        clock = self.simulation.clock
        now_ms = wall_clock_ms() if cluster is None else cluster.clock()["nowMillis"]
        self.call(lambda: clock.advance(max(0, now_ms - clock.now_ms()) / 1000.0))

    def stop(self) -> None:
        from druid_sim.state import ledger_of

        self._threaded.stop()
        ledger = ledger_of(self.simulation)
        if ledger is not None:
            ledger.store.close()


class SimServers:
    """The session's servers, one per distinct :class:`SimOptions`, and its recorder (when recording)."""

    def __init__(self, settings: RecordSettings | None = None, recorded: list[tuple[Plan, int, str]] | None = None):
        self.settings = settings or RecordSettings()
        self._servers: dict[tuple[SimOptions, str | None], SimServer] = {}
        self._recorder: EmbeddedRecorder | None = None
        self._confdir: str | None = None
        #: Cassettes rewritten from scratch this session (``all``): later tests sharing one append to it.
        self.rewritten: set[Path] = set()
        #: The timings a cassette rewritten this session keeps (it was recorded again): its later tests go on with them.
        self.kept: dict[Path, KeptTimings] = {}
        #: What each recording test wrote: (its plan, interactions, upstream), for the terminal summary.
        self.recorded: list[tuple[Plan, int, str]] = [] if recorded is None else recorded
        #: The control API of the cluster recorded from, when it is druid-sim on a frozen clock (`frozen_simulator`).
        self.cluster: SimControl | None = None

    def get(self, options: SimOptions, forward: str | None = None) -> SimServer:
        """The shared server for ``options`` (forwarding to ``forward``, for tests that record)."""
        server = self._servers.get((options, forward))
        if server is None:
            server = self._servers[options, forward] = self.new(options, forward)
        return server

    def new(self, options: SimOptions, forward: str | None = None) -> SimServer:
        """A server of its own for ``options``; recording a frozen simulator, its clock at the simulator's time."""
        cluster_ms = None if forward is None or self.cluster is None else self.cluster.clock()["nowMillis"]
        return SimServer(options, forward, cluster_ms)

    def discard(self, options: SimOptions, forward: str | None = None) -> None:
        server = self._servers.pop((options, forward), None)
        if server is not None:
            server.stop()

    def recorder(self) -> EmbeddedRecorder:
        """The session's recorder in front of ``--druid-sim-record``'s cluster, started by the first test
        that records (mitmproxy takes a quarter of a second or more to start; then each test costs a
        cassette switch). Fails the test, before any cassette is touched, when the cluster is unreachable."""
        upstream = self.settings.upstream
        assert upstream is not None, "pytest_configure checks that recording has a URL"
        problem = unreachable(upstream)
        if problem is not None:
            pytest.fail(
                f"druid_sim: cannot record: the cluster at {upstream} (--druid-sim-record) is unreachable ({problem}). "
                "Start it or fix the URL; no cassette was changed",
                pytrace=False,
            )
        if self._recorder is None:
            from druid_sim.proxy.embedded import EmbeddedRecorder, RecorderStartError

            self._confdir = tempfile.mkdtemp(prefix="druid-sim-mitmproxy-")  # its CA stays out of ~/.mitmproxy
            try:
                self._recorder = EmbeddedRecorder(
                    upstream,
                    self._confdir,
                    max_recorded_body=self.settings.max_body,
                    upstream_name=self.settings.upstream_name,
                )
            except RecorderStartError as exc:
                pytest.fail(f"druid_sim: the recorder did not start: {exc}", pytrace=False)
            self.cluster = frozen_simulator(upstream)
        return self._recorder

    def stop_all(self) -> None:
        for options, forward in list(self._servers):
            self.discard(options, forward)
        if self.cluster is not None:
            self.cluster.close()
            self.cluster = None
        if self._recorder is not None:
            self._recorder.stop()
            self._recorder = None
        if self._confdir is not None:
            shutil.rmtree(self._confdir, ignore_errors=True)
            self._confdir = None


def frozen_simulator(url: str) -> SimControl | None:
    """The control API of the cluster at ``url`` if it is druid-sim on a frozen clock (``--time-scale 0``), else
    None. Waiting for real would move nothing there: a recording test moves its clock instead (`DruidSim.advance`),
    so recording the same flow again gives the same answers, the same task ids and times (issue 19)."""
    from druid_sim.client import SimControl, SimControlError

    control = SimControl(url, timeout=5.0)
    try:
        frozen = control.clock().get("frozen") is True
    except (SimControlError, ValueError, KeyError, AttributeError):
        frozen = False
    if not frozen:
        control.close()
        return None
    return control


__all__ = ["SimServer", "SimServers", "frozen_simulator"]
