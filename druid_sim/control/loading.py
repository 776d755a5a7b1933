"""Scenario and cassette: what is loaded, loading another, and the recorded interactions not yet used.

The scenario engine (``druid_sim.scenario``) and the replayer (``druid_sim.replay``) own the loading
and the bookkeeping; this module only translates between them and JSON.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from druid_sim import actions
from druid_sim.actions import StoreUnavailable
from druid_sim.builtin import cassette_names, shipped_cassette
from druid_sim.cassette import CassetteError
from druid_sim.control.core import describe_rewound_clock, keep, simulation_of
from druid_sim.control.errors import ControlError, JSONAnswer, json_body
from druid_sim.control.files import CASSETTE_SUFFIXES, SCENARIO_SUFFIXES, FileAccess
from druid_sim.replay.wiring import PreparedReplay, prepare_cassette, switch_cassette
from druid_sim.scenario import ScenarioError, builtin_names
from druid_sim.scenario import load_scenario as read_scenario
from druid_sim.simulation import activate_scenario
from druid_sim.state.ledger import ledger_of
from druid_sim.util.quoting import hidden
from druid_sim.util.threads import in_daemon_thread


def _describe_scenario(ref: str | None) -> dict[str, Any]:
    body: dict[str, Any] = {"scenario": ref}
    if ref is None:
        body["description"] = "an empty cluster (no scenario)"
        return body
    try:
        with hidden():
            scenario = read_scenario(ref)
    except ScenarioError as exc:  # the file changed on disk since it was loaded
        body["problems"] = exc.as_json()
        return body
    body.update(
        name=scenario.name,
        description=scenario.description,
        source=scenario.source,
        faults=[fault.as_json() for fault in scenario.all_faults()],
        security=None if scenario.security is None else scenario.security.describe(),  # never a password
    )
    return body


async def get_scenario(request: Request) -> Response:
    """``GET /__sim/scenario``: the scenario the simulation starts from (and resets to)."""
    simulation = simulation_of(request)
    return JSONAnswer({**_describe_scenario(simulation.config.scenario), "seed": simulation.config.seed})


async def list_scenarios(request: Request) -> Response:
    """``GET /__sim/scenarios``: the built-in scenarios a server can switch to, each with its description."""
    listed: list[dict[str, Any]] = []
    for name in builtin_names():
        try:
            listed.append({"name": name, "description": read_scenario(name).description})
        except ScenarioError as exc:  # a broken file in the install: list it, say why it cannot load
            listed.append({"name": name, "description": None, "problem": str(exc)})
    return JSONAnswer({"current": simulation_of(request).config.scenario, "scenarios": listed})


def file_access(request: Request) -> FileAccess:
    """The files this server's control API may open (`druid_sim.control.files`)."""
    access: FileAccess = request.app.state.files
    return access


def _not_allowed(kind: str, ref: str, access: FileAccess, suffixes: tuple[str, ...], extra: str = "") -> ControlError:
    """The one answer for a file that is missing, outside the allowed folders or of another kind."""
    return ControlError(
        404,
        f"no {kind} {ref!r} that this server may read (nothing changed): give {extra}a path to one of the "
        f"{access.describe(suffixes)} (a relative path is looked up there), or start the server with "
        "--data-dir DIR to allow another folder",
    )


#: Said after a file's problems: the control API never quotes a file, the CLI on the server's machine does.
_SEE_LOCALLY = (
    "(values from the file are not shown here; 'druid-sim {command} FILE' on the server's machine shows them)"
)


async def load_scenario(request: Request) -> Response:
    """``POST /__sim/scenario`` ``{"scenario": NAME|FILE|null}``: validate, switch to it and reset.

    An invalid scenario changes nothing: 404 when it cannot be found (or may not be read), 422 with every
    problem (file, line, field, fix; never the file's values) when it does not validate.
    """
    body = await json_body(request, {"scenario"})
    if "scenario" not in body:
        raise ControlError(422, 'say which scenario: {"scenario": "demo"} (a built-in name or a YAML file), or null')
    ref = body["scenario"]
    if ref is not None and (not isinstance(ref, str) or not ref.strip()):
        raise ControlError(422, f"scenario must be a built-in name or a file path (or null), not {ref!r}")
    target = ref
    builtins = builtin_names()
    if ref is not None and ref not in builtins:
        access = file_access(request)
        path = access.find(ref, SCENARIO_SUFFIXES)
        if path is None:
            extra = f"a built-in's name ({', '.join(builtins)}) or "
            raise _not_allowed("built-in scenario or scenario file called", ref, access, SCENARIO_SUFFIXES, extra)
        target = str(path)
    simulation = simulation_of(request)
    before = simulation.clock.now_ms()
    try:
        with hidden():
            activate_scenario(simulation, target)
    except ScenarioError as exc:
        raise ControlError(
            422,
            f"scenario {ref!r} was not loaded (nothing changed): {exc} {_SEE_LOCALLY.format(command='scenario validate')}",
            problems=exc.as_json(),
        ) from None
    keep(simulation, actions.control(actions.SCENARIO, simulation.clock.now_ms(), scenario=target))
    return JSONAnswer(
        {**_describe_scenario(target), "loaded": True, "clock": describe_rewound_clock(simulation, before)}
    )


