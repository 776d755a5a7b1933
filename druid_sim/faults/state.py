"""The faults in force and their trigger counters: ``simulation.extensions["faults"]``.

This is the API the control API exposes over HTTP (list, add, remove, clear). A reset puts back
the scenario's faults with fresh counters, so a run replays identically after ``/__sim/reset``.
"""

from __future__ import annotations

import builtins
import random
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

from druid_sim.clock import Clock
from druid_sim.faults.spec import Fault, parse_fault
from druid_sim.fields import Problem, ScenarioError

EXTENSION = "faults"


@dataclass(slots=True)
class _Armed:
    """A fault with its counters and its own seeded random generators."""

    fault: Fault
    trigger_rng: random.Random
    delay_rng: random.Random
    seen: int = 0  # targeted requests inside the time window
    fired: int = 0


@dataclass(slots=True)
class FaultSet:
    """Ordered faults (the first one that answers wins; latencies add up before it).

    Kept by name in an insertion-ordered dict, so adding, finding and removing a fault cost the same
    with ten thousand in force as with one (a list with a scan per add made batches of 10,000 take
    minutes: issue 22 item 9).
    """

    clock: Clock
    seed: int = 0
    _base: tuple[Fault, ...] = ()
    _armed: dict[str, _Armed] = field(default_factory=dict)

    @classmethod
    def of(cls, clock: Clock, faults: Iterable[Fault] = (), seed: int = 0) -> FaultSet:
        """A set whose reset state is ``faults`` (a scenario's faults and timeline leader events)."""
        state = cls(clock, seed, tuple(faults))
        state.reset()
        return state

    def _arm(self, fault: Fault) -> _Armed:
        key = f"{self.seed}:{fault.trigger.seed}:{fault.name}"
        return _Armed(fault, random.Random(f"fault:{key}"), random.Random(f"delay:{key}"))

    # -- the API the control API serves ------------------------------------------------------------

    def list(self) -> list[Fault]:
        """The faults in force, in the order they are tried."""
        return [armed.fault for armed in self._armed.values()]

    def describe(self, names: Iterable[str] | None = None) -> builtins.list[dict[str, Any]]:
        """Each fault (or each of ``names`` in force) as JSON, the shape :meth:`add` accepts, plus its
        counters ``seen`` and ``fired``."""
        chosen = self._armed.values() if names is None else (self._armed[n] for n in names if n in self._armed)
        return [{**armed.fault.as_json(), "seen": armed.seen, "fired": armed.fired} for armed in chosen]

    def add(self, spec: Mapping[str, Any]) -> Fault:
        """Add a fault from its dict shape (as in scenario files). Raises :class:`ScenarioError` if invalid.

        Without a ``name`` one is made (``fault-1``, ``fault-2``, ...); a name in use is refused.
        """
        number = len(self._armed) + 1
        while f"fault-{number}" in self._armed:
            number += 1
        return self.add_fault(parse_fault(spec, default_name=f"fault-{number}", source="api"))

    def add_fault(self, fault: Fault) -> Fault:
        """Add an already built fault at the end of the list."""
        if fault.name in self._armed:
            message = f"a fault named {fault.name!r} exists already; remove it first or pick another name"
            raise ScenarioError("fault", [Problem(None, "name", message)])
        self._armed[fault.name] = self._arm(fault)
        return fault

    def remove(self, name: str) -> bool:
        """Remove the fault called ``name``; False when there is none."""
        return self._armed.pop(name, None) is not None

    def clear(self) -> None:
        """Remove every fault (the scenario's too, until the next reset)."""
        self._armed.clear()

    def reset(self) -> None:
        """Back to the scenario's faults with every counter at zero."""
        self._armed = {fault.name: self._arm(fault) for fault in self._base}

    def use_scenario(self, faults: Iterable[Fault]) -> None:
        """Make ``faults`` the reset state (a new scenario was loaded) and reset to it."""
        self._base = tuple(faults)
        self.reset()

    def in_force(self, method: str, path: str) -> builtins.list[tuple[Fault, bool]]:
        """The faults that could act on this request now, in order, without counting it.

        Each comes with whether it acts on *every* such request (only a time window, or nothing, in its
        trigger) or only on some (``nth``, ``first``, ``every``, ``probability``). For views of what
        clients meet (the dashboard's leader), which must not use up the triggers of faults meant for them.
        """
        elapsed_s = (self.clock.now_ms() - self.clock.start_ms) / 1000.0
        found = []
        for armed in self._armed.values():
            fault, trigger = armed.fault, armed.fault.trigger
            if fault.targets(method, path) and trigger.in_window(elapsed_s):
                always = trigger.nth is None and trigger.first is None and trigger.every in (None, 1)
                found.append((fault, always and trigger.probability is None))
        return found

    # -- used by the middleware ------------------------------------------------------------------

    @property
    def armed(self) -> bool:
        """Whether any fault is in force (the middleware's fast path skips the walk when none is)."""
        return bool(self._armed)

    def firing(self, method: str, path: str) -> Iterator[tuple[Fault, random.Random]]:
        """The faults that fire for this request, in order, each with its delay generator.

        Lazy: the middleware stops asking after the first fault that answers, so faults behind it
        do not count the request (as if it never reached them).
        """
        for armed in list(self._armed.values()):
            fault = armed.fault
            if not fault.targets(method, path):
                continue
            elapsed_s = (self.clock.now_ms() - self.clock.start_ms) / 1000.0
            trigger = fault.trigger
            if not trigger.in_window(elapsed_s):
                continue
            armed.seen += 1
            if not trigger.counts_fire(armed.seen):
                continue
            if trigger.probability is not None and armed.trigger_rng.random() >= trigger.probability:
                continue
            armed.fired += 1
            yield fault, armed.delay_rng
