"""What ``druid-sim serve`` was asked to run, and building (and rebuilding) the simulation from it."""

from __future__ import annotations

from dataclasses import dataclass, field

from simulator.clock import Clock
from simulator.limits import ServerLimits
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
    cassette: str | None = None
    access_log: bool = True
    control_token: str | None = None  # Bearer token the /__sim/ control API requires (None: open)
    journal_size: int = 10_000  # how many requests the journal keeps
    replay_on_miss: str = "simulate"  # replay: who answers an unrecorded request (simulate | error | forward)
    replay_latency: str = "none"  # replay: none | recorded (the upstream's time, on the virtual clock)
    replay_sequence: str = "stick-last"  # replay: stick-last | cycle | exhaust
    replay_ignore: tuple[str, ...] = ()  # replay: query:KEY, header:NAME, body:/json/pointer left out of matching
    report_unused: bool = False  # replay: list never-played interactions when the server stops
    replay_redaction_key: str | None = None  # replay: key file of a cassette redacted with a key kept outside it
    workers: int = 1  # uvicorn worker processes (more than one: replay only, sequence cursors in a shared file)
    limits: ServerLimits = field(default_factory=ServerLimits)  # sizes, timeouts, connections (simulator.limits)
    dashboard: bool = True  # serve the dashboard page at / (and its files under /__sim/ui/)
    data_dirs: tuple[str, ...] = ()  # folders the control API may load files from (empty: the working directory)

    @property
    def self_url(self) -> str:
        host = "localhost" if self.host in ("0.0.0.0", "::") else self.host
        return f"http://{host}:{self.port}"


def fresh_overlord(config: ServeConfig, clock: Clock) -> Overlord:
    """The model as the configuration starts it: workers, behaviours and the starting cluster.

    With a scenario (a built-in's name or a file) everything comes from it; without one, an empty
    cluster of 9 slots. A scenario that does not validate raises ``ScenarioError`` (``serve``
    checks it before building anything, so this only happens to programmatic callers).
    """
    overlord: Overlord
    if config.scenario is not None:
        from simulator.scenario import build_overlord, load_scenario

        overlord = build_overlord(load_scenario(config.scenario), clock, config.seed)
    else:
        pools = fake_pools(config.seed)
        workers = WorkerPool(hosts=pools.middle_managers, capacity=9)
        overlord = Overlord(clock, seed=config.seed, workers=workers)
    overlord.payloads.budget = config.limits.max_stored_payloads
    return overlord


def build_simulation(config: ServeConfig, clock: Clock | None = None) -> Simulation:
    """A fresh simulation for ``config``: clock, model, and the starting cluster."""
    clock = clock or Clock(config.start_ms, config.time_scale)
    pools = fake_pools(config.seed)
    return Simulation(
        config=config,
        clock=clock,
        overlord=fresh_overlord(config, clock),
        logs=TaskLogs(pools),
        pools=pools,
        leadership=Leadership(config.self_url),
    )


def reset_simulation(simulation: Simulation) -> None:
    """Back to the start: clock, tasks, then every extension's own reset hook.

    A scenario file that no longer validates raises ``ScenarioError`` before anything changes.
    """
    if simulation.config.scenario is not None:
        from simulator.scenario import load_scenario

        load_scenario(simulation.config.scenario)  # cached while the file is unchanged
    simulation.clock.reset()
    simulation.overlord = fresh_overlord(simulation.config, simulation.clock)
    simulation.logs = TaskLogs(simulation.pools)
    simulation.leadership.leader_url = None
    for hook in simulation.on_reset:
        hook()
