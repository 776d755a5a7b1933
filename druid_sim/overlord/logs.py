"""Task logs: a peon's log lines, growing while the task runs, served by byte offset.

A log is three parts, each a pure function of the task and its plan:

* the start-up (``druid_sim.overlord.peon.startup``): a few hundred lines a second or so apart at
  most, from the JVM starting just after the plan's ``running_at``; a line shows once the clock has
  reached its timestamp;
* the work, a body of fixed-size blocks (``druid_sim.overlord.logblocks``) growing at the plan's
  ``log_bytes_per_second``. Any byte range of a log of hundreds of megabytes is produced directly
  from the blocks it covers, without building (or holding) what comes before it;
* the end, once the task is complete: its last lines, ``Task completed with status``, the lifecycle
  stopping, ``Finished peon task``.

A running log is cut at the last whole line, and the finished log starts with exactly what the
running log showed at its end, so a client following a log with offsets never sees it change.
"""

from __future__ import annotations

import bisect
import random
from collections import OrderedDict
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import orjson

from druid_sim.overlord.fakes import FakePools
from druid_sim.overlord.logblocks import BLOCK_SIZE, BlockWriter, log_stamp
from druid_sim.overlord.peon import Out, Peon, PeonContext, ending, peon_for, process_gone, startup
from druid_sim.overlord.task import Phase, Task

__all__ = ["BLOCK_SIZE", "TaskLogs", "log_timestamp"]


def log_timestamp(ms: int) -> str:
    """Druid's log4j timestamp: ``2023-07-03T22:11:17,891``."""
    return log_stamp(int(ms)).decode()


@dataclass(slots=True)
class _LogParts:
    peon: Peon
    writer: BlockWriter
    jvm_start: int
    prologue: bytes
    prologue_times: list[int]  # each start-up line's timestamp
    prologue_ends: list[int]  # where each start-up line ends in ``prologue``
    body_start: int  # when the body's first byte is written
    epilogues: dict[tuple[Phase, int], bytes] = field(default_factory=dict)


def _anchor(peon: Peon, lines: list[Out], at: int, jvm_start: int) -> tuple[list[int], list[bytes]]:
    """Times (``after_ms`` summed from ``at``) and bytes of ``lines``; unstamped lines keep the last time."""
    times: list[int] = []
    chunks: list[bytes] = []
    now = at
    for out in lines:
        now += out.after_ms
        message = peon.fill(out.text, now, jvm_start).encode()
        if out.stamped:
            chunks.append(log_stamp(now) + b" " + message + b"\n")
        else:
            chunks.append(message + b"\n")
        times.append(now)
    return times, chunks


