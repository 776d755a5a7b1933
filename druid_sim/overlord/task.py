"""A task and its life plan, and the JSON Druid shows for it at any moment.

A task's life is decided when it is created: when it leaves the queue (``pending_at``), when a
worker runs it (``running_at``), when and how it ends. Its phase at any time is read from that plan
and the virtual clock; nothing ticks in the background. A shutdown rewrites the plan.

The JSON for each view is encoded once per phase and cached on the task, because a task's fields only
change when its phase does. Only the current phase's encodings are kept, and once the task is complete
only its list entry (every ``GET /tasks`` serves it; a complete task's status is asked for rarely and
costs ~10 µs to encode): a stored complete task costs its payload, its list entry and ~1 KB besides
(``python -m bench model``).
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from typing import Any

import orjson

from druid_sim.clock import format_instant
from druid_sim.util.jsonenc import dumps

EPOCH = "1970-01-01T00:00:00.000Z"
SHUTDOWN_MESSAGE = "Shutdown request from user"
NEVER = 2**62  # a plan time that never comes


class Phase(enum.Enum):
    """Where a task is in its life, in the Overlord's words."""

    WAITING = "WAITING"  # in the queue, not yet handed to the task runner
    PENDING = "PENDING"  # in the runner, waiting for a worker slot
    RUNNING = "RUNNING"  # running on a peon
    SUCCESS = "SUCCESS"
    FAILED = "FAILED"
    SHUTDOWN = "SHUTDOWN"  # failed because a user asked for a shutdown

    @property
    def active(self) -> bool:
        return self in (Phase.WAITING, Phase.PENDING, Phase.RUNNING)

    @property
    def complete(self) -> bool:
        return not self.active

    @property
    def status_code(self) -> str:
        """``TaskState``: RUNNING for every active task, SUCCESS or FAILED once complete."""
        if self.active:
            return "RUNNING"
        return "SUCCESS" if self is Phase.SUCCESS else "FAILED"


@dataclass(frozen=True, slots=True)
class Location:
    """``TaskLocation``: where a peon serves the task."""

    host: str | None
    port: int
    tls_port: int = -1

    def as_json(self) -> dict[str, Any]:
        return {"host": self.host, "port": self.port, "tlsPort": self.tls_port}


UNKNOWN_LOCATION = Location(None, -1, -1)


@dataclass(slots=True)
class Plan:
    """When each phase starts and how the task ends; times are virtual epoch milliseconds.

    A task the model schedules (``run_ms`` at least 0) gets ``running_at``, ``end_at``, ``slot`` and
    ``location`` from the worker pool, from ``ready_at`` (when the runner could hand it to a free slot)
    and ``run_ms`` (how long it runs); they are rewritten whenever a slot frees earlier than planned
    (`druid_sim.overlord.overlord.Overlord`). Other plans (complete starting tasks, a cassette's tasks)
    are pinned: taken as they are.
    """

    pending_at: int
    running_at: int
    end_at: int
    outcome: Phase = Phase.SUCCESS
    error_msg: str | None = None
    location: Location = UNKNOWN_LOCATION
    shutdown_at: int | None = None
    #: How fast the log grows while running, in bytes per virtual second.
    log_bytes_per_second: float = 400.0
    #: How fast rows are processed while running, per virtual second (reports).
    rows_per_second: float = 2000.0
    #: When the task runner can hand the task to a free slot: ``pending_at`` plus the assignment delay.
    ready_at: int = NEVER
    #: How long the task runs once it has a slot; -1 for a pinned plan, which the scheduler leaves alone.
    run_ms: int = -1
    #: The worker slot the task holds while it runs (`druid_sim.overlord.workers.WorkerPool`); -1: none.
    slot: int = -1

    @property
    def schedulable(self) -> bool:
        """Whether the scheduler places this task (a task it planned, not shut down)."""
        return self.run_ms >= 0 and self.shutdown_at is None

    def phase_at(self, now_ms: int) -> Phase:
        if self.shutdown_at is not None and now_ms >= self.shutdown_at:
            return Phase.SHUTDOWN
        if now_ms < self.pending_at:
            return Phase.WAITING
        if now_ms < self.running_at:
            return Phase.PENDING
        if now_ms < self.end_at:
            return Phase.RUNNING
        return self.outcome

    def completed_at(self) -> int:
        """When the task becomes complete (end of run, or the shutdown)."""
        if self.shutdown_at is not None:
            return min(self.shutdown_at, self.end_at)
        return self.end_at

    def next_change_after(self, now_ms: int) -> int:
        """The first plan time after ``now_ms`` at which the phase changes (``NEVER`` if none)."""
        for moment in (self.pending_at, self.running_at, self.completed_at()):
            if moment > now_ms:
                return moment
        return NEVER

    @property
    def run_duration_ms(self) -> int:
        """What the worker reports as ``duration`` when the task ends by itself."""
        return max(0, self.end_at - self.running_at)


class View(enum.Enum):
    """Which endpoint a TaskStatusPlus is built for: they differ in runner fields (reference 2.1, 2.7)."""

    LIST = "list"  # GET /tasks and the shortcut lists
    STATUS = "status"  # GET /task/{id}/status
    TASK_STATUS = "taskStatus"  # POST /taskStatus (a TaskStatus, not a TaskStatusPlus)
    STATUS_RESPONSE = "statusResponse"  # GET /task/{id}/status: {"task", "status"} around STATUS


