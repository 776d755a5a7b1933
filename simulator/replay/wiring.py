"""Attaching a replay to a simulation: load, seed the model, reset, and the middleware for assembly."""

from __future__ import annotations

from typing import TypeVar

from simulator.app import Middleware
from simulator.asgi import ASGIApp
from simulator.config import ServeConfig
from simulator.replay.app import ReplayApp
from simulator.replay.engine import Replay, ReplayOptions
from simulator.replay.options import LatencyMode, MatchRules, MissMode, SequencePolicy
from simulator.runtime import Simulation

_E = TypeVar("_E", SequencePolicy, MissMode, LatencyMode)

#: The key of the loaded `Replay` in ``Simulation.extensions``.
EXTENSION = "replay"


def replay_options(config: ServeConfig) -> ReplayOptions:
    """The replay options in a serve configuration; raises ValueError naming a bad value and the choices."""
    return ReplayOptions(
        sequence=_choice(SequencePolicy, config.replay_sequence, "--sequence"),
        on_miss=_choice(MissMode, config.replay_on_miss, "--on-miss"),
        latency=_choice(LatencyMode, config.replay_latency, "--latency"),
        rules=MatchRules.from_specs(config.replay_ignore),
    )


def _choice(kind: type[_E], value: str, flag: str) -> _E:
    try:
        return kind(value)
    except ValueError:
        choices = ", ".join(member.value for member in kind)
        raise ValueError(f"{flag} {value!r} is not one of: {choices}") from None


def load_replay(config: ServeConfig) -> Replay | None:
    """Load the configured cassette (None without one); raises `CassetteFormatError` or ValueError."""
    if config.cassette is None:
        return None
    return Replay.load(config.cassette, replay_options(config))


def install_replay(simulation: Simulation, replay: Replay) -> None:
    """Attach ``replay`` to ``simulation``: seed the model in simulate mode and re-seed it on every reset."""
    simulation.extensions[EXTENSION] = replay

    def seed() -> None:
        if replay.options.on_miss is MissMode.SIMULATE:
            replay.seed(simulation.overlord)

    def on_reset() -> None:
        replay.reset()
        seed()

    seed()
    simulation.on_reset.append(on_reset)


def replay_middlewares(simulation: Simulation) -> list[Middleware]:
    """``[ReplayApp]`` when the configuration names a cassette, else nothing.

    ``druid-sim serve`` loads the cassette before building the app (to stop with the loader's message
    and to start the clock at the recording's end); otherwise it is loaded here.
    """
    replay = simulation.extensions.get(EXTENSION)
    if replay is None:
        replay = load_replay(simulation.config)
        if replay is None:
            return []
        install_replay(simulation, replay)

    def wrap(app: ASGIApp) -> ASGIApp:
        return ReplayApp(app, replay, simulation.clock)

    return [wrap]


__all__ = ["EXTENSION", "install_replay", "load_replay", "replay_middlewares", "replay_options"]
