"""pytest plugin: a real druid-sim server for each test that asks for the ``druid_sim`` fixture.

Installed with the package (entry point ``pytest11``), so any project can write::

    @pytest.mark.druid_sim(scenario="demo", seed=7)
    def test_my_dag_survives_a_flaky_overlord(druid_sim):
        druid_sim.add_fault(kind="error", status=503, when={"first": 2})
        run_my_dag(druid_url=druid_sim.url)
        assert druid_sim.count(method="POST", path="/druid/indexer/v1/task") == 1

How it stays under a second per test: servers are started once per session for each distinct
configuration (scenario, cassette, seed, time scale, start), each in its own thread on a free loopback
port (the real stack on ``druid-sim serve``'s settings: uvicorn, uvloop, httptools, a real socket), and
put back to the configuration's start (``/__sim/reset``: tasks, clock, faults, replay cursors, journal)
before every test. A test that needs
a server of its own asks for ``fresh=True``; that one is stopped right after the test. All servers
stop at the end of the session. When a test fails, its report gets a section with the journal's tail.

The clock is manual by default (``time_scale=0``, 2026-01-01T00:00:00Z): a test moves it with
``druid_sim.advance("5m")`` instead of sleeping.

Cassettes: a test that names one (``cassette="x.jsonl"``, or ``cassette=True`` for
``cassettes/<module>/<test>.jsonl``) replays it, on a server shared with the tests of the same other
options (the cassette is switched at the reset). ``pytest --druid-sim-record=URL`` records it instead,
from a real cluster, under pytest-recording's record modes (`druid_sim.pytest_plugin.recording`): the test then
gets a server (shared by the recording tests of the same options) running on real time, whose
innermost layer forwards to an embedded mitmproxy recorder (`druid_sim.proxy.embedded`, one per session, which
switches cassettes between tests) in front of the cluster, so the journal, faults and a cassette
being extended work as in any test. ``strict=True`` (or ``--druid-sim-strict``)
fails a replayed test that sent a request the cassette had no answer for (it gets the 599 that
explains the miss) or left a recorded interaction unplayed.
"""

from __future__ import annotations

import os
import shutil
import socket
import tempfile
import time
import warnings
from collections.abc import Callable, Generator, Iterator
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import httpx
import orjson
import pytest

from druid_sim.builtin import cassette_names, shipped_cassette
from druid_sim.client import JournalEntry, SimControl, tls_context
from druid_sim.clock import format_instant, parse_duration, parse_instant
from druid_sim.config import ServeConfig
from druid_sim.pytest_plugin.recording import (
    SUFFIX,
    CassetteMissing,
    Plan,
    RecordingMode,
    default_cassette_dir,
    default_cassette_name,
    plan_cassette,
    recorded_summary,
    strict_problems,
    unreachable,
    where_to_record,
)
from druid_sim.runtime import Simulation
from druid_sim.server.threaded import ThreadedServer, listening_socket

if TYPE_CHECKING:
    from druid_sim.proxy.embedded import EmbeddedRecorder
    from druid_sim.replay.forward import Forwarder
    from druid_sim.state import Settings, Store

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
    "journal_size=10000, data_dirs=(), fresh=False, strict=False, state=None): configure the druid_sim fixture's server; "
    "cassette=True replays (or records) cassettes/<module>/<test>.jsonl beside the test file"
)
_OPTION_NAMES = (
    "scenario",
    "cassette",
    "seed",
    "time_scale",
    "start",
    "journal_size",
    "data_dirs",
    "fresh",
    "strict",
    "state",
)
RECORD_EXTRA_HINT = "pip install 'druid-sim[record]'"
_handle_key = pytest.StashKey["DruidSim"]()
_settings_key = pytest.StashKey["RecordSettings"]()
_recorded_key = pytest.StashKey[list[tuple[Plan, int, str]]]()
_strict_failed_key = pytest.StashKey[bool]()


