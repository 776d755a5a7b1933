"""Attaching a replay to a simulation: load, seed the model, reset, and the middleware for assembly."""

from __future__ import annotations

from dataclasses import dataclass, replace

from druid_sim.asgi import ASGIApp, Middleware, Receive, Scope, Send
from druid_sim.config import ServeConfig
from druid_sim.express import ExpressAnswer, ExpressRequest, express_of
from druid_sim.logsafe import log_redaction
from druid_sim.overlord.task import Task
from druid_sim.replay.app import ReplayApp
from druid_sim.replay.engine import Replay, ReplayOptions
from druid_sim.replay.options import LatencyMode, MatchOptions, MissMode, SequencePolicy, choice
from druid_sim.runtime import Simulation
from druid_sim.simulation import reset_simulation

#: The key of the loaded `Replay` in ``Simulation.extensions``.
EXTENSION = "replay"
#: The key of the `ReplaySwitch` (the middleware in the chain) in ``Simulation.extensions``.
SWITCH = "replay.switch"
#: The key of the installed replay's reset hook, so that loading another cassette can take it out.
_HOOK = "replay.reset_hook"


def replay_options(config: ServeConfig) -> ReplayOptions:
    """The replay options in a serve configuration; raises ValueError naming a bad value and the choices."""
    matching = match_options(config)
    return ReplayOptions(
        sequence=choice(SequencePolicy, matching.sequence, "--sequence"),
        on_miss=choice(MissMode, config.replay_on_miss, "--on-miss"),
        latency=choice(LatencyMode, matching.latency, "--latency"),
        rules=matching.rules(),
        redaction_key=config.replay_redaction_key,
        max_cassette_size=config.limits.max_cassette_size,
    )


def match_options(config: ServeConfig) -> MatchOptions:
    """The matching options of a serve configuration (the same the pytest marker gives)."""
    return MatchOptions(config.replay_ignore, config.replay_match_on, config.replay_sequence, config.replay_latency)


def load_replay(config: ServeConfig) -> Replay | None:
    """Load the configured cassette (None without one); raises `CassetteFormatError` or ValueError."""
    if config.cassette is None:
        return None
    return Replay.load(config.cassette, replay_options(config))


def install_replay(simulation: Simulation, replay: Replay, seed_tasks: list[Task] | None = None) -> None:
    """Attach ``replay`` to ``simulation``: seed the model in simulate mode and re-seed it on every reset.

    ``seed_tasks``: the first seeding's tasks, built beforehand by `Replay.seed_tasks` (off the event loop).
    """
    simulation.extensions[EXTENSION] = replay
    log_redaction(simulation).use(replay.redactor)  # the journal and access log show the cassette's placeholders

    def seed(tasks: list[Task] | None = None) -> None:
        if replay.options.on_miss is MissMode.SIMULATE:
            replay.seed(simulation.overlord, tasks)

    def on_reset() -> None:
        replay.reset()
        seed()

    seed(seed_tasks)
    simulation.on_reset.append(on_reset)
    simulation.extensions[_HOOK] = on_reset


class ReplaySwitch:
    """The replay's place in the middleware chain: the cassette in force answers, or (none) the model.

    Always installed, so a running server can start replaying another cassette (``POST /__sim/cassette``)
    without rebuilding the chain; with no cassette it costs one call.
    """

    def __init__(self, app: ASGIApp, simulation: Simulation) -> None:
        self.app = app
        self.simulation = simulation
        self.current: ReplayApp | None = None
        self._model = express_of(app)

    def use(self, replay: Replay | None) -> None:
        self.current = None if replay is None else ReplayApp(self.app, replay, self.simulation.clock)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        current = self.current
        if current is None:
            await self.app(scope, receive, send)
        else:
            await current(scope, receive, send)

    def express(self, request: ExpressRequest) -> ExpressAnswer | None:
        """The replay's express answer (`druid_sim.express`), or with no cassette the model's: a miss always
        goes the ASGI way (it is matched, logged and maybe simulated there)."""
        current = self.current
        if current is not None:
            return current.express(request)
        return None if self._model is None else self._model(request)


@dataclass(frozen=True, slots=True)
class PreparedReplay:
    """A cassette loaded, indexed and its seed tasks built: everything but the switch, which is quick."""

    path: str
    replay: Replay
    seed_tasks: list[Task] | None  # None: --on-miss error, nothing to seed


def prepare_cassette(simulation: Simulation, path: str) -> PreparedReplay:
    """Load the cassette at ``path`` with the server's replay options and build its seed tasks.

    Reads only ``simulation.config``, so it can run in a worker thread while the loop goes on serving;
    raises ``CassetteFormatError`` or ValueError with the loader's message.
    """
    replay = Replay.load(path, replay_options(replace(simulation.config, cassette=path)))
    tasks = replay.seed_tasks() if replay.options.on_miss is MissMode.SIMULATE else None
    return PreparedReplay(path, replay, tasks)


def switch_cassette(simulation: Simulation, path: str | None, prepared: PreparedReplay | None = None) -> Replay | None:
    """Replay the cassette at ``path`` from now on (None: stop replaying); the simulation is reset.

    The cassette is loaded first (unless ``prepared`` by `prepare_cassette`), so a broken one raises
    (``CassetteFormatError`` or ValueError with the loader's message) and changes nothing. The clock is
    reset to where the server started, not moved to the recording's end: move it with
    ``POST /__sim/clock`` if the replay needs that.
    """
    switch: ReplaySwitch | None = simulation.extensions.get(SWITCH)
    if switch is None:
        raise LookupError("this server was built without the replay switch (druid_sim.server.assembly)")
    config = replace(simulation.config, cassette=path)
    if path is not None and prepared is None:
        prepared = prepare_cassette(simulation, path)
    replay = None if prepared is None else prepared.replay
    old_hook = simulation.extensions.pop(_HOOK, None)
    if old_hook in simulation.on_reset:
        simulation.on_reset.remove(old_hook)
    simulation.extensions.pop(EXTENSION, None)
    log_redaction(simulation).use(None)
    simulation.config = config
    reset_simulation(simulation)
    if prepared is not None:
        install_replay(simulation, prepared.replay, prepared.seed_tasks)
    switch.use(replay)
    return replay


def replay_middlewares(simulation: Simulation) -> list[Middleware]:
    """``[ReplaySwitch]``, replaying the configured cassette if there is one.

    ``druid-sim serve`` loads the cassette before building the app (to stop with the loader's message
    and to start the clock at the recording's end); otherwise it is loaded here.
    """
    replay = simulation.extensions.get(EXTENSION)
    if replay is None:
        replay = load_replay(simulation.config)
        if replay is not None:
            install_replay(simulation, replay)

    def wrap(app: ASGIApp) -> ASGIApp:
        switch = ReplaySwitch(app, simulation)
        switch.use(replay)
        simulation.extensions[SWITCH] = switch
        return switch

    return [wrap]


__all__ = [
    "EXTENSION",
    "SWITCH",
    "PreparedReplay",
    "ReplaySwitch",
    "install_replay",
    "load_replay",
    "prepare_cassette",
    "replay_middlewares",
    "replay_options",
    "switch_cassette",
]
