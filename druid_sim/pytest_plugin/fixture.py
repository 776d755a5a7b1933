"""The ``druid_sim`` fixture and the hooks around a test: which server, which cassette, what a failure reports."""

from __future__ import annotations

import os
import shutil
from collections.abc import Generator, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from druid_sim.builtin import cassette_names, shipped_cassette
from druid_sim.cassette import RecordMode
from druid_sim.pytest_plugin.handle import DruidSim
from druid_sim.pytest_plugin.options import RECORDED_KEY, SETTINGS_KEY, file_candidates, options_asked
from druid_sim.pytest_plugin.recording import (
    SUFFIX,
    CassetteMissing,
    Plan,
    default_cassette_dir,
    default_cassette_name,
    partial_path,
    plan_cassette,
    recorded_summary,
    where_to_record,
)
from druid_sim.pytest_plugin.servers import SimServers

if TYPE_CHECKING:
    from druid_sim.proxy.embedded import EmbeddedRecorder

HANDLE_KEY = pytest.StashKey[DruidSim]()
STRICT_FAILED_KEY = pytest.StashKey[bool]()


@pytest.fixture(scope="session")
def druid_sim_servers(pytestconfig: pytest.Config) -> Iterator[SimServers]:
    """Every druid-sim server of the session, and its recorder; stopped when the session ends."""
    servers = SimServers(pytestconfig.stash.get(SETTINGS_KEY, None), pytestconfig.stash.get(RECORDED_KEY, None))
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


def plan_of(cassette: Any, request: pytest.FixtureRequest, servers: SimServers) -> Plan:
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
        candidates = file_candidates(text, request)
        found = next((c.resolve() for c in candidates if c.is_file()), None)
        shipped = shipped_cassette(text) if found is None else None
        path = found or shipped or where_to_record(text, Path(request.path))
        tried = (
            f" (tried {', '.join(str(c) for c in candidates)}); check cassette= or a shipped cassette's name "
            f"({', '.join(cassette_names())}), or record it into {path}"
        )
    missing = None
    try:
        plan = plan_cassette(path, servers.settings.mode, servers.rewritten)
    except CassetteMissing as exc:
        missing = str(exc)
    if missing is not None:  # failed outside the except block: pytest shows the message once, nothing chained
        named = str(path) if cassette is True else repr(os.fspath(cassette))
        pytest.fail(f"druid_sim: cassette {named} not found{tried}. {missing}", pytrace=False)
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
    asked = options_asked(request, druid_sim_options, druid_sim_servers.settings)
    options, fresh = asked.options, asked.fresh
    plan = None if asked.cassette is None else plan_of(asked.cassette, request, druid_sim_servers)
    recorder = None
    if plan is not None and plan.recording:
        recorder = druid_sim_servers.recorder()
    forward = None if recorder is None else recorder.url
    server = druid_sim_servers.new(options, forward) if fresh else druid_sim_servers.get(options, forward)
    handle = DruidSim(server, str(plan.path) if plan is not None and plan.replay else None, plan)
    try:
        if fresh:
            server.use_cassette(handle.cassette)  # a new server is at its start: only its cassette to load
        else:
            handle.reset()
        if recorder is not None and plan is not None and plan.record is not None:
            server.catch_up(druid_sim_servers.cluster)  # the cluster's time, which the reset took back
            start_recording(recorder, plan, druid_sim_servers)
            handle.recorder, handle.cluster = recorder, druid_sim_servers.cluster
        request.node.stash[HANDLE_KEY] = handle
        yield handle
    finally:
        if handle.recorder is not None and plan is not None:
            handle.recorded = handle.recorder.finish()
            publish_recording(plan)
            druid_sim_servers.recorded.append((plan, handle.recorded, handle.recorder.upstream))
        handle.close()
        if fresh:
            server.stop()
        elif server.simulation.config.scenario != options.scenario:
            druid_sim_servers.discard(options, forward)  # a test loaded another scenario: do not share it


