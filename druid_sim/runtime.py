"""The running simulation: one clock, one Overlord model, its logs, who leads, and what extends them.

Every part of the server reads the current model through a :class:`Simulation` at request time
(``simulation.overlord``, never a copy), so a reset can swap in a fresh model without restarting.
Extensions (faults, replay cursors, the journal) register a reset hook in ``on_reset``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from druid_sim.clock import Clock
from druid_sim.overlord.fakes import FakePools
from druid_sim.overlord.logs import TaskLogs
from druid_sim.overlord.overlord import Overlord

if TYPE_CHECKING:
    from druid_sim.config import ServeConfig
    from druid_sim.scenario import Scenario

DRUID_VERSION = "35.0.0"

#: ASGI scope key naming what answered a Druid request: "model", "replay" or "fault".
ANSWERED_BY = "druid_sim.answered_by"


@dataclass(slots=True)
class Leadership:
    """Who the Overlord leader is, as ``/leader`` and ``/isLeader`` report it and redirects use it."""

    self_url: str
    leader_url: str | None = None  # None: this server leads (unless electing)
    #: A replica that does not lead and knows no leader (one is being elected, or its store is gone): 503s.
    electing: bool = False

    @property
    def is_leader(self) -> bool:
        return self.leader_url is None and not self.electing

    @property
    def current(self) -> str:
        return self.leader_url or ("" if self.electing else self.self_url)


@dataclass(slots=True)
class Simulation:
    """Everything the Druid routes answer from.

    ``extensions`` holds the state of optional parts by name (``"faults"``, ``"replay"``,
    ``"journal"``, ``"scenario"``), so each part owns its own type without this module knowing it.
    """

    config: ServeConfig
    clock: Clock
    overlord: Overlord
    logs: TaskLogs
    pools: FakePools
    leadership: Leadership
    druid_version: str = DRUID_VERSION
    extensions: dict[str, Any] = field(default_factory=dict)
    on_reset: list[Callable[[], None]] = field(default_factory=list)
    #: The configured scenario as loaded (None: an empty cluster), set by `druid_sim.simulation` on build and reset.
    scenario: Scenario | None = None