class TaskLogs:
    """Builds and slices task logs; keeps the parts of recently read tasks."""

    def __init__(self, pools: FakePools, cache_size: int = 64, cache_bytes: int = 64 * 1024 * 1024) -> None:
        self.pools = pools
        self._cache: OrderedDict[tuple[str, int, bool], _LogParts] = OrderedDict()
        self._cache_size = cache_size
        #: The prologue quotes the task's whole spec: bound what the cache holds, not only how many.
        self._cache_bytes = cache_bytes
        self._cached_bytes = 0

    @staticmethod
    def exists(task: Task, phase: Phase) -> bool:
        """A log exists once the task has run on a peon (404 while waiting or pending)."""
        if phase is Phase.RUNNING or phase in (Phase.SUCCESS, Phase.FAILED):
            return True
        return phase is Phase.SHUTDOWN and task.stored_location().host is not None

    # -- the parts of a log ---------------------------------------------------------------------------

    def _parts(self, task: Task) -> _LogParts:
        key = (task.id, task.seq, task.payload_kept)  # a let-go payload (druid_sim.overlord.payloads) shows less
        parts = self._cache.get(key)
        if parts is not None:
            self._cache.move_to_end(key)
            return parts
        plan = task.plan
        payload: dict[str, Any] = task.payload
        per_second = max(plan.log_bytes_per_second, 1.0)
        location = plan.location
        ctx = PeonContext(
            task=task,
            payload=payload,
            pools=self.pools,
            host=location.host or "localhost",
            port=location.port if location.port > 0 else 8100,
            rows_per_block=plan.rows_per_second * BLOCK_SIZE / per_second,
        )
        peon = peon_for(ctx)
        rate = per_second / 1000.0
        run_ms = max(0, plan.end_at - plan.running_at)
        writer = BlockWriter(peon, f"log:{task.seed}", rate, int(run_ms * rate / BLOCK_SIZE) + 2)
        jvm_start = plan.running_at + random.Random(f"jvm:{task.seed}").randint(40, 250)
        lines = startup(peon, payload, jvm_start)
        # A start-up takes a few seconds; a task planned to run less than that starts up faster.
        span = sum(out.after_ms for out in lines)
        if span > 0 and run_ms < 2 * span:
            lines = [Out(out.after_ms * run_ms // (2 * span), out.text, out.stamped) for out in lines]
        times, chunks = _anchor(peon, lines, jvm_start, jvm_start)
        ends: list[int] = []
        total = 0
        for chunk in chunks:
            total += len(chunk)
            ends.append(total)
        parts = _LogParts(
            peon, writer, jvm_start, b"".join(chunks), times, ends, (times[-1] if times else jvm_start) + 1
        )
        size = len(parts.prologue)
        if size > self._cache_bytes // 4:  # a giant spec: rebuilt when read rather than held
            return parts
        self._cache[key] = parts
        self._cached_bytes += size
        while len(self._cache) > self._cache_size or self._cached_bytes > self._cache_bytes:
            _, dropped = self._cache.popitem(last=False)
            self._cached_bytes -= len(dropped.prologue)
        return parts

    def _prologue_length(self, parts: _LogParts, now_ms: int) -> int:
        """Bytes of start-up lines stamped at or before ``now_ms``."""
        count = bisect.bisect_right(parts.prologue_times, now_ms)
        return parts.prologue_ends[count - 1] if count else 0

    def _body_length(self, parts: _LogParts, now_ms: int) -> int:
        """Bytes of body written by ``now_ms``, cut after the last whole line."""
        body = int(max(0, now_ms - parts.body_start) * parts.writer.rate)
        whole, partial = divmod(body, BLOCK_SIZE)
        if partial == 0:
            return body
        block = parts.writer.block(whole, parts.body_start)
        return whole * BLOCK_SIZE + block.rfind(b"\n", 0, partial) + 1

    def _epilogue(self, task: Task, parts: _LogParts, phase: Phase, end_ms: int, body: int) -> bytes:
        key = (phase, end_ms)
        found = parts.epilogues.get(key)
        if found is not None:
            return found
        if phase is Phase.FAILED and process_gone(task.plan.error_msg):
            epilogue = b""  # killed or lost: the peon never wrote an ending
        else:
            how = "success" if phase is Phase.SUCCESS else "shutdown" if phase is Phase.SHUTDOWN else "failed"
            status = orjson.loads(orjson.dumps(task.task_status(phase)))
            before, after = ending(parts.peon, status, how, parts.writer, body, parts.jvm_start)
            # The last lines before the status come just before the end, after everything already written.
            written = int(body / parts.writer.rate) + parts.body_start if body else 0
            shown = bisect.bisect_right(parts.prologue_times, end_ms)
            lower = max(written, parts.prologue_times[shown - 1] if shown else parts.jvm_start)
            start = max(lower, end_ms - sum(out.after_ms for out in before))
            times, chunks = _anchor(parts.peon, before, start, parts.jvm_start)
            closing = max(end_ms, times[-1] if times else start) - after[0].after_ms
            chunks += _anchor(parts.peon, after, closing, parts.jvm_start)[1]
            epilogue = b"".join(chunks)
        if len(parts.epilogues) > 8:
            parts.epilogues.clear()
        parts.epilogues[key] = epilogue
        return epilogue

    def _layout(self, task: Task, phase: Phase, now_ms: int) -> tuple[_LogParts, int, int, bytes]:
        """(parts, start-up bytes, body bytes, ending) of the log as it stands at ``now_ms``."""
        parts = self._parts(task)
        end = now_ms if phase is Phase.RUNNING else task.plan.completed_at()
        prologue = self._prologue_length(parts, end)
        body = self._body_length(parts, end)
        if phase is Phase.RUNNING:
            return parts, prologue, body, b""
        return parts, prologue, body, self._epilogue(task, parts, phase, end, body)

    # -- serving --------------------------------------------------------------------------------------

    def size(self, task: Task, phase: Phase, now_ms: int) -> int:
        _, prologue, body, epilogue = self._layout(task, phase, now_ms)
        return prologue + body + len(epilogue)

    def read(self, task: Task, phase: Phase, now_ms: int, offset: int, chunk: int = 262144) -> Iterator[bytes]:
        """The log from byte ``offset`` (negative: the last ``-offset`` bytes), in chunks of about ``chunk``."""
        parts, pro, body, epilogue = self._layout(task, phase, now_ms)
        total = pro + body + len(epilogue)
        start = max(0, total + offset) if offset < 0 else offset
        if start >= total:
            return
        if start < pro:
            yield parts.prologue[start:pro]
            start = pro
        position = start - pro  # within the body
        pending: list[bytes] = []
        size = 0
        writer, body_start = parts.writer, parts.body_start
        while position < body:
            index, inner = divmod(position, BLOCK_SIZE)
            take = min(BLOCK_SIZE - inner, body - position)
            block = writer.block(index, body_start)
            pending.append(block[inner : inner + take] if inner or take < BLOCK_SIZE else block)
            position += take
            size += take
            if size >= chunk:
                yield b"".join(pending)
                pending.clear()
                size = 0
        if pending:
            yield b"".join(pending)
        epi_start = max(0, start - pro - body)
        if epi_start < len(epilogue):
            yield epilogue[epi_start:]
