"""Health, reset and the virtual clock."""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from druid_sim import actions
from druid_sim.actions import StoreUnavailable, record
from druid_sim.clock import check_scale, format_instant, parse_duration, parse_instant
from druid_sim.control.errors import ControlError, JSONAnswer, json_body
from druid_sim.fields import ScenarioError
from druid_sim.journal import journal_of
from druid_sim.runtime import Simulation
from druid_sim.simulation import reset_simulation
from druid_sim.state.ledger import ledger_of
from druid_sim.util.quoting import hidden

CLOCK_FIELDS = {"advance", "to", "freeze", "scale", "speed"}


def simulation_of(request: Request) -> Simulation:
    simulation: Simulation = request.app.state.simulation
    return simulation


def keep(simulation: Simulation, action: actions.Action) -> None:
    """Make a control change durable before it is answered (`druid_sim.state`); 503 when it could not be."""
    try:
        record(simulation, action)
    except StoreUnavailable as exc:
        raise ControlError(
            503,
            f"the change could not be kept ({exc}); this server stops leading and rebuilds from the state store "
            "before it leads again: retry on the leader (GET /druid/indexer/v1/leader)",
        ) from None


def describe_clock(simulation: Simulation) -> dict[str, Any]:
    clock = simulation.clock
    return {**clock.describe(), "startMillis": clock.start_ms}


def describe_rewound_clock(simulation: Simulation, before_ms: int) -> dict[str, Any]:
    """The clock after a reset, with ``rewoundFrom``: where it stood before going back to its start.

    A reset puts virtual time back where the server started it (``--start-time``, else the wall clock
    at start-up), so a server that has been running answers with times behind the wall clock from
    then on; the field says so plainly rather than leaving clients to notice time going backwards.
    """
    return {**describe_clock(simulation), "rewoundFrom": format_instant(before_ms)}


async def health(request: Request) -> Response:
    """``GET /__sim/health``: the server is up; what it serves and where its clock stands."""
    simulation = simulation_of(request)
    journal = journal_of(simulation)
    return JSONAnswer(
        {
            "status": "ok",
            "druidVersion": simulation.druid_version,
            "scenario": simulation.config.scenario,
            "cassette": simulation.config.cassette,
            "seed": simulation.config.seed,
            "leader": simulation.leadership.current,
            "clock": describe_clock(simulation),
            "journal": {"size": journal.size, "held": len(journal)},
            "extensions": sorted(simulation.extensions),
            **({"state": ledger.describe()} if (ledger := ledger_of(simulation)) is not None else {}),
        }
    )


async def reset(request: Request) -> Response:
    """``POST /__sim/reset``: back to the scenario's start (tasks, clock, faults, cursors, journal).

    The clock goes back to its start time too (``clock.rewoundFrom`` says from where).
    """
    simulation = simulation_of(request)
    before = simulation.clock.now_ms()
    try:
        with hidden():
            reset_simulation(simulation)
    except ScenarioError as exc:
        raise ControlError(
            409,
            f"cannot reset: the scenario file no longer validates (nothing changed): {exc}; fix it, or load "
            "another with POST /__sim/scenario",
        ) from None
    except StoreUnavailable as exc:  # replay cursors shared through a database that does not answer
        raise ControlError(503, f"the replay's sequence cursors could not be reset ({exc}): retry") from None
    keep(simulation, actions.control(actions.RESET, simulation.clock.now_ms()))
    return JSONAnswer({"reset": True, "clock": describe_rewound_clock(simulation, before)})


async def get_clock(request: Request) -> Response:
    """``GET /__sim/clock``."""
    return JSONAnswer(describe_clock(simulation_of(request)))


def _scale(value: Any, field: str) -> float:
    try:
        check_scale(value)
    except ValueError as exc:
        raise ControlError(422, f"{field}: {exc}") from None
    return float(value)


async def post_clock(request: Request) -> Response:
    """``POST /__sim/clock``: ``{"advance": "5m"|300}``, ``{"to": ISO}``, ``{"freeze": bool}``, ``{"scale": x}``.

    Speed changes apply first, then the step, so ``{"freeze": true, "advance": "1m"}`` stops time and
    moves it one minute. The clock never goes backwards. Every field is checked (range included) before
    anything is applied, so a refused call changes nothing.
    """
    simulation = simulation_of(request)
    body = await json_body(request, CLOCK_FIELDS)
    if not body:
        raise ControlError(
            422,
            'say what to do: {"advance": "5m"} or seconds, {"to": "2026-01-01T01:00:00Z"}, {"freeze": true}, {"scale": 60}',
        )
    clock = simulation.clock
    if "scale" in body and "speed" in body:
        raise ControlError(422, "give scale or its alias speed, not both")
    scale_field = "scale" if "scale" in body else "speed"
    scale = _scale(body[scale_field], scale_field) if scale_field in body else None
    step: float | None = None
    target: int | None = None
    if "advance" in body:
        try:
            step = parse_duration(body["advance"])
        except ValueError as exc:
            raise ControlError(422, f"advance: {exc}") from None
    if "to" in body:
        if step is not None:
            raise ControlError(422, "give advance or to, not both")
        if not isinstance(body["to"], str):
            raise ControlError(422, "to must be an ISO-8601 instant such as 2026-01-01T01:00:00Z")
        try:
            target = parse_instant(body["to"])
        except ValueError as exc:
            raise ControlError(422, f"to: {exc}") from None
        now = clock.now_ms()
        if target < now:
            raise ControlError(
                409,
                f"the clock is already at {format_instant(now)}, past {body['to']}; it only moves forward (reset first)",
            )
        step = (target - now) / 1000.0
    if step is not None:
        try:
            clock.check_advance(step)
        except ValueError as exc:
            raise ControlError(422, f"{'to' if 'to' in body else 'advance'}: {exc}") from None
    if "freeze" in body:
        freeze = body["freeze"]
        if not isinstance(freeze, bool):
            raise ControlError(422, f"freeze must be true or false, not {freeze!r}")
        if freeze and scale not in (None, 0.0):
            raise ControlError(422, "freeze: true contradicts a non-zero scale; give one of them")
        if freeze:
            scale = 0.0
        elif scale is None:
            scale = clock.scale or 1.0
    overlord = simulation.overlord
    before = overlord.now()
    if scale is not None:
        clock.set_scale(scale)
    if target is not None:  # measured after the speed change, so a running clock lands on the instant
        clock.advance(max(0.0, (target - clock.now_ms()) / 1000.0))
    elif step is not None:
        clock.advance(step)
    if step is None:
        keep(simulation, actions.control(actions.CLOCK, clock.now_ms()))
    else:  # a jump: what it skips is decided here, once, and kept with it (`Overlord.jump`)
        after = clock.now_ms()
        overlord.jump(before, after)
        keep(simulation, actions.control(actions.CLOCK, after, **{"from": before}))
    return JSONAnswer(describe_clock(simulation))
