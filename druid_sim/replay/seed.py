"""Seeding the Overlord model from a cassette, so a miss gets an answer consistent with the recording.

Every task the cassette mentions (in task lists, statuses, ``POST /taskStatus``, payloads, submissions,
logs, reports, shutdowns) becomes a model task in the last state observed: a task last seen RUNNING
stays running on the same worker, a task seen SUCCESS has the recorded duration, a user-killed task is
FAILED with "Shutdown request from user". Payloads come from ``GET /task/{id}`` bodies, else from the
recorded submission, else are rebuilt from the type and datasource. Timestamps are the recorded ones,
so the model's ``createdTime`` for a task is the one the recording showed.
"""

from __future__ import annotations

import re
import zlib
from dataclasses import dataclass
from typing import Any

from druid_sim.cassette import Cassette, Interaction
from druid_sim.cassette.writer import recorded_at_epoch
from druid_sim.clock import parse_instant
from druid_sim.druid.submission import TASK_CLASSES, SubmissionError, parse_submission
from druid_sim.overlord.overlord import Overlord, Submission, served_payload
from druid_sim.overlord.task import EPOCH, NEVER, SHUTDOWN_MESSAGE, UNKNOWN_LOCATION, Location, Phase, Plan, Task
from druid_sim.replay.normalize import normalize_path
from druid_sim.util.jsonenc import dumps

_PREFIX = "/druid/indexer/v1/"
_LISTS = frozenset({"tasks", "completeTasks", "runningTasks", "waitingTasks", "pendingTasks"})
_TASK_PATH = re.compile(r"^/druid/indexer/v1/task/([^/]+)(?:/(status|log|reports|segments|shutdown))?$")
_TIMESTAMP = re.compile(r"^\d{4}-\d\d-\d\dT")


@dataclass(slots=True)
class Seen:
    """What the cassette showed about one task, the latest observation winning field by field."""

    id: str
    group_id: str | None = None
    type: str | None = None
    datasource: str | None = None
    created_ms: int | None = None
    queued_ms: int | None = None
    status: str | None = None  # RUNNING | SUCCESS | FAILED
    runner: str | None = None  # WAITING | PENDING | RUNNING | NONE (only meaningful while active)
    duration: int | None = None
    location: Location | None = None
    error_msg: str | None = None
    payload: dict[str, Any] | None = None
    submitted_ms: int | None = None

    def phase(self) -> Phase:
        if self.status == "SUCCESS":
            return Phase.SUCCESS
        if self.status == "FAILED":
            return Phase.SHUTDOWN if self.error_msg == SHUTDOWN_MESSAGE else Phase.FAILED
        if self.status == "RUNNING":
            if self.runner in ("WAITING", "PENDING", "RUNNING"):
                return Phase(self.runner)
            has_host = self.location is not None and self.location.host is not None
            return Phase.RUNNING if has_host else Phase.PENDING
        return Phase.SUCCESS  # seen only by id (a log, a payload): it ran and is over


def _instant(value: Any) -> int | None:
    if not isinstance(value, str) or value == EPOCH:
        return None
    try:
        return parse_instant(value)
    except ValueError:
        return None


def _location(value: Any) -> Location | None:
    if not isinstance(value, dict):
        return None
    host = value.get("host")
    port, tls = value.get("port", -1), value.get("tlsPort", -1)
    return Location(
        host if isinstance(host, str) else None,
        port if isinstance(port, int) else -1,
        tls if isinstance(tls, int) else -1,
    )


