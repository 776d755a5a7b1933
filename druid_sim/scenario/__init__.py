"""Scenarios: YAML files that script a cluster, its tasks' behaviour, faults and a timeline.

* :func:`load_scenario` (name of a built-in or a path) → :class:`Scenario`, or :class:`ScenarioError`
  whose ``str()`` is one ``file:line: field: message`` line per problem;
* :func:`builtin_names`, :func:`resolve`;
* :func:`build_overlord` (what `druid_sim.simulation` builds the model with).

Switching a running simulation to another scenario is `druid_sim.simulation.activate_scenario`.
"""

from __future__ import annotations

from druid_sim.fields import Problem, ScenarioError
from druid_sim.scenario.catalog import SCENARIO_DIR, builtin_names, load_scenario, resolve
from druid_sim.scenario.model import build_overlord
from druid_sim.scenario.schema import Scenario

__all__ = [
    "SCENARIO_DIR",
    "Problem",
    "Scenario",
    "ScenarioError",
    "build_overlord",
    "builtin_names",
    "load_scenario",
    "resolve",
]
