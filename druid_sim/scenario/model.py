"""Applying a scenario to a fresh Overlord: workers, behaviours, queue size, starting cluster, and time.

Everything that happens later (arrivals, timeline bursts) is planned as data and materialised
lazily through ``Overlord.before_answer``, when the clock first reaches it; datasource failure
windows are applied to each task's plan as it is added. No background loop runs, so the same
scenario, seed, requests and clock steps always give the same answers.
"""

from __future__ import annotations

import bisect
import random
from collections.abc import Sequence
from typing import Any, Protocol

from druid_sim.clock import Clock
from druid_sim.overlord.behaviour import TaskBehaviour
from druid_sim.overlord.demo import datasource_names, make_task
from druid_sim.overlord.fakes import FakePools, fake_pools
from druid_sim.overlord.overlord import Overlord
from druid_sim.overlord.supervisors import (
    StreamSupervisorSpec,
    StreamTrouble,
    SupervisorManager,
    manager_of,
    served_document,
)
from druid_sim.overlord.task import NEVER, UNKNOWN_LOCATION, Phase, Task
from druid_sim.overlord.workers import MAX_ASSIGNMENT_DELAY_MS, WorkerPool
from druid_sim.scenario.schema import Arrivals, Burst, Scenario, StartingTasks, SupervisorDecl

MINUTE_MS = 60 * 1000
HOUR_MS = 60 * MINUTE_MS
DAY_MS = 24 * HOUR_MS
#: After a jump of the clock, planned arrivals and bursts are added from at most this far back: twice
#: ``/tasks``' default look-back (24 hours), so the default view after the jump is what it would have been,
#: and a task queued for a day is still there. Older ones are skipped, as if metadata retention had
#: deleted them, so a jump of years costs what a jump of two days does.
CATCH_UP_MS = 2 * DAY_MS
#: ... and at most about this many arrivals (a scenario with arrivals every second catches up 33 minutes):
#: adding one costs ~70 us, so a catch-up holds the event loop for ~0.15 s at most.
CATCH_UP_ARRIVALS = 2_000
#: Arrival times are planned this many at a time, each batch from its own seeded generator.
ARRIVALS_PER_BUCKET = 32
#: The order starting tasks take worker slots in: whatever runs now first.
#: (datasource, start ms, end ms, error message)
FailWindowMs = tuple[str, int, int, str]
_SEEDING_ORDER = {"complete": 0, "success": 0, "failed": 0, "running": 1, "pending": 2, "waiting": 3}


class ScenarioOverlord(Overlord):
    """An Overlord that applies the scenario's datasource failure windows to every task it plans."""

    def __init__(self, clock: Clock, fail_windows: Sequence[FailWindowMs] = (), **kwargs: Any) -> None:
        super().__init__(clock, **kwargs)
        self.fail_windows = list(fail_windows)

    def _planned(self, task: Task) -> None:
        for datasource, start, end, message in self.fail_windows:
            if task.datasource == datasource:
                _fail_in_window(task, start, end, message)


def _fail_in_window(task: Task, start: int, end: int, message: str) -> None:
    """A task whose run overlaps ``[start, end)`` fails a few seconds into the overlap (its slot frees then).

    A task re-planned out of the window later (a slot freed early) keeps the failure: windows are rare
    and short, and the outcome was already decided.
    """
    plan = task.plan
    if plan.shutdown_at is not None or plan.end_at <= start or plan.running_at >= end:
        return
    jitter = random.Random(f"fail:{task.seed}").randrange(2000, 20000)
    fail_at = min(plan.end_at, max(plan.running_at, start) + jitter)
    if fail_at < plan.end_at:
        plan.end_at = fail_at
    plan.outcome = Phase.FAILED
    plan.error_msg = message
    task.forget_encodings()