class Observations:
    """Walks a cassette in order and keeps the latest view of every task."""

    def __init__(self) -> None:
        self.tasks: dict[str, Seen] = {}

    def seen(self, task_id: str) -> Seen:
        found = self.tasks.get(task_id)
        if found is None:
            found = self.tasks[task_id] = Seen(task_id)
        return found

    def status_plus(self, obj: Any) -> None:
        """A TaskStatusPlus from a list or a status (reference 3.1)."""
        if not isinstance(obj, dict) or not isinstance(obj.get("id"), str):
            return
        seen = self.seen(obj["id"])
        seen.group_id = _str(obj.get("groupId")) or seen.group_id
        seen.type = _str(obj.get("type")) or seen.type
        seen.datasource = _str(obj.get("dataSource")) or seen.datasource
        seen.created_ms = _instant(obj.get("createdTime")) or seen.created_ms
        seen.queued_ms = _instant(obj.get("queueInsertionTime")) or seen.queued_ms
        self._state(seen, obj)
        runner = _str(obj.get("runnerStatusCode"))
        if runner is not None:
            seen.runner = runner

    def task_status(self, obj: Any) -> None:
        """A TaskStatus from ``POST /taskStatus`` (reference 3.2)."""
        if isinstance(obj, dict) and isinstance(obj.get("id"), str):
            seen = self.seen(obj["id"])
            self._state(seen, obj)
            seen.runner = None

    def _state(self, seen: Seen, obj: dict[str, Any]) -> None:
        status = _str(obj.get("statusCode")) or _str(obj.get("status"))
        if status in ("RUNNING", "SUCCESS", "FAILED"):
            seen.status = status
            seen.error_msg = _str(obj.get("errorMsg"))
        duration = obj.get("duration")
        if isinstance(duration, int) and not isinstance(duration, bool):
            seen.duration = duration
        location = _location(obj.get("location"))
        if location is not None:
            seen.location = location

    def interaction(self, interaction: Interaction, at_ms: int) -> None:
        request, response = interaction.request, interaction.response
        path = normalize_path(request.path)
        if not path.startswith(_PREFIX) or not 200 <= response.status < 300:
            return
        rest = path[len(_PREFIX) :]
        try:
            body = response.body.json() if not response.body.is_empty else None
        except ValueError:
            body = None
        if rest in _LISTS and isinstance(body, list):
            for item in body:
                self.status_plus(item)
        elif rest == "taskStatus" and isinstance(body, dict):
            for value in body.values():
                self.task_status(value)
        elif rest == "task" and request.method == "POST" and isinstance(body, dict):
            self._submission(interaction, body, at_ms)
        elif (match := _TASK_PATH.match(path)) is not None:
            task_id, what = match.group(1), match.group(2)
            seen = self.seen(task_id)
            if what == "status" and isinstance(body, dict):
                self.status_plus(body.get("status"))
            elif what is None and isinstance(body, dict) and isinstance(body.get("payload"), dict):
                payload = body["payload"]
                seen.payload = payload
                seen.type = _str(payload.get("type")) or seen.type
                seen.group_id = _str(payload.get("groupId")) or seen.group_id
                seen.datasource = _str(payload.get("dataSource")) or seen.datasource

    def _submission(self, interaction: Interaction, body: dict[str, Any], at_ms: int) -> None:
        task_id = _str(body.get("task"))
        if task_id is None:
            return
        seen = self.seen(task_id)
        seen.submitted_ms = seen.submitted_ms or at_ms
        try:
            submission = parse_submission(interaction.request.body.raw())
        except SubmissionError:
            return
        group_id = submission.group_id or task_id
        seen.type = seen.type or submission.type
        seen.datasource = seen.datasource or submission.datasource
        seen.group_id = seen.group_id or group_id
        if seen.payload is None:
            seen.payload = served_payload(submission, task_id, group_id)


def _str(value: Any) -> str | None:
    return value if isinstance(value, str) else None


def observe(cassette: Cassette) -> Observations:
    """Every task the cassette saw, as last observed."""
    observations = Observations()
    epoch_ms = int(recorded_at_epoch(cassette.meta) * 1000)
    for interaction in cassette.interactions:
        observations.interaction(interaction, epoch_ms + int(interaction.at * 1000))
    return observations


