"""Every Tasks-API endpoint (reference section 2), answered from the Overlord model.

Paths are matched on the raw path, one percent-decoded segment at a time, the way Jersey matches and
then decodes ``@PathParam``s: ``task/a%3Ab/status`` and ``task/a:b/status`` are the same task, and
a trailing slash is accepted. Each handler names the reference section it implements.
"""

from __future__ import annotations

import functools
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from dataclasses import dataclass, replace
from typing import Any
from urllib.parse import unquote

import orjson

from druid_sim import actions
from druid_sim.actions import REMADE, StoreUnavailable, record
from druid_sim.asgi import Receive, Scope, Send
from druid_sim.clock import format_instant
from druid_sim.druid import compaction_resource as compaction
from druid_sim.druid import datasource_resource as datasources
from druid_sim.druid import lock_resource, worker_resource
from druid_sim.druid import supervisor_resource as sup
from druid_sim.druid.answers import NotFound, is_json, java_int, legacy_error
from druid_sim.druid.intervals import IntervalError, interval_length_ms, parse_interval
from druid_sim.druid.intervals import format_instant as joda_instant
from druid_sim.druid.jackson import deep_point, shape_of
from druid_sim.druid.submission import SubmissionError, TooDeepError, parse_json_body, parse_submission
from druid_sim.express import ExpressRequest
from druid_sim.overlord.ids import invalid_id_reason
from druid_sim.overlord.overlord import STATES, DuplicateTaskError, Overlord, QueueFullError, TaskQuery
from druid_sim.overlord.reports import completion_report, live_report, reports_exist
from druid_sim.overlord.task import Phase, Task
from druid_sim.runtime import ANSWERED_BY, Simulation
from druid_sim.security.access import (
    datasource_filter,
    denied_text,
    permitted,
    require,
    state_filter,
    unreadable,
    user_of,
)
from druid_sim.security.model import DATASOURCE, READ, WRITE
from druid_sim.wire import (
    JSON,
    TEXT,
    TEXT_UTF8,
    DruidRequest,
    DruidResponse,
    acceptable,
    error_page,
    json_response,
    text_response,
)

PREFIX = "/druid/indexer/v1"
Handler = Callable[[Simulation, DruidRequest], Awaitable[DruidResponse]]

NO_LOG = (
    "No log was found for this task. No logs found for this task. "
    "Ensure that the task is running and logging is configured correctly."
)
NO_REPORTS = "No task reports were found for this task. The task may not exist, or it may not have completed yet."
NO_SEGMENTS = (
    "Segment IDs committed by a task action are not persisted anymore. "
    "Use the metric 'segment/added/bytes' to identify the segments created by a task."
)


def druid_error(status: int, error_code: str, persona: str, category: str, message: str) -> DruidResponse:
    """The ``ErrorResponse`` body of a ``DruidException`` (reference section 7)."""
    body = {
        "error": "druidException",
        "errorCode": error_code,
        "persona": persona,
        "category": category,
        "errorMessage": message,
        "context": {},
    }
    return json_response(orjson.dumps(body), status)


# -- lists (2.1 - 2.5) ---------------------------------------------------------------------------


def _list(sim: Simulation, request: DruidRequest, query: TaskQuery) -> DruidResponse:
    """The list, less the tasks of datasources the user may not READ (``securedTaskStatusPlus``).

    With ``datasource`` given, the handler has checked READ on it already and nothing is filtered.
    """
    if query.datasource is None:
        hidden = unreadable(request.scope, sim.overlord.datasources)
        if hidden:
            query = replace(query, hidden=hidden)
    return json_response(sim.overlord.list_tasks(query))