def _replay(request: Request) -> Any:
    """The replay engine (``simulation.extensions["replay"]``), or None when no cassette is replayed."""
    return simulation_of(request).extensions.get("replay")


async def get_cassette(request: Request) -> Response:
    """``GET /__sim/cassette``: the cassette replayed, if any, with its hit and miss counts."""
    replay = _replay(request)
    if replay is None:
        return JSONAnswer({"cassette": None})
    with _cursors_answer():
        described: dict[str, Any] = replay.describe()
    return JSONAnswer(described)


@contextmanager
def _cursors_answer() -> Iterator[None]:
    """Reading cursors kept in a database that does not answer: 503, saying so."""
    try:
        yield
    except StoreUnavailable as exc:
        raise ControlError(503, f"the replay's cursors cannot be read ({exc}); retry when it answers") from None


async def load_cassette(request: Request) -> Response:
    """``POST /__sim/cassette`` ``{"cassette": FILE|NAME}``: replay another cassette from now on (null: stop).

    The simulation is reset (tasks, cursors, faults, journal; the clock back to its start) and the model
    is seeded from the new cassette. The cassette is read, indexed and its seed tasks built in a worker
    thread while the server goes on answering; only the switch runs on the event loop. A cassette that
    does not load changes nothing: 404 when it cannot be found (or may not be read), 422 with the loader's
    message (file, line, fix; never the file's values) when it is broken, 409 while another is loading.
    """
    body = await json_body(request, {"cassette"})
    if ledger_of(simulation_of(request)) is not None:
        raise ControlError(
            409,
            "this server keeps a simulated cluster in its state store (--state), which does not keep cassettes: "
            "replay a cassette on a server started without --state (nothing changed)",
        )
    if simulation_of(request).config.state is not None:
        raise ControlError(
            409,
            "this server shares its cassette's sequence cursors with the replicas on its state store (--state), "
            "which would go on replaying the cassette they started with: restart every replica with --cassette "
            "FILE to replay another (nothing changed)",
        )
    if "cassette" not in body:
        raise ControlError(422, 'say which cassette: {"cassette": "cassettes/run.jsonl"} or a shipped one, or null')
    ref = body["cassette"]
    if ref is not None and (not isinstance(ref, str) or not ref.strip()):
        raise ControlError(422, f"cassette must be a file path (or null to stop replaying), not {ref!r}")
    simulation = simulation_of(request)
    if simulation.config.replay_on_miss == "forward" and simulation.config.replay_upstream is not None:
        raise ControlError(
            409,
            f"this server spies on {simulation.config.cassette} (--on-miss forward): restart druid-sim serve with "
            "another --cassette to spy with it (nothing changed)",
        )
    before = simulation.clock.now_ms()
    prepared: PreparedReplay | None = None
    if ref is not None:
        access = file_access(request)
        path = access.find(ref, CASSETTE_SUFFIXES) or shipped_cassette(ref)  # a file of your own wins
        if path is None:
            extra = f"a shipped cassette's name ({', '.join(cassette_names())}) or "
            raise _not_allowed("cassette", ref, access, CASSETTE_SUFFIXES, extra)
        state = request.app.state
        if state.loading_cassette:
            raise ControlError(409, "another cassette is being loaded; try again when that call has answered")
        state.loading_cassette = True

        def prepare() -> PreparedReplay:
            with hidden():
                return prepare_cassette(simulation, str(path))

        try:
            prepared = await in_daemon_thread(prepare)
        except (CassetteError, ValueError, OSError) as exc:
            raise ControlError(
                422,
                f"cassette {ref!r} was not loaded (nothing changed): {exc} {_SEE_LOCALLY.format(command='cassette show')}",
            ) from None
        finally:
            state.loading_cassette = False
    try:
        replay = switch_cassette(simulation, None if prepared is None else prepared.path, prepared)
    except LookupError as exc:
        raise ControlError(501, str(exc)) from None
    described: dict[str, Any] = {"cassette": None} if replay is None else replay.describe()
    return JSONAnswer({**described, "loaded": True, "clock": describe_rewound_clock(simulation, before)})


async def unused_interactions(request: Request) -> Response:
    """``GET /__sim/cassette/unused``: recorded interactions not played (or played fewer times than recorded)."""
    replay = _replay(request)
    if replay is None:
        raise ControlError(
            409, "no cassette is replayed, so nothing is unused; start with --cassette FILE or POST /__sim/cassette"
        )
    with _cursors_answer():
        unused: list[dict[str, Any]] = replay.unused()
    return JSONAnswer({"cassette": replay.name, "count": len(unused), "unused": unused})