def cassette_end_ms(cassette: Cassette, observations: Observations | None = None) -> int:
    """The upstream's time at the end of the recording, as its own bodies tell it.

    The latest creation or completion time any task showed; only when no task showed one, the recorder's
    clock (``recorded_at`` plus the last interaction). Starting the virtual clock here makes the model
    agree with the recording: complete tasks are within the 24-hour look-back and already complete.
    """
    observations = observations or observe(cassette)
    latest = 0
    for seen in observations.tasks.values():
        for moment in (seen.created_ms, seen.queued_ms):  # submitted_ms is the recorder's clock, not Druid's
            if moment is not None:
                latest = max(latest, moment)
        if seen.created_ms is not None and seen.duration is not None and seen.duration > 0:
            latest = max(latest, seen.created_ms + seen.duration)
    if latest:
        return latest
    last = max((i.last_at or i.at for i in cassette.interactions), default=0.0)
    return int((recorded_at_epoch(cassette.meta) + last) * 1000)


def _guess_type_and_datasource(task_id: str) -> tuple[str, str]:
    """``<type>_<dataSource>_<random>_<time>`` read back from an id, for a task seen by id only."""
    task_type = next((t for t in sorted(TASK_CLASSES, key=len, reverse=True) if task_id.startswith(t + "_")), "index")
    rest = task_id[len(task_type) + 1 :] if task_id.startswith(task_type + "_") else task_id
    parts = rest.split("_")
    while parts and _TIMESTAMP.match(parts[-1]):
        parts.pop()
    if len(parts) > 1 and re.fullmatch(r"[a-p]{8}", parts[-1]):
        parts.pop()
    return task_type, "_".join(parts) or "unknown"


def _plan(seen: Seen, phase: Phase, created: int) -> Plan:
    location = seen.location or UNKNOWN_LOCATION
    queued = seen.queued_ms or created
    if phase is Phase.WAITING:
        return Plan(NEVER, NEVER, NEVER, location=location)
    if phase is Phase.PENDING:
        return Plan(queued, NEVER, NEVER, location=location)
    if phase is Phase.RUNNING:
        return Plan(queued, queued, NEVER, location=location)
    if phase is Phase.SHUTDOWN:
        ran = location.host is not None
        return Plan(
            created, created if ran else NEVER, NEVER, location=location, shutdown_at=created + (1 if ran else 0)
        )
    duration = max(0, seen.duration or 0)
    return Plan(created, created, created + duration, phase, seen.error_msg, location)


def seed_tasks(cassette: Cassette, observations: Observations | None = None) -> list[Task]:
    """A model task for every task the cassette saw, in its last observed state (not yet in any model).

    Pure work on the cassette, so a server can build them off its event loop (``POST /__sim/cassette``).
    """
    observations = observations or observe(cassette)
    fallback = cassette_end_ms(cassette, observations)
    tasks: list[Task] = []
    for seen in observations.tasks.values():
        guessed_type, guessed_ds = _guess_type_and_datasource(seen.id)
        task_type = seen.type or guessed_type
        datasource = seen.datasource or guessed_ds
        group_id = seen.group_id or seen.id
        created = seen.created_ms or seen.submitted_ms or fallback
        payload = seen.payload or served_payload(
            Submission(type=task_type, datasource=datasource, payload={"type": task_type}), seen.id, group_id
        )
        tasks.append(
            Task(
                id=seen.id,
                group_id=group_id,
                type=task_type,
                datasource=datasource,
                created_ms=created,
                plan=_plan(seen, seen.phase(), created),
                payload_json=dumps(payload),
                seed=zlib.crc32(seen.id.encode()),
            )
        )
    return tasks


def seed_overlord(overlord: Overlord, cassette: Cassette, observations: Observations | None = None) -> int:
    """Add every task the cassette saw to ``overlord`` (ids it already has are left alone); returns how many."""
    return overlord.add_all(seed_tasks(cassette, observations))
