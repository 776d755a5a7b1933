"""Druid basic security: users, passwords and datasource permissions, as a secured cluster answers them.

``install(simulation)`` puts a :class:`SecurityState` in ``simulation.extensions["security"]`` (the
configured scenario's ``security:`` section, taken again on every reset) and returns the middleware
factory that ``druid_sim.server.assembly`` wires between the journal and the fault layer. The Druid
handlers authorize through :mod:`druid_sim.security.access`. ``docs/security.md`` is the reference.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from druid_sim.asgi import ASGIApp, Middleware
from druid_sim.security.middleware import EXTENSION, UNSECURED_PATHS, SecurityMiddleware, SecurityState
from druid_sim.security.model import Permission, Security, User

if TYPE_CHECKING:
    from druid_sim.runtime import Simulation


def scenario_security(simulation: Simulation) -> Security | None:
    """The ``security:`` section of the simulation's configured scenario, if it has one."""
    scenario = simulation.scenario
    return scenario.security if scenario is not None else None


def announcement(simulation: Simulation) -> str | None:
    """What ``druid-sim serve`` says at start when security is on: who may log in (never a password)."""
    state: SecurityState | None = simulation.extensions.get(EXTENSION)
    if state is None or state.security is None:
        return None
    users = ", ".join(state.security.users)
    return (
        f"druid-sim: basic security on (users: {users}): HTTP Basic credentials needed everywhere but "
        "/status/health and /druid/indexer/v1/isLeader (docs/security.md)"
    )


def install(simulation: Simulation) -> Middleware:
    """Create the simulation's :class:`SecurityState`, hook it to resets, and return the middleware factory."""
    state = SecurityState(scenario_security(simulation))
    simulation.extensions[EXTENSION] = state

    def use_scenario() -> None:
        state.security = scenario_security(simulation)

    simulation.on_reset.append(use_scenario)

    def middleware(app: ASGIApp) -> ASGIApp:
        return SecurityMiddleware(app, simulation)

    return middleware


__all__ = [
    "EXTENSION",
    "UNSECURED_PATHS",
    "Permission",
    "Security",
    "SecurityMiddleware",
    "SecurityState",
    "User",
    "announcement",
    "install",
    "scenario_security",
]
