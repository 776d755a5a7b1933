"""The Overlord model: the tasks it holds, submission, shutdown and the queries of the Tasks API.

Plain Python with no HTTP in it. Every answer is computed from task plans and one virtual clock, so
the same seed, requests and clock steps give the same results. Task lists are kept sorted by creation
time (the metadata store's ``created_date`` order) and list answers are cached until the clock reaches
the next moment at which any of them could change.
"""

from __future__ import annotations

import bisect
import logging
import random
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import Any

import orjson

from druid_sim.clock import Clock
from druid_sim.overlord.behaviour import BehaviourRules, TaskBehaviour
from druid_sim.overlord.ids import new_task_id
from druid_sim.overlord.payloads import PayloadStore
from druid_sim.overlord.task import NEVER, Phase, Plan, Task, View
from druid_sim.overlord.workers import WorkerPool
from druid_sim.util.jsonenc import dumps

logger = logging.getLogger(__name__)

DAY_MS = 24 * 3600 * 1000
STATES = ("pending", "waiting", "running", "complete")
#: The states :meth:`Overlord.census` counts, as a client derives them (reference 4: ``statusCode``,
#: or ``runnerStatusCode`` while it is RUNNING), lower case.
CENSUS_STATES = ("waiting", "pending", "running", "success", "failed")
#: How many complete tasks the model remembers; beyond it the oldest are forgotten (``GET /task/{id}``
#: then answers 404), as a cluster's metadata retention (``druid.indexer.logs.kill``) deletes old task
#: entries. It bounds memory and the work of every list, whatever the clock does: 100,000 is the history
#: the simulator bench serves within its targets (``python -m bench simulator``: ~300 MB, p50 ≤ 10 ms).
MAX_COMPLETE_TASKS = 100_000


class DuplicateTaskError(Exception):
    """A task with this id exists already, active or complete (``entryAlreadyExists``)."""


class QueueFullError(Exception):
    """``druid.indexer.queue.maxSize`` reached (``CAPACITY_EXCEEDED``)."""

    def __init__(self, max_size: int) -> None:
        super().__init__(max_size)
        self.max_size = max_size


@dataclass(frozen=True, slots=True)
class TaskQuery:
    """The filters of ``GET /tasks`` (reference 2.1), already validated."""

    state: str | None = None  # one of STATES, lower case, or None for all
    datasource: str | None = None
    lookback_ms: int = DAY_MS  # createdTimeInterval's length, or recentlyFinishedThreshold
    max: int | None = None  # limit on complete tasks only
    type: str | None = None
    #: Datasources whose tasks the asking user may not READ: dropped last, after ``max`` and ``type``
    #: (``OverlordResource.securedTaskStatusPlus``, reference 2.1 step 9).
    hidden: frozenset[str] = frozenset()


@dataclass(frozen=True, slots=True)
class Submission:
    """A parsed, valid ``POST /task`` body (see ``druid_sim.druid.submission``)."""

    type: str
    datasource: str
    payload: dict[str, Any]  # the client's JSON, in the client's order
    id: str | None = None
    group_id: str | None = None
    interval: tuple[str, str] | None = None


@dataclass(slots=True)
class _CachedList:
    body: bytes
    version: int
    valid_until: int


@dataclass(slots=True)
class _CachedCensus:
    counts: dict[str, int]
    version: int
    valid_until: int


