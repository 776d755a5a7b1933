"""Scenario and cassette: what is loaded, loading another, and the recorded interactions not yet used.

The scenario engine (``simulator.scenario``) and the replayer (``simulator.replay``) own the loading
and the bookkeeping; this module only translates between them and JSON. While one of them is missing
from the build, its calls answer 501 naming what is missing.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from simulator.control.core import describe_clock, simulation_of
from simulator.control.errors import ControlError, JSONAnswer, json_body, not_available


def _describe_scenario(ref: str | None) -> dict[str, Any]:
    body: dict[str, Any] = {"scenario": ref}
    if ref is None:
        body["description"] = "an empty cluster (no scenario)"
        return body
    try:
        from simulator.scenario import load_scenario
    except ModuleNotFoundError:
        return body
    scenario = load_scenario(ref)
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
    try:
        from simulator.scenario import ScenarioError, builtin_names, load_scenario
    except ModuleNotFoundError:
        raise not_available("built-in scenarios", "simulator.scenario") from None
    listed: list[dict[str, Any]] = []
    for name in builtin_names():
        try:
            listed.append({"name": name, "description": load_scenario(name).description})
        except ScenarioError as exc:  # a broken file in the install: list it, say why it cannot load
            listed.append({"name": name, "description": None, "problem": str(exc)})
    return JSONAnswer({"current": simulation_of(request).config.scenario, "scenarios": listed})


async def load_scenario(request: Request) -> Response:
    """``POST /__sim/scenario`` ``{"scenario": NAME|FILE|null}``: validate, switch to it and reset.

    An invalid scenario changes nothing: 404 when it cannot be found, 422 with every problem (file,
    line, field, fix) when it does not validate.
    """
    try:
        from simulator.scenario import ScenarioError, activate
    except ModuleNotFoundError:
        raise not_available("loading a scenario at run time", "simulator.scenario") from None
    body = await json_body(request, {"scenario"})
    if "scenario" not in body:
        raise ControlError(422, 'say which scenario: {"scenario": "demo"} (a built-in name or a YAML file), or null')
    ref = body["scenario"]
    if ref is not None and (not isinstance(ref, str) or not ref.strip()):
        raise ControlError(422, f"scenario must be a built-in name or a file path (or null), not {ref!r}")
    simulation = simulation_of(request)
    try:
        activate(simulation, ref)
    except ScenarioError as exc:
        problems = exc.as_json()
        status = 404 if any("no built-in scenario or file" in p["message"] for p in problems) else 422
        raise ControlError(
            status, f"scenario {ref!r} was not loaded (nothing changed): {exc}", problems=problems
        ) from None
    return JSONAnswer({**_describe_scenario(ref), "loaded": True, "clock": describe_clock(simulation)})


def _replay(request: Request) -> Any:
    """The replay engine (``simulation.extensions["replay"]``), or None when no cassette is replayed."""
    return simulation_of(request).extensions.get("replay")


async def get_cassette(request: Request) -> Response:
    """``GET /__sim/cassette``: the cassette replayed, if any, with its hit and miss counts."""
    replay = _replay(request)
    if replay is None:
        return JSONAnswer({"cassette": None})
    described: dict[str, Any] = replay.describe()
    return JSONAnswer(described)


async def load_cassette(request: Request) -> Response:
    """``POST /__sim/cassette`` ``{"cassette": FILE}``: replay another cassette from now on (null: stop).

    The simulation is reset (tasks, cursors, faults, journal; the clock back to its start) and the model
    is seeded from the new cassette. A cassette that does not load changes nothing: 404 when the file
    is missing, 422 with the loader's message (file, line, fix) when it is broken.
    """
    try:
        from simulator.cassette import CassetteError
        from simulator.replay.wiring import switch_cassette
    except ModuleNotFoundError:
        raise not_available("loading a cassette at run time", "simulator.replay") from None
    body = await json_body(request, {"cassette"})
    if "cassette" not in body:
        raise ControlError(422, 'say which cassette: {"cassette": "cassettes/demo-recording.jsonl"}, or null')
    path = body["cassette"]
    if path is not None and (not isinstance(path, str) or not path.strip()):
        raise ControlError(422, f"cassette must be a file path (or null to stop replaying), not {path!r}")
    if path is not None and not Path(path).is_file():
        raise ControlError(404, f"no cassette at {path!r} (nothing changed); give a path the server can read")
    simulation = simulation_of(request)
    try:
        replay = switch_cassette(simulation, path)
    except (CassetteError, ValueError, OSError) as exc:
        raise ControlError(422, f"cassette {path!r} was not loaded (nothing changed): {exc}") from None
    except LookupError as exc:
        raise ControlError(501, str(exc)) from None
    described: dict[str, Any] = {"cassette": None} if replay is None else replay.describe()
    return JSONAnswer({**described, "loaded": True, "clock": describe_clock(simulation)})


async def unused_interactions(request: Request) -> Response:
    """``GET /__sim/cassette/unused``: recorded interactions not played (or played fewer times than recorded)."""
    replay = _replay(request)
    if replay is None:
        raise ControlError(
            409, "no cassette is replayed, so nothing is unused; start with --cassette FILE or POST /__sim/cassette"
        )
    unused: list[dict[str, Any]] = replay.unused()
    return JSONAnswer({"cassette": replay.name, "count": len(unused), "unused": unused})
