"""Stream supervisors (Kafka, Kinesis) as the Overlord's ``SupervisorManager`` runs them, on the virtual clock.

A supervisor owns task groups: partition ``p`` belongs to group ``p % taskCount``, and each group
runs ``replicas`` ``index_kafka`` (or ``index_kinesis``) tasks at a time. The tasks are ordinary tasks
of the Overlord model (`druid_sim.overlord.overlord`): they queue, wait for a worker slot, run, fail
or succeed like any other, and appear in every task list. Nothing runs in the background: like the
scenario's arrivals, a supervisor's next act (its next generation of tasks) is planned as data, and
done when the clock first reaches it (``Overlord.before_answer``), by the rules of
``SeekableStreamSupervisor`` (reference 15):

- the first tasks start at the first run after ``startDelay`` (5 s), then runs come every ``period`` (30 s);
- a task reads for ``taskDuration``, then publishes (one to three minutes) and succeeds; at the first
  run after it stopped reading, the group's next tasks start from where it stopped (rollover);
- a failed or shut-down task is replaced at the next run, reading from the last published offsets;
- suspending stops reading (running tasks publish and end; queued ones are shut down), resuming starts
  new tasks, terminating does what suspending does and removes the supervisor (its history keeps a
  tombstone); a reset kills the tasks and starts again from the latest offsets.

Its state, offsets, lag and errors are read from the same plans (`druid_sim.overlord.supervisor_report`).
"""

from __future__ import annotations

import hashlib
import random
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from druid_sim.clock import format_instant
from druid_sim.overlord.behaviour import Distribution
from druid_sim.overlord.ids import random_id
from druid_sim.overlord.overlord import Overlord, Submission, served_payload
from druid_sim.overlord.peon.kafka import KAFKA_END
from druid_sim.overlord.stream import Partitions, consumed_after
from druid_sim.overlord.task import NEVER, Phase, Plan, Task
from druid_sim.util.jsonenc import dumps

#: Supervisor type -> the type of the tasks it runs.
TASK_TYPES = {"kafka": "index_kafka", "kinesis": "index_kinesis"}
#: ``ioConfig.period`` and ``ioConfig.startDelay`` defaults.
PERIOD_MS = 30_000
START_DELAY_MS = 5_000
#: How long a task publishes and hands off after it stops reading (well within ``completionTimeout``).
PUBLISH_MS = (60_000, 180_000)
#: ``ioConfig.completionTimeout`` default: what a publishing task's ``remainingSeconds`` counts down from.
COMPLETION_TIMEOUT_MS = 30 * 60_000
#: After a jump of the clock, generations are rolled over from at most this far back (as arrivals are).
CATCH_UP_MS = 2 * 24 * 3600 * 1000
#: ``druid.supervisor.*`` thresholds (``SupervisorStateManagerConfig`` defaults).
UNHEALTHINESS_THRESHOLD = 3
HEALTHINESS_THRESHOLD = 3
TASK_UNHEALTHINESS_THRESHOLD = 3
TASK_HEALTHINESS_THRESHOLD = 3
MAX_STORED_EXCEPTION_EVENTS = 3
#: Troubles a scenario can script for a supervisor's stream.
TROUBLE_KINDS = ("stream_unreachable", "lag", "tasks_failing")


@dataclass(frozen=True, slots=True)
class StreamSupervisorSpec:
    """A valid Kafka or Kinesis supervisor spec: what the model needs, and the document it serves back."""

    id: str
    type: str  # kafka | kinesis
    datasource: str
    stream: str
    task_count: int
    replicas: int
    task_duration_ms: int
    document: Mapping[str, Any]  # Druid's serialization of the spec, without ``suspended``
    suspended: bool = False
    partitions: int = 0  # 0: one per task group, at least three
    messages_per_second: float = 3000.0

    @property
    def task_type(self) -> str:
        return TASK_TYPES[self.type]

    @property
    def partition_count(self) -> int:
        return self.partitions or max(3, self.task_count)

    def served(self) -> dict[str, Any]:
        """The spec as ``GET /supervisor/{id}`` serves it (``suspended`` last, as Jackson writes it)."""
        return {**self.document, "suspended": self.suspended}

    def encoded(self) -> bytes:
        return dumps(self.served())

    def toggled(self, suspended: bool) -> StreamSupervisorSpec:
        """``createSuspendedSpec`` / ``createRunningSpec``."""
        return replace(self, suspended=suspended)


