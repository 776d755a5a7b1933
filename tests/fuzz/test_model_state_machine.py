"""The Overlord model keeps its invariants under any interleaving of what clients and operators do.

A hypothesis rule-based state machine drives the model in-process (``build_simulation``, clock frozen)
with submits of several task types (``compact`` among them, which waits minutes for its locks),
shutdowns of running, pending and waiting tasks, ``shutdownAllTasks``, changes of the worker select
strategy (``POST /worker``: equal distribution, fill capacity, strong and weak affinity, a category no
worker has) and MiddleManagers disabled and enabled, small and large clock steps and resets, on the
built-in scenarios. After every step it checks the rules of ``tests/support/invariants.py``
(capacity, no PENDING task beside a free slot past the assignment delay, one state per task, lists
consistent with the worker pool) and determinism: a twin simulation with the same seed and steps gives
byte-identical answers.

``make test`` runs a short derandomised run (30 examples); ``make fuzz`` a long random one
(``FUZZ_EXAMPLES`` x5 examples, ``FUZZ_RANDOM`` set).
"""

from __future__ import annotations

import os
from typing import Any

import orjson
from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, rule

from druid_sim.config import ServeConfig
from druid_sim.druid.submission import parse_submission
from druid_sim.druid.worker_config import read_worker_config
from druid_sim.overlord.overlord import DuplicateTaskError, QueueFullError, TaskQuery
from druid_sim.overlord.worker_config import AuditEntry, set_enabled, set_worker_config
from druid_sim.runtime import Simulation
from druid_sim.simulation import build_simulation, reset_simulation
from tests.support.invariants import assert_invariants, model_snapshot
from tests.support.live import START_MS

EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES", "6")) * 5
SCENARIOS = ("demo", "slow-tasks", "queue-full", "failing-ingestion", None)
DATASOURCES = ("wikipedia", "orders", "clickstream")
TYPES = ("index_parallel", "index", "compact", "kill", "query_controller", "index_kafka")
#: Worker select strategies (reference 18.5); ``{first}`` is the first MiddleManager's ``host:port``.
STRATEGIES: dict[str, dict[str, Any]] = {
    "equal": {"type": "equalDistribution"},
    "fill": {"type": "fillCapacity"},
    "strong": {
        "type": "fillCapacityWithAffinity",
        "affinityConfig": {"affinity": {"wikipedia": ["{first}"]}, "strong": True},
    },
    "weak": {"type": "equalDistributionWithAffinity", "affinityConfig": {"affinity": {"orders": ["{first}"]}}},
    "nowhere": {
        "type": "fillCapacityWithCategorySpec",
        "workerCategorySpec": {"categoryMap": {"kill": {"defaultCategory": "big"}}, "strong": True},
    },
}
#: Small steps (within the assignment delay, a task's phases) and large ones (hours, a day).
STEPS = st.sampled_from((0.5, 1, 2, 3, 7, 30, 90)) | st.sampled_from((600, 3600, 7200, 86400))


def submission_body(task_type: str, datasource: str) -> bytes:
    """A ``POST /task`` body of ``task_type`` for ``datasource``, as clients send them."""
    if task_type in ("index_parallel", "index"):
        body: dict[str, object] = {"type": task_type, "spec": {"dataSchema": {"dataSource": datasource}}}
    elif task_type == "index_kafka":
        body = {"type": task_type, "dataSchema": {"dataSource": datasource}}
    elif task_type == "kill":
        body = {"type": "kill", "dataSource": datasource, "interval": "2020-01-01/2020-01-02"}
    else:
        body = {"type": task_type, "dataSource": datasource}
    return orjson.dumps(body)


