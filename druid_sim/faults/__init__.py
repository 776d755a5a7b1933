"""Fault injection for Druid routes: latency, Druid error bodies, broken connections, leader trouble.

``install(simulation)`` puts a :class:`FaultSet` in ``simulation.extensions["faults"]`` (the
scenario's faults, restored with fresh counters on every reset) and returns the middleware factory
that ``druid_sim.server.assembly`` wires between replay and the journal.
"""

from __future__ import annotations

from druid_sim.asgi import ASGIApp, Middleware
from druid_sim.faults.middleware import FAULT, FAULTS_APPLIED, FaultMiddleware
from druid_sim.faults.spec import KINDS, Fault, Trigger, parse_fault
from druid_sim.faults.state import EXTENSION, FaultSet
from druid_sim.runtime import Simulation


def scenario_faults(simulation: Simulation) -> tuple[Fault, ...]:
    """The faults of the simulation's configured scenario (its timeline's leader events included)."""
    scenario = simulation.scenario
    return scenario.all_faults() if scenario is not None else ()


def install(simulation: Simulation) -> Middleware:
    """Create the simulation's :class:`FaultSet`, hook it to resets, and return the middleware factory."""
    faults = FaultSet.of(simulation.clock, scenario_faults(simulation), seed=simulation.config.seed)
    simulation.extensions[EXTENSION] = faults
    simulation.on_reset.append(lambda: faults.use_scenario(scenario_faults(simulation)))

    def middleware(app: ASGIApp) -> ASGIApp:
        return FaultMiddleware(app, simulation)

    return middleware


__all__ = [
    "EXTENSION",
    "FAULT",
    "FAULTS_APPLIED",
    "KINDS",
    "Fault",
    "FaultMiddleware",
    "FaultSet",
    "Trigger",
    "install",
    "parse_fault",
]