class ScenarioWorld:
    """What a scenario needs to make tasks: names, the task mix, and one seeded generator per purpose."""

    def __init__(self, scenario: Scenario, overlord: Overlord, pools: FakePools, seed: int) -> None:
        self.scenario = scenario
        self.overlord = overlord
        self.pools = pools
        self.seed = seed
        rng = random.Random(f"datasources:{seed}")
        self.datasources = list(scenario.datasources) or datasource_names(rng, scenario.datasource_count)
        self._types = [name for name, _ in scenario.task_types]
        self._weights = [weight for _, weight in scenario.task_types]

    def pick_type(self, rng: random.Random, given: str | None) -> str:
        return given or rng.choices(self._types, weights=self._weights)[0]

    def pick_datasource(self, rng: random.Random, given: str | None) -> str:
        return given or rng.choice(self.datasources)

    def new_task(self, rng: random.Random, task_type: str | None, datasource: str | None, created: int) -> Task:
        kind = self.pick_type(rng, task_type)
        return make_task(self.overlord, self.pools, rng, kind, self.pick_datasource(rng, datasource), created)

    def behaviour(self, task: Task) -> TaskBehaviour:
        return self.overlord.behaviour_for(task.type, task.datasource, task.id)

    def submit_planned(self, rng: random.Random, task_type: str | None, datasource: str | None, created: int) -> bool:
        """Add a task created at ``created`` as a client would submit it; False when the queue is full."""
        limit = self.overlord.queue_max_size
        if limit is not None and self.overlord.active_count(created) >= limit:
            return False
        task = self.new_task(rng, task_type, datasource, created)
        task.plan = self.overlord.plan(self.behaviour(task), created, rng)
        self.overlord.add(task)
        return True


def _seed_task(world: ScenarioWorld, entry: StartingTasks, rng: random.Random, now: int) -> None:
    overlord = world.overlord
    state = entry.state
    if state in ("complete", "success", "failed"):
        created = now - rng.randrange(20 * MINUTE_MS, 22 * HOUR_MS)
    elif state == "running":
        _seed_running(world, entry, rng, now)
        return
    elif state == "pending":
        created = now - rng.randrange(5000, MINUTE_MS)
    else:
        created = now - rng.randrange(0, 20000)
    task = world.new_task(rng, entry.type, entry.datasource, created)
    behaviour = world.behaviour(task)
    if state in ("complete", "success", "failed"):
        pending_at = created + int(behaviour.waiting.sample(rng) * 1000)
        running_at = pending_at + int(behaviour.pending.sample(rng) * 1000)
        end_at = min(running_at + max(1000, int(behaviour.run.sample(rng) * 1000)), now - 1000)
        failed = state == "failed" or (state == "complete" and rng.random() < behaviour.failure_probability)
        slot = overlord.workers.location(rng.randrange(max(1, overlord.workers.capacity or 9)))
        task.plan = behaviour.plan(pending_at, running_at, end_at, slot, failed, rng)
        if state == "complete" and not failed and rng.random() < 0.05:
            task.plan.shutdown_at = end_at - 1
    elif state == "pending":
        # Just handed to the runner: PENDING for a moment, and for as long as every slot is busy.
        task.plan = overlord.plan(behaviour, now, rng)
        task.plan.pending_at = now - rng.randrange(0, 500)
        task.plan.ready_at = task.plan.pending_at + MAX_ASSIGNMENT_DELAY_MS
        task.plan.run_ms = max(30 * 1000, task.plan.run_ms)
    else:  # waiting: just submitted
        task.plan = overlord.plan(behaviour, now, rng)
    overlord.add(task)


