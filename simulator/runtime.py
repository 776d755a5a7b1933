"""The running simulation: one clock, one Overlord model, its logs, and who leads the cluster."""

from __future__ import annotations

from dataclasses import dataclass, field

from simulator.clock import Clock
from simulator.overlord.fakes import FakePools
from simulator.overlord.logs import TaskLogs
from simulator.overlord.overlord import Overlord

DRUID_VERSION = "35.0.0"


@dataclass(slots=True)
class Leadership:
    """Who the Overlord leader is, as ``/leader`` and ``/isLeader`` report it and redirects use it."""

    self_url: str
    leader_url: str | None = None  # None: this server leads

    @property
    def is_leader(self) -> bool:
        return self.leader_url is None

    @property
    def current(self) -> str:
        return self.leader_url or self.self_url


@dataclass(slots=True)
class Simulation:
    """Everything the Druid routes answer from."""

    clock: Clock
    overlord: Overlord
    logs: TaskLogs
    pools: FakePools
    leadership: Leadership = field(default_factory=lambda: Leadership("http://127.0.0.1:8888"))
    druid_version: str = DRUID_VERSION