async def get_tasks(sim: Simulation, request: DruidRequest) -> DruidResponse:
    """2.1 ``GET /tasks``: state, datasource, createdTimeInterval (its length), max, type."""
    query = request.query
    max_ = java_int(query.get("max"))
    state = query.get("state")
    if state is not None and state.lower() not in STATES:
        message = f"Invalid task state[{state}]. Must be one of [pending, waiting, running, complete]."
        return text_response(message, 400)
    datasource = query.get("datasource")
    if datasource is not None and not permitted(request.scope, DATASOURCE, datasource, READ):
        return denied_text(request.scope)
    lookback = sim.overlord.lookback_ms
    interval = query.get("createdTimeInterval")
    if interval is not None:
        try:
            lookback = interval_length_ms(interval)
        except IntervalError as exc:
            return error_page(500, request.path, request.header(b"accept"), str(exc), exc.exception)
    if max_ is not None and max_ < 0:
        return error_page(
            500,
            request.path,
            request.header(b"accept"),
            f"Invalid row count for FETCH FIRST/NEXT: {max_}",
            "java.sql.SQLSyntaxErrorException",
        )
    return _list(
        sim, request, TaskQuery(state.lower() if state else None, datasource, lookback, max_, query.get("type"))
    )


async def get_complete_tasks(sim: Simulation, request: DruidRequest) -> DruidResponse:
    """2.2 ``GET /completeTasks``: only ``n``."""
    n = java_int(request.query.get("n"))
    return _list(sim, request, TaskQuery("complete", lookback_ms=sim.overlord.lookback_ms, max=n))


async def get_running_tasks(sim: Simulation, request: DruidRequest) -> DruidResponse:
    """2.3 ``GET /runningTasks``: only ``type``."""
    return _list(sim, request, TaskQuery("running", type=request.query.get("type")))


async def get_waiting_tasks(sim: Simulation, request: DruidRequest) -> DruidResponse:
    """2.4 ``GET /waitingTasks``: no parameters."""
    return _list(sim, request, TaskQuery("waiting"))


async def get_pending_tasks(sim: Simulation, request: DruidRequest) -> DruidResponse:
    """2.5 ``GET /pendingTasks``: no parameters."""
    return _list(sim, request, TaskQuery("pending"))


# -- one task (2.6 - 2.10, 2.12): all behind TaskResourceFilter (1.2) ----------------------------------


def _find(sim: Simulation, request: DruidRequest) -> Task | DruidResponse:
    """``TaskResourceFilter``: validate the id, 404 text for an unknown task, then 403 without permission."""
    task_id = request.params[0]
    reason = invalid_id_reason(task_id)
    if reason is not None:
        return error_page(
            500,
            request.path,
            request.header(b"accept"),
            f"Invalid value for field [taskId]: {reason}",
            "org.apache.druid.error.DruidException",
        )
    task = sim.overlord.get(task_id)
    if task is None:
        return text_response(f"Cannot find any task with id: [{task_id}]", 404)
    return datasource_filter(request.scope, request.method, task.datasource) or task


async def get_task(sim: Simulation, request: DruidRequest) -> DruidResponse:
    """2.6 ``GET /task/{id}``: ``{"task", "payload"}`` with the server-filled fields."""
    found = _find(sim, request)
    if isinstance(found, DruidResponse):
        return found
    if not found.payload_kept:  # let go of within --max-stored-payloads: Druid's "payload not found"
        return json_response(b'{"task":' + orjson.dumps(found.id) + b',"payload":null}', 404)
    return json_response(b'{"task":' + orjson.dumps(found.id) + b',"payload":' + found.payload_json + b"}")


async def get_task_status(sim: Simulation, request: DruidRequest) -> DruidResponse:
    """2.7 ``GET /task/{id}/status``: ``{"task", "status"}``, epoch queueInsertionTime."""
    found = _find(sim, request)
    if isinstance(found, DruidResponse):
        return found
    return json_response(found.status_response(found.phase_at(sim.overlord.now())))


async def get_task_segments(sim: Simulation, request: DruidRequest) -> DruidResponse:
    """2.8 ``GET /task/{id}/segments``: always 404 ``{"error": ...}`` after the filter."""
    found = _find(sim, request)
    if isinstance(found, DruidResponse):
        return found
    return legacy_error(NO_SEGMENTS, 404)


async def _chunks(iterator: Iterator[bytes]) -> AsyncIterator[bytes]:
    for chunk in iterator:
        yield chunk


