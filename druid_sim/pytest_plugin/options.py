"""The plugin's options: ``--druid-sim-*`` on the command line, the ``druid_sim`` marker, and what a test asked for.

A test configures its server with the marker (``@pytest.mark.druid_sim(scenario=..., seed=...)``), indirect
parametrisation, or a ``druid_sim_options`` fixture; `asked` merges them (closest wins) into the `SimOptions`
its server is shared by, and checks them, so a typo is a usage error that names the options there are.
"""

from __future__ import annotations

import os
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from druid_sim.clock import format_instant, parse_instant
from druid_sim.config import ServeConfig
from druid_sim.limits import MAX_CASSETTE_SIZE, ServerLimits, parse_size
from druid_sim.pytest_plugin.recording import Plan, RecordingMode
from druid_sim.replay.options import IgnoreSpecError, MatchOptions

#: Where the manual clock starts unless the marker says otherwise.
DEFAULT_START = "2026-01-01T00:00:00Z"
MARKER_HELP = (
    "druid_sim(scenario=None, cassette=None, seed=0, time_scale=0, start='2026-01-01T00:00:00Z', "
    "journal_size=10000, data_dirs=(), fresh=False, strict=False, on_miss='error', ignore=(), match_on=(), "
    "sequence='stick-last', latency='none', state=None): configure the druid_sim fixture's server; "
    "cassette=True replays (or records) cassettes/<module>/<test>.jsonl beside the test file; a request the "
    "cassette has no answer for fails the test unless on_miss='simulate' (hybrid: the model answers it)"
)
#: What a replayed test's misses may be answered by: the replay's 599 (and the test fails), or the model.
ON_MISS_CHOICES = ("error", "simulate")
#: The matching options the marker shares with ``druid-sim serve`` (`druid_sim.replay.options.MatchOptions`).
MATCH_OPTION_NAMES = ("ignore", "match_on", "sequence", "latency")
OPTION_NAMES = (
    "scenario",
    "cassette",
    "seed",
    "time_scale",
    "start",
    "journal_size",
    "data_dirs",
    "fresh",
    "strict",
    "on_miss",
    *MATCH_OPTION_NAMES,
    "state",
)
RECORD_EXTRA_HINT = "pip install 'druid-sim[record]'"
SETTINGS_KEY = pytest.StashKey["RecordSettings"]()
RECORDED_KEY = pytest.StashKey[list[tuple[Plan, int, str]]]()


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
    strict: bool = False  # besides misses, recorded interactions left unplayed fail the test
    on_miss: str = "error"  # error: the replay's 599, and the test fails; simulate: the model answers (hybrid)
    matching: MatchOptions = field(
        default_factory=MatchOptions
    )  # ignore, match_on, sequence, latency: as druid-sim serve's
    max_cassette_size: int = MAX_CASSETTE_SIZE  # --druid-sim-max-cassette-size: the largest cassette loaded
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
            replay_on_miss="error" if self.strict else self.on_miss,
            replay_ignore=self.matching.ignore,
            replay_match_on=self.matching.match_on,
            replay_sequence=self.matching.sequence,
            replay_latency=self.matching.latency,
            limits=ServerLimits(max_cassette_size=self.max_cassette_size),
        )

    @property
    def hybrid(self) -> bool:
        """True when the model answers what the cassette does not (``on_miss="simulate"``), by the test's choice."""
        return not self.strict and self.on_miss == "simulate"


@dataclass(frozen=True, slots=True)
class RecordSettings:
    """The session's ``--druid-sim-record``, ``--druid-sim-record-mode`` and ``--druid-sim-strict``."""

    upstream: str | None = None
    mode: RecordingMode = RecordingMode.NONE
    strict: bool = False
    max_body: str | None = None  # --druid-sim-record-max-body: bytes of each body the recorder keeps
    max_cassette_size: int = MAX_CASSETTE_SIZE  # --druid-sim-max-cassette-size
    upstream_name: str | None = None  # --druid-sim-record-upstream-name: the cluster's URL in the cassettes


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
        "--druid-sim-record-max-body",
        metavar="SIZE",
        default=None,
        help="bytes of each request and response body written to a recorded cassette (default 8MiB, as "
        "druid-sim record's --max-recorded-body); a longer body reaches the test whole and is recorded cut, "
        "marked truncated",
    )
    group.addoption(
        "--druid-sim-record-upstream-name",
        metavar="URL",
        default=None,
        help="the cluster's URL as recorded cassettes name it (their header's upstream and each request's Host), "
        "when --druid-sim-record reaches it at another address (a port-forward, a simulator on a free port), so "
        "recording again keeps each cassette's header (default: --druid-sim-record's URL)",
    )
    group.addoption(
        "--druid-sim-strict",
        action="store_true",
        default=False,
        help="fail a replayed test that sent a request its cassette has no answer for, or left a recorded "
        "interaction unplayed (as druid_sim(strict=True))",
    )
    group.addoption(
        "--druid-sim-max-cassette-size",
        metavar="SIZE",
        default=None,
        help="largest cassette a test may replay, e.g. 512MiB (default 256MiB; memory grows about 3.6 KB per "
        "interaction); a larger one fails the test before it is read",
    )


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", MARKER_HELP)
    config.stash[SETTINGS_KEY] = record_settings(config)
    config.stash[RECORDED_KEY] = []