class OverlordMachine(RuleBasedStateMachine):
    """Two simulations built alike, driven alike: they must answer alike, and each keeps the rules."""

    def __init__(self) -> None:
        super().__init__()
        self.twins: tuple[Simulation, Simulation] | None = None

    @property
    def simulations(self) -> tuple[Simulation, Simulation]:
        assert self.twins is not None
        return self.twins

    @initialize(scenario=st.sampled_from(SCENARIOS), seed=st.integers(0, 3), stored=st.booleans())
    def start(self, scenario: str | None, seed: int, stored: bool) -> None:
        # stored: the model as ``serve --state`` runs it (old arrivals skipped only at a stored jump); the
        # store itself is not needed for the model's rules, only the configuration that names one
        state = "state.db" if stored else None
        config = ServeConfig(scenario=scenario, seed=seed, time_scale=0, start_ms=START_MS, state=state)
        self.twins = (build_simulation(config), build_simulation(config))

    def both(self, action: str, *args: object) -> None:
        """Do ``action`` on both twins; they must agree on the outcome (an answer or a refusal)."""
        outcomes = [_act(simulation, action, *args) for simulation in self.simulations]
        assert outcomes[0] == outcomes[1], (action, args, outcomes)

    @rule(task_type=st.sampled_from(TYPES), datasource=st.sampled_from(DATASOURCES))
    def submit(self, task_type: str, datasource: str) -> None:
        self.both("submit", submission_body(task_type, datasource))

    @rule(state=st.sampled_from(("running", "pending", "waiting")), pick=st.integers(0, 20))
    def shutdown(self, state: str, pick: int) -> None:
        self.both("shutdown", state, pick)

    @rule(datasource=st.sampled_from(DATASOURCES))
    def shutdown_all(self, datasource: str) -> None:
        self.both("shutdown_all", datasource)

    @rule(strategy=st.sampled_from(sorted(STRATEGIES)))
    def configure(self, strategy: str) -> None:
        self.both("configure", strategy)

    @rule(pick=st.integers(0, 2), enabled=st.booleans())
    def enable(self, pick: int, enabled: bool) -> None:
        self.both("enable", pick, enabled)

    @rule(seconds=STEPS)
    def step(self, seconds: float) -> None:
        for simulation in self.simulations:
            simulation.clock.advance(seconds)

    @rule(seconds=STEPS)
    def jump(self, seconds: float) -> None:
        """As ``POST /__sim/clock {"advance": ...}`` does: a jump that decides what it skips."""
        for simulation in self.simulations:
            before = simulation.overlord.now()
            simulation.clock.advance(seconds)
            simulation.overlord.jump(before, simulation.clock.now_ms())

    @rule()
    def reset(self) -> None:
        for simulation in self.simulations:
            reset_simulation(simulation)

    @invariant()
    def keeps_the_rules(self) -> None:
        if self.twins is None:
            return
        first, second = (model_snapshot(simulation.overlord) for simulation in self.simulations)
        assert_invariants(first)
        assert first == second, "the same seed and steps gave different answers"


def _act(simulation: Simulation, action: str, *args: object) -> object:
    """One action on one simulation, and what a client would see of it."""
    overlord = simulation.overlord
    if action == "submit":
        assert isinstance(args[0], bytes)
        try:
            return overlord.submit(parse_submission(args[0])).id
        except (QueueFullError, DuplicateTaskError) as refusal:
            return type(refusal).__name__
    if action == "shutdown":
        state, pick = args
        listed = orjson.loads(overlord.list_tasks(TaskQuery(state=str(state))))
        if not listed:
            return None
        task = overlord.get(listed[int(str(pick)) % len(listed)]["id"])
        assert task is not None
        overlord.shutdown(task)
        return task.id
    if action == "configure":
        first = overlord.workers.address(0)
        strategy = orjson.loads(orjson.dumps(STRATEGIES[str(args[0])]).replace(b"{first}", first.encode()))
        served, select = read_worker_config({"type": "default", "selectStrategy": strategy})
        audit = AuditEntry(overlord.now(), "fuzz", "allowAll", "", "127.0.0.1", orjson.dumps(served).decode())
        set_worker_config(overlord, orjson.dumps(served), select, audit)
        return str(args[0])
    if action == "enable":
        pick, enabled = args
        index = int(str(pick)) % len(overlord.workers.hosts)
        return set_enabled(overlord, index, bool(enabled))
    return [task.id for task in overlord.shutdown_datasource(str(args[0]))]


OverlordMachine.TestCase.settings = settings(
    max_examples=EXAMPLES,
    stateful_step_count=30,
    derandomize=os.environ.get("FUZZ_RANDOM", "") == "",
    deadline=None,
    database=None,
)
test_overlord_model_keeps_its_invariants = OverlordMachine.TestCase