async def get_task_log(sim: Simulation, request: DruidRequest) -> DruidResponse:
    """2.9 ``GET /task/{id}/log?offset=``: streamed text, byte offsets, negative = last N bytes."""
    found = _find(sim, request)  # the resource filter runs before JAX-RS converts ``offset`` (404 if it cannot)
    if isinstance(found, DruidResponse):
        return found
    offset = java_int(request.query.get("offset"), bits=64) or 0
    now = sim.overlord.now()
    phase = found.phase_at(now)
    if not sim.logs.exists(found, phase):
        return text_response(NO_LOG, 404)
    return DruidResponse(200, content_type=TEXT_UTF8, stream=_chunks(sim.logs.read(found, phase, now, offset)))


async def get_task_reports(sim: Simulation, request: DruidRequest) -> DruidResponse:
    """2.10 ``GET /task/{id}/reports``: live while running, completion after; 404 raw text as JSON."""
    found = _find(sim, request)
    if isinstance(found, DruidResponse):
        return found
    now = sim.overlord.now()
    phase = found.phase_at(now)
    if not reports_exist(found, phase):
        return text_response(NO_REPORTS, 404, JSON)
    report = live_report(found, now) if phase is Phase.RUNNING else completion_report(found, phase)
    return json_response(orjson.dumps(report))


async def post_task(sim: Simulation, request: DruidRequest) -> DruidResponse:
    """2.11 ``POST /task``: 415, Jackson's 400/500s, duplicate 400, queue full 429, then ``{"task": id}``."""
    accept = request.header(b"accept")
    if not is_json(request.header(b"content-type")):
        return error_page(415, request.path, accept)
    try:
        submission = parse_submission(await request.body())
    except SubmissionError as exc:
        if exc.status == 400:
            return legacy_error(exc.message, 400)  # already the first line, as CustomExceptionMapper sends
        return error_page(exc.status, request.path, accept, exc.message, exc.exception)
    denied = require(request.scope, submission.datasource, WRITE)  # the task's destination datasource
    if denied is not None:
        return denied
    try:
        task = sim.overlord.submit(submission)
    except DuplicateTaskError as exc:
        return druid_error(400, "entryAlreadyExists", "USER", "INVALID_INPUT", f"Task[{exc.args[0]}] already exists")
    except QueueFullError as exc:
        size = exc.max_size
        message = f"Task queue already contains [{size}] tasks. Retry later or increase 'druid.indexer.queue.maxSize'[{size}]."
        return druid_error(429, "general", "ADMIN", "CAPACITY_EXCEEDED", message)
    record(sim, actions.submitted(task, submission))
    return json_response(orjson.dumps({"task": task.id}))


async def post_shutdown(sim: Simulation, request: DruidRequest) -> DruidResponse:
    """2.12 ``POST /task/{id}/shutdown``: 200 ``{"task": id}`` for any known task; body ignored."""
    found = _find(sim, request)
    if isinstance(found, DruidResponse):
        return found
    now = sim.overlord.now()
    if found.phase_at(now).active:
        sim.overlord.shutdown(found, now)
        record(sim, actions.shut_down(found, now))
    return json_response(orjson.dumps({"task": found.id}))


# -- the rest (2.13 - 2.17) ------------------------------------------------------------------------


async def post_shutdown_all(sim: Simulation, request: DruidRequest) -> DruidResponse:
    """2.13 ``POST /datasources/{ds}/shutdownAllTasks``: 404 page when nothing is active."""
    datasource = request.params[0]
    denied = datasource_filter(request.scope, request.method, datasource)
    if denied is not None:
        return denied
    victims = sim.overlord.shutdown_datasource(datasource)
    if not victims:
        return error_page(404, request.path, request.header(b"accept"))
    record(sim, actions.shut_down_datasource(datasource, victims[0].plan.shutdown_at or sim.overlord.now()))
    return json_response(orjson.dumps({"dataSource": datasource}))


