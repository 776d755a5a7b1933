"""``serve --state``: open the store, reconcile what it holds with the command line, and wire it in.

A store remembers the scenario and seed it was made with, and where and how fast its clock started:
a server started on it again takes them from it (``--start-time`` and ``--time-scale`` apply to a new
store only; the clock goes on where virtual time now stands). Another scenario or seed given on the
command line is refused: the actions in the store only mean something for the model that took them.
"""

from __future__ import annotations

from dataclasses import replace
from typing import TYPE_CHECKING

from druid_sim.actions import EXTENSION
from druid_sim.clock import wall_clock_ms
from druid_sim.config import ServeConfig
from druid_sim.runtime import Simulation
from druid_sim.state.election import Elector
from druid_sim.state.ledger import Ledger
from druid_sim.state.store import Settings, Store, StoreError, open_store

if TYPE_CHECKING:
    from druid_sim.server.app import SimulatorApp


def open_for(config: ServeConfig, scenario_given: bool, seed_given: bool) -> tuple[ServeConfig, Store, Settings]:
    """The store ``config.state`` names, and the configuration as the store fixes it. Raises `StoreError`."""
    assert config.state is not None
    store = open_store(config.state)
    try:
        settings = store.load_settings()
        if settings is None:
            settings = Settings(
                scenario=config.scenario,
                seed=config.seed,
                start_ms=config.start_ms if config.start_ms is not None else wall_clock_ms(),
                scale=config.time_scale,
                wall_ms=wall_clock_ms(),
            )
            store.save_settings(settings)
        else:
            _check(store, settings, config, scenario_given, seed_given)
    except StoreError:
        store.close()
        raise
    adopted = replace(
        config, scenario=settings.scenario, seed=settings.seed, start_ms=settings.start_ms, time_scale=settings.scale
    )
    return adopted, store, settings


def _check(store: Store, settings: Settings, config: ServeConfig, scenario_given: bool, seed_given: bool) -> None:
    written = f"scenario {settings.scenario or 'none'} and seed {settings.seed}"
    fix = (
        f"start with --scenario {settings.scenario or '(none)'} --seed {settings.seed}, or give another --state "
        "for a new cluster"
    )
    if scenario_given and config.scenario != settings.scenario:
        raise StoreError(
            f"the state store {store.location} was written with {written}, not scenario {config.scenario}: {fix}"
        )
    if seed_given and config.seed != settings.seed:
        raise StoreError(f"the state store {store.location} was written with {written}, not seed {config.seed}: {fix}")


def install(simulation: Simulation, app: SimulatorApp, store: Store, settings: Settings) -> Ledger:
    """Rebuild ``simulation`` from ``store``, decide who leads, and keep electing while ``app`` serves.

    Raises `StoreError` (nothing served) when the stored actions cannot be rebuilt.
    """
    ledger = Ledger(simulation, store, settings)
    simulation.extensions[EXTENSION] = ledger
    elector = Elector(ledger, simulation.leadership.self_url)
    elector.decide()
    app.on_startup.append(elector.start)
    app.on_shutdown.append(elector.stop)
    return ledger
