"""Applying a stored action to a simulation: how a restarted server or a replica rebuilds the model.

Each action is applied at the very millisecond it happened (the clock is frozen while actions are
applied and moved to each one's ``at_ms``), through the same model calls the handlers made, so the
model comes out as the one that answered the clients. A submission whose id comes out different
means the model is not the one that wrote the store (another druid-sim, a changed scenario file):
that is refused rather than served.
"""

from __future__ import annotations

import orjson

from druid_sim import actions as kinds
from druid_sim.actions import Action
from druid_sim.fields import ScenarioError
from druid_sim.overlord.overlord import DuplicateTaskError, QueueFullError
from druid_sim.runtime import Simulation
from druid_sim.simulation import activate_scenario, reset_simulation
from druid_sim.state.store import StoreError

FIX = "start with the druid-sim and scenario file that wrote it, or give another --state"


def starts_at(action: Action) -> int:
    """The virtual time applying ``action`` starts at: a jump of the clock starts where it jumped from."""
    jumped_from = action.optional("from") if action.kind == kinds.CLOCK else None
    return action.at_ms if jumped_from is None else int(jumped_from)


def apply(simulation: Simulation, action: Action, location: str) -> None:
    """Replay ``action`` into ``simulation`` (whose clock is frozen); `StoreError` when it cannot be."""
    clock = simulation.clock
    kind = action.kind
    overlord = simulation.overlord
    jumped_from = action.optional("from") if kind == kinds.CLOCK else None
    if jumped_from is not None:  # the clock jumped from there: catch up on everything before the jump first
        clock.advance_to(jumped_from)
        overlord.now()
    clock.advance_to(action.at_ms)
    if kind in (kinds.SUBMIT, kinds.SHUTDOWN, kinds.SHUTDOWN_ALL):
        overlord.now()  # the handler's first look at the model: planned arrivals up to now take their slots first
    if kind == kinds.SUBMIT:
        try:
            task = overlord.submit(kinds.submission_of(action))
        except (KeyError, TypeError, ValueError, DuplicateTaskError, QueueFullError) as exc:
            raise StoreError(
                f"the state store {location} holds task {action.task_id} that this model refuses ({type(exc).__name__}): {FIX}"
            ) from None
        if task.id != action.task_id:
            raise StoreError(
                f"the state store {location} holds task {action.task_id} but the model rebuilt it as {task.id}: {FIX}"
            )
    elif kind == kinds.SHUTDOWN:
        found = overlord.get(action.task_id or "", action.at_ms)
        if found is not None:
            overlord.shutdown(found, action.at_ms)
    elif kind == kinds.SHUTDOWN_ALL:
        overlord.shutdown_datasource(action.arg("dataSource"))
    elif kind == kinds.CLOCK:
        if jumped_from is not None:
            overlord.jump(jumped_from, action.at_ms)
        clock.advance_to(action.clock_ms)
    elif kind == kinds.RESET:
        reset_simulation(simulation)
    elif kind == kinds.SCENARIO:
        try:
            activate_scenario(simulation, action.arg("scenario"))
        except ScenarioError:
            raise StoreError(
                f"the state store {location} switched to scenario {action.arg('scenario')!r}, which no longer "
                f"loads: fix it (druid-sim scenario validate), or give another --state"
            ) from None
    elif kind == kinds.REQUEST:
        _make_request_again(simulation, action, location)
    else:
        _apply_fault_change(simulation, action)
    if not clock.frozen:  # a reset puts the clock back to its starting speed: keep it still while rebuilding
        clock.freeze()


def _make_request_again(simulation: Simulation, action: Action, location: str) -> None:
    """Send a kept Druid call to the Druid handlers again (below faults and security: it was let through
    once), at the millisecond it was made; it must change the model again, as it did."""
    from druid_sim.druid.routes import DruidApp

    args = orjson.loads(action.args)
    body = args["body"].encode("latin-1")
    headers = [(b"content-type", args["contentType"].encode("latin-1"))] if args["contentType"] else []
    headers += [(name.encode("latin-1"), value.encode("latin-1")) for name, value in args.get("headers", [])]
    scope = {
        "type": "http",
        "method": args["method"],
        "path": args["path"],
        "raw_path": args["path"].encode("latin-1"),
        "query_string": args["query"].encode("latin-1"),
        "headers": headers,
        kinds.REMADE: True,
        kinds.REMADE_IDENTITY: args.get("identity"),
    }
    if args.get("client") is not None:
        scope["client"] = (args["client"], 0)

    async def receive() -> dict[str, object]:
        return {"type": "http.request", "body": body, "more_body": False}

    simulation.overlord.now()
    answer = DruidApp(simulation).respond(scope, receive)
    try:
        answer.send(None)
    except StopIteration as done:
        if 200 <= done.value.status < 300:
            return
        problem = f"answered {done.value.status}"
    else:
        answer.close()
        problem = "waited on something while being made again"
    raise StoreError(
        f"the state store {location} holds {args['method']} {args['path']} which this model {problem}: {FIX}"
    )


def _apply_fault_change(simulation: Simulation, action: Action) -> None:
    from druid_sim.faults.presets import arm
    from druid_sim.faults.state import EXTENSION, FaultSet

    faults = simulation.extensions.get(EXTENSION)
    if not isinstance(faults, FaultSet):
        return
    if action.kind == kinds.FAULT_ADD:
        for spec in action.arg("faults"):
            faults.add(spec)
    elif action.kind == kinds.FAULT_REMOVE:
        faults.remove(action.arg("name"))
    elif action.kind == kinds.FAULT_CLEAR:
        faults.clear()
    elif action.kind == kinds.FAULT_PRESET:
        arm(faults, action.arg("preset"))