async def post_task_status(sim: Simulation, request: DruidRequest) -> DruidResponse:
    """2.14 ``POST /taskStatus``: a JSON array of ids in, ``{id: TaskStatus}`` for the known ones out."""
    denied = state_filter(request.scope, request.method)  # STATE WRITE: the method is POST
    if denied is not None:
        return denied
    if not is_json(request.header(b"content-type")):
        return error_page(415, request.path, request.header(b"accept"))
    body = await request.body()
    try:
        ids = parse_json_body(body) if body.strip() else None
    except TooDeepError:
        # Jackson stops at the first container where a string or the set belongs, long before the limit.
        point = deep_point(body)
        return _set_mismatch({} if point.top == b"{" else [{} if point.first_item == b"{" else []])
    except SubmissionError as exc:
        return error_page(500, request.path, request.header(b"accept"), exc.message, exc.exception)
    if ids is not None and not isinstance(ids, list):
        return _set_mismatch(ids)
    if not ids:
        return text_response("No Task IDs provided.", 400, JSON)
    if any(isinstance(item, dict | list) for item in ids):
        return _set_mismatch(ids)
    names = ["null" if item is None else str(item).lower() if isinstance(item, bool) else str(item) for item in ids]
    return json_response(sim.overlord.statuses(names))


def _set_mismatch(value: Any) -> DruidResponse:
    """Jackson's 400 for a ``/taskStatus`` body that is not a ``Set<String>``: the set itself, or its
    first item that is not a scalar (scalars are coerced to strings)."""
    if not isinstance(value, list):
        return legacy_error(
            f"Cannot deserialize value of type `java.util.HashSet<java.lang.String>` from {shape_of(value)}", 400
        )
    item = next(item for item in value if isinstance(item, dict | list))
    return legacy_error(f"Cannot deserialize value of type `java.lang.String` from {shape_of(item)}", 400)


async def delete_pending_segments(sim: Simulation, request: DruidRequest) -> DruidResponse:
    """2.15 ``DELETE /pendingSegments/{ds}?interval=``: 400 when an active task overlaps the window."""
    datasource = request.params[0]
    interval_text = request.query.get("interval")
    now = sim.overlord.now()
    try:
        window = parse_interval(interval_text) if interval_text is not None else None
    except IntervalError as exc:
        return error_page(500, request.path, request.header(b"accept"), str(exc), exc.exception)
    denied = require(request.scope, datasource, READ, WRITE)  # after the interval is parsed, as in Druid
    if denied is not None:
        return denied
    if window is None:
        return json_response(b'{"numDeleted":0}')
    start_ms, end_ms = window
    for task in sim.overlord.active_tasks(now):
        if task.datasource == datasource and start_ms <= task.created_ms < end_ms:
            message = (
                f"Cannot delete pendingSegments for datasource[{datasource}] as there is at least one active "
                f"task[{task.id}] created at[{format_instant(task.created_ms)}] that overlaps with the delete "
                f"interval[{joda_instant(start_ms)}/{joda_instant(end_ms)}]. Please retry when there are no "
                "active tasks."
            )
            return legacy_error(message, 400)
    return json_response(b'{"numDeleted":0}')


async def get_leader(sim: Simulation, request: DruidRequest) -> DruidResponse:
    """2.16 ``GET /leader``: the leader's base URL as a raw string, labelled application/json."""
    denied = state_filter(request.scope, request.method)
    if denied is not None:
        return denied
    return DruidResponse(200, sim.leadership.current.encode(), JSON)


async def get_is_leader(sim: Simulation, request: DruidRequest) -> DruidResponse:
    """2.17 ``GET /isLeader``: 200 ``{"leader":true}`` or 404 ``{"leader":false}``."""
    if sim.leadership.is_leader:
        return json_response(b'{"leader":true}')
    return json_response(b'{"leader":false}', 404)


async def get_status(sim: Simulation, request: DruidRequest) -> DruidResponse:
    """``GET /status``: version, loaded modules and memory, as every Druid service answers."""
    denied = state_filter(request.scope, request.method)
    if denied is not None:
        return denied
    version = sim.druid_version
    modules = [
        {
            "name": "org.apache.druid.indexing.kafka.KafkaIndexTaskModule",
            "artifact": "druid-kafka-indexing-service",
            "version": version,
        },
        {
            "name": "org.apache.druid.msq.guice.MSQIndexingModule",
            "artifact": "druid-multi-stage-query",
            "version": version,
        },
        {
            "name": "org.apache.druid.storage.s3.S3StorageDruidModule",
            "artifact": "druid-s3-extensions",
            "version": version,
        },
    ]
    memory = {
        "maxMemory": 268435456,
        "totalMemory": 268435456,
        "freeMemory": 150994944,
        "usedMemory": 117440512,
        "directMemory": 134217728,
    }
    return json_response(orjson.dumps({"version": version, "modules": modules, "memory": memory}))