def _seed_running(world: ScenarioWorld, entry: StartingTasks, rng: random.Random, now: int) -> None:
    """A task somewhere in its run, as long in as its type's runs are: a five-minute batch load a minute
    or three in, an hour-long Kafka task maybe half an hour in. It has at least 20 s to go (it runs
    later, as a PENDING task, when the scenario starts more running tasks than it has slots)."""
    kind = world.pick_type(rng, entry.type)
    datasource = world.pick_datasource(rng, entry.datasource)
    behaviour = world.overlord.behaviour_for(kind, datasource, "")
    run_ms = max(60 * 1000, int(behaviour.run.sample(rng) * 1000))
    elapsed = int(run_ms * rng.uniform(0.05, 0.6))
    created = now - elapsed - rng.randrange(8000, 20000)
    task = world.new_task(rng, kind, datasource, created)
    behaviour = world.behaviour(task)
    failed = rng.random() < behaviour.failure_probability
    task.plan = behaviour.plan(created + 3000, NEVER, NEVER, UNKNOWN_LOCATION, failed, rng)
    task.plan.ready_at = now - elapsed
    task.plan.run_ms = elapsed + max(20 * 1000, run_ms - elapsed)
    world.overlord.add(task)


def seed_cluster(world: ScenarioWorld) -> None:
    """The starting tasks, as of the clock's current time."""
    rng = random.Random(f"cluster:{world.seed}")
    now = world.overlord.clock.now_ms()
    for entry in sorted(world.scenario.cluster, key=lambda e: _SEEDING_ORDER[e.state]):
        for _ in range(entry.count):
            _seed_task(world, entry, rng, now)


