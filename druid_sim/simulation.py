"""Building a simulation from what ``serve`` was asked (`ServeConfig`), and rebuilding it: reset, a new scenario.

This layer sits above the scenario loader and the running simulation (`druid_sim.runtime`): it loads the
configured scenario, builds the Overlord model from it, and hands the loaded scenario to the simulation,
so the parts that take something from the scenario (faults, security) read it there instead of loading it.
"""

from __future__ import annotations

from dataclasses import replace

from druid_sim.clock import Clock
from druid_sim.config import ServeConfig
from druid_sim.overlord.fakes import fake_pools
from druid_sim.overlord.logs import TaskLogs
from druid_sim.overlord.overlord import Overlord
from druid_sim.overlord.workers import WorkerPool
from druid_sim.runtime import Leadership, Simulation
from druid_sim.scenario import Scenario, build_overlord, load_scenario


def configured_scenario(config: ServeConfig) -> Scenario | None:
    """The configured scenario, loaded (cached while its file is unchanged); None for an empty cluster.

    A scenario file that does not validate raises ``ScenarioError``.
    """
    return load_scenario(config.scenario) if config.scenario is not None else None


def fresh_overlord(config: ServeConfig, clock: Clock, scenario: Scenario | None) -> Overlord:
    """The model as the configuration starts it: workers, behaviours and the starting cluster.

    With a scenario everything comes from it; without one, an empty cluster of 9 slots.
    """
    overlord: Overlord
    if scenario is not None:
        overlord = build_overlord(scenario, clock, config.seed)
    else:
        pools = fake_pools(config.seed)
        workers = WorkerPool(hosts=pools.middle_managers, capacity=9)
        overlord = Overlord(clock, seed=config.seed, workers=workers)
    overlord.payloads.budget = config.limits.max_stored_payloads
    # With a store of actions the model must be a function of them: skip old arrivals only at stored jumps.
    overlord.skip_on_read = config.state is None or config.cassette is not None
    overlord.remember_at_most(config.limits.max_complete_tasks)
    if config.limits.queue_max_size is not None:
        overlord.queue_max_size = config.limits.queue_max_size
    return overlord


def build_simulation(config: ServeConfig, clock: Clock | None = None) -> Simulation:
    """A fresh simulation for ``config``: clock, model, and the starting cluster."""
    clock = clock or Clock(config.start_ms, config.time_scale)
    pools = fake_pools(config.seed)
    scenario = configured_scenario(config)
    return Simulation(
        config=config,
        clock=clock,
        overlord=fresh_overlord(config, clock, scenario),
        logs=TaskLogs(pools),
        pools=pools,
        leadership=Leadership(config.advertised_url),
        scenario=scenario,
    )


def reset_simulation(simulation: Simulation) -> None:
    """Back to the start: clock, tasks, then every extension's own reset hook.

    A scenario file that no longer validates raises ``ScenarioError`` before anything changes.
    """
    scenario = configured_scenario(simulation.config)
    simulation.scenario = scenario
    simulation.clock.reset()
    simulation.overlord = fresh_overlord(simulation.config, simulation.clock, scenario)
    simulation.logs = TaskLogs(simulation.pools)
    simulation.leadership.leader_url = None
    for hook in simulation.on_reset:
        hook()


def activate_scenario(simulation: Simulation, ref: str | None) -> Scenario | None:
    """Validate scenario ``ref`` (None: an empty cluster), make it the simulation's, and reset it.

    Raises ``ScenarioError`` before changing anything when the scenario is invalid. The reset rebuilds
    the model and runs every reset hook (the fault layer then takes the new scenario's faults).
    """
    scenario = load_scenario(ref) if ref is not None else None
    simulation.config = replace(simulation.config, scenario=ref)
    reset_simulation(simulation)
    return scenario


__all__ = ["activate_scenario", "build_simulation", "configured_scenario", "fresh_overlord", "reset_simulation"]