async def get_health(sim: Simulation, request: DruidRequest) -> DruidResponse:
    """``GET /status/health``: ``true``."""
    return json_response(b"true")


# -- dispatch ----------------------------------------------------------------------------------

_JSON_OUT = ("application/json",)
_TEXT_OUT = ("text/plain",)
#: (path pattern with None for a path parameter, {method: (handler, media types produced)})
ROUTES: list[tuple[tuple[str | None, ...], dict[str, tuple[Handler, tuple[str, ...]]]]] = [
    (("tasks",), {"GET": (get_tasks, _JSON_OUT)}),
    (("completeTasks",), {"GET": (get_complete_tasks, _JSON_OUT)}),
    (("runningTasks",), {"GET": (get_running_tasks, _JSON_OUT)}),
    (("waitingTasks",), {"GET": (get_waiting_tasks, _JSON_OUT)}),
    (("pendingTasks",), {"GET": (get_pending_tasks, _JSON_OUT)}),
    (("task",), {"POST": (post_task, _JSON_OUT)}),
    (("task", None), {"GET": (get_task, _JSON_OUT)}),
    (("task", None, "status"), {"GET": (get_task_status, _JSON_OUT)}),
    (("task", None, "segments"), {"GET": (get_task_segments, _JSON_OUT)}),
    (("task", None, "log"), {"GET": (get_task_log, _TEXT_OUT)}),
    (("task", None, "reports"), {"GET": (get_task_reports, _JSON_OUT)}),
    (("task", None, "shutdown"), {"POST": (post_shutdown, _JSON_OUT)}),
    (("datasources", None, "shutdownAllTasks"), {"POST": (post_shutdown_all, _JSON_OUT)}),
    (("taskStatus",), {"POST": (post_task_status, _JSON_OUT)}),
    (("pendingSegments", None), {"DELETE": (delete_pending_segments, _JSON_OUT)}),
    (("leader",), {"GET": (get_leader, _JSON_OUT)}),
    (("isLeader",), {"GET": (get_is_leader, _JSON_OUT)}),
    # OverlordResource beyond the tasks: workers and capacity (13), locks (14)
    (("workers",), {"GET": (worker_resource.get_workers, _JSON_OUT)}),
    (("totalWorkerCapacity",), {"GET": (worker_resource.get_total_worker_capacity, _JSON_OUT)}),
    (("scaling",), {"GET": (worker_resource.get_scaling, _JSON_OUT)}),
    # the dynamic worker config and enabling MiddleManagers (18)
    (
        ("worker",),
        {
            "GET": (worker_resource.get_worker_config, _JSON_OUT),
            "POST": (worker_resource.post_worker_config, _JSON_OUT),
        },
    ),
    (("worker", "history"), {"GET": (worker_resource.get_worker_history, _JSON_OUT)}),
    (("worker", None, "enable"), {"POST": (worker_resource.post_enable_worker, _JSON_OUT)}),
    (("worker", None, "disable"), {"POST": (worker_resource.post_disable_worker, _JSON_OUT)}),
    (("lockedIntervals", "v2"), {"POST": (lock_resource.post_locked_intervals, _JSON_OUT)}),
    (("activeLocks",), {"POST": (lock_resource.post_active_locks, _JSON_OUT)}),
    # OverlordCompactionResource and OverlordDataSourcesResource (16)
    (("compaction", "isSupervisorEnabled"), {"GET": (compaction.get_is_supervisor_enabled, _JSON_OUT)}),
    (
        ("compaction", "config", "cluster"),
        {"GET": (compaction.get_cluster_config, _JSON_OUT), "POST": (compaction.post_cluster_config, _JSON_OUT)},
    ),
    (("compaction", "config", "datasources"), {"GET": (compaction.get_datasource_configs, _JSON_OUT)}),
    (("compaction", "status", "datasources"), {"GET": (compaction.get_compaction_status, _JSON_OUT)}),
    (("datasources", None), {"POST": (datasources.mark_all, _JSON_OUT), "DELETE": (datasources.mark_all, _JSON_OUT)}),
    (("datasources", None, "markUsed"), {"POST": (datasources.mark_filtered, _JSON_OUT)}),
    (("datasources", None, "markUnused"), {"POST": (datasources.mark_filtered, _JSON_OUT)}),
    (
        ("datasources", None, "segments", None),
        {"POST": (datasources.mark_one, _JSON_OUT), "DELETE": (datasources.mark_one, _JSON_OUT)},
    ),
    # SupervisorResource (15): literal paths before /supervisor/{id}, as JAX-RS prefers them
    (("supervisor",), {"GET": (sup.get_supervisors, _JSON_OUT), "POST": (sup.post_supervisor, _JSON_OUT)}),
    (("supervisor", "history"), {"GET": (sup.get_all_history, _JSON_OUT)}),
    (("supervisor", "suspendAll"), {"POST": (sup.post_suspend_all, _JSON_OUT)}),
    (("supervisor", "resumeAll"), {"POST": (sup.post_resume_all, _JSON_OUT)}),
    (("supervisor", "terminateAll"), {"POST": (sup.post_terminate_all, _JSON_OUT)}),
    (("supervisor", None), {"GET": (sup.get_supervisor, _JSON_OUT)}),
    (("supervisor", None, "status"), {"GET": (sup.get_status, _JSON_OUT)}),
    (("supervisor", None, "health"), {"GET": (sup.get_health, _JSON_OUT)}),
    (("supervisor", None, "stats"), {"GET": (sup.get_stats, _JSON_OUT)}),
    (("supervisor", None, "parseErrors"), {"GET": (sup.get_parse_errors, _JSON_OUT)}),
    (("supervisor", None, "history"), {"GET": (sup.get_history, _JSON_OUT)}),
    (("supervisor", None, "suspend"), {"POST": (sup.post_suspend, _JSON_OUT)}),
    (("supervisor", None, "resume"), {"POST": (sup.post_resume, _JSON_OUT)}),
    (("supervisor", None, "terminate"), {"POST": (sup.post_terminate, _JSON_OUT)}),
    (("supervisor", None, "shutdown"), {"POST": (sup.post_terminate, _JSON_OUT)}),
    (("supervisor", None, "reset"), {"POST": (sup.post_reset, _JSON_OUT)}),
    (("supervisor", None, "resetOffsets"), {"POST": (sup.post_reset_offsets, _JSON_OUT)}),
    (("supervisor", None, "taskGroups", "handoff"), {"POST": (sup.post_handoff, _JSON_OUT)}),
]
STATUS_ROUTES: dict[tuple[str, ...], dict[str, tuple[Handler, tuple[str, ...]]]] = {
    ("status",): {"GET": (get_status, _JSON_OUT)},
    ("status", "health"): {"GET": (get_health, _JSON_OUT)},
    # a simulated MiddleManager's WorkerResource, addressed by the Host header (18.4)
    ("druid", "worker", "v1", "enabled"): {"GET": (worker_resource.get_middle_manager_enabled, _JSON_OUT)},
    ("druid", "worker", "v1", "enable"): {"POST": (worker_resource.post_middle_manager_enable, _JSON_OUT)},
    ("druid", "worker", "v1", "disable"): {"POST": (worker_resource.post_middle_manager_disable, _JSON_OUT)},
}


