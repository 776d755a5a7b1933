"""Task logs: believable Druid log lines that grow while a task runs, addressable by byte offset.

A log is a prologue (peon start-up), a body that grows at the plan's rate, and an epilogue written when
the task ends. The body is made of fixed-size blocks of whole lines; block ``i`` is one of a few
templates for the task with its timestamp filled in, so any byte range of a log of hundreds of
megabytes is produced directly, without generating (or holding) what comes before it.
"""

from __future__ import annotations

import random
import time
from collections import OrderedDict
from collections.abc import Iterator
from dataclasses import dataclass

import orjson

from simulator.overlord.fakes import FakePools
from simulator.overlord.task import Phase, Task

BLOCK_SIZE = 8192
TEMPLATES = 8
_TS_WIDTH = 23  # 2023-07-03T22:11:17,891
_PLACEHOLDER = b"@" * _TS_WIDTH

_RUNNER = "org.apache.druid.indexing.seekablestream.SeekableStreamIndexTaskRunner"
_APPENDERATOR = "org.apache.druid.segment.realtime.appenderator.StreamAppenderator"
_BATCH_APPENDERATOR = "org.apache.druid.segment.realtime.appenderator.BatchAppenderator"


def log_timestamp(ms: int) -> str:
    """Druid's log4j timestamp: ``2023-07-03T22:11:17,891``."""
    seconds, millis = divmod(int(ms), 1000)
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(seconds)) + f",{millis:03d}"


def _body_lines(task: Task, rng: random.Random, pools: FakePools) -> list[str]:
    """Lines a running task writes over and over (without timestamps)."""
    ds = task.datasource
    word = rng.choice(pools.words)
    thread = "task-runner-0-priority-0"
    persist = f"[{task.id}]-appenderator-persist"
    rows = rng.randrange(1000, 90000)
    if task.type in ("index_kafka", "index_kinesis"):
        partition = rng.randrange(0, 8)
        offset = rng.randrange(10**5, 10**8)
        return [
            f"INFO [{thread}] {_APPENDERATOR} - Persisted rows[{rows}] and (estimated) bytes[{rows * 173}]",
            f"INFO [{persist}] {_APPENDERATOR} - Flushed in-memory data with commit metadata "
            f"[AppenderatorDriverMetadata{{segments={{}}, lastSegmentIds={{}}, callerMetadata={{nextPartitions="
            f"SeekableStreamEndSequenceNumbers{{stream='{ds}', partitionSequenceNumberMap={{{partition}={offset}}}}}}}}}] "
            "for segments: ",
            f"INFO [{persist}] {_APPENDERATOR} - Persisted stats: processed rows: [{rows}], persisted rows[{rows}], "
            f"sinks: [1], total fireHydrants (across sinks): [{rng.randrange(1, 20)}], persisted fireHydrants "
            "(across sinks): [1]",
            f"INFO [{thread}] {_RUNNER} - Saved sequence metadata to disk: [SequenceMetadata{{sequenceId=0, "
            f"sequenceName='{task.id}_0', assignments=[{partition}], startOffsets={{{partition}={offset}}}}}]",
            f"INFO [{thread}] org.apache.kafka.clients.consumer.internals.ConsumerCoordinator - [Consumer "
            f"clientId=consumer-kafka-supervisor-{word}-1, groupId=kafka-supervisor-{word}] Discovered group "
            f"coordinator {rng.choice(pools.ips)}:9092 (id: {rng.randrange(1, 6)} rack: null)",
        ]
    interval_day = 1 + rng.randrange(28)
    segment = f"{ds}_2024-01-{interval_day:02d}T00:00:00.000Z_2024-01-{interval_day + 1:02d}T00:00:00.000Z"
    return [
        f"INFO [{thread}] {_BATCH_APPENDERATOR} - Persisted rows[{rows}] and (estimated) bytes[{rows * 161}]",
        f"INFO [{thread}] org.apache.druid.segment.realtime.appenderator.BaseAppenderatorDriver - New segment"
        f"[{segment}_{task.id[-24:]}] for sequenceName[{task.id}_{rng.randrange(4)}].",
        f"INFO [{thread}] org.apache.druid.data.input.impl.InputEntityIteratingReader - Reading "
        f"[s3://{rng.choice(pools.buckets)}{rng.choice(pools.paths)}]",
        f"INFO [{persist}] {_BATCH_APPENDERATOR} - Flushed in-memory data for segment"
        f"[{segment}] spill[{rng.randrange(0, 40)}] to disk in [{rng.randrange(5, 900)}] ms ({rows} rows).",
        f"INFO [{thread}] org.apache.druid.indexing.common.task.batch.parallel.ParallelIndexPhaseRunner - "
        f"[{rng.randrange(1, 40)}/{rng.randrange(40, 80)}] tasks succeeded",
        f"WARN [{thread}] org.apache.druid.segment.incremental.ParseExceptionHandler - Found unparseable columns "
        f"in row: [{{user={rng.choice(pools.users)}, added={rng.randrange(900)}}}], exceptions: "
        "[Unable to parse value[n/a] for field[added]]",
    ]


