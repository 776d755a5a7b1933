"""A readable summary of a cassette (`druid-sim cassette show`).

Requests are grouped by endpoint, with task ids and datasources replaced by `{taskId}` and
`{dataSource}` so a cassette of a thousand polls reads as a handful of lines.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass, field

from druid_sim.cassette.model import Body, Cassette, Response

_TEMPLATES = (
    (re.compile(r"^(/druid/indexer/v1/task/)[^/]+"), r"\1{taskId}"),
    (re.compile(r"^(/druid/indexer/v1/datasources/)[^/]+"), r"\1{dataSource}"),
    (re.compile(r"^(/druid/indexer/v1/(?:supervisor|worker)/)[^/]+"), r"\1{id}"),
)
#: The endpoints that answer a list of task objects, each with an "id" (reference section 2.1-2.5).
_LIST_PATHS = frozenset(
    f"/druid/indexer/v1/{name}" for name in ("tasks", "completeTasks", "runningTasks", "pendingTasks", "waitingTasks")
)
_TASK_PATH = re.compile(r"^/druid/indexer/v1/task/([^/]+)")


def endpoint(method: str, path: str) -> str:
    """`GET /druid/indexer/v1/task/{taskId}/status` for any task id."""
    if path.rstrip("/") in ("/druid/indexer/v1/task", "/druid/indexer/v1/tasks"):
        return f"{method} {path.rstrip('/')}"
    for pattern, template in _TEMPLATES:
        path = pattern.sub(template, path, count=1)
    return f"{method} {path}"


@dataclass(slots=True)
class Summary:
    """Counts per endpoint and status, tasks seen and the time covered."""

    interactions: int
    exchanges: int
    endpoints: Counter[str] = field(default_factory=Counter)
    statuses: Counter[int] = field(default_factory=Counter)
    tasks: list[str] = field(default_factory=list)
    first_at: float = 0.0
    last_at: float = 0.0
    #: Bodies the recorder cut at ``--max-recorded-body``: (interaction number, endpoint, which, kept, size).
    truncated: list[tuple[int, str, str, int, int]] = field(default_factory=list)


def summarize(cassette: Cassette) -> Summary:
    """Summarise a loaded cassette."""
    summary = Summary(len(cassette.interactions), cassette.exchanges())
    tasks: dict[str, None] = {}
    for i, interaction in enumerate(cassette.interactions):
        request, response = interaction.request, interaction.response
        name = endpoint(request.method, request.path)
        summary.endpoints[name] += interaction.count
        for which, body in (("request", request.body), ("response", response.body)):
            if body.truncated is not None:
                summary.truncated.append((i + 1, name, which, _kept(body), body.truncated))
        summary.statuses[response.status] += interaction.count
        if (m := _TASK_PATH.match(request.path)) and m.group(1) != "":
            tasks[m.group(1)] = None
        tasks.update(dict.fromkeys(_answered_tasks(request.method, request.path, response)))
        if i == 0:
            summary.first_at = interaction.at
        summary.last_at = max(summary.last_at, interaction.last_at or interaction.at)
    summary.tasks = list(tasks)
    return summary


def _kept(body: Body) -> int:
    """Bytes of a cut body the cassette holds."""
    return len(body.raw())


def _answered_tasks(method: str, path: str, response: Response) -> list[str]:
    """Task ids in an answer: a submission's ``{"task": id}``, the task lists' ``[{"id": ...}]`` and
    ``POST /taskStatus``'s ``{id: status}`` (so a cassette of list polls still shows its tasks)."""
    path = path.rstrip("/")
    listing = method == "GET" and path in _LIST_PATHS
    submission = method == "POST" and path == "/druid/indexer/v1/task"
    statuses = method == "POST" and path == "/druid/indexer/v1/taskStatus"
    if not (listing or submission or statuses) or not 200 <= response.status < 300:
        return []
    try:
        body = response.body.json()
    except ValueError:
        return []
    if listing and isinstance(body, list):
        return [item["id"] for item in body if isinstance(item, dict) and isinstance(item.get("id"), str)]
    if submission and isinstance(body, dict) and isinstance(body.get("task"), str):
        return [body["task"]]
    if statuses and isinstance(body, dict):
        return list(body)
    return []


def format_summary(cassette: Cassette, summary: Summary) -> str:
    """The text `druid-sim cassette show` prints."""
    meta = cassette.meta
    lines = [
        f"{cassette.path}",
        f"  format version {meta.format_version}, recorded {meta.recorded_at} from {meta.upstream or '(forward proxy)'}"
        f" by {meta.recorder}",
        f"  {summary.interactions} interactions ({summary.exchanges} exchanges counting repeats),"
        f" spanning {summary.last_at - summary.first_at:.1f} s",
        "  per endpoint:",
    ]
    width = max((len(e) for e in summary.endpoints), default=0)
    lines += [f"    {name:<{width}}  {count:>6}" for name, count in sorted(summary.endpoints.items())]
    lines.append("  statuses: " + ", ".join(f"{code}×{n}" for code, n in sorted(summary.statuses.items())))
    lines.append(f"  tasks seen ({len(summary.tasks)}):")
    lines += [f"    {task}" for task in summary.tasks[:50]]
    if len(summary.tasks) > 50:
        lines.append(f"    … and {len(summary.tasks) - 50} more")
    lines += _truncated_lines(summary)
    lines += [f"  warning: {w}" for w in cassette.warnings]
    return "\n".join(lines)


def _truncated_lines(summary: Summary) -> list[str]:
    """What `show` says about bodies recorded cut short: which, and how much of each was kept."""
    if not summary.truncated:
        return []
    count = len(summary.truncated)
    lines = [
        f"  {count} {'body' if count == 1 else 'bodies'} recorded cut short (longer than the recorder's "
        "--max-recorded-body; the client got them whole). A replay answers with the part kept and an "
        "X-Druid-Sim-Truncated header; a request body cut short matches no live request:"
    ]
    lines += [
        f"    interaction {number}: {name}  {which} body: kept {kept:,} of {size:,} bytes"
        for number, name, which, kept, size in summary.truncated[:20]
    ]
    if count > 20:
        lines.append(f"    … and {count - 20} more")
    return lines
