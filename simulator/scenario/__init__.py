"""Scenarios: YAML files that script a cluster, its tasks' behaviour, faults and a timeline.

Public API (imported lazily, so ``simulator.faults`` can use ``simulator.scenario.fields`` without
a circular import):

* :func:`load_scenario` (name of a built-in or a path) → :class:`Scenario`, or :class:`ScenarioError`
  whose ``str()`` is one ``file:line: field: message`` line per problem;
* :func:`builtin_names`, :func:`resolve`;
* :func:`build_overlord` (what ``config.fresh_overlord`` uses);
* :func:`activate` (switch a running simulation to another scenario and reset it; for the control API).
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from simulator.runtime import Simulation
    from simulator.scenario.catalog import SCENARIO_DIR, builtin_names, load_scenario, resolve
    from simulator.scenario.fields import Problem, ScenarioError
    from simulator.scenario.model import build_overlord
    from simulator.scenario.schema import Scenario

EXTENSION = "scenario"
_LAZY = {
    "SCENARIO_DIR": "catalog",
    "builtin_names": "catalog",
    "load_scenario": "catalog",
    "resolve": "catalog",
    "Problem": "fields",
    "ScenarioError": "fields",
    "build_overlord": "model",
    "Scenario": "schema",
}


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'simulator.scenario' has no attribute {name!r}")
    return getattr(importlib.import_module(f"simulator.scenario.{module}"), name)


def activate(simulation: Simulation, ref: str | None) -> Scenario | None:
    """Validate scenario ``ref`` (None: an empty cluster), make it the simulation's, and reset it.

    Raises :class:`ScenarioError` before changing anything when the scenario is invalid. The reset
    rebuilds the model and runs every reset hook (the fault layer then takes the new scenario's faults).
    """
    from dataclasses import replace

    from simulator.config import reset_simulation
    from simulator.scenario.catalog import load_scenario

    scenario = load_scenario(ref) if ref is not None else None
    simulation.config = replace(simulation.config, scenario=ref)
    reset_simulation(simulation)
    return scenario


__all__ = [
    "EXTENSION",
    "SCENARIO_DIR",
    "Problem",
    "Scenario",
    "ScenarioError",
    "activate",
    "build_overlord",
    "builtin_names",
    "load_scenario",
    "resolve",
]
