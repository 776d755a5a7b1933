"""pytest plugin: a real druid-sim server for each test that asks for the ``druid_sim`` fixture.

Installed with the package (entry point ``pytest11``), so any project can write::

    @pytest.mark.druid_sim(scenario="demo", seed=7)
    def test_my_dag_survives_a_flaky_overlord(druid_sim):
        druid_sim.add_fault(kind="error", status=503, when={"first": 2})
        run_my_dag(druid_url=druid_sim.url)
        assert druid_sim.count(method="POST", path="/druid/indexer/v1/task") == 1

How it stays under a second per test: servers are started once per session for each distinct
configuration (scenario, cassette, seed, time scale, start), each in its own thread on a free loopback
port (the real uvicorn + httptools stack, a real socket), and put back to the configuration's start
(``/__sim/reset``: tasks, clock, faults, replay cursors, journal) before every test. A test that needs
a server of its own asks for ``fresh=True``; that one is stopped right after the test. All servers
stop at the end of the session. When a test fails, its report gets a section with the journal's tail.

The clock is manual by default (``time_scale=0``, 2026-01-01T00:00:00Z): a test moves it with
``druid_sim.advance("5m")`` instead of sleeping.
"""

from __future__ import annotations

from collections.abc import Callable, Generator, Iterator
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, TypeVar

import httpx
import orjson
import pytest

from simulator.builtin import cassette_names, shipped_cassette
from simulator.client import JournalEntry, SimControl, tls_context
from simulator.clock import format_instant, parse_instant
from simulator.config import ServeConfig
from simulator.runtime import Simulation
from simulator.threaded import ThreadedServer, listening_socket

T = TypeVar("T")

#: Where the manual clock starts unless the marker says otherwise.
DEFAULT_START = "2026-01-01T00:00:00Z"
#: How many journal entries a failed test's report shows.
TAIL = 25
#: A small, valid task spec for ``submit`` when the test gives none.
DEFAULT_TASK: dict[str, Any] = {
    "type": "index_parallel",
    "spec": {
        "dataSchema": {"dataSource": "wikipedia", "timestampSpec": {"column": "time", "format": "iso"}},
        "ioConfig": {"type": "index_parallel", "inputSource": {"type": "inline", "data": "{}"}},
    },
}
MARKER_HELP = (
    "druid_sim(scenario=None, cassette=None, seed=0, time_scale=0, start='2026-01-01T00:00:00Z', "
    "journal_size=10000, data_dirs=(), fresh=False): configure the druid_sim fixture's server"
)
_OPTION_NAMES = ("scenario", "cassette", "seed", "time_scale", "start", "journal_size", "data_dirs", "fresh")
_handle_key = pytest.StashKey["DruidSim"]()


@dataclass(frozen=True, slots=True)
class SimOptions:
    """What a test asks of its server; servers are shared between tests with equal options."""

    scenario: str | None = None
    cassette: str | None = None
    seed: int = 0
    time_scale: float = 0.0
    start: str = DEFAULT_START
    journal_size: int = 10_000
    data_dirs: tuple[str, ...] = ()  # folders the control API may load files from (default: the working directory)

    def config(self) -> ServeConfig:
        return ServeConfig(
            scenario=self.scenario,
            cassette=self.cassette,
            seed=self.seed,
            time_scale=self.time_scale,
            start_ms=parse_instant(self.start),
            journal_size=self.journal_size,
            data_dirs=self.data_dirs,
            access_log=False,
        )


# -- servers ---------------------------------------------------------------------------------------


