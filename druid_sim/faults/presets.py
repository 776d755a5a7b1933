"""Fault presets: named bundles of faults a presenter arms with one click (or one control-API call).

Each preset is built from the same shapes as ``faults:`` in a scenario file (``docs/scenarios.md``) at
the moment it is armed, so a time window such as "the leader fails over *now*" starts at the current
virtual time. The presets mirror the built-in scenarios that show the same trouble (``flaky-overlord``,
``leader-failover``, ``queue-full``, ``slow-tasks``), but act on whatever cluster is running.

Arming a preset that is armed already replaces its faults: counters start again and windows start
from now. Its faults are named ``<preset>`` or ``<preset>:<part>`` and listed with ``source``
``preset:<preset>``, so they can be removed one by one like any other fault.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from druid_sim.faults.spec import Fault, parse_fault
from druid_sim.faults.state import FaultSet

#: Where a failed-over leader lives: a name no client can reach, as in the leader-failover scenario.
NEW_LEADER = "http://druid-overlord-2.internal:8090"
NO_LEADER_FOR_S = 30.0
NEW_LEADER_FOR_S = 210.0

Specs = list[dict[str, Any]]


@dataclass(frozen=True, slots=True)
class Preset:
    """A named bundle: ``build(elapsed)`` gives its fault shapes, ``elapsed`` being virtual seconds since start."""

    name: str
    title: str
    description: str
    build: Callable[[float], Specs]

    def describe(self, elapsed_s: float) -> dict[str, Any]:
        """The preset as the control API lists it, with the faults it would add if armed now."""
        return {
            "name": self.name,
            "title": self.title,
            "description": self.description,
            "faults": self.build(elapsed_s),
        }


def _flaky(elapsed_s: float) -> Specs:
    return [
        {
            "name": "flaky-overlord:errors",
            "kind": "error",
            "status": 500,
            "exception": "java.lang.RuntimeException: org.skife.jdbi.v2.exceptions.UnableToObtainConnectionException",
            "message": "Cannot get a connection, pool error Timeout waiting for idle object",
            "when": {"probability": 0.2, "seed": 1},
        },
        {"name": "flaky-overlord:resets", "kind": "reset", "when": {"probability": 0.1, "seed": 2}},
    ]


def _failover(elapsed_s: float) -> Specs:
    lost_until = elapsed_s + NO_LEADER_FOR_S
    return [
        {
            "name": "leader-failover:no-leader",
            "kind": "no_leader",
            "answer": "router",
            "when": {"between": [round(elapsed_s, 3), round(lost_until, 3)]},
        },
        {
            "name": "leader-failover:new-leader",
            "kind": "redirect",
            "to": NEW_LEADER,
            "when": {"between": [round(lost_until, 3), round(lost_until + NEW_LEADER_FOR_S, 3)]},
        },
    ]


def _queue_full(elapsed_s: float) -> Specs:
    return [{"name": "queue-full", "kind": "queue_full"}]


def _slow(elapsed_s: float) -> Specs:
    return [{"name": "slow-responses", "kind": "latency", "delay": {"lognormal": {"median": "1s", "cap": "8s"}}}]


PRESETS: dict[str, Preset] = {
    preset.name: preset
    for preset in (
        Preset(
            "flaky-overlord",
            "Flaky Overlord",
            "1 request in 5 answers 500 (a metadata-store error page), 1 in 10 has its connection reset",
            _flaky,
        ),
        Preset(
            "leader-failover",
            "Leader failover now",
            f"no leader for {NO_LEADER_FOR_S:g} s (the Router answers 503), then this Overlord redirects (307) "
            f"to the new leader {NEW_LEADER} for {NEW_LEADER_FOR_S / 60:g} min, then leads again (virtual time)",
            _failover,
        ),
        Preset(
            "queue-full",
            "Queue full",
            "task submissions (POST /druid/indexer/v1/task) answer 429 CAPACITY_EXCEEDED until removed",
            _queue_full,
        ),
        Preset(
            "slow-responses",
            "Slow responses",
            "every Druid answer waits about 1 s of virtual time (lognormal, up to 8 s)",
            _slow,
        ),
    )
}


def elapsed_s(faults: FaultSet) -> float:
    """Virtual seconds since the clock's start: the time base of fault windows."""
    return (faults.clock.now_ms() - faults.clock.start_ms) / 1000.0


def arm(faults: FaultSet, name: str) -> list[Fault]:
    """Arm preset ``name`` (replacing its faults if armed already); KeyError for an unknown name.

    The shapes are fixed and valid, so parsing cannot fail; they are parsed before anything is removed
    all the same, so a failure would change nothing.
    """
    preset = PRESETS[name]
    built = [
        parse_fault(spec, default_name=spec["name"], source=f"preset:{preset.name}")
        for spec in preset.build(elapsed_s(faults))
    ]
    for fault in built:
        faults.remove(fault.name)
    return [faults.add_fault(fault) for fault in built]