@dataclass(frozen=True, slots=True)
class SimOptions:
    """What a test asks of its server; servers are shared between tests with equal options.

    The cassette is not one of them: a shared server switches to each test's cassette when it is reset.
    """

    scenario: str | None = None
    seed: int = 0
    time_scale: float = 0.0
    start: str = DEFAULT_START
    journal_size: int = 10_000
    data_dirs: tuple[str, ...] = ()  # folders the control API may load files from (default: the working directory)
    strict: bool = False  # misses get the replay's 599, which explains them, instead of the model's answer
    state: str | None = None  # a state store (SQLite file or postgresql:// URL): the server rebuilds from it

    def config(self) -> ServeConfig:
        return ServeConfig(
            state=self.state,
            scenario=self.scenario,
            seed=self.seed,
            time_scale=self.time_scale,
            start_ms=parse_instant(self.start),
            journal_size=self.journal_size,
            data_dirs=self.data_dirs,
            access_log=False,
            replay_on_miss="error" if self.strict else "simulate",
        )


@dataclass(frozen=True, slots=True)
class RecordSettings:
    """The session's ``--druid-sim-record``, ``--druid-sim-record-mode`` and ``--druid-sim-strict``."""

    upstream: str | None = None
    mode: RecordingMode = RecordingMode.NONE
    strict: bool = False


# -- servers ---------------------------------------------------------------------------------------


class SimServer:
    """One real server (uvicorn, uvloop, httptools, as `serve` runs) on a free loopback port, in a daemon thread.

    ``forward``: the innermost layer forwards to this upstream instead of asking the model (a test
    recording through the session's recorder), and the clock is real time from now.
    """

    def __init__(self, options: SimOptions, forward: str | None = None) -> None:
        self.options = options
        self.forwarder: Forwarder | None = None
        config = options.config()
        if forward is not None:
            from druid_sim.replay.forward import Forwarder

            self.forwarder = Forwarder(forward)
            config = replace(config, time_scale=1.0, start_ms=None, replay_on_miss="forward")
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
                stored = (store, settings)
            except StoreError as exc:
                sock.close()
                pytest.fail(f"druid_sim: state={config.state!r}: {exc}", pytrace=False)
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
            pytest.fail(f"druid_sim: cannot load the cassette: {exc}", pytrace=False)

    def catch_up(self) -> None:
        """A recording server's clock is real time, which a reset rewinds to when the server was built."""
        from druid_sim.clock import wall_clock_ms

        clock = self.simulation.clock
        self.call(lambda: clock.advance(max(0, wall_clock_ms() - clock.now_ms()) / 1000.0))

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
        #: What each recording test wrote: (its plan, interactions, upstream), for the terminal summary.
        self.recorded: list[tuple[Plan, int, str]] = [] if recorded is None else recorded

    def get(self, options: SimOptions, forward: str | None = None) -> SimServer:
        """The shared server for ``options`` (forwarding to ``forward``, for tests that record)."""
        server = self._servers.get((options, forward))
        if server is None:
            server = self._servers[options, forward] = SimServer(options, forward)
        return server

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
                self._recorder = EmbeddedRecorder(upstream, self._confdir)
            except RecorderStartError as exc:
                pytest.fail(f"druid_sim: the recorder did not start: {exc}", pytrace=False)
        return self._recorder

    def stop_all(self) -> None:
        for options, forward in list(self._servers):
            self.discard(options, forward)
        if self._recorder is not None:
            self._recorder.stop()
            self._recorder = None
        if self._confdir is not None:
            shutil.rmtree(self._confdir, ignore_errors=True)
            self._confdir = None


# -- the handle a test gets ------------------------------------------------------------------------


class NotWhileRecording(Exception):
    """A ``druid_sim`` call that only makes sense against the simulator, made while the test records."""