@dataclass(frozen=True, slots=True)
class StreamTrouble:
    """A scripted trouble from ``start_ms`` to ``end_ms``: the stream unreachable, slow reading, or failing tasks."""

    kind: str
    start_ms: int
    end_ms: int


@dataclass(slots=True)
class Generation:
    """One set of replica tasks of one task group, reading from the same offsets."""

    group: int
    tasks: list[Task]
    consumed0: int  # production time its reading starts from (its start offsets)
    duration_ms: int
    stopped_at: int = NEVER  # told to stop reading (suspend, terminate, reset)

    def read_from(self) -> int:
        return min(task.plan.running_at for task in self.tasks)

    def read_until(self) -> int:
        """When the group stops reading: the first replica to reach its task duration, fail or be stopped."""
        ends = (min(task.plan.running_at + self.duration_ms, task.plan.completed_at()) for task in self.tasks)
        return min(self.stopped_at, *ends)


@dataclass(frozen=True, slots=True)
class ExceptionEvent:
    """``SeekableStreamExceptionEvent``: one failed supervisor run."""

    at_ms: int
    exception_class: str
    message: str
    stream_exception: bool

    def as_json(self) -> dict[str, Any]:
        return {
            "timestamp": format_instant(self.at_ms),
            "exceptionClass": self.exception_class,
            "message": self.message,
            "streamException": self.stream_exception,
        }