@dataclass(slots=True)
class Task:
    """A task as the Overlord holds it: identity, the re-served payload, and its plan."""

    id: str
    group_id: str
    type: str
    datasource: str
    created_ms: int
    plan: Plan
    #: The payload ``GET /task/{id}`` serves, kept encoded: a task body as dicts costs about five times
    #: the memory of its JSON, and a cluster may hold a hundred thousand tasks.
    payload_json: bytes
    seq: int = 0
    seed: int = 0
    #: The phase the cached encodings are for, the ``GET /tasks`` entry, and the other views (active only).
    _cached_phase: Phase | None = field(default=None, repr=False)
    _list_json: bytes | None = field(default=None, repr=False)
    _views: dict[View, bytes] | None = field(default=None, repr=False)
    #: False once the payload was let go of to stay within the budget (`druid_sim.overlord.payloads`):
    #: ``payload_json`` then holds only its server-filled fields, and ``GET /task/{id}`` answers 404.
    payload_kept: bool = True

    def phase_at(self, now_ms: int) -> Phase:
        return self.plan.phase_at(now_ms)

    @property
    def payload(self) -> dict[str, Any]:
        """The payload as data (decoded on each call; use ``payload_json`` to serve it)."""
        value: dict[str, Any] = orjson.loads(self.payload_json)
        return value

    def forget_encodings(self) -> None:
        """Drop cached JSON after the plan changed (a shutdown, a re-planned run)."""
        self._cached_phase = None
        self._list_json = None
        self._views = None

    # -- locations -------------------------------------------------------------------------------

    def stored_location(self) -> Location:
        """The location persisted at completion: the runner's location at that moment."""
        plan = self.plan
        if plan.shutdown_at is not None and plan.shutdown_at < plan.running_at:
            return UNKNOWN_LOCATION
        return plan.location

    def stored_duration(self, phase: Phase) -> int:
        if phase.active or phase is Phase.SHUTDOWN:
            return -1
        return self.plan.run_duration_ms

    def error_msg(self, phase: Phase) -> str | None:
        if phase is Phase.SHUTDOWN:
            return SHUTDOWN_MESSAGE
        if phase is Phase.FAILED:
            return self.plan.error_msg
        return None

    # -- JSON ------------------------------------------------------------------------------------

    def status_plus(self, view: View, phase: Phase) -> dict[str, Any]:
        """TaskStatusPlus in Jackson's creator order (reference 3.1), as ``view`` shows it."""
        queue_insertion = EPOCH
        location = UNKNOWN_LOCATION
        if phase.complete:
            runner = "NONE" if view is View.LIST else "WAITING"
            location = self.stored_location()
        elif phase is Phase.WAITING:
            runner = "WAITING"
        else:
            runner = phase.value
            if phase is Phase.RUNNING:
                location = self.plan.location
            if view is View.LIST:
                queue_insertion = format_instant(self.plan.pending_at)
        return {
            "id": self.id,
            "groupId": self.group_id,
            "type": self.type,
            "createdTime": format_instant(self.created_ms),
            "queueInsertionTime": queue_insertion,
            "statusCode": phase.status_code,
            "status": phase.status_code,
            "runnerStatusCode": runner,
            "duration": self.stored_duration(phase),
            "location": location.as_json(),
            "dataSource": self.datasource,
            "errorMsg": self.error_msg(phase),
        }

    def task_status(self, phase: Phase) -> dict[str, Any]:
        """TaskStatus as ``POST /taskStatus`` returns it (reference 2.14, 3.2)."""
        location = self.plan.location if phase is Phase.RUNNING else UNKNOWN_LOCATION
        if phase.complete:
            location = self.stored_location()
        return {
            "id": self.id,
            "status": phase.status_code,
            "duration": self.stored_duration(phase),
            "errorMsg": self.error_msg(phase),
            "location": location.as_json(),
        }

    def encoded(self, view: View, phase: Phase) -> bytes:
        """Compact JSON for this view and phase, encoded once per phase (see the module's docstring)."""
        if phase is not self._cached_phase:
            self._cached_phase, self._list_json, self._views = phase, None, None
        if view is View.LIST:
            if self._list_json is None:
                self._list_json = dumps(self.status_plus(view, phase))
            return self._list_json
        cached = self._views.get(view) if self._views is not None else None
        if cached is None:
            if view is View.STATUS_RESPONSE:
                status = dumps(self.status_plus(View.STATUS, phase))
                cached = b'{"task":' + orjson.dumps(self.id) + b',"status":' + status + b"}"
            elif view is View.TASK_STATUS:
                cached = dumps(self.task_status(phase))
            else:
                cached = dumps(self.status_plus(view, phase))
            if phase.active:
                if self._views is None:
                    self._views = {}
                self._views[view] = cached
        return cached

    def status_response(self, phase: Phase) -> bytes:
        """The body of ``GET /task/{id}/status`` (reference 2.7)."""
        return self.encoded(View.STATUS_RESPONSE, phase)