#: Handlers that keep their change as an action of their own, or change nothing though not GETs (the bulk
#: status and lock queries, a pending-segments delete the simulator never holds); every other POST and
#: DELETE that answers 2xx is kept as the call itself.
KEPT_OWN_WAY: frozenset[Handler] = frozenset(
    {
        post_task,
        post_shutdown,
        post_shutdown_all,
        post_task_status,
        delete_pending_segments,
        lock_resource.post_locked_intervals,
        lock_resource.post_active_locks,
    }
)


def split_path(raw: bytes) -> list[str]:
    """Path segments, each percent-decoded on its own; one trailing slash is dropped."""
    text = raw.decode("latin-1")
    if len(text) > 1 and text.endswith("/"):
        text = text[:-1]
    return [unquote(segment, encoding="utf-8", errors="replace") for segment in text.split("/")[1:]]


def match(segments: list[str]) -> tuple[dict[str, tuple[Handler, tuple[str, ...]]], list[str]] | None:
    """The route for path segments (after ``/druid/indexer/v1``) and its parameters."""
    for pattern, methods in ROUTES:
        if len(pattern) != len(segments):
            continue
        params = []
        for expected, actual in zip(pattern, segments, strict=True):
            if expected is None:
                params.append(actual)
            elif expected != actual:
                break
        else:
            return methods, params
    return None