def record_settings(config: pytest.Config) -> RecordSettings:
    """The command line's recording options, checked: a usage error says what is wrong and how to fix it."""
    upstream: str | None = config.getoption("druid_sim_record", None)
    given: str | None = config.getoption("druid_sim_record_mode", None)
    strict = bool(config.getoption("druid_sim_strict", False))
    max_body: str | None = config.getoption("druid_sim_record_max_body", None)
    upstream_name: str | None = config.getoption("druid_sim_record_upstream_name", None)
    given_size: str | None = config.getoption("druid_sim_max_cassette_size", None)
    try:
        max_size = MAX_CASSETTE_SIZE if given_size is None else parse_size(given_size)
    except ValueError as exc:
        raise pytest.UsageError(f"--druid-sim-max-cassette-size: {exc}") from None
    mode = RecordingMode(given) if given else RecordingMode.ONCE if upstream else RecordingMode.NONE
    if not mode.records:
        return RecordSettings(upstream, mode, strict, max_cassette_size=max_size)
    if upstream is None:
        raise pytest.UsageError(
            f"--druid-sim-record-mode={mode} records cassettes from a Druid cluster: give its URL with "
            "--druid-sim-record=http://ROUTER:8888"
        )
    from druid_sim.proxy.launcher import LaunchError, check_max_recorded_body, check_upstream

    try:
        upstream = check_upstream(upstream, flag="--druid-sim-record")
        if max_body is not None:
            check_max_recorded_body(max_body, flag="--druid-sim-record-max-body")
        if upstream_name is not None:
            upstream_name = check_upstream(upstream_name, flag="--druid-sim-record-upstream-name")
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
    return RecordSettings(upstream, mode, strict, max_body, max_size, upstream_name)


@dataclass(frozen=True, slots=True)
class Asked:
    """What a test asked for: its server's options, a server of its own, its cassette (as given)."""

    options: SimOptions
    fresh: bool
    cassette: Any = None


def options_asked(request: pytest.FixtureRequest, defaults: dict[str, Any], settings: RecordSettings) -> Asked:
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
    unknown = sorted(set(given) - set(OPTION_NAMES))
    if unknown:
        raise pytest.UsageError(f"druid_sim: unknown option(s) {', '.join(unknown)}; use {', '.join(OPTION_NAMES)}")
    fresh = bool(given.pop("fresh", False))
    cassette = given.pop("cassette", None)
    if not (cassette is None or isinstance(cassette, bool | str | os.PathLike)):
        raise pytest.UsageError(f"druid_sim cassette= takes a file name, or True for the test's own; not {cassette!r}")
    given["strict"] = bool(given.get("strict", False)) or settings.strict
    given["max_cassette_size"] = settings.max_cassette_size
    on_miss = given.get("on_miss", "error")
    if on_miss not in ON_MISS_CHOICES:
        pytest.fail(
            f"druid_sim on_miss={on_miss!r}: use 'error' (the default: a request the cassette has no answer for "
            "fails the test) or 'simulate' (hybrid: the model seeded with the cassette's tasks answers it)",
            pytrace=False,
        )
    given["matching"] = matching_asked({name: given.pop(name) for name in MATCH_OPTION_NAMES if name in given})
    scenario = given.get("scenario")
    if scenario is not None and str(scenario).endswith((".yaml", ".yml")):
        given["scenario"] = find_file(str(scenario), request, "scenario")
    if "data_dirs" in given:
        folders = given["data_dirs"]
        folders = [folders] if isinstance(folders, str | Path) else list(folders)
        given["data_dirs"] = tuple(find_file(str(folder), request, "data_dirs", Path.is_dir) for folder in folders)
    if "start" in given:
        try:
            given["start"] = format_instant(parse_instant(str(given["start"])))
        except ValueError as exc:
            raise pytest.UsageError(f"druid_sim start: {exc}") from None
    return Asked(SimOptions(**given), fresh, cassette or None)


def matching_asked(given: dict[str, Any]) -> MatchOptions:
    """The marker's ``ignore=``, ``match_on=``, ``sequence=``, ``latency=``, checked as ``serve`` checks its flags."""
    default = MatchOptions()
    options = MatchOptions(
        ignore=_strings(given["ignore"], "ignore") if "ignore" in given else default.ignore,
        match_on=_strings(given["match_on"], "match_on") if "match_on" in given else default.match_on,
        sequence=str(given.get("sequence", default.sequence)),
        latency=str(given.get("latency", default.latency)),
    )
    problem = None
    try:
        options.checked()
    except IgnoreSpecError as exc:
        problem = f"druid_sim: {exc}"
    if problem is not None:  # outside the except block: one message, no traceback, nothing chained
        pytest.fail(problem, pytrace=False)
    return options


def _strings(value: Any, name: str) -> tuple[str, ...]:
    if isinstance(value, str):
        return (value,)
    if isinstance(value, list | tuple) and all(isinstance(item, str) for item in value):
        return tuple(value)
    raise pytest.UsageError(
        f"druid_sim {name}= takes a string or a list of strings, e.g. {name}=['header:x-request-id']"
    )


def file_candidates(name: str, request: pytest.FixtureRequest) -> list[Path]:
    """Where a cassette or scenario named ``name`` may be: as given, beside the test file, under the rootdir."""
    return [Path(name), Path(request.path).parent / name, Path(request.config.rootpath) / name]


def find_file(
    name: str, request: pytest.FixtureRequest, option: str, exists: Callable[[Path], bool] = Path.is_file
) -> str:
    """A scenario file (or a folder) as given, else relative to the test file, else to the rootdir."""
    candidates = file_candidates(name, request)
    for candidate in candidates:
        if exists(candidate):
            return str(candidate.resolve())
    tried = ", ".join(str(c) for c in candidates)
    pytest.fail(f"druid_sim: {option} {name!r} not found (tried {tried}); check {option}=", pytrace=False)


__all__ = [
    "DEFAULT_START",
    "OPTION_NAMES",
    "Asked",
    "RecordSettings",
    "SimOptions",
    "file_candidates",
    "find_file",
    "options_asked",
]