class DruidSim:
    """A running simulator for one test: its URL, an HTTP client, and handles on clock, faults, journal.

    While the test records (:attr:`recording`), Druid requests that no fault answers go to the real
    cluster and into the cassette; time is the cluster's real time (``advance`` waits), and calls that
    would change the model (``submit``) or stop the clock (``freeze``) raise :class:`NotWhileRecording`.
    """

    def __init__(self, server: SimServer, cassette: str | None = None, plan: Plan | None = None) -> None:
        self.server = server
        self.url = server.url
        #: The cassette replayed (None: none, or one being recorded from scratch).
        self.cassette = cassette
        #: What happens to the test's cassette (None: the test has none).
        self.plan = plan
        #: The session's recorder, while the test records into its cassette.
        self.recorder: EmbeddedRecorder | None = None
        #: Interactions recorded into the cassette, once the test is over.
        self.recorded = 0
        #: The control API client (everything below goes through it, as a test in another process would).
        self.control = SimControl(server.url)
        #: An httpx client for the Druid API, based at :attr:`url`.
        self.http = httpx.Client(base_url=server.url, timeout=10, verify=tls_context())

    @property
    def recording(self) -> bool:
        """True when the test records its cassette from a real cluster (``--druid-sim-record``)."""
        return self.plan is not None and self.plan.recording

    @property
    def simulation(self) -> Simulation:
        """The simulation itself, for reading the model directly (change it through the methods here)."""
        return self.server.simulation

    def close(self) -> None:
        self.control.close()
        self.http.close()

    def _not_while_recording(self, call: str, instead: str) -> None:
        if self.recording:
            raise NotWhileRecording(f"druid_sim.{call} cannot be used while the test records a real cluster: {instead}")

    # -- state -------------------------------------------------------------------------------------

    def reset(self) -> None:
        """Back to the configuration's start, with the test's cassette: tasks, clock, faults, replay
        cursors, journal (see `SimServer.use_cassette`)."""
        self.server.use_cassette(self.cassette)
        self.control.reset()

    def submit(self, spec: dict[str, Any] | None = None, **fields: Any) -> str:
        """Put a task straight into the model (no HTTP: not journaled, never faulted) and return its id.

        ``spec`` is a ``POST /task`` body (a small ``index_parallel`` spec by default); ``fields`` are
        merged into it (``id="my-task"``). To submit through the Druid API, use ``self.http.post``.
        """
        from druid_sim.druid.submission import SubmissionError, parse_submission
        from druid_sim.overlord.overlord import DuplicateTaskError

        self._not_while_recording("submit", "the model does not answer; submit with druid_sim.http.post instead")
        body = orjson.dumps({**(spec or DEFAULT_TASK), **fields})

        def submit() -> str:
            from druid_sim.state import actions, record

            submission = parse_submission(body)
            task = self.simulation.overlord.submit(submission)
            record(self.simulation, actions.submitted(task, submission))  # kept, with state=, as POST /task keeps it
            return task.id

        try:
            return self.server.call(submit)
        except SubmissionError as exc:
            raise ValueError(f"Druid would refuse this task: {exc.message}") from None
        except DuplicateTaskError as exc:
            raise ValueError(f"a task with id {exc.args[0]!r} exists already; pick another id") from None

    def restart(self) -> None:
        """Stop the server and start it again on the same URL, as after a crash and a restart: with
        ``state=`` (a store, docs/state.md) it comes back with everything the test did; without, from its
        configuration's start. Clients see their connections closed, as with a real restart."""
        self.server.restart()

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
        """Move virtual time forward (seconds, or ``"250ms"``, ``"5m"``, ``"2h"``); returns the new time.

        While recording, the cluster's time is real: this waits that long (a client's ``sleep``).
        """
        if self.recording:
            time.sleep(parse_duration(duration))
            return self.now()
        return self.control.advance(duration)["now"]

    def advance_to(self, instant: str) -> str:
        if self.recording:
            time.sleep(max(0.0, parse_instant(instant) / 1000.0 - self.now_seconds()))
            return self.now()
        return self.control.advance_to(instant)["now"]

    def freeze(self) -> None:
        self._not_while_recording("freeze", "a real cluster's clock cannot be stopped")
        self.control.freeze()

    def set_scale(self, scale: float) -> None:
        """Virtual seconds per real second from now on (0 freezes)."""
        self._not_while_recording("set_scale", "a real cluster's clock runs at its own pace")
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

    # -- strict replay -----------------------------------------------------------------------------

    def strict_problems(self) -> str | None:
        """Why a strict replay fails: requests the cassette had no answer for (unless they were recorded),
        recorded interactions never played; None when there is nothing to say."""
        if self.plan is None or not self.plan.replay:
            return None
        replay = self.simulation.extensions.get("replay")
        if replay is None:
            return None
        return self.server.call(lambda: strict_problems(replay, count_misses=not self.recording))