Routes = dict[str, tuple[Handler, tuple[str, ...]]]


@functools.lru_cache(maxsize=4096)
def resolve(raw: bytes) -> tuple[Routes | None, tuple[str, ...]]:
    """The routes and path parameters for a raw path.

    Cached: clients poll the same few paths, and splitting, percent-decoding and matching them is a
    fifth of the time the simulator spends on a status or list request.
    """
    segments = split_path(raw)
    if segments[:3] == ["druid", "indexer", "v1"]:
        found = match(segments[3:])
        return (found[0], tuple(found[1])) if found is not None else (None, ())
    return STATUS_ROUTES.get(tuple(segments)), ()


class DruidApp:
    """The ASGI app for ``/druid/indexer/v1/...`` and ``/status``: routing, 404/405/406, then handlers."""

    def __init__(self, simulation: Simulation) -> None:
        self.simulation = simulation
        #: Express answers to ``GET /task/{id}/status`` by (path, query, Accept): a client polling a task
        #: gets the same bytes until the task's phase or the model's version changes (`_StatusAnswer`).
        self._statuses: dict[tuple[bytes, bytes, bytes | None], _StatusAnswer] = {}

    def _status_again(self, key: tuple[bytes, bytes, bytes | None]) -> ModelAnswer | None:
        """The answer remembered for ``key``, if it still holds: same model, same version, same phase now."""
        remembered = self._statuses.get(key)
        if remembered is None:
            return None
        overlord = self.simulation.overlord
        now = overlord.now()  # planned arrivals first, as the handler's own look: they may re-plan the task
        if (
            remembered.overlord is overlord
            and remembered.version == overlord.version
            and remembered.task.phase_at(now) is remembered.phase
        ):
            return remembered.answer
        return None

    def _remember_status(
        self, key: tuple[bytes, bytes, bytes | None], path: str, answer: ModelAnswer, before_ms: int
    ) -> None:
        """Remember ``answer``, built between ``before_ms`` and now, if the task's phase was one throughout."""
        overlord = self.simulation.overlord
        task = overlord.tasks.get(unquote(path[len(TASK_PREFIX) : -len(STATUS_SUFFIX)]))
        if task is None:
            return
        phase = task.phase_at(overlord.clock.now_ms())
        if task.phase_at(before_ms) is not phase:  # it changed while the answer was built: which one it shows is unsure
            return
        if len(self._statuses) >= MAX_STATUS_ANSWERS:
            self._statuses.clear()
        self._statuses[key] = _StatusAnswer(overlord, overlord.version, task, phase, answer)

    def express(self, request: ExpressRequest) -> ModelAnswer | None:
        """A ``GET`` answered from the parser's callback (`druid_sim.express`), when its handler waits on nothing.

        The same handler builds the same bytes as the ASGI way; it runs to its end without an event loop, as
        a kept call is made again (`druid_sim.state.rebuild`). A handler that would wait (a streamed log)
        is let go and the request goes the ASGI way, where it runs again from the start: a ``GET`` only reads.
        """
        if request.method != "GET":
            return None
        raw_path = request.raw_path
        status_key = None
        if raw_path.startswith(TASK_PREFIX_BYTES) and raw_path.endswith(STATUS_SUFFIX_BYTES):
            accept = next((value for name, value in request.headers if name == b"accept"), None)
            status_key = (raw_path, request.query, accept)
            again = self._status_again(status_key)
            if again is not None:
                request.answered_by = "model"
                return again
        scope = {
            "type": "http",
            "method": "GET",
            "path": request.path,
            "raw_path": request.raw_path,
            "query_string": request.query,
            "headers": request.headers,
            "client": request.client,
        }
        before_ms = self.simulation.clock.now_ms()
        answering = self.respond(scope, _nothing_to_receive)
        try:
            answering.send(None)
        except StopIteration as done:
            response: DruidResponse = done.value
        else:
            answering.close()
            return None
        if response.stream is not None:
            return None
        request.answered_by = "model"
        headers = list(response.headers)
        if response.content_type is not None:
            headers.append((b"content-type", response.content_type))
        headers.append((b"content-length", str(len(response.body)).encode()))
        answer = ModelAnswer(response.status, tuple(headers), response.body)
        if status_key is not None and response.status == 200:
            self._remember_status(status_key, request.path, answer, before_ms)
        return answer

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        scope[ANSWERED_BY] = "model"
        response = await self.respond(scope, receive)
        if scope["method"] == "HEAD":
            response.stream = None
            response.body = b""
        await response(scope, receive, send)

    async def respond(self, scope: Scope, receive: Receive) -> DruidResponse:
        raw = scope.get("raw_path") or scope["path"].encode()
        raw = raw.split(b"?", 1)[0]
        path = raw.decode("latin-1")
        routes, params = resolve(raw)
        accept = _header(scope, b"accept")
        if routes is None:
            return error_page(404, path, accept)
        method = "GET" if scope["method"] == "HEAD" else scope["method"]
        entry = routes.get(method)
        if entry is None:
            allow = ", ".join(sorted(routes) + (["HEAD"] if "GET" in routes else []) + ["OPTIONS"])
            return error_page(405, path, accept, headers=[(b"allow", allow.encode())])
        handler, produces = entry
        if not acceptable(accept, produces):
            return error_page(406, path, accept)
        request = DruidRequest(scope, receive, method, path, list(params))
        try:
            if method == "GET" or handler in KEPT_OWN_WAY or REMADE in scope:
                return await handler(self.simulation, request)
            at_ms = self.simulation.clock.now_ms()
            response = await handler(self.simulation, request)
            if 200 <= response.status < 300:  # a change: kept as the call itself (druid_sim.actions.requested)
                query = scope.get("query_string", b"")
                content_type = request.header(b"content-type")
                body = await request.body()
                record(self.simulation, _kept_call(scope, method, raw, query, content_type, body, at_ms))
            return response
        except NotFound:
            return error_page(404, path, accept)
        except StoreUnavailable:  # the change could not be made durable: as an Overlord that lost its metadata store
            return error_page(503, path, accept)