class SimServer:
    """One real server (uvicorn + httptools) on a free loopback port, in a daemon thread."""

    def __init__(self, options: SimOptions) -> None:
        from simulator.assembly import build_app
        from simulator.config import build_simulation

        self.options = options
        sock = listening_socket()
        config = replace(options.config(), port=sock.getsockname()[1])
        config, replay = _prepare_replay(config)
        self.config = config  # what every test sharing this server starts from
        self.simulation: Simulation = build_simulation(config)
        if replay is not None:
            from simulator.replay.wiring import install_replay

            install_replay(self.simulation, replay)
        self._threaded = ThreadedServer(build_app(self.simulation, access_log=False), sock, name="druid-sim test")
        self.url = self._threaded.url

    def call(self, function: Callable[[], T]) -> T:
        """Run ``function`` on the server's event loop (the model is not thread-safe) and return its result."""
        return self._threaded.call(function)

    def stop(self) -> None:
        self._threaded.stop()


def _prepare_replay(config: ServeConfig) -> tuple[ServeConfig, Any]:
    """Load the cassette as ``druid-sim serve`` does (clock at the recording's end); a clear failure if broken."""
    if config.cassette is None:
        return config, None
    from simulator.replay.command import ReplaySetupError, prepare_replay

    try:
        return prepare_replay(config)
    except ReplaySetupError as exc:
        pytest.fail(f"druid_sim: {exc}", pytrace=False)


class SimServers:
    """The session's servers, one per distinct :class:`SimOptions`."""

    def __init__(self) -> None:
        self._servers: dict[SimOptions, SimServer] = {}

    def get(self, options: SimOptions) -> SimServer:
        server = self._servers.get(options)
        if server is None:
            server = self._servers[options] = SimServer(options)
        return server

    def discard(self, options: SimOptions) -> None:
        server = self._servers.pop(options, None)
        if server is not None:
            server.stop()

    def stop_all(self) -> None:
        for options in list(self._servers):
            self.discard(options)


# -- the handle a test gets ------------------------------------------------------------------------