# -- options, fixtures and hooks -------------------------------------------------------------------


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("druid-sim", "druid-sim: record and replay cassettes (the druid_sim fixture)")
    group.addoption(
        "--druid-sim-record",
        metavar="URL",
        default=None,
        help="record the cassettes of tests marked druid_sim(cassette=...) from this Druid Router or Overlord "
        "(e.g. http://router:8888), through an embedded mitmproxy recorder; needs druid-sim[record]",
    )
    group.addoption(
        "--druid-sim-record-mode",
        choices=[mode.value for mode in RecordingMode],
        default=None,
        help="none: replay only, a missing cassette fails (the default without --druid-sim-record); once: record "
        "missing cassettes (the default with it); new_episodes: replay, and record what a cassette has no answer "
        "for; all (or rewrite): record every cassette again",
    )
    group.addoption(
        "--druid-sim-strict",
        action="store_true",
        default=False,
        help="fail a replayed test that sent a request its cassette has no answer for, or left a recorded "
        "interaction unplayed (as druid_sim(strict=True))",
    )


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", MARKER_HELP)
    config.stash[_settings_key] = _record_settings(config)
    config.stash[_recorded_key] = []


def _record_settings(config: pytest.Config) -> RecordSettings:
    """The command line's recording options, checked: a usage error says what is wrong and how to fix it."""
    upstream: str | None = config.getoption("druid_sim_record", None)
    given: str | None = config.getoption("druid_sim_record_mode", None)
    strict = bool(config.getoption("druid_sim_strict", False))
    mode = RecordingMode(given) if given else RecordingMode.ONCE if upstream else RecordingMode.NONE
    if not mode.records:
        return RecordSettings(upstream, mode, strict)
    if upstream is None:
        raise pytest.UsageError(
            f"--druid-sim-record-mode={mode} records cassettes from a Druid cluster: give its URL with "
            "--druid-sim-record=http://ROUTER:8888"
        )
    from druid_sim.proxy.launcher import LaunchError, check_upstream

    try:
        upstream = check_upstream(upstream, flag="--druid-sim-record")
    except LaunchError as exc:
        raise pytest.UsageError(str(exc)) from None
    try:
        with warnings.catch_warnings():  # mitmproxy's dependencies' deprecations are not the suite's to fix
            warnings.simplefilter("ignore", DeprecationWarning)
            import druid_sim.proxy.embedded  # noqa: F401  (mitmproxy, checked before any test runs)
    except ImportError as exc:
        raise pytest.UsageError(
            f"--druid-sim-record records through mitmproxy, which cannot be imported here ({exc}). "
            f"Install the recorder: {RECORD_EXTRA_HINT}"
        ) from None
    return RecordSettings(upstream, mode, strict)


@pytest.fixture(scope="session")
def druid_sim_servers(pytestconfig: pytest.Config) -> Iterator[SimServers]:
    """Every druid-sim server of the session, and its recorder; stopped when the session ends."""
    servers = SimServers(pytestconfig.stash.get(_settings_key, None), pytestconfig.stash.get(_recorded_key, None))
    yield servers
    servers.stop_all()


@pytest.fixture(scope="session")
def druid_sim_record_mode(druid_sim_servers: SimServers) -> str:
    """The session's record mode (pytest-recording's ``record_mode``): none, once, new_episodes, all, rewrite."""
    return str(druid_sim_servers.settings.mode)


@pytest.fixture(scope="module")
def druid_sim_cassette_dir(request: pytest.FixtureRequest) -> Path:
    """Where ``cassette=True`` cassettes are: ``cassettes/<module>/`` beside the test file (override it
    in a conftest, as pytest-recording's ``vcr_cassette_dir``)."""
    return default_cassette_dir(Path(request.path))


