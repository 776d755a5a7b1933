"""What ``druid-sim serve`` was asked to run, and building the simulation from it."""

from __future__ import annotations

from dataclasses import dataclass

from simulator.clock import Clock
from simulator.overlord.demo import seed_demo
from simulator.overlord.fakes import fake_pools
from simulator.overlord.logs import TaskLogs
from simulator.overlord.overlord import Overlord
from simulator.overlord.workers import WorkerPool
from simulator.runtime import Leadership, Simulation


@dataclass(frozen=True, slots=True)
class ServeConfig:
    """Options shared by the CLI, the test fixtures and the control API's reset."""

    host: str = "127.0.0.1"
    port: int = 8888
    seed: int = 0
    time_scale: float = 1.0
    start_ms: int | None = None
    scenario: str | None = "demo"
    access_log: bool = True

    @property
    def self_url(self) -> str:
        host = "localhost" if self.host in ("0.0.0.0", "::") else self.host
        return f"http://{host}:{self.port}"


def build_simulation(config: ServeConfig, clock: Clock | None = None) -> Simulation:
    """A fresh simulation for ``config``: clock, model, and the starting cluster."""
    clock = clock or Clock(config.start_ms, config.time_scale)
    pools = fake_pools(config.seed)
    workers = WorkerPool(hosts=pools.middle_managers, capacity=9)
    overlord = Overlord(clock, seed=config.seed, workers=workers)
    if config.scenario == "demo":
        seed_demo(overlord, pools, config.seed)
    return Simulation(clock, overlord, TaskLogs(pools), pools, Leadership(config.self_url))