class Supervisor:
    """One running (or suspended) stream supervisor and the task groups it owns."""

    def __init__(
        self, spec: StreamSupervisorSpec, overlord: Overlord, now: int, troubles: Sequence[StreamTrouble]
    ) -> None:
        self.spec = spec
        self.overlord = overlord
        self.created_ms = now
        self.troubles = tuple(troubles)
        self.partitions = Partitions.make(
            spec.partition_count, spec.messages_per_second, now, f"{overlord.seed}:{spec.id}"
        )
        self.generations: dict[int, list[Generation]] = {group: [] for group in range(self.group_count)}
        #: Per group, where the next generation reads from when it is not the last one's end (a reset).
        self.restart_from: dict[int, int] = {}
        self.active_since: int | None = None if spec.suspended else now
        self.tasks: list[Task] = []
        self._rng = random.Random(f"supervisor:{overlord.seed}:{spec.id}")
        self._next_at = NEVER
        #: No generation starts before this (set after a jump of the clock, see `skip_before`).
        self.not_before = now
        self._plan_next()

    @property
    def group_count(self) -> int:
        return min(self.spec.task_count, len(self.partitions))

    def partitions_of(self, group: int) -> list[int]:
        return [p for p in range(len(self.partitions)) if p % self.spec.task_count == group]

    # -- time -----------------------------------------------------------------------------------

    def run_after(self, moment: int) -> int:
        """The first supervisor run at or after ``moment`` (runs every period from the first)."""
        assert self.active_since is not None
        first = self.active_since + START_DELAY_MS
        if moment <= first:
            return first
        return first + -(-(moment - first) // PERIOD_MS) * PERIOD_MS

    def last_run_at(self, moment: int) -> int:
        """The last supervisor run at or before ``moment`` (when it last updated offsets and lag)."""
        assert self.active_since is not None
        first = self.active_since + START_DELAY_MS
        return first + max(0, moment - first) // PERIOD_MS * PERIOD_MS

    def windows(self, kind: str) -> list[tuple[int, int]]:
        return [(t.start_ms, t.end_ms) for t in self.troubles if t.kind == kind]

    def _reachable_after(self, moment: int) -> int:
        """The first run at or after ``moment`` at which the stream answers."""
        moment = self.run_after(moment)
        for start, end in sorted(self.windows("stream_unreachable")):
            if start <= moment < end:
                moment = self.run_after(end)
        return moment

    def _group_due(self, group: int) -> int:
        if self.active_since is None:
            return NEVER
        history = self.generations[group]
        if not history:
            due = self._reachable_after(self.active_since)
        else:
            last = history[-1]
            due = self._reachable_after(max(last.read_until(), last.tasks[0].created_ms + 1))
        return due if due >= self.not_before else self._reachable_after(self.not_before)

    def _plan_next(self) -> None:
        self._next_at = min((self._group_due(group) for group in self.generations), default=NEVER)

    @property
    def next_at(self) -> int:
        """When this supervisor next starts tasks (read fresh: a shutdown may have moved it)."""
        self._plan_next()
        return self._next_at

    def advance(self, now: int) -> None:
        """Start every generation due by ``now``, in time order (after a long jump, only recent ones)."""
        if self.overlord.may_skip:
            self.skip_before(now - CATCH_UP_MS)
        self._plan_next()
        while self._next_at <= now:
            moment = self._next_at
            for group in [group for group in self.generations if self._group_due(group) == moment]:
                self._start_generation(group, moment)
            self._plan_next()

    def skip_before(self, cutoff: int) -> None:
        """After a jump, start nothing before ``cutoff``: the groups read on as if they had rolled over until then
        (older generations would be out of every look-back, as skipped arrivals are)."""
        if cutoff <= self.not_before:
            return
        for group in self.generations:
            if self._group_due(group) < cutoff:
                self.restart_from[group] = cutoff - 2000
        self.not_before = cutoff
        self._plan_next()

    # -- tasks ----------------------------------------------------------------------------------

    def consumed_at(self, group: int, moment: int) -> int:
        """The production time the group has read up to at ``moment``."""
        history = [generation for generation in self.generations[group] if generation.tasks[0].created_ms <= moment]
        if not history:
            return self.restart_from.get(group, self.created_ms)
        last = history[-1]
        until = min(moment, last.read_until())
        return consumed_after(last.consumed0, last.read_from(), until, self.windows("lag"))

    def _start_generation(self, group: int, moment: int) -> None:
        history = self.generations[group]
        consumed = self.restart_from.pop(group, None)
        if consumed is None:
            consumed = self.consumed_at(group, moment) if history else moment - 1000
        spec = self.spec
        base = sequence_name(spec, group, consumed)
        failing = any(start <= moment < end for start, end in self.windows("tasks_failing"))
        tasks = [self._new_task(base, group, consumed, moment, failing) for _ in range(spec.replicas)]
        history.append(Generation(group, tasks, consumed, spec.task_duration_ms))
        del history[:-3]  # the current generation and the ones still publishing

    def _new_task(self, base: str, group: int, consumed: int, moment: int, failing: bool) -> Task:
        spec = self.spec
        overlord = self.overlord
        rng = random.Random(self._rng.getrandbits(64))
        task_id = f"{base}_{random_id(rng)}"
        behaviour = overlord.behaviour_for(spec.task_type, spec.datasource, task_id)
        fails = failing or rng.random() < behaviour.failure_probability
        if fails:
            run_ms = int(spec.task_duration_ms * rng.uniform(0.05, 0.9))
        else:
            run_ms = spec.task_duration_ms + rng.randrange(*PUBLISH_MS)
        planned = replace(behaviour, run=Distribution.fixed(run_ms / 1000), failure_probability=1.0 if fails else 0.0)
        payload = task_payload(
            spec, group, base, {p: self.partitions.latest(p, consumed) for p in self.partitions_of(group)}
        )
        submission = Submission(type=spec.task_type, datasource=spec.datasource, payload=payload)
        group_id = f"{spec.task_type}_{spec.id}"
        task = Task(
            task_id,
            group_id,
            spec.task_type,
            spec.datasource,
            moment,
            Plan(0, 0, 0),
            dumps(served_payload(submission, task_id, group_id)),
            seed=rng.getrandbits(32),
        )
        task.plan = overlord.plan(planned, moment, rng)
        overlord.add(task)
        self.tasks.append(task)
        del self.tasks[:-200]  # enough for health and stats; the Overlord keeps them all
        return task

    def current(self) -> Iterator[Generation]:
        for history in self.generations.values():
            yield from history

    # -- what users do --------------------------------------------------------------------------

    def stop_reading(self, now: int, *, kill: bool) -> None:
        """Suspend or terminate (``kill`` False: reading tasks publish and end) or reset (``kill`` True)."""
        for generation in self.current():
            if generation.read_until() <= now:
                continue
            generation.stopped_at = now
            for task in generation.tasks:
                phase = task.phase_at(now)
                if phase.complete:
                    continue
                if kill or phase is not Phase.RUNNING:
                    self.overlord.shutdown(task, now)
                else:
                    publish = random.Random(f"publish:{task.id}").randrange(*PUBLISH_MS)
                    self.overlord.finish_early(task, now + publish)

    def suspend(self, now: int) -> None:
        self.stop_reading(now, kill=False)
        self.active_since = None
        self.spec = self.spec.toggled(True)
        self._plan_next()

    def resume(self, now: int) -> None:
        self.active_since = now
        self.spec = self.spec.toggled(False)
        self._plan_next()

    def reset(self, now: int, offsets: Mapping[int, int] | None = None) -> None:
        """A hard reset (``offsets`` None: every group restarts from the latest offsets) or a reset of
        some partitions' offsets (only their groups restart, from the given offsets)."""
        groups = range(self.group_count) if offsets is None else sorted({p % self.spec.task_count for p in offsets})
        for group in groups:
            for generation in self.generations[group]:
                if generation.read_until() > now:
                    generation.stopped_at = now
                    for task in generation.tasks:
                        self.overlord.shutdown(task, now)
            if offsets is None:
                self.restart_from[group] = now - 1000
            else:
                times = [self.partitions.time_of(p, offsets[p]) for p in self.partitions_of(group) if p in offsets]
                self.restart_from[group] = min(now - 1000, *times)
        self._plan_next()

    def errors(self, now: int) -> list[ExceptionEvent]:
        """The stored exception events (at most three, oldest first): the stream's unreachable runs.

        Only the last few failed runs of each window are made, however long the window: O(1) per report.
        """
        if self.active_since is None:
            return []
        events: list[ExceptionEvent] = []
        for start, end in sorted(self.windows("stream_unreachable")):
            if start > now:
                continue
            first = self.run_after(max(start, self.active_since))
            last = min(end, now + 1)  # failed runs are at first, first + period, ... before last
            if first >= last:
                continue
            count = (last - 1 - first) // PERIOD_MS + 1
            for index in range(max(0, count - MAX_STORED_EXCEPTION_EVENTS), count):
                events.append(stream_error(self.spec, first + index * PERIOD_MS))
        return events[-MAX_STORED_EXCEPTION_EVENTS:]


def stream_error(spec: StreamSupervisorSpec, at_ms: int) -> ExceptionEvent:
    """What the supervisor's run records when it cannot reach the stream."""
    if spec.type == "kinesis":
        return ExceptionEvent(
            at_ms,
            "com.amazonaws.SdkClientException",
            "Unable to execute HTTP request: Connect to kinesis.us-east-1.amazonaws.com:443 failed: connect timed out",
            True,
        )
    return ExceptionEvent(
        at_ms, "org.apache.kafka.common.errors.TimeoutException", "Timeout expired while fetching topic metadata", True
    )


def served_document(
    spec_type: str, supervisor_id: str, ingestion: Mapping[str, Any], value: Mapping[str, Any]
) -> dict[str, Any]:
    """The spec as Druid serializes it (without ``suspended``, which the model adds)."""
    io_config = dict(ingestion["ioConfig"])
    io_config.setdefault("type", spec_type)
    for key, default in (
        ("taskCount", 1),
        ("replicas", 1),
        ("taskDuration", "PT3600S"),
        ("startDelay", "PT5S"),
        ("period", "PT30S"),
        ("useEarliestOffset" if spec_type == "kafka" else "useEarliestSequenceNumber", False),
        ("completionTimeout", "PT1800S"),
    ):
        io_config.setdefault(key, default)
    tuning = dict(ingestion.get("tuningConfig") or {})
    tuning.setdefault("type", spec_type)
    inner = {"dataSchema": ingestion["dataSchema"], "ioConfig": io_config, "tuningConfig": tuning}
    context = value.get("context")
    return {
        "type": spec_type,
        "id": supervisor_id,
        "spec": inner,
        "dataSchema": inner["dataSchema"],
        "tuningConfig": tuning,
        "ioConfig": io_config,
        "context": context if isinstance(context, Mapping) else None,
    }


def sequence_name(spec: StreamSupervisorSpec, group: int, consumed: int) -> str:
    """``generateSequenceName``: ``index_kafka_<supervisor>_<15 hex of a SHA-1>``, shared by a group's replicas."""
    digest = hashlib.sha1(f"{spec.id}:{group}:{consumed}".encode()).hexdigest()[:15]
    return f"{spec.task_type}_{spec.id}_{digest}"


def task_payload(spec: StreamSupervisorSpec, group: int, base: str, start: Mapping[int, int]) -> dict[str, Any]:
    """The task a supervisor submits: its group's partitions, start offsets and open end offsets."""
    document = spec.document
    nested = document.get("spec")
    ingestion: Mapping[str, Any] = nested if isinstance(nested, Mapping) else document
    io_config = dict(ingestion.get("ioConfig") or {})
    offsets_key = "partitionSequenceNumberMap"
    start_map = {partition_key(spec, p): offset for p, offset in start.items()}
    # Kafka offsets are Longs (an open end is Long.MAX_VALUE, a JSON number); Kinesis sequence numbers are strings
    end_value: int | str = KAFKA_END if spec.type == "kafka" else "NO_END_SEQUENCE_NUMBER"
    task_io: dict[str, Any] = {
        "type": spec.type,
        "taskGroupId": group,
        "baseSequenceName": base,
        "startSequenceNumbers": {
            "type": "start",
            "stream": spec.stream,
            offsets_key: start_map,
            "exclusivePartitions": [],
        },
        "endSequenceNumbers": {"type": "end", "stream": spec.stream, offsets_key: dict.fromkeys(start_map, end_value)},
        "useTransaction": True,
    }
    for key in ("consumerProperties", "pollTimeout", "inputFormat", "endpoint", "recordsPerFetch", "fetchDelayMillis"):
        if key in io_config:
            task_io[key] = io_config[key]
    return {
        "type": spec.task_type,
        "resource": {"availabilityGroup": base, "requiredCapacity": 1},
        "supervisorId": spec.id,
        "dataSchema": ingestion.get("dataSchema"),
        "tuningConfig": ingestion.get("tuningConfig") or {"type": spec.type},
        "ioConfig": task_io,
        "context": {"checkpoints": "{}", "IS_INCREMENTAL_HANDOFF_SUPPORTED": True},
    }


def partition_key(spec: StreamSupervisorSpec, partition: int) -> str:
    """How a partition is named in offsets maps: a Kafka partition number, a Kinesis shard id."""
    return f"shardId-{partition:012d}" if spec.type == "kinesis" else str(partition)


@dataclass(slots=True)
class HistoryEntry:
    """``VersionedSupervisorSpec``: a spec as stored, and when (its ``version``)."""

    version_ms: int
    spec: bytes  # the served spec, or a ``NoopSupervisorSpec`` tombstone


class SupervisorError(Exception):
    """A supervisor operation that cannot be done; ``str()`` is Druid's message."""


@dataclass(slots=True)
class SupervisorManager:
    """``SupervisorManager``: the supervisors by id, and their specs' history (the metadata store's)."""

    overlord: Overlord
    supervisors: dict[str, Supervisor] = field(default_factory=dict)
    history: dict[str, list[HistoryEntry]] = field(default_factory=dict)
    #: Scripted troubles by supervisor id (from the scenario), applied whenever it (re)starts.
    troubles: dict[str, tuple[StreamTrouble, ...]] = field(default_factory=dict)
    _cached_next: int = NEVER
    _cached_version: int = -1
    _dirty: bool = True

    def __post_init__(self) -> None:
        self.overlord.before_answer.append(self.catch_up)

    def catch_up(self, now: int) -> None:
        """Let every supervisor start the tasks due by ``now`` (O(1) when nothing is due)."""
        if self.next_at > now:
            return
        for supervisor in list(self.supervisors.values()):
            supervisor.advance(now)
        self._dirty = True

    # -- as one of a scenario's arrival streams (`druid_sim.scenario.model.ArrivalStreams`) --------------

    @property
    def next_at(self) -> int:
        """When the next supervisor starts tasks: the streams' merge adds them in time order with arrivals.

        Asked before every answer (the task endpoints' too), so it is cached until the tasks or the
        supervisors change: a due time depends on nothing else.
        """
        if self._dirty or self._cached_version != self.overlord.version:
            self._cached_next = min((supervisor.next_at for supervisor in self.supervisors.values()), default=NEVER)
            self._cached_version = self.overlord.version
            self._dirty = False
        return self._cached_next

    def skip_old(self, now: int) -> None:
        """After a jump to ``now``, start no generation older than `CATCH_UP_MS` (as arrivals skip theirs)."""
        if self.next_at >= now - CATCH_UP_MS:
            return
        for supervisor in self.supervisors.values():
            supervisor.skip_before(now - CATCH_UP_MS)
        self._dirty = True

    def take(self) -> None:
        """Start the tasks of the supervisor due first, at the moment they are due."""
        supervisor = min(self.supervisors.values(), key=lambda item: item.next_at)
        supervisor.advance(supervisor.next_at)
        self._dirty = True

    def _changed(self) -> None:
        """A supervisor was created, suspended, resumed, reset or removed: its due times moved."""
        self._dirty = True
        self.overlord.version += 1  # so whoever caches on the tasks' version (the arrival streams) looks again

    def ids(self) -> list[str]:
        return sorted(self.supervisors)

    def get(self, supervisor_id: str) -> Supervisor | None:
        return self.supervisors.get(supervisor_id)

    def _record(self, supervisor_id: str, spec: bytes, now: int) -> None:
        self.history.setdefault(supervisor_id, []).insert(0, HistoryEntry(now, spec))

    def create_or_update(self, spec: StreamSupervisorSpec, skip_restart_if_unmodified: bool, now: int) -> None:
        """``createOrUpdateAndStartSupervisor``: stop the running one (its tasks publish), start the new spec.

        Raises `SupervisorError` when the update changes the stream or the type (``validateSpecUpdateTo``).
        """
        existing = self.supervisors.get(spec.id)
        modified = existing is None or existing.spec.encoded() != spec.encoded()
        if existing is not None and modified:
            check_update(existing.spec, spec)
        if existing is not None and not modified and skip_restart_if_unmodified:
            return
        if existing is not None:
            existing.stop_reading(now, kill=False)
        self.supervisors[spec.id] = Supervisor(spec, self.overlord, now, self.troubles.get(spec.id, ()))
        if modified:
            self._record(spec.id, spec.encoded(), now)
        self._changed()

    def suspend_or_resume(self, supervisor_id: str, suspend: bool, now: int) -> bool:
        """False when there is no such supervisor or it is already in that state."""
        supervisor = self.supervisors.get(supervisor_id)
        if supervisor is None or supervisor.spec.suspended == suspend:
            return False
        if suspend:
            supervisor.suspend(now)
        else:
            supervisor.resume(now)
        self._record(supervisor_id, supervisor.spec.encoded(), now)
        self._changed()
        return True

    def terminate(self, supervisor_id: str, now: int) -> bool:
        """``stopAndRemoveSupervisor``: its tasks publish and end, a tombstone goes into its history."""
        supervisor = self.supervisors.pop(supervisor_id, None)
        if supervisor is None:
            return False
        supervisor.stop_reading(now, kill=False)
        tombstone = {
            "type": "NoopSupervisorSpec",
            "id": None,
            "dataSources": [supervisor.spec.datasource],
            "suspended": False,
            "source": "noop",
        }
        self._record(supervisor_id, dumps(tombstone), now)
        self._changed()
        return True

    def reset(self, supervisor_id: str, now: int, offsets: Mapping[int, int] | None = None) -> bool:
        supervisor = self.supervisors.get(supervisor_id)
        if supervisor is None:
            return False
        supervisor.reset(now, offsets)
        self._changed()
        return True


def check_update(current: StreamSupervisorSpec, proposed: StreamSupervisorSpec) -> None:
    """``SeekableStreamSupervisorSpec.validateSpecUpdateTo``."""
    if current.type != proposed.type:
        names = {"kafka": "KafkaSupervisorSpec", "kinesis": "KinesisSupervisorSpec"}
        raise SupervisorError(
            f"Cannot update supervisor spec from type[{names[current.type]}] to type[{names[proposed.type]}]"
        )
    if current.stream != proposed.stream:
        raise SupervisorError(
            f"Update of the input source stream from [{current.stream}] to [{proposed.stream}] is not supported "
            "for a running supervisor.\nTo perform the update safely, follow these steps:\n(1) Suspend this "
            "supervisor, reset its offsets and then terminate it. \n(2) Create a new supervisor with the new "
            "input source stream."
        )


def manager_of(overlord: Overlord) -> SupervisorManager:
    """The Overlord's supervisor manager (made on first use; a reset's new Overlord starts with none)."""
    manager = overlord.extras.get("supervisors")
    if not isinstance(manager, SupervisorManager):
        manager = overlord.extras["supervisors"] = SupervisorManager(overlord)
    return manager
