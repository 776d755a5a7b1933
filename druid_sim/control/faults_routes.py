"""``/__sim/faults``: list, add, remove and clear faults, through the fault layer's own API.

The fault layer (``druid_sim.faults``) owns parsing, validation and triggering; this module only
maps its :class:`FaultSet` to JSON. A list of faults is added all or nothing.
"""

from __future__ import annotations

from typing import Any

import orjson
from starlette.requests import Request
from starlette.responses import Response

from druid_sim import actions
from druid_sim.control.core import keep, simulation_of
from druid_sim.control.errors import ControlError, JSONAnswer
from druid_sim.faults.state import FaultSet

EXTENSION = "faults"


def _now(request: Request) -> int:
    return simulation_of(request).clock.now_ms()


def fault_set(request: Request) -> FaultSet:
    """The simulation's faults, or 501 when this server has no fault layer."""
    faults = simulation_of(request).extensions.get(EXTENSION)
    if not isinstance(faults, FaultSet):
        raise ControlError(
            501, "faults are not available: the fault layer is not wired into this server (druid_sim.server.assembly)"
        )
    return faults


async def list_faults(request: Request) -> Response:
    """``GET /__sim/faults``: the faults in force, in the order they are tried, with their counters."""
    return JSONAnswer({"faults": fault_set(request).describe()})


async def add_faults(request: Request) -> Response:
    """``POST /__sim/faults``: one fault (an object) or several (a list), in the scenario-file shape."""
    from druid_sim.fields import ScenarioError

    faults = fault_set(request)
    raw = await request.body()
    try:
        body: Any = orjson.loads(raw) if raw.strip() else None
    except orjson.JSONDecodeError as exc:
        raise ControlError(400, f"the body is not valid JSON ({exc}); send a fault object or a list of them") from None
    specs = body if isinstance(body, list) else [body]
    if not specs or not all(isinstance(spec, dict) for spec in specs):
        raise ControlError(
            400, 'send a fault object such as {"kind": "error", "status": 503} or a list of them (docs/scenarios.md)'
        )
    added: list[str] = []
    try:
        for spec in specs:
            added.append(faults.add(spec).name)
    except ScenarioError as exc:
        for name in added:  # all or nothing
            faults.remove(name)
        problems = exc.as_json()
        index = len(added)
        where = f"fault {index + 1} of {len(specs)}: " if len(specs) > 1 else ""
        status = 409 if any("exists already" in problem["message"] for problem in problems) else 422
        message = where + "; ".join(f"{p['field'] or 'fault'}: {p['message']}" for p in problems)
        raise ControlError(status, message + " (nothing was added)", problems=problems) from None
    keep(simulation_of(request), actions.control(actions.FAULT_ADD, _now(request), faults=specs))
    return JSONAnswer({"added": faults.describe(added)})  # the added ones only: a batch costs what it adds


async def remove_fault(request: Request) -> Response:
    """``DELETE /__sim/faults/{name}``."""
    faults = fault_set(request)
    name = request.path_params["name"]
    if not faults.remove(name):
        names = ", ".join(fault.name for fault in faults.list()) or "none"
        raise ControlError(404, f"no fault named {name!r}; the faults in force are: {names}")
    keep(simulation_of(request), actions.control(actions.FAULT_REMOVE, _now(request), name=name))
    return JSONAnswer({"removed": name})


async def clear_faults(request: Request) -> Response:
    """``DELETE /__sim/faults``: remove every fault (the scenario's come back at the next reset)."""
    faults = fault_set(request)
    count = len(faults.list())
    faults.clear()
    keep(simulation_of(request), actions.control(actions.FAULT_CLEAR, _now(request)))
    return JSONAnswer({"cleared": count})


async def list_presets(request: Request) -> Response:
    """``GET /__sim/faults/presets``: the one-click fault bundles, with the faults each would add now."""
    from druid_sim.faults.presets import PRESETS, elapsed_s

    elapsed = elapsed_s(fault_set(request))
    return JSONAnswer({"presets": [preset.describe(elapsed) for preset in PRESETS.values()]})


async def arm_preset(request: Request) -> Response:
    """``POST /__sim/faults/presets/{preset}``: add a preset's faults (replacing them if armed already)."""
    from druid_sim.faults.presets import PRESETS, arm

    faults = fault_set(request)
    name = request.path_params["preset"]
    if name not in PRESETS:
        raise ControlError(404, f"no fault preset named {name!r}; the presets are: {', '.join(PRESETS)}")
    added = [fault.name for fault in arm(faults, name)]
    keep(simulation_of(request), actions.control(actions.FAULT_PRESET, _now(request), preset=name))
    return JSONAnswer({"preset": name, "added": faults.describe(added)})