def _make_template(lines: list[str], rng: random.Random) -> bytes:
    """A BLOCK_SIZE block of whole lines, each starting with the timestamp placeholder."""
    prefix = _PLACEHOLDER + b" "
    out = bytearray()
    while True:
        line = prefix + rng.choice(lines).encode() + b"\n"
        if len(out) + len(line) > BLOCK_SIZE - 160:
            break
        out += line
    remaining = BLOCK_SIZE - len(out)
    head = prefix + b"DEBUG [task-runner-0-priority-0] org.apache.druid.java.util.common.concurrent.Execs - idle["
    filler = b"." * (remaining - len(head) - 2)
    out += head + filler + b"]\n"
    assert len(out) == BLOCK_SIZE
    return bytes(out)


@dataclass(slots=True)
class _LogParts:
    prologue: bytes
    templates: tuple[bytes, ...]
    start_ms: int
    bytes_per_ms: float


class TaskLogs:
    """Builds and slices task logs; keeps the templates of recently read tasks."""

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

    def _parts(self, task: Task) -> _LogParts:
        key = (task.id, task.seq, task.payload_kept)  # a let-go payload (simulator.overlord.payloads) shows less
        parts = self._cache.get(key)
        if parts is not None:
            self._cache.move_to_end(key)
            return parts
        rng = random.Random(f"log:{task.seed}")
        plan = task.plan
        start = plan.running_at
        host = plan.location.host or "localhost"
        spec = orjson.dumps(task.payload, option=orjson.OPT_INDENT_2).decode()
        pro_lines = [
            (
                start - 2400,
                f"INFO [main] org.apache.druid.cli.CliPeon - Starting up with processors "
                f"[{rng.choice((2, 4, 8))}], memory [{rng.choice((536870912, 1073741824))}]",
            ),
            (
                start - 2100,
                "INFO [main] org.apache.druid.guice.ExtensionsLoader - Loading extension "
                "[druid-kafka-indexing-service], jars: kafka-clients-3.9.1.jar",
            ),
            (
                start - 1800,
                f"INFO [main] org.apache.druid.curator.discovery.CuratorDruidNodeAnnouncer - Announced "
                f'self [{{"druidNode":{{"service":"druid/middleManager","host":"{host}",'
                f'"plaintextPort":{plan.location.port}}},"nodeType":"peon"}}].',
            ),
            (
                start - 1500,
                f"INFO [main] org.apache.druid.indexing.worker.executor.ExecutorLifecycle - Running with task: {spec}",
            ),
            (
                start - 900,
                f"INFO [main] org.apache.druid.indexing.overlord.SingleTaskBackgroundRunner - Running task: {task.id}",
            ),
            (
                start - 300,
                f"INFO [task-runner-0-priority-0] org.apache.druid.indexing.common.task.AbstractTask - "
                f"Attempting to lock file[/opt/druid/var/druid/task/{task.id}/lock].",
            ),
        ]
        prologue = "".join(f"{log_timestamp(ms)} {text}\n" for ms, text in pro_lines).encode()
        lines = _body_lines(task, rng, self.pools)
        templates = tuple(_make_template(lines, rng) for _ in range(TEMPLATES))
        parts = _LogParts(prologue, templates, start, max(plan.log_bytes_per_second, 1.0) / 1000.0)
        size = len(prologue)
        if size > self._cache_bytes // 4:  # a giant spec: rebuilt when read rather than held
            return parts
        self._cache[key] = parts
        self._cached_bytes += size
        while len(self._cache) > self._cache_size or self._cached_bytes > self._cache_bytes:
            _, dropped = self._cache.popitem(last=False)
            self._cached_bytes -= len(dropped.prologue)
        return parts

    def _epilogue(self, task: Task, phase: Phase, end_ms: int) -> bytes:
        status = task.task_status(phase)
        pretty = orjson.dumps(status, option=orjson.OPT_INDENT_2).decode().replace('": ', '" : ')
        stamp = log_timestamp(end_ms)
        return (
            f"{stamp} INFO [task-runner-0-priority-0] org.apache.druid.indexing.worker.executor.ExecutorLifecycle"
            f" - Task completed with status: {pretty}\n"
            f"{log_timestamp(end_ms + 12)} INFO [main] org.apache.druid.java.util.common.lifecycle.Lifecycle - "
            "Stopping lifecycle [module] stage [ANNOUNCEMENTS]\n"
            "Finished peon task\n"
        ).encode()

    def _layout(self, task: Task, phase: Phase, now_ms: int) -> tuple[_LogParts, int, bytes]:
        """(parts, body length, epilogue) of the log as it stands at ``now_ms``."""
        parts = self._parts(task)
        plan = task.plan
        end = now_ms if phase is Phase.RUNNING else plan.completed_at()
        body = int(max(0, end - parts.start_ms) * parts.bytes_per_ms)
        if phase is Phase.RUNNING:
            body = self._cut_to_line(parts, body)
            return parts, body, b""
        body -= body % BLOCK_SIZE  # a finished log ends on a whole block
        return parts, body, self._epilogue(task, phase, end)

    def _block(self, parts: _LogParts, index: int) -> bytes:
        stamp = log_timestamp(parts.start_ms + int(index * BLOCK_SIZE / parts.bytes_per_ms)).encode()
        return parts.templates[index % TEMPLATES].replace(_PLACEHOLDER, stamp)

    def _cut_to_line(self, parts: _LogParts, body: int) -> int:
        whole, partial = divmod(body, BLOCK_SIZE)
        if partial == 0:
            return body
        block = self._block(parts, whole)
        cut = block.rfind(b"\n", 0, partial)
        return whole * BLOCK_SIZE + (cut + 1 if cut >= 0 else 0)

    def size(self, task: Task, phase: Phase, now_ms: int) -> int:
        parts, body, epilogue = self._layout(task, phase, now_ms)
        return len(parts.prologue) + body + len(epilogue)

    def read(self, task: Task, phase: Phase, now_ms: int, offset: int, chunk: int = 65536) -> Iterator[bytes]:
        """The log from byte ``offset`` (negative: the last ``-offset`` bytes), in chunks of about ``chunk``."""
        parts, body, epilogue = self._layout(task, phase, now_ms)
        total = len(parts.prologue) + body + len(epilogue)
        start = max(0, total + offset) if offset < 0 else offset
        if start >= total:
            return
        pro = len(parts.prologue)
        if start < pro:
            yield parts.prologue[start:]
            start = pro
        position = start - pro  # within the body
        pending = bytearray()
        while position < body:
            index, inner = divmod(position, BLOCK_SIZE)
            take = min(BLOCK_SIZE - inner, body - position)
            pending += self._block(parts, index)[inner : inner + take]
            position += take
            if len(pending) >= chunk:
                yield bytes(pending)
                pending.clear()
        if pending:
            yield bytes(pending)
        epi_start = max(0, start - pro - body)
        if epi_start < len(epilogue):
            yield epilogue[epi_start:]
