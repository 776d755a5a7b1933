"""What clients did, and the one write path: one `Action` per change a client made, kept by `record`.

The Druid routes and the control API call `record` after the model accepted a change; without
``--state`` it does nothing, with it the state store (`druid_sim.state`, which puts its ledger in
``simulation.extensions["state"]``) makes the action durable before the answer goes. This module sits
low (beside the running simulation, above the model) so the Druid face can record without depending on
the store; the store is one room up.

Each action says when it happened on the virtual clock (``at_ms``), where the clock stood and how fast
it ran right after it (``clock_ms``, ``scale``, and the wall clock then, ``wall_ms``: how a restarted
server knows where virtual time is now), and what the client asked (``args``: a submission's JSON as
it was parsed, its payload as sent, or the control call's arguments). A submission also carries the row Druid's metadata store
would hold for the task (`TaskRow`, the columns of ``druid_tasks``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol

import orjson

from druid_sim.clock import format_instant
from druid_sim.overlord.overlord import Submission
from druid_sim.overlord.task import Task, View
from druid_sim.util.jsonenc import dumps

if TYPE_CHECKING:
    from druid_sim.runtime import Simulation

#: Where the state store's ledger lives in ``simulation.extensions``.
EXTENSION = "state"
#: ASGI scope key set on a kept Druid call made again while rebuilding: it is kept already.
REMADE = "druid_sim.state.remade"
#: ASGI scope key of a call made again: the identity it was first made as (an audit entry names it).
REMADE_IDENTITY = "druid_sim.state.identity"
#: The request headers a kept Druid call keeps: the audit's author and comment, and the address a
#: simulated MiddleManager was reached at.
KEPT_HEADERS = (b"x-druid-author", b"x-druid-comment", b"host")

SUBMIT = "submit"
SHUTDOWN = "shutdown"
SHUTDOWN_ALL = "shutdown_all"
CLOCK = "clock"
RESET = "reset"
SCENARIO = "scenario"
FAULT_ADD = "fault_add"
FAULT_REMOVE = "fault_remove"
FAULT_CLEAR = "fault_clear"
FAULT_PRESET = "fault_preset"
#: Any other change made through the Druid API (supervisors, workers, compaction, segments): the request itself.
REQUEST = "request"
KINDS = (
    SUBMIT,
    SHUTDOWN,
    SHUTDOWN_ALL,
    CLOCK,
    RESET,
    SCENARIO,
    FAULT_ADD,
    FAULT_REMOVE,
    FAULT_CLEAR,
    FAULT_PRESET,
    REQUEST,
)


@dataclass(frozen=True, slots=True)
class TaskRow:
    """A task as Druid's ``druid_tasks`` table holds it (status as of the last write; the model has the live one)."""

    id: str
    created_date: str
    datasource: str
    type: str
    group_id: str
    payload: bytes
    status: bytes
    active: bool

    @classmethod
    def of(cls, task: Task, now: int) -> TaskRow:
        phase = task.phase_at(now)
        return cls(
            id=task.id,
            created_date=format_instant(task.created_ms),
            datasource=task.datasource,
            type=task.type,
            group_id=task.group_id,
            payload=task.payload_json,
            status=task.encoded(View.TASK_STATUS, phase),
            active=phase.active,
        )


@dataclass(frozen=True, slots=True)
class Action:
    """One change a client made. ``clock_ms``, ``scale`` and ``wall_ms`` are filled in when it is recorded."""

    kind: str
    at_ms: int
    args: bytes = b""
    task_id: str | None = None
    row: TaskRow | None = None
    clock_ms: int = 0
    scale: float = 0.0
    wall_ms: int = 0

    def arg(self, name: str) -> Any:
        """One field of a control call's JSON arguments."""
        return orjson.loads(self.args)[name] if self.args else None

    def optional(self, name: str) -> Any:
        """One field of a control call's JSON arguments, None when absent (an action stored before it was kept)."""
        return orjson.loads(self.args).get(name) if self.args else None


def submitted(task: Task, submission: Submission) -> Action:
    """``POST /task`` accepted ``task`` from ``submission`` (the client's JSON as parsed, payload as sent)."""
    args = {
        "type": submission.type,
        "dataSource": submission.datasource,
        "payload": submission.payload,
        "id": submission.id,
        "groupId": submission.group_id,
        "interval": submission.interval,
    }
    return Action(SUBMIT, task.created_ms, dumps(args), task.id, TaskRow.of(task, task.created_ms))


def submission_of(action: Action) -> Submission:
    """The submission a ``submit`` action holds, to submit again."""
    args = orjson.loads(action.args)
    interval = args["interval"]
    return Submission(
        type=args["type"],
        datasource=args["dataSource"],
        payload=args["payload"],
        id=args["id"],
        group_id=args["groupId"],
        interval=(interval[0], interval[1]) if interval else None,
    )


def shut_down(task: Task, at_ms: int) -> Action:
    """``POST /task/{id}/shutdown`` at ``at_ms``."""
    return Action(SHUTDOWN, at_ms, task_id=task.id, row=TaskRow.of(task, at_ms))


def shut_down_datasource(datasource: str, at_ms: int) -> Action:
    """``POST /datasources/{ds}/shutdownAllTasks`` at ``at_ms``."""
    return Action(SHUTDOWN_ALL, at_ms, orjson.dumps({"dataSource": datasource}))


def requested(
    method: str,
    raw_path: bytes,
    query: bytes,
    content_type: str | None,
    body: bytes,
    at_ms: int,
    *,
    headers: list[tuple[bytes, bytes]] | None = None,
    client: str | None = None,
    identity: str | None = None,
) -> Action:
    """A change made through a Druid call with no action of its own: the call, to make again the same way
    (moto's request recorder). The handler checked who asked; making it again needs no user, only what an
    audit entry keeps of it (``headers`` of `KEPT_HEADERS`, the ``client`` address, the ``identity``)."""
    args: dict[str, Any] = {
        "method": method,
        "path": raw_path.decode("latin-1"),
        "query": query.decode("latin-1"),
        "contentType": content_type,
        "body": body.decode("latin-1"),
    }
    if headers:
        args["headers"] = [[name.decode("latin-1"), value.decode("latin-1")] for name, value in headers]
    if client is not None:
        args["client"] = client
    if identity is not None:
        args["identity"] = identity
    return Action(REQUEST, at_ms, orjson.dumps(args))


def control(kind: str, at_ms: int, **args: Any) -> Action:
    """A control API change (clock, reset, scenario, faults) with its arguments."""
    return Action(kind, at_ms, orjson.dumps(args) if args else b"")


class StoreUnavailable(Exception):
    """A change could not be made durable (the store failed, or this replica no longer leads): answer 503."""


class Recorder(Protocol):
    """What keeps actions (the state store's ledger, `druid_sim.state.Ledger`)."""

    def record(self, action: Action) -> None: ...


def record(simulation: Simulation, action: Action) -> None:
    """The write path: make ``action`` durable before its answer goes (nothing without ``--state``).

    Raises `StoreUnavailable` when it could not be; the caller answers 503 and the replica rebuilds
    from the store before it leads again, so the change it made in memory is never served.
    """
    recorder: Recorder | None = simulation.extensions.get(EXTENSION)
    if recorder is not None:
        recorder.record(action)