TASK_PREFIX = "/druid/indexer/v1/task/"
STATUS_SUFFIX = "/status"
TASK_PREFIX_BYTES = TASK_PREFIX.encode()
STATUS_SUFFIX_BYTES = STATUS_SUFFIX.encode()
#: Status answers remembered for the express lane at most (then forgotten all at once): one per task polled.
MAX_STATUS_ANSWERS = 4096


@dataclass(frozen=True, slots=True)
class _StatusAnswer:
    """A ``GET /task/{id}/status`` answer and what it holds for: it is a function of the task's plan, which
    only changes with the model's ``version``, and of the task's phase now."""

    overlord: Overlord
    version: int
    task: Task
    phase: Phase
    answer: ModelAnswer


@dataclass(frozen=True, slots=True)
class ModelAnswer:
    """An express answer of the model (`druid_sim.express.ExpressAnswer`): never chunked."""

    status: int
    headers: tuple[tuple[bytes, bytes], ...]
    body: bytes
    chunked: bool = False


async def _nothing_to_receive() -> dict[str, object]:
    return {"type": "http.request", "body": b"", "more_body": False}


def _kept_call(
    scope: Scope, method: str, raw: bytes, query: bytes, content_type: str | None, body: bytes, at_ms: int
) -> actions.Action:
    """The action a change through the Druid API is kept as: the call, with what an audit entry reads of it."""
    headers = [(key, value) for key, value in scope["headers"] if key in actions.KEPT_HEADERS]
    client = scope.get("client")
    user = user_of(scope)
    return actions.requested(
        method,
        raw,
        query,
        content_type,
        body,
        at_ms,
        headers=headers,
        client=str(client[0]) if client else None,
        identity=user.name if user is not None else None,
    )


def _header(scope: Scope, name: bytes) -> str | None:
    for key, value in scope["headers"]:
        if key == name:
            return str(value.decode("latin-1"))
    return None


__all__ = ["PREFIX", "TEXT", "DruidApp", "split_path"]