class DruidSim:
    """A running simulator for one test: its URL, an HTTP client, and handles on clock, faults, journal."""

    def __init__(self, server: SimServer) -> None:
        self.server = server
        self.url = server.url
        #: The control API client (everything below goes through it, as a test in another process would).
        self.control = SimControl(server.url)
        #: An httpx client for the Druid API, based at :attr:`url`.
        self.http = httpx.Client(base_url=server.url, timeout=10, verify=tls_context())

    @property
    def simulation(self) -> Simulation:
        """The simulation itself, for reading the model directly (change it through the methods here)."""
        return self.server.simulation

    def close(self) -> None:
        self.control.close()
        self.http.close()

    # -- state -------------------------------------------------------------------------------------

    def reset(self) -> None:
        """Back to the configuration's start: tasks, clock, faults, replay cursors, journal.

        A test may have loaded another scenario or cassette through the control API; the next test
        sharing this server must not inherit it, so the server's own configuration is put back first.
        """
        server = self.server

        def restore() -> None:
            simulation = server.simulation
            if simulation.config == server.config:
                return
            cassette_changed = simulation.config.cassette != server.config.cassette
            simulation.config = server.config
            if cassette_changed:
                from simulator.replay.wiring import switch_cassette

                switch_cassette(simulation, server.config.cassette)

        server.call(restore)
        self.control.reset()

    def submit(self, spec: dict[str, Any] | None = None, **fields: Any) -> str:
        """Put a task straight into the model (no HTTP: not journaled, never faulted) and return its id.

        ``spec`` is a ``POST /task`` body (a small ``index_parallel`` spec by default); ``fields`` are
        merged into it (``id="my-task"``). To submit through the Druid API, use ``self.http.post``.
        """
        from simulator.druid.submission import SubmissionError, parse_submission
        from simulator.overlord.overlord import DuplicateTaskError

        body = orjson.dumps({**(spec or DEFAULT_TASK), **fields})

        def submit() -> str:
            return self.simulation.overlord.submit(parse_submission(body)).id

        try:
            return self.server.call(submit)
        except SubmissionError as exc:
            raise ValueError(f"Druid would refuse this task: {exc.message}") from None
        except DuplicateTaskError as exc:
            raise ValueError(f"a task with id {exc.args[0]!r} exists already; pick another id") from None

    def set_leader(self, leader_url: str | None) -> None:
        """Make this Overlord a non-leader that redirects (307) to ``leader_url``; None makes it lead again."""

        def change() -> None:
            self.simulation.leadership.leader_url = leader_url

        self.server.call(change)

    # -- clock -------------------------------------------------------------------------------------

    def now(self) -> str:
        """The virtual time, as Druid writes it."""
        return self.control.clock()["now"]

    def now_seconds(self) -> float:
        """The virtual time in seconds since the epoch (a ``clock`` for code that takes one)."""
        return self.control.clock()["nowMillis"] / 1000.0

    def advance(self, duration: str | float) -> str:
        """Move virtual time forward (seconds, or ``"250ms"``, ``"5m"``, ``"2h"``); returns the new time."""
        return self.control.advance(duration)["now"]

    def advance_to(self, instant: str) -> str:
        return self.control.advance_to(instant)["now"]

    def freeze(self) -> None:
        self.control.freeze()

    def set_scale(self, scale: float) -> None:
        """Virtual seconds per real second from now on (0 freezes)."""
        self.control.set_scale(scale)

    # -- faults ------------------------------------------------------------------------------------

    def add_fault(self, spec: dict[str, Any] | None = None, **fields: Any) -> dict[str, Any]:
        """Add a fault in the scenario-file shape: ``add_fault(kind="error", status=503, when={"first": 2})``."""
        return self.control.add_fault({**(spec or {}), **fields})[0]

    def faults(self) -> list[dict[str, Any]]:
        return self.control.faults()

    def remove_fault(self, name: str) -> None:
        self.control.remove_fault(name)

    def clear_faults(self) -> int:
        return self.control.clear_faults()

    # -- journal -----------------------------------------------------------------------------------

    def journal(self, method: str | None = None, path: str | None = None, **filters: Any) -> list[JournalEntry]:
        """Druid requests received, oldest first (``path`` is a glob; also status, answered_by, fault, user)."""
        return self.control.journal(method, path, **filters)

    def count(self, method: str | None = None, path: str | None = None, **filters: Any) -> int:
        return self.control.count(method, path, **filters)

    def clear_journal(self) -> int:
        return self.control.clear_journal()

    def journal_tail(self, n: int = TAIL) -> str:
        """The last ``n`` requests, one line each (what a failed test's report shows)."""
        journal = self.server.simulation.extensions.get("journal")
        if journal is None:
            return "(no journal)"
        entries = journal.select(limit=n)
        if not entries:
            return "(no Druid requests were received)"
        header = f"last {len(entries)} of {journal.total} Druid requests (virtual time; status; answered by):"
        return "\n".join([header, *(repr(entry) for entry in entries)])


# -- fixtures and hooks ----------------------------------------------------------------------------


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", MARKER_HELP)


@pytest.fixture(scope="session")
def druid_sim_servers() -> Iterator[SimServers]:
    """Every druid-sim server of the session; stopped when the session ends."""
    servers = SimServers()
    yield servers
    servers.stop_all()


@pytest.fixture
def druid_sim_options() -> dict[str, Any]:
    """Override in a conftest or test module to configure ``druid_sim`` with computed values
    (a cassette written by the test, say), as ``vcr_config`` does for pytest-recording. Markers and
    indirect parameters win over it."""
    return {}