def start_recording(recorder: EmbeddedRecorder, plan: Plan, servers: SimServers) -> None:
    """Point the session's recorder at the test's cassette; a failure (a cassette appended to with no
    redaction of its own, a redaction key that cannot be had, a folder that cannot be written) fails
    the test with the reason, nothing written."""
    from druid_sim.cassette import CassetteError, RuleError
    from druid_sim.cassette.keys import RedactionKeyError

    assert plan.record is not None
    partial = partial_path(plan.path)
    problem = None
    mode = plan.record
    try:
        if mode is RecordMode.APPEND and plan.path.is_file():
            shutil.copyfile(plan.path, partial)  # appended to aside, then renamed over it at the end
        # Recorded again over the cassette it replaces: from the same cluster, its header (its salt) and the
        # timings of the exchanges that did not change are kept (druid_sim.cassette.again); the later tests
        # sharing a cassette rewritten this session go on pairing with the timings it had.
        if mode is RecordMode.OVERWRITE:
            kept = recorder.record_into(partial, mode, again_from=plan.path)
            if kept is not None:
                servers.kept[plan.path] = kept
        else:
            recorder.record_into(partial, mode, kept=servers.kept.get(plan.path))
    except (CassetteError, RuleError, RedactionKeyError, OSError) as exc:
        partial.unlink(missing_ok=True)
        problem = f"druid_sim: cannot record into {plan.path}: {exc}"
    if problem is not None:
        pytest.fail(problem, pytrace=False)


def publish_recording(plan: Plan) -> None:
    """The test has ended: what it recorded (in `partial_path`) becomes the cassette, in one rename."""
    partial = partial_path(plan.path)
    if partial.exists():
        os.replace(partial, plan.path)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_call(item: pytest.Item) -> Generator[None, None, None]:
    """A replayed test that otherwise passed fails here when its client sent a request the cassette has no
    answer for (with the nearest recorded requests and what differed), and in a strict replay when a
    recorded interaction stayed unplayed."""
    result = yield
    handle = item.stash.get(HANDLE_KEY, None)
    if handle is not None and (problems := handle.replay_problems()):
        item.stash[STRICT_FAILED_KEY] = True
        pytest.fail(f"druid_sim replay failed:\n{problems}", pytrace=False)
    return result


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(
    item: pytest.Item, call: pytest.CallInfo[None]
) -> Generator[None, pytest.TestReport, pytest.TestReport]:
    """On failure, add the journal's tail to the report (what the code under test actually sent), a replay's
    misses and unplayed interactions, and what a recording test recorded."""
    report = yield
    handle = item.stash.get(HANDLE_KEY, None)
    if handle is not None and report.failed and call.when == "call":
        report.sections.append(("druid-sim journal", handle.journal_tail()))
        replay_failed = item.stash.get(STRICT_FAILED_KEY, False)  # then the failure itself says it all
        if not replay_failed and (problems := handle.replay_problems()):
            report.sections.append(("druid-sim replay", problems))
        if handle.recorder is not None and handle.plan is not None:
            recorder = handle.recorder
            summary = recorded_summary(handle.plan, recorder.recorded, recorder.upstream)
            report.sections.append(("druid-sim recording", f"{summary} so far (the cassette is kept)"))
    return report


def pytest_terminal_summary(terminalreporter: Any, config: pytest.Config) -> None:
    """After a recording run: which cassettes were written, and how many interactions each (a cassette a
    ``new_episodes`` test did not add to is counted, not listed)."""
    recorded = config.stash.get(RECORDED_KEY, [])
    if not recorded:
        return
    terminalreporter.section("druid-sim recordings")
    untouched = 0
    for plan, count, upstream in recorded:
        if count == 0 and plan.record is RecordMode.APPEND:
            untouched += 1
            continue
        terminalreporter.line(recorded_summary(plan, count, upstream))
    if untouched:
        terminalreporter.line(f"druid-sim: {untouched} cassette(s) had an answer for every request: left unchanged")
