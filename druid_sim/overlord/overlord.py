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
import sys
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import Any

import orjson

from druid_sim.clock import Clock
from druid_sim.limits import MAX_COMPLETE_TASKS
from druid_sim.overlord.behaviour import BehaviourRules, TaskBehaviour
from druid_sim.overlord.ids import new_task_id
from druid_sim.overlord.payloads import PayloadStore
from druid_sim.overlord.task import NEVER, UNKNOWN_LOCATION, Phase, Plan, Task, View
from druid_sim.overlord.worker_select import WorkerSelect
from druid_sim.overlord.workers import MAX_ASSIGNMENT_DELAY_MS, MiddleManager, WorkerPool
from druid_sim.util.jsonenc import dumps

logger = logging.getLogger(__name__)

DAY_MS = 24 * 3600 * 1000
STATES = ("pending", "waiting", "running", "complete")
#: The states :meth:`Overlord.census` counts, as a client derives them (reference 4: ``statusCode``,
#: or ``runnerStatusCode`` while it is RUNNING), lower case.
CENSUS_STATES = ("waiting", "pending", "running", "success", "failed")


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
        scenario: str | None = None,
    ) -> None:
        self.clock = clock
        self.seed = seed
        self.rules = rules or BehaviourRules()
        self.workers = workers or WorkerPool()
        self.lookback_ms = lookback_ms
        self.queue_max_size = queue_max_size
        #: Submitted payloads, kept within a byte budget (`druid_sim.overlord.payloads`).
        self.payloads = PayloadStore()
        #: How many complete tasks the model remembers; beyond it the oldest are forgotten (``GET /task/{id}``
        #: then answers 404), as a cluster's metadata retention (``druid.indexer.logs.kill``) deletes old
        #: task entries. It bounds memory and the work of every list, whatever the clock does.
        self.max_complete = max_complete
        #: Held tasks past which `_forget` looks for complete tasks beyond ``max_complete`` (amortised: a tenth more).
        self._forget_at = max_complete + max(1, max_complete // 10)
        #: Draws the random part of submitted tasks' ids and their seeds: from the seed and the scenario's
        #: name, so two simulators of different scenarios side by side do not hand out the same ids.
        self.rng = random.Random(f"overlord:{seed}" if scenario is None else f"overlord:{seed}:{scenario}")
        self.tasks: dict[str, Task] = {}
        self._order: list[Task] = []  # by (created_ms, seq)
        self._active: list[Task] = []  # tasks not yet seen complete, by (created_ms, seq)
        self.datasources: set[str] = set()  # every datasource a task was added for
        self._seq = 0
        #: The latest ``ready_at`` of the tasks planned so far: a task ready later takes its slot straight
        #: from the pool, one ready earlier re-plans those not yet running (`_reschedule`).
        self._last_ready = -1
        self.version = 0  # bumped whenever tasks are added or plans rewritten
        self._lists: dict[TaskQuery, _CachedList] = {}
        self._census: _CachedCensus | None = None
        #: Called with the current time before each answer, so scenarios can add planned arrivals.
        self.before_answer: list[Callable[[int], None]] = []
        #: Whether that catch-up may skip what is older than its window (arrivals, bursts, supervisors'
        #: generations: ``CATCH_UP_MS``) on any look at the model (True: a model in memory only), or only
        #: across a stored jump of the clock (`jump`: False with a state store). With a store the model must be a
        #: function of the stored actions alone, whoever looked at it when: a look that skipped would give
        #: the model a restart or another worker process rebuilds different tasks.
        self.skip_on_read = True
        #: Model parts built on the tasks (supervisors, segment metadata...), by name: they live and reset
        #: with this Overlord, so a reset that builds a new one drops them too.
        self.extras: dict[str, Any] = {}

    def remember_at_most(self, max_complete: int) -> None:
        """Keep at most ``max_complete`` complete tasks from now on (``--max-complete-tasks``)."""
        self.max_complete = max_complete
        self._forget_at = min(self._forget_at, max_complete + max(1, max_complete // 10))

    # -- time ------------------------------------------------------------------------------------

    def now(self) -> int:
        """The current virtual time, after letting time-driven extensions catch up."""
        now = self.clock.now_ms()
        self.catch_up(now)
        return now

    def catch_up(self, now: int) -> None:
        """Add what the scenario plans up to ``now`` (a time from the clock, so never past its ``horizon``):
        arrivals, bursts, supervisors' tasks, in time order."""
        for hook in self.before_answer:
            hook(now)

    @property
    def may_skip(self) -> bool:
        """Whether any look may skip what is older than the catch-up window (see `skip_on_read`)."""
        return self.skip_on_read

    def jump(self, before: int, after: int) -> None:
        """The clock jumped from ``before`` to ``after``: catch up on everything up to ``before``, then skip
        what is older than the catch-up window before ``after`` (as a look after a long jump does in memory).

        Called where the jump is a stored action (``POST /__sim/clock``, a server going live after a
        restart), so every model rebuilt from the store skips exactly the same tasks. What is not skipped
        is added by the next look, as ever (a jump into a burst of 80,000 tasks answers at once).
        """
        self.catch_up(before)
        for hook in self.before_answer:
            owner = getattr(hook, "__self__", hook)  # a bound ``catch_up`` (the supervisors alone): its owner skips
            skip_old = getattr(owner, "skip_old", None)
            if skip_old is not None:
                skip_old(after)
        if len(self._order) > self._forget_at:
            self._forget(after)

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
        """A fresh plan for a task created at ``created_ms``; `add` gives it its worker slot.

        ``pending`` is the task runner's hand-over time, capped at `MAX_ASSIGNMENT_DELAY_MS`: how long the
        task stays PENDING beyond that is the wait for a free slot, which the worker pool decides.
        """
        pending_at = created_ms + int(behaviour.waiting.sample(rng) * 1000)
        ready_at = pending_at + min(MAX_ASSIGNMENT_DELAY_MS, int(behaviour.pending.sample(rng) * 1000))
        run_ms = int(behaviour.run.sample(rng) * 1000)
        failed = rng.random() < behaviour.failure_probability
        plan = behaviour.plan(pending_at, NEVER, NEVER, UNKNOWN_LOCATION, failed, rng)
        plan.ready_at = ready_at
        plan.run_ms = run_ms
        return plan

    def add(self, task: Task) -> Task:
        """Insert a fully built task (submission, demo seeding, cassette seeding) and plan its run.

        A task the model plans (`Plan.schedulable`) takes its slot here, as of its creation: straight
        from the pool when it is the latest to become ready or a slot is idle from its ready time on
        (the common case: O(log slots)), else by re-planning every task not yet running, in the order
        they become ready (`_reschedule`).
        """
        self._seq += 1
        task.seq = self._seq
        self._order.insert(bisect.bisect_right(self._order, _order_key(task), key=_order_key), task)
        plan = task.plan
        now = self.clock.now_ms()
        if plan.schedulable or task.phase_at(now).active or task.created_ms > now:
            bisect.insort(self._active, task, key=_order_key)
        self.tasks[task.id] = task
        self.datasources.add(task.datasource)
        if not plan.schedulable:
            self._planned(task)
        elif plan.ready_at >= self._last_ready or self.workers.idle_by(plan.ready_at, task.type, task.datasource):
            # The latest to be ready, or a slot is free from then on: no task planned so far is moved by it.
            self._last_ready = max(self._last_ready, plan.ready_at)
            self._place(task, *self.workers.take(plan.ready_at, task.type, task.datasource))
        else:
            self._reschedule(task.created_ms)
        self.version += 1
        if len(self._order) > self._forget_at:  # at an add, never at a look: the same tasks in every rebuild
            self._forget(task.created_ms)
        return task

    def add_all(self, tasks: Iterable[Task]) -> int:
        """Insert many fully built tasks at once (cassette seeding), skipping ids already held; returns how many.

        One sort instead of one list insertion per task: seeding 100,000 tasks takes ~0.1 s, not seconds.
        The plans are pinned (taken as recorded); a task running now holds a worker slot (`WorkerPool.occupy`).
        """
        now = self.clock.now_ms()
        added: list[Task] = []
        for task in tasks:
            if task.id in self.tasks:
                continue
            self._seq += 1
            task.seq = self._seq
            self.tasks[task.id] = task
            self._planned(task)
            added.append(task)
        if not added:
            return 0
        order_key = _order_key
        self._order.extend(added)
        self._order.sort(key=order_key)
        self._active.extend(task for task in added if task.created_ms > now or task.phase_at(now).active)
        self._active.sort(key=order_key)
        self._occupy(task for task in added if task.created_ms <= now and task.phase_at(now) is Phase.RUNNING)
        self.version += 1
        if len(self._order) > self._forget_at:
            self._forget(now)
        return len(added)

    def _occupy(self, running: Iterable[Task]) -> None:
        """Give each pinned running task a worker slot, then re-plan the others around them."""
        now = self.clock.now_ms()
        occupied = 0
        slotless: list[str] = []
        for task in running:
            plan = task.plan
            if plan.slot >= 0 or plan.schedulable:
                continue
            slot = None if slotless else self.workers.occupy(plan.location, plan.completed_at(), now)
            if slot is None:
                slotless.append(task.id)
                continue
            plan.slot = slot
            occupied += 1
        if slotless:
            logger.warning(
                "%s tasks seen running (%s, ...) found every one of the %s worker slots taken: they hold none",
                f"{len(slotless):,}",
                slotless[0],
                self.workers.total_capacity,
            )
        if occupied:
            self._reschedule(now)

    # -- scheduling ------------------------------------------------------------------------------

    def _planned(self, task: Task) -> None:
        """Called once a task's run is planned (and again when it is re-planned): subclasses adjust the
        plan here (a scenario's failure windows). A shorter run gives its slot back sooner."""

    def _place(self, task: Task, start: int, slot: int) -> None:
        """Plan ``task`` to run on ``slot`` from ``start``; the slot is held until the task completes."""
        plan = task.plan
        before = (plan.running_at, plan.end_at, plan.slot, plan.outcome)
        plan.running_at = start
        plan.end_at = start + plan.run_ms
        plan.slot = slot
        plan.location = self.workers.location(slot) if slot >= 0 else UNKNOWN_LOCATION
        self._planned(task)
        self.workers.hold(slot, plan.completed_at())
        if (plan.running_at, plan.end_at, plan.slot, plan.outcome) != before:
            task.forget_encodings()  # a re-plan that changes nothing keeps what was encoded

    def _reschedule(self, moment: int) -> None:
        """Re-plan every task not yet running at ``moment``, in the order they become ready.

        What ran before ``moment`` stays as it was; the tasks running at ``moment`` hold their slots until
        they complete; every other planned task takes the earliest free slot from when it is ready (and
        not before ``moment``). Called when a task joins out of order or a slot frees earlier than planned
        (a shutdown), so a freed slot goes to the next pending task at once and no slot is ever double-booked.
        """
        busy: list[tuple[int, int]] = []
        waiting: list[Task] = []
        still: list[Task] = []  # the active list, without the tasks complete by ``moment`` (as `_prune`)
        for task in self._active:
            plan = task.plan
            done = plan.completed_at()
            if done <= moment and task.created_ms <= moment:
                task.forget_encodings()
                continue
            still.append(task)
            if plan.run_ms >= 0 and plan.shutdown_at is None and plan.running_at > moment:
                waiting.append(task)
            elif plan.slot >= 0 and plan.running_at <= moment:
                busy.append((plan.slot, done))
        self._active = still
        self.workers.restart(moment, busy)
        waiting.sort(key=_ready_key)
        self._last_ready = waiting[-1].plan.ready_at if waiting else -1
        for task in waiting:
            start, slot = self.workers.take(task.plan.ready_at, task.type, task.datasource)
            self._place(task, max(start, moment), slot)
        self.version += 1

    def configure_workers(self, select: WorkerSelect | None = None, disabled: frozenset[int] | None = None) -> None:
        """A new worker select strategy, or MiddleManagers disabled or enabled, from now on.

        What runs keeps running; every task not yet running is placed again under the new rules, as the
        task runner assigns pending tasks by the config and workers it has at each moment.
        """
        now = self.now()
        self.workers.configure(select, disabled)
        self._reschedule(now)

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
            # One string object per type and datasource, however many tasks name them.
            type=sys.intern(submission.type),
            datasource=sys.intern(submission.datasource),
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
        """Drop tasks that have become complete from the active list (time only moves forward; ``now``
        comes from the clock, so never past its ``horizon``: a task running at the next stored action's time
        keeps its slot)."""
        if any(task.created_ms <= now and task.phase_at(now).complete for task in self._active):
            still: list[Task] = []
            for task in self._active:
                if task.created_ms > now or task.phase_at(now).active:
                    still.append(task)
                else:
                    task.forget_encodings()  # what it showed while active is of no more use
            self._active = still

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
        self._stop(task, moment)
        self._reschedule(moment)

    def _stop(self, task: Task, moment: int) -> None:
        task.plan.shutdown_at = moment
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
        if plan.run_ms >= 0:  # a scheduled run is shorter now (a pinned one, seen running, has no length)
            plan.run_ms = at_ms - plan.running_at
        plan.end_at = at_ms
        task.forget_encodings()
        self._reschedule(self.now())  # the slot it gives back goes to the next pending task at once

    def created_since(self, since_ms: int, now: int) -> Iterator[Task]:
        """Tasks created in ``[since_ms, now]``, newest first (what a look-back window holds)."""
        visible = bisect.bisect_right(self._order, (now, NEVER), key=_order_key)
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
            self._stop(task, now)
        if victims:
            self._reschedule(now)
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
        visible = bisect.bisect_right(self._order, (now, NEVER), key=_order_key)
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
        visible = bisect.bisect_right(self._order, (now, NEVER), key=_order_key)
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

    def middle_managers(self, now: int | None = None) -> list[MiddleManager]:
        """Each MiddleManager now: host, capacity, used slots, running task ids, version, category.

        What ``GET /workers`` and ``/totalWorkerCapacity`` are built on; a task running on no slot of the
        pool (a cassette's, when every slot was taken) is not on any of them.
        """
        now = self.now() if now is None else now
        running = [
            (task.plan.slot, task.id)
            for task in self.active_tasks(now)
            if task.plan.slot >= 0 and task.phase_at(now) is Phase.RUNNING
        ]
        return self.workers.middle_managers(running)

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


def _ready_key(task: Task) -> tuple[int, int]:
    """The task runner's order: when a task became ready for a slot, then insertion order."""
    return (task.plan.ready_at, task.seq)


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