def _options(request: pytest.FixtureRequest, defaults: dict[str, Any]) -> tuple[SimOptions, bool]:
    """Options from ``druid_sim_options``, then ``@pytest.mark.druid_sim(...)`` (closest wins), then
    indirect parametrisation (a dict)."""
    given: dict[str, Any] = dict(defaults)
    for marker in reversed(list(request.node.iter_markers("druid_sim"))):
        if marker.args:
            raise pytest.UsageError(
                "@pytest.mark.druid_sim takes keyword arguments only, e.g. druid_sim(scenario='demo')"
            )
        given.update(marker.kwargs)
    param = getattr(request, "param", None)
    if param is not None:
        if not isinstance(param, dict):
            raise pytest.UsageError(f"druid_sim parameters must be dicts such as {{'seed': 3}}, not {param!r}")
        given.update(param)
    unknown = sorted(set(given) - set(_OPTION_NAMES))
    if unknown:
        raise pytest.UsageError(f"druid_sim: unknown option(s) {', '.join(unknown)}; use {', '.join(_OPTION_NAMES)}")
    fresh = bool(given.pop("fresh", False))
    cassette = given.get("cassette")
    if cassette is not None:
        given["cassette"] = _find_file(str(cassette), request, "cassette")
    scenario = given.get("scenario")
    if scenario is not None and str(scenario).endswith((".yaml", ".yml")):
        given["scenario"] = _find_file(str(scenario), request, "scenario")
    if "data_dirs" in given:
        folders = given["data_dirs"]
        folders = [folders] if isinstance(folders, str | Path) else list(folders)
        given["data_dirs"] = tuple(_find_file(str(folder), request, "data_dirs", Path.is_dir) for folder in folders)
    if "start" in given:
        try:
            given["start"] = format_instant(parse_instant(str(given["start"])))
        except ValueError as exc:
            raise pytest.UsageError(f"druid_sim start: {exc}") from None
    return SimOptions(**given), fresh


def _find_file(
    name: str, request: pytest.FixtureRequest, option: str, exists: Callable[[Path], bool] = Path.is_file
) -> str:
    """A cassette or scenario file (or a folder) as given, else relative to the test file, else to the rootdir;
    a cassette may also be a shipped one's name (``cassette="docs-examples"``)."""
    candidates = [Path(name), Path(request.path).parent / name, Path(request.config.rootpath) / name]
    for candidate in candidates:
        if exists(candidate):
            return str(candidate.resolve())
    shipped = shipped_cassette(name) if option == "cassette" else None
    if shipped is not None:
        return str(shipped)
    tried = ", ".join(str(c) for c in candidates)
    hint = f" or a shipped cassette's name ({', '.join(cassette_names())})" if option == "cassette" else ""
    pytest.fail(f"druid_sim: {option} {name!r} not found (tried {tried}); check {option}={hint}", pytrace=False)


@pytest.fixture
def druid_sim(
    request: pytest.FixtureRequest, druid_sim_servers: SimServers, druid_sim_options: dict[str, Any]
) -> Iterator[DruidSim]:
    """A real druid-sim server at ``.url``, at its configuration's start, with handles on it.

    Configure it with ``@pytest.mark.druid_sim(scenario=..., cassette=..., seed=..., time_scale=0,
    start=..., journal_size=..., fresh=False)`` or ``@pytest.mark.parametrize("druid_sim", [{...}],
    indirect=True)``.
    """
    options, fresh = _options(request, druid_sim_options)
    server = SimServer(options) if fresh else druid_sim_servers.get(options)
    handle = DruidSim(server)
    try:
        if not fresh:
            handle.reset()
        request.node.stash[_handle_key] = handle
        yield handle
    finally:
        handle.close()
        if fresh:
            server.stop()
        elif server.simulation.config.scenario != options.scenario:
            druid_sim_servers.discard(options)  # a test loaded another scenario: do not share this server


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(
    item: pytest.Item, call: pytest.CallInfo[None]
) -> Generator[None, pytest.TestReport, pytest.TestReport]:
    """On failure, add the journal's tail to the report: what the code under test actually sent."""
    report = yield
    handle = item.stash.get(_handle_key, None)
    if handle is not None and report.failed and call.when == "call":
        report.sections.append(("druid-sim journal", handle.journal_tail()))
    return report
