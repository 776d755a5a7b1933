"""A bound on the submitted task payloads the model keeps for ``GET /task/{id}``.

Druid keeps every task's payload in its metadata store until metadata cleanup deletes it; a simulator
holds them in memory, so a client submitting large specs in a loop would grow it without end. The
payloads of submitted tasks are kept up to a byte budget (``--max-stored-payloads``, default 128 MiB).
A submission that does not fit first makes room by letting go of the payloads of the oldest complete
tasks, as metadata cleanup would; such a task keeps its status, log and reports, and ``GET /task/{id}``
answers Druid's own "payload not found": 404 ``{"task": id, "payload": null}`` (reference 2.6). Active
tasks are never let go of (the Overlord holds them in memory); when they alone leave no room, the
submission is refused as a full queue (429, ``CAPACITY_EXCEEDED``) and nothing changes.
"""

from __future__ import annotations

from collections import deque
from typing import Any

import orjson

from druid_sim.limits import ServerLimits
from druid_sim.overlord.task import Task
from druid_sim.util.jsonenc import dumps

#: What the payloads of submitted tasks may add up to unless told otherwise.
DEFAULT_BUDGET = ServerLimits().max_stored_payloads
#: A let-go payload keeps its context (task reports show it) only when it is at most this big.
_CONTEXT_KEPT = 64 * 1024
#: The top-level fields a let-go payload keeps (the log's "Running with task" line shows them).
_KEPT_FIELDS = ("type", "id", "groupId", "resource", "context", "dataSource")


class PayloadStore:
    """The submitted tasks holding their whole payload, oldest first, and the bytes they hold."""

    def __init__(self, budget: int = DEFAULT_BUDGET) -> None:
        self.budget = budget
        self.kept_bytes = 0
        self._kept: deque[Task] = deque()

    def __len__(self) -> int:
        return len(self._kept)

    def make_room(self, size: int, now_ms: int) -> bool:
        """Let go of complete tasks' payloads until ``size`` more bytes fit; False (changing nothing) if they cannot."""
        excess = self.kept_bytes + size - self.budget
        if excess <= 0:
            return True
        chosen: list[Task] = []
        freed = 0
        for task in self._kept:
            if task.phase_at(now_ms).complete:
                chosen.append(task)
                freed += len(task.payload_json)
                if freed >= excess:
                    break
        else:
            return False
        let_go = {id(task) for task in chosen}
        self._kept = deque(task for task in self._kept if id(task) not in let_go)
        for task in chosen:
            self.kept_bytes -= len(task.payload_json)
            task.payload_json = _skeleton(task.payload_json)
            task.payload_kept = False
        return True

    def forget(self, task_ids: set[str]) -> None:
        """Stop counting the payloads of tasks the model no longer holds (its bounded history forgot them)."""
        if not any(task.id in task_ids for task in self._kept):
            return
        for task in self._kept:
            if task.id in task_ids:
                self.kept_bytes -= len(task.payload_json)
        self._kept = deque(task for task in self._kept if task.id not in task_ids)

    def keep(self, task: Task) -> None:
        """Count ``task``'s payload (after `make_room` said it fits)."""
        self._kept.append(task)
        self.kept_bytes += len(task.payload_json)


def _skeleton(payload_json: bytes) -> bytes:
    """What is left of a let-go payload: the server-filled fields and a small context, for logs and reports."""
    payload: dict[str, Any] = orjson.loads(payload_json)
    kept = {key: payload[key] for key in _KEPT_FIELDS if key in payload}
    if len(orjson.dumps(kept.get("context"))) > _CONTEXT_KEPT:
        kept["context"] = {}
    return dumps(kept)


__all__ = ["DEFAULT_BUDGET", "PayloadStore"]