class PlannedArrivals:
    """One stream of tasks arriving on their own; `ArrivalStreams` adds each when the clock first reaches it.

    Arrival times are planned in buckets of about `ARRIVALS_PER_BUCKET` arrivals, each drawn from its own
    seeded generator, so the times are a pure function of the seed (whatever steps the clock took) and
    a jump can start at any bucket in O(1). Exponential gaps restarted at each bucket's start are still a
    Poisson process (it has no memory). After a long jump only the arrivals of the last `catch_up_ms`
    are added (`catch_up_window`): older ones would be complete and out of ``/tasks``' look-back, and
    adding years of them would hold the event loop for minutes.
    """

    def __init__(self, world: ScenarioWorld, arrivals: Arrivals, start: int, stream: int = 0) -> None:
        self.world = world
        self.arrivals = arrivals
        # The first stream keeps the seeds it always had, so one-stream scenarios play as before.
        self.name = f"{world.seed}" if stream == 0 else f"{world.seed}:{stream}"
        self.start = start
        self.gap_ms = int(arrivals.every * 1000) + 1  # exact gaps; also the mean of random ones (+1 ms)
        self.bucket_ms = self.gap_ms * ARRIVALS_PER_BUCKET
        self.catch_up_ms = catch_up_window(arrivals.every)
        self._bucket = -1
        self._times: list[int] = []
        self._index = 0
        self._load(0)

    def _load(self, bucket: int) -> None:
        """Plan the arrival times of ``bucket``: ``(start + bucket * bucket_ms, start + (bucket + 1) * bucket_ms]``."""
        begin = self.start + bucket * self.bucket_ms
        if self.arrivals.random:
            rng = random.Random(f"arrivals:{self.name}:{bucket}")
            rate = 1 / self.arrivals.every
            times: list[int] = []
            moment, end = begin, begin + self.bucket_ms
            while True:
                moment += int(rng.expovariate(rate) * 1000) + 1
                if moment > end:
                    break
                times.append(moment)
        else:
            times = [begin + self.gap_ms * n for n in range(1, ARRIVALS_PER_BUCKET + 1)]
        self._bucket, self._times, self._index = bucket, times, 0

    @property
    def next_at(self) -> int:
        """When the next planned task arrives."""
        while self._index >= len(self._times):
            self._load(self._bucket + 1)
        return self._times[self._index]

    def _skip_to(self, moment: int) -> None:
        """Drop the planned arrivals before ``moment`` without adding them (O(1) buckets, O(log n) within)."""
        bucket = max(self._bucket, (moment - self.start - 1) // self.bucket_ms)
        if bucket != self._bucket:
            self._load(bucket)
        self._index = max(self._index, bisect.bisect_left(self._times, moment))

    def skip_old(self, now: int) -> None:
        """After a jump to ``now``, forget the arrivals older than the catch-up window."""
        if self.next_at < now - self.catch_up_ms:
            self._skip_to(now - self.catch_up_ms)

    def take(self) -> None:
        """Add the next planned task, as its client submits it at its creation time."""
        created = self.next_at
        self._index += 1
        task_rng = random.Random(f"arrival:{self.name}:{created}")
        self.world.submit_planned(task_rng, self.arrivals.type, self.arrivals.datasource, created)


class Stream(Protocol):
    """Something that adds tasks at planned moments: a `PlannedArrivals`, or the supervisors."""

    @property
    def next_at(self) -> int: ...

    def skip_old(self, now: int) -> None: ...

    def take(self) -> None: ...


class ArrivalStreams:
    """The scenario's arrival streams, added together in time order when the clock first reaches them.

    One order whatever steps the clock took: a task takes a worker slot when it is added, so the streams
    must not each catch up on their own (a 2-hour jump would give the first stream's tasks the slots
    the second stream's earlier tasks took in small steps). Ties go to the earlier stream.

    It runs before every answer, so the next arrival is remembered: until the clock reaches it, or the
    Overlord's ``version`` says its tasks changed (a supervisor's next tasks depend on them), nothing
    is looked at again.
    """

    def __init__(self, streams: Sequence[Stream], overlord: Overlord | None = None) -> None:
        self.streams = list(streams)
        #: Whose tasks' ``version`` tells that they changed (data, not a closure: a snapshot carries it).
        self.overlord = overlord
        self._next = -1
        self._seen = -1

    def _version(self) -> int:
        return self.overlord.version if self.overlord is not None else 0

    def skip_old(self, now: int) -> None:
        """After a jump to ``now``, forget every stream's arrivals older than its catch-up window."""
        for stream in self.streams:
            stream.skip_old(now)
        self._next = -1

    def __call__(self, now: int) -> None:
        if now < self._next and self._version() == self._seen:
            return
        if self.overlord is None or self.overlord.may_skip:
            self.skip_old(now)
        while True:
            stream = min(self.streams, key=lambda item: item.next_at)
            if stream.next_at > now:
                self._next, self._seen = stream.next_at, self._version()
                return
            stream.take()


class TimelineBursts:
    """``submit`` events of the timeline, each added when the clock first reaches it.

    After a long jump, bursts older than `CATCH_UP_MS` are skipped, as `PlannedArrivals` skips arrivals.
    """

    def __init__(self, world: ScenarioWorld, bursts: list[tuple[int, Burst]]) -> None:
        self.world = world
        self.pending = sorted(bursts, key=lambda item: item[0])
        self._times = [at for at, _ in self.pending]
        self.index = 0

    def skip_old(self, now: int) -> None:
        """After a jump to ``now``, forget the bursts older than `CATCH_UP_MS`."""
        self.index = max(self.index, bisect.bisect_left(self._times, now - CATCH_UP_MS))

    def __call__(self, now: int) -> None:
        if self.world.overlord.may_skip:
            self.skip_old(now)
        while self.index < len(self.pending) and self.pending[self.index][0] <= now:
            at, burst = self.pending[self.index]
            self.index += 1
            rng = random.Random(f"burst:{self.world.seed}:{self.index}")
            for number in range(burst.count):
                offset = int(burst.spread * 1000 * number / max(1, burst.count - 1)) if burst.count > 1 else 0
                self.world.submit_planned(rng, burst.type, burst.datasource, at + offset)


def catch_up_window(every_s: float) -> int:
    """How far back (ms) arrivals about ``every_s`` seconds apart are added after a jump of the clock."""
    return int(min(CATCH_UP_MS, CATCH_UP_ARRIVALS * every_s * 1000))


def supervisor_spec(decl: SupervisorDecl, pools: FakePools) -> StreamSupervisorSpec:
    """The spec a declared supervisor was submitted with, as Druid stores it."""
    if decl.type == "kinesis":
        io_config: dict[str, Any] = {"stream": decl.stream, "endpoint": "kinesis.us-east-1.amazonaws.com"}
    else:
        brokers = ",".join(f"kafka-{number}.{pools.domain}:9092" for number in range(1, 4))
        io_config = {"topic": decl.stream, "consumerProperties": {"bootstrap.servers": brokers}}
    io_config.update(
        {
            "inputFormat": {"type": "json"},
            "taskCount": decl.task_count,
            "replicas": decl.replicas,
            "taskDuration": f"PT{int(decl.task_duration)}S",
        }
    )
    ingestion = {
        "dataSchema": {
            "dataSource": decl.datasource,
            "timestampSpec": {"column": "__time", "format": "iso", "missingValue": None},
            "dimensionsSpec": {"dimensions": ["channel", "country", "user", "device", "page"]},
            "granularitySpec": {"type": "uniform", "segmentGranularity": "HOUR", "queryGranularity": {"type": "none"}},
        },
        "ioConfig": io_config,
        "tuningConfig": {"type": decl.type, "maxRowsInMemory": 150000, "maxRowsPerSegment": 5000000},
    }
    return StreamSupervisorSpec(
        id=decl.id,
        type=decl.type,
        datasource=decl.datasource,
        stream=decl.stream,
        task_count=decl.task_count,
        replicas=decl.replicas,
        task_duration_ms=int(decl.task_duration * 1000),
        document=served_document(decl.type, decl.id, ingestion, {}),
        suspended=decl.suspended,
        partitions=decl.partitions,
        messages_per_second=decl.messages_per_second,
    )


def start_supervisors(
    scenario: Scenario, overlord: Overlord, pools: FakePools, start_ms: int, now: int
) -> SupervisorManager:
    """The scenario's supervisors, each submitted ``running_since`` before ``now``; troubles from the start."""
    manager = manager_of(overlord)
    for decl in scenario.supervisors:
        manager.troubles[decl.id] = tuple(
            StreamTrouble(t.kind, start_ms + int(t.at * 1000), start_ms + int((t.at + t.duration) * 1000))
            for t in decl.troubles
        )
        manager.create_or_update(supervisor_spec(decl, pools), False, now - int(decl.running_since * 1000))
    return manager


def build_overlord(scenario: Scenario, clock: Clock, seed: int) -> ScenarioOverlord:
    """A fresh Overlord as ``scenario`` starts it, at the clock's current time."""
    pools = fake_pools(seed, scenario.middle_managers)
    workers = WorkerPool(hosts=pools.middle_managers, capacity=scenario.capacity)
    windows: list[FailWindowMs] = []
    for event in scenario.timeline:
        if event.fail is not None:
            begin = clock.start_ms + int(event.at * 1000)
            end = begin + int(event.fail.duration * 1000)
            windows.append((event.fail.datasource, begin, end, event.fail.error_msg))
    overlord = ScenarioOverlord(
        clock,
        windows,
        seed=seed,
        rules=scenario.rules,
        workers=workers,
        queue_max_size=scenario.queue_max_size,
        scenario=scenario.name,
    )
    start = clock.now_ms()
    world = ScenarioWorld(scenario, overlord, pools, seed)
    seed_cluster(world)
    streams: list[Stream] = [PlannedArrivals(world, arrivals, start, n) for n, arrivals in enumerate(scenario.arrivals)]
    if (
        scenario.supervisors
    ):  # their tasks take worker slots in time order with the arrivals, whatever the clock's steps
        streams.append(start_supervisors(scenario, overlord, pools, clock.start_ms, start))
    if streams:
        merged = ArrivalStreams(streams, overlord)
        merged(start)  # what is due by the start is there from the start (the supervisors' running tasks)
        overlord.before_answer.insert(0, merged)
    bursts = [(clock.start_ms + int(e.at * 1000), e.burst) for e in scenario.timeline if e.burst is not None]
    if bursts:
        overlord.before_answer.append(TimelineBursts(world, bursts))
    return overlord
