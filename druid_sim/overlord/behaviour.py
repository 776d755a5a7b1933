"""How tasks behave: time in the queue, run time, outcome, log and row growth.

A :class:`TaskBehaviour` turns a seeded random generator into the numbers of one task's plan.
Scenarios choose behaviours per task type, datasource or id pattern through :class:`BehaviourRules`.
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass, field

from druid_sim.overlord.task import Location, Phase, Plan
from druid_sim.util.regex import Regex

#: Failure messages real Overlords and peons write (reference section 4 and common ingestion errors).
DEFAULT_ERROR_MESSAGES: tuple[str, ...] = (
    "Task execution process exited unsuccessfully with code[137]. See middleManager logs for more details.",
    "Task execution process exited unsuccessfully with code[1]. See middleManager logs for more details.",
    "Max parse exceptions[0] exceeded",
    "The worker that this task was assigned disappeared and did not report cleanup within timeout[PT15M]. "
    "See overlord and middleManager/indexer logs for more details.",
    "This task disappeared on the worker where it was assigned. See overlord logs for more details.",
    "java.lang.RuntimeException: java.io.IOException: No such file or directory",
    "Failed to run task. See overlord logs for more details.",
)


@dataclass(frozen=True, slots=True)
class Distribution:
    """A duration distribution in seconds: ``fixed``, ``uniform`` or ``lognormal`` (capped)."""

    kind: str = "fixed"
    value: float = 0.0  # fixed
    low: float = 0.0  # uniform
    high: float = 0.0
    median: float = 0.0  # lognormal
    sigma: float = 0.5
    cap: float | None = None

    def sample(self, rng: random.Random) -> float:
        if self.kind == "fixed":
            result = self.value
        elif self.kind == "uniform":
            result = rng.uniform(self.low, self.high)
        elif self.kind == "lognormal":
            result = rng.lognormvariate(math.log(max(self.median, 1e-9)), self.sigma)
        else:  # validated by the scenario loader; kept as a guard for programmatic use
            raise ValueError(f"unknown distribution {self.kind!r}; use fixed, uniform or lognormal")
        if self.cap is not None:
            result = min(result, self.cap)
        return max(0.0, result)

    @classmethod
    def fixed(cls, seconds: float) -> Distribution:
        return cls(kind="fixed", value=seconds)


@dataclass(frozen=True, slots=True)
class TaskBehaviour:
    """Everything needed to plan one task's life."""

    waiting: Distribution = Distribution(kind="fixed", value=1.0)
    pending: Distribution = Distribution(kind="fixed", value=2.0)
    run: Distribution = Distribution(kind="lognormal", median=45.0, sigma=0.5, cap=600.0)
    failure_probability: float = 0.0
    error_messages: tuple[str, ...] = DEFAULT_ERROR_MESSAGES
    log_bytes_per_second: float = 600.0
    rows_per_second: float = 2500.0

    def plan(
        self, pending_at: int, running_at: int, end_at: int, location: Location, failed: bool, rng: random.Random
    ) -> Plan:
        """The plan for these times and this fate, with this behaviour's error message and growth rates."""
        return Plan(
            pending_at,
            running_at,
            end_at,
            Phase.FAILED if failed else Phase.SUCCESS,
            rng.choice(self.error_messages) if failed and self.error_messages else None,
            location,
            log_bytes_per_second=self.log_bytes_per_second,
            rows_per_second=self.rows_per_second,
        )


@dataclass(frozen=True, slots=True)
class BehaviourRule:
    """Applies ``behaviour`` to tasks matching every given criterion (None matches anything)."""

    behaviour: TaskBehaviour
    task_type: str | None = None
    datasource: str | None = None
    id_pattern: Regex | None = None

    def matches(self, task_type: str, datasource: str, task_id: str) -> bool:
        if self.task_type is not None and self.task_type != task_type:
            return False
        if self.datasource is not None and self.datasource != datasource:
            return False
        return self.id_pattern is None or self.id_pattern.search(task_id) is not None


@dataclass(frozen=True, slots=True)
class BehaviourRules:
    """The first matching rule wins; otherwise ``default``."""

    rules: tuple[BehaviourRule, ...] = ()
    default: TaskBehaviour = field(default_factory=TaskBehaviour)

    def for_task(self, task_type: str, datasource: str, task_id: str) -> TaskBehaviour:
        for rule in self.rules:
            if rule.matches(task_type, datasource, task_id):
                return rule.behaviour
        return self.default