@pytest.fixture
def druid_sim_cassette_name(request: pytest.FixtureRequest) -> str:
    """The file name (without ``.jsonl``) of a ``cassette=True`` cassette: ``<Class>.<test>`` or ``<test>``."""
    return default_cassette_name(request.cls, request.node.name)


@pytest.fixture
def druid_sim_options() -> dict[str, Any]:
    """Override in a conftest or test module to configure ``druid_sim`` with computed values
    (a cassette written by the test, say), as ``vcr_config`` does for pytest-recording. Markers and
    indirect parameters win over it."""
    return {}


@dataclass(frozen=True, slots=True)
class _Asked:
    """What a test asked for: its server's options, a server of its own, its cassette (as given)."""

    options: SimOptions
    fresh: bool
    cassette: Any = None


def _asked(request: pytest.FixtureRequest, defaults: dict[str, Any], settings: RecordSettings) -> _Asked:
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
    cassette = given.pop("cassette", None)
    if not (cassette is None or isinstance(cassette, bool | str | os.PathLike)):
        raise pytest.UsageError(f"druid_sim cassette= takes a file name, or True for the test's own; not {cassette!r}")
    given["strict"] = bool(given.get("strict", False)) or settings.strict
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
    return _Asked(SimOptions(**given), fresh, cassette or None)


def _candidates(name: str, request: pytest.FixtureRequest) -> list[Path]:
    """Where a cassette or scenario named ``name`` may be: as given, beside the test file, under the rootdir."""
    return [Path(name), Path(request.path).parent / name, Path(request.config.rootpath) / name]


def _find_file(
    name: str, request: pytest.FixtureRequest, option: str, exists: Callable[[Path], bool] = Path.is_file
) -> str:
    """A scenario file (or a folder) as given, else relative to the test file, else to the rootdir."""
    candidates = _candidates(name, request)
    for candidate in candidates:
        if exists(candidate):
            return str(candidate.resolve())
    tried = ", ".join(str(c) for c in candidates)
    pytest.fail(f"druid_sim: {option} {name!r} not found (tried {tried}); check {option}=", pytrace=False)


def _plan(cassette: Any, request: pytest.FixtureRequest, servers: SimServers) -> Plan:
    """Where the test's cassette is and what happens to it under the session's record mode.

    A name is looked for as given, beside the test file, under the rootdir, then among the cassettes
    shipped with druid-sim (``cassette="docs-examples"``); one that is nowhere is recorded beside the
    test file. A shipped cassette is only ever replayed.
    """
    shipped = None
    if cassette is True:
        folder: Path = request.getfixturevalue("druid_sim_cassette_dir")
        name: str = request.getfixturevalue("druid_sim_cassette_name")
        path, tried = Path(folder) / f"{name}{SUFFIX}", ""
    else:
        text = os.fspath(cassette)
        candidates = _candidates(text, request)
        found = next((c.resolve() for c in candidates if c.is_file()), None)
        shipped = shipped_cassette(text) if found is None else None
        path = found or shipped or where_to_record(text, Path(request.path))
        tried = (
            f" (tried {', '.join(str(c) for c in candidates)}); check cassette= or a shipped cassette's name "
            f"({', '.join(cassette_names())}), or record it into {path}"
        )
    try:
        plan = plan_cassette(path, servers.settings.mode, servers.rewritten)
    except CassetteMissing as exc:
        named = str(path) if cassette is True else repr(os.fspath(cassette))
        pytest.fail(f"druid_sim: cassette {named} not found{tried}. {exc}", pytrace=False)
    if shipped is not None and plan.recording:
        pytest.fail(
            f"druid_sim: cassette {os.fspath(cassette)!r} is shipped with druid-sim ({shipped}) and is never "
            "recorded into: name a file of your own (cassette=True names one after the test)",
            pytrace=False,
        )
    return plan