class Overlord:
    """Holds tasks and answers the Tasks API's questions about them."""

    def __init__(
        self,
        clock: Clock,
        seed: int = 0,
        rules: BehaviourRules | None = None,
        workers: WorkerPool | None = None,
        lookback_ms: int = DAY_MS,
        queue_max_size: int | None = None,
        max_complete: int = MAX_COMPLETE_TASKS,
    ) -> None:
        self.clock = clock
        self.seed = seed
        self.rules = rules or BehaviourRules()
        self.workers = workers or WorkerPool()
        self.lookback_ms = lookback_ms
        self.queue_max_size = queue_max_size
        #: Submitted payloads, kept within a byte budget (`druid_sim.overlord.payloads`).
        self.payloads = PayloadStore()
        self.max_complete = max_complete
        #: Held tasks past which `_forget` looks for complete tasks beyond ``max_complete`` (amortised: a tenth more).
        self._forget_at = max_complete + max(1, max_complete // 10)
        self.rng = random.Random(f"overlord:{seed}")
        self.tasks: dict[str, Task] = {}
        self._order: list[Task] = []  # by (created_ms, seq)
        self._keys: list[tuple[int, int]] = []
        self._active: list[Task] = []  # tasks not yet seen complete, by (created_ms, seq)
        self.datasources: set[str] = set()  # every datasource a task was added for
        self._seq = 0
        self.version = 0  # bumped whenever tasks are added or plans rewritten
        self._lists: dict[TaskQuery, _CachedList] = {}
        self._census: _CachedCensus | None = None
        #: Called with the current time before each answer, so scenarios can add planned arrivals.
        self.before_answer: list[Callable[[int], None]] = []
        #: Model parts built on the tasks (supervisors, segment metadata...), by name: they live and reset
        #: with this Overlord, so a reset that builds a new one drops them too.
        self.extras: dict[str, Any] = {}

    # -- time ------------------------------------------------------------------------------------

    def now(self) -> int:
        """The current virtual time, after letting time-driven extensions catch up."""
        now = self.clock.now_ms()
        for hook in self.before_answer:
            hook(now)
        if len(self._order) > self._forget_at:
            self._forget(now)
        return now

    def _forget(self, now: int) -> None:
        """Forget the oldest complete tasks beyond ``max_complete`` (a bounded history, like metadata retention).

        O(tasks held), run once per tenth of ``max_complete`` new tasks, so amortised O(1) per task; the
        tasks held stay within ``max_complete``, a tenth of it, and the tasks active at the last pass.
        """
        complete = [task for task in self._order if task.created_ms <= now and task.phase_at(now).complete]
        excess = len(complete) - self.max_complete
        if excess > 0:
            gone = {task.id for task in complete[:excess]}  # the order is by creation: the oldest first
            self._order = [task for task in self._order if task.id not in gone]
            self._keys = [(task.created_ms, task.seq) for task in self._order]
            for task_id in gone:
                del self.tasks[task_id]
            self.payloads.forget(gone)
            self._prune(now)
            self._lists.clear()
            self.version += 1
        self._forget_at = len(self._order) + max(1, self.max_complete // 10)

    # -- adding tasks ----------------------------------------------------------------------------

    def behaviour_for(self, task_type: str, datasource: str, task_id: str) -> TaskBehaviour:
        return self.rules.for_task(task_type, datasource, task_id)

    def plan(self, behaviour: TaskBehaviour, created_ms: int, rng: random.Random) -> Plan:
        """A fresh plan for a task created at ``created_ms``, booking a worker slot."""
        pending_at = created_ms + int(behaviour.waiting.sample(rng) * 1000)
        ready_at = pending_at + int(behaviour.pending.sample(rng) * 1000)
        run_ms = int(behaviour.run.sample(rng) * 1000)
        running_at, end_at, location = self.workers.assign(ready_at, run_ms)
        failed = rng.random() < behaviour.failure_probability
        return behaviour.plan(pending_at, running_at, end_at, location, failed, rng)

    def add(self, task: Task) -> Task:
        """Insert a fully built task (submission, demo seeding, cassette seeding)."""
        self._seq += 1
        task.seq = self._seq
        key = (task.created_ms, task.seq)
        index = bisect.bisect_right(self._keys, key)
        self._keys.insert(index, key)
        self._order.insert(index, task)
        if task.phase_at(self.clock.now_ms()).active or task.created_ms > self.clock.now_ms():
            bisect.insort(self._active, task, key=lambda t: (t.created_ms, t.seq))
        self.tasks[task.id] = task
        self.datasources.add(task.datasource)
        self.version += 1
        return task

    def add_all(self, tasks: Iterable[Task]) -> int:
        """Insert many fully built tasks at once (cassette seeding), skipping ids already held; returns how many.

        One sort instead of one list insertion per task: seeding 100,000 tasks takes ~0.1 s, not seconds.
        """
        now = self.clock.now_ms()
        added: list[Task] = []
        for task in tasks:
            if task.id in self.tasks:
                continue
            self._seq += 1
            task.seq = self._seq
            self.tasks[task.id] = task
            added.append(task)
        if not added:
            return 0
        order_key = _order_key
        self._order.extend(added)
        self._order.sort(key=order_key)
        self._keys = [order_key(task) for task in self._order]
        self._active.extend(task for task in added if task.created_ms > now or task.phase_at(now).active)
        self._active.sort(key=order_key)
        self.version += 1
        return len(added)

    def active_count(self, now: int) -> int:
        self._prune(now)
        return sum(1 for task in self._active if task.created_ms <= now)

    def submit(self, submission: Submission) -> Task:
        """``TaskQueue.add``: reject duplicates and a full queue, then store the task as waiting."""
        now = self.now()
        # The id is made while the JSON is read, just before the metadata insert sets createdTime.
        task_id = submission.id or new_task_id(
            submission.type, submission.datasource, now - 1, self.rng, interval=submission.interval
        )
        if self.get(task_id, now) is not None:
            raise DuplicateTaskError(task_id)
        if self.queue_max_size is not None and self.active_count(now) >= self.queue_max_size:
            raise QueueFullError(self.queue_max_size)
        group_id = submission.group_id or task_id
        payload_json = dumps(served_payload(submission, task_id, group_id))
        if not self.payloads.make_room(len(payload_json), now):
            active = self.active_count(now)
            logger.warning(
                "the payloads of %d active tasks leave no room for %s more bytes within --max-stored-payloads "
                "%s: answering 429 (queue full) until some complete",
                active,
                f"{len(payload_json):,}",
                f"{self.payloads.budget:,} bytes",
            )
            raise QueueFullError(active)
        created_ms = now
        task_seed = self.rng.getrandbits(32)
        behaviour = self.behaviour_for(submission.type, submission.datasource, task_id)
        plan = self.plan(behaviour, created_ms, random.Random(f"plan:{self.seed}:{task_seed}"))
        task = Task(
            id=task_id,
            group_id=group_id,
            type=submission.type,
            datasource=submission.datasource,
            created_ms=created_ms,
            plan=plan,
            payload_json=payload_json,
            seed=task_seed,
        )
        self.payloads.keep(task)
        return self.add(task)

    # -- lookups ---------------------------------------------------------------------------------

    def get(self, task_id: str, now: int | None = None) -> Task | None:
        """The task with this id, if it exists yet (planned arrivals exist from their creation)."""
        task = self.tasks.get(task_id)
        if task is None:
            return None
        if task.created_ms > (self.now() if now is None else now):
            return None
        return task

    def _prune(self, now: int) -> None:
        """Drop tasks that have become complete from the active list (time only moves forward)."""
        if any(task.created_ms <= now and task.phase_at(now).complete for task in self._active):
            self._active = [t for t in self._active if t.created_ms > now or t.phase_at(now).active]

    def active_tasks(self, now: int) -> list[Task]:
        """Active tasks, oldest first (``active = TRUE ORDER BY created_date``)."""
        self._prune(now)
        return [task for task in self._active if task.created_ms <= now]

    # -- shutdown --------------------------------------------------------------------------------

    def shutdown(self, task: Task, now: int | None = None) -> None:
        """Mark an active task FAILED with "Shutdown request from user"; complete tasks stay as they were."""
        moment = self.now() if now is None else now
        phase = task.phase_at(moment)
        if phase.complete:
            return
        plan = task.plan
        if phase is Phase.RUNNING or phase is Phase.PENDING:
            self.workers.release(plan.location, moment, plan.end_at)
        plan.shutdown_at = moment
        task.forget_encodings()
        self.version += 1

    def finish_early(self, task: Task, at_ms: int) -> None:
        """A running task told to stop and publish (a supervisor's suspend or terminate): it ends at ``at_ms``.

        Its outcome stays as planned (a handoff succeeds unless the task was going to fail), its worker slot
        is free from then on; a task that ends before ``at_ms`` anyway is left alone.
        """
        plan = task.plan
        if plan.shutdown_at is not None or at_ms >= plan.end_at:
            return
        at_ms = max(at_ms, plan.running_at)
        self.workers.release(plan.location, at_ms, plan.end_at)
        plan.end_at = at_ms
        task.forget_encodings()
        self.version += 1

    def created_since(self, since_ms: int, now: int) -> Iterator[Task]:
        """Tasks created in ``[since_ms, now]``, newest first (what a look-back window holds)."""
        visible = bisect.bisect_right(self._keys, (now, NEVER))
        for index in range(visible - 1, -1, -1):
            task = self._order[index]
            if task.created_ms < since_ms:
                return
            yield task

    def shutdown_datasource(self, datasource: str) -> list[Task]:
        """Shut down every active task of ``datasource``; returns them (empty: nothing to do)."""
        now = self.now()
        victims = [task for task in self.active_tasks(now) if task.datasource == datasource]
        for task in victims:
            self.shutdown(task, now)
        return victims

    # -- lists -----------------------------------------------------------------------------------

    def list_tasks(self, query: TaskQuery) -> bytes:
        """The JSON array ``GET /tasks`` answers: complete tasks newest first, then active oldest first."""
        now = self.now()
        cached = self._lists.get(query)
        if cached is not None and cached.version == self.version and now < cached.valid_until:
            return cached.body
        body, valid_until = self._build_list(query, now)
        if len(self._lists) > 512:
            self._lists.clear()
        self._lists[query] = _CachedList(body, self.version, valid_until)
        return body

    def _build_list(self, query: TaskQuery, now: int) -> tuple[bytes, int]:
        parts: list[bytes] = []
        valid_until = NEVER
        visible = bisect.bisect_right(self._keys, (now, NEVER))
        if visible < len(self._order):
            valid_until = self._order[visible].created_ms  # the next planned arrival
        if query.state in (None, "complete") and query.max != 0:
            complete, expiry = self._complete(query, now, visible)
            valid_until = min(valid_until, expiry)
            parts.extend(
                task.encoded(View.LIST, task.phase_at(now)) for task in complete if task.datasource not in query.hidden
            )
        self._prune(now)
        for task in self._active:
            if task.created_ms > now:
                break
            valid_until = min(valid_until, task.plan.next_change_after(now))
            if query.state == "complete":
                continue
            if query.datasource is not None and task.datasource != query.datasource:
                continue
            if query.type is not None and task.type != query.type:
                continue
            if task.datasource in query.hidden:
                continue
            phase = task.phase_at(now)
            if query.state is not None and phase.value.lower() != query.state:
                continue
            parts.append(task.encoded(View.LIST, phase))
        return b"[" + b",".join(parts) + b"]", valid_until

    def _complete(self, query: TaskQuery, now: int, visible: int) -> tuple[list[Task], int]:
        """Complete tasks created within the look-back, newest first, ``max`` before ``type``."""
        since = now - query.lookback_ms
        found: list[Task] = []
        for index in range(visible - 1, -1, -1):
            task = self._order[index]
            if task.created_ms < since:
                break
            if query.datasource is not None and task.datasource != query.datasource:
                continue
            if task.phase_at(now).complete:
                found.append(task)
                if query.max is not None and len(found) >= query.max:
                    break
        expiry = found[-1].created_ms + query.lookback_ms + 1 if found else NEVER
        if query.type is not None:
            found = [task for task in found if task.type == query.type]
        return found, expiry

    def census(self, now: int | None = None) -> dict[str, int]:
        """How many tasks ``GET /tasks`` would list in each of :data:`CENSUS_STATES` right now.

        Every active task counts; complete ones count while their creation is within the look-back (a
        shut-down task is ``failed``, as clients see it). Cached like the lists, until the next moment a
        count can change, so a dashboard polling it costs almost nothing between changes.
        """
        now = self.now() if now is None else now
        cached = self._census
        if cached is not None and cached.version == self.version and now < cached.valid_until:
            return dict(cached.counts)
        counts = dict.fromkeys(CENSUS_STATES, 0)
        valid_until = NEVER
        visible = bisect.bisect_right(self._keys, (now, NEVER))
        if visible < len(self._order):
            valid_until = self._order[visible].created_ms  # the next planned arrival
        for task in self.active_tasks(now):
            counts[task.phase_at(now).value.lower()] += 1
            valid_until = min(valid_until, task.plan.next_change_after(now))
        since = now - self.lookback_ms
        for index in range(visible - 1, -1, -1):
            task = self._order[index]
            if task.created_ms < since:
                break
            phase = task.phase_at(now)
            if phase.complete:
                counts["success" if phase is Phase.SUCCESS else "failed"] += 1
                valid_until = min(valid_until, task.created_ms + self.lookback_ms + 1)  # when it leaves the window
        self._census = _CachedCensus(counts, self.version, valid_until)
        return dict(counts)

    def statuses(self, task_ids: Iterable[str]) -> bytes:
        """``POST /taskStatus``: a JSON object of TaskStatus for the ids that exist."""
        now = self.now()
        parts: list[bytes] = []
        seen: set[str] = set()
        for task_id in task_ids:
            if task_id in seen:
                continue
            seen.add(task_id)
            task = self.get(task_id, now)
            if task is not None:
                parts.append(orjson.dumps(task_id) + b":" + task.encoded(View.TASK_STATUS, task.phase_at(now)))
        return b"{" + b",".join(parts) + b"}"


def _order_key(task: Task) -> tuple[int, int]:
    """Where a task sits in the model's lists: creation time (``created_date``), then insertion order."""
    return (task.created_ms, task.seq)


def served_payload(submission: Submission, task_id: str, group_id: str) -> dict[str, Any]:
    """The task JSON ``GET /task/{id}`` re-serves: ``type`` first, then the server-filled fields.

    Order follows Druid's serialization of a task: ``type, id, groupId, resource``, the task's own
    properties, ``context`` (with the keys ``TaskQueue.add`` adds when absent), then ``dataSource``.
    """
    given = submission.payload
    own_keys = {"type", "id", "groupId", "resource", "context", "dataSource"}
    payload: dict[str, Any] = {
        "type": submission.type,
        "id": task_id,
        "groupId": group_id,
        "resource": given.get("resource") or {"availabilityGroup": task_id, "requiredCapacity": 1},
    }
    payload.update((key, value) for key, value in given.items() if key not in own_keys)
    context = dict(given.get("context") or {})
    context.setdefault("forceTimeChunkLock", True)
    context.setdefault("useLineageBasedSegmentAllocation", True)
    payload["context"] = context
    payload["dataSource"] = submission.datasource
    return payload