@pytest.fixture
def druid_sim(
    request: pytest.FixtureRequest, druid_sim_servers: SimServers, druid_sim_options: dict[str, Any]
) -> Iterator[DruidSim]:
    """A real druid-sim server at ``.url``, at its configuration's start, with handles on it.

    Configure it with ``@pytest.mark.druid_sim(scenario=..., cassette=..., seed=..., time_scale=0,
    start=..., journal_size=..., fresh=False, strict=False)`` or ``@pytest.mark.parametrize("druid_sim",
    [{...}], indirect=True)``.
    """
    asked = _asked(request, druid_sim_options, druid_sim_servers.settings)
    options, fresh = asked.options, asked.fresh
    plan = None if asked.cassette is None else _plan(asked.cassette, request, druid_sim_servers)
    recorder = None
    if plan is not None and plan.recording:
        recorder = druid_sim_servers.recorder()
    forward = None if recorder is None else recorder.url
    server = SimServer(options, forward) if fresh else druid_sim_servers.get(options, forward)
    handle = DruidSim(server, str(plan.path) if plan is not None and plan.replay else None, plan)
    try:
        if fresh:
            server.use_cassette(handle.cassette)  # a new server is at its start: only its cassette to load
        else:
            handle.reset()
        if recorder is not None and plan is not None and plan.record is not None:
            server.catch_up()  # its clock is real time, which the reset took back to the server's start
            _start_recording(recorder, plan)
            handle.recorder = recorder
        request.node.stash[_handle_key] = handle
        yield handle
    finally:
        if handle.recorder is not None and plan is not None:
            handle.recorded = handle.recorder.finish()
            druid_sim_servers.recorded.append((plan, handle.recorded, handle.recorder.upstream))
        handle.close()
        if fresh:
            server.stop()
        elif server.simulation.config.scenario != options.scenario:
            druid_sim_servers.discard(options, forward)  # a test loaded another scenario: do not share it


def _start_recording(recorder: EmbeddedRecorder, plan: Plan) -> None:
    """Point the session's recorder at the test's cassette; a failure (a cassette appended to with no
    redaction of its own, a redaction key that cannot be had, a folder that cannot be written) fails
    the test with the reason, nothing written."""
    from druid_sim.cassette import CassetteError, RuleError
    from druid_sim.cassette.keys import RedactionKeyError

    assert plan.record is not None
    try:
        recorder.record_into(plan.path, plan.record)
    except (CassetteError, RuleError, RedactionKeyError, OSError) as exc:
        pytest.fail(f"druid_sim: cannot record into {plan.path}: {exc}", pytrace=False)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_call(item: pytest.Item) -> Generator[None, None, None]:
    """A strict replay that otherwise passed fails here, naming what missed (with the nearest recorded
    requests and what differed) and what stayed unplayed."""
    result = yield
    handle = item.stash.get(_handle_key, None)
    if handle is not None and handle.server.options.strict and (problems := handle.strict_problems()):
        item.stash[_strict_failed_key] = True
        pytest.fail(f"druid_sim strict replay failed:\n{problems}", pytrace=False)
    return result


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(
    item: pytest.Item, call: pytest.CallInfo[None]
) -> Generator[None, pytest.TestReport, pytest.TestReport]:
    """On failure, add the journal's tail to the report (what the code under test actually sent), a strict
    replay's misses and unplayed interactions, and what a recording test recorded."""
    report = yield
    handle = item.stash.get(_handle_key, None)
    if handle is not None and report.failed and call.when == "call":
        report.sections.append(("druid-sim journal", handle.journal_tail()))
        strict_failed = item.stash.get(_strict_failed_key, False)  # then the failure itself says it all
        if handle.server.options.strict and not strict_failed and (problems := handle.strict_problems()):
            report.sections.append(("druid-sim strict replay", problems))
        if handle.recorder is not None and handle.plan is not None:
            recorder = handle.recorder
            summary = recorded_summary(handle.plan, recorder.recorded, recorder.upstream)
            report.sections.append(("druid-sim recording", f"{summary} so far (the cassette is kept)"))
    return report


def pytest_terminal_summary(terminalreporter: Any, config: pytest.Config) -> None:
    """After a recording run: which cassettes were written, and how many interactions each."""
    recorded = config.stash.get(_recorded_key, [])
    if recorded:
        terminalreporter.section("druid-sim recordings")
        for plan, count, upstream in recorded:
            terminalreporter.line(recorded_summary(plan, count, upstream))
