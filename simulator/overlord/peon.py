"""What a Druid peon writes to its task log, by task type: start-up, the work, and the end.

Every line is one Druid (or its libraries: Curator, ZooKeeper, Jetty, the Kafka client) really logs,
with the thread and logger the log4j pattern ``%d{ISO8601} %p [%t] %c - %m%n`` prints:

* start-up, the same for every task (``CliPeon``, ``GuiceRunnable``): extensions loaded, processors
  and memory, the runtime properties one per line, lifecycle stages, ZooKeeper session, ``Running
  with task: {...}`` (the task JSON, pretty-printed), the task directory lock, ``Running task: <id>``,
  Jetty on the peon's port, the node announcement;
* the work, per type: ``index_kafka`` assigns and seeks its partitions then persists, checkpoints and
  publishes with offsets that keep growing; ``index_parallel`` submits sub-tasks and counts them
  (``[3/8] tasks succeeded``), or runs sequentially when ``maxNumConcurrentSubTasks`` is 1; ``index``
  and ``compact`` persist spills and push segments, ``compact`` first pulling the segments it
  rewrites; ``kill`` deletes unused segments batch by batch; ``query_controller`` starts its stages.
  The logging emitter's metrics (``druid.emitter=logging``, printed at start-up) come every so often;
* the end: the last persist, push and publish, ``Task completed with status: {...}``, the lifecycle
  stopping stage by stage and ``Finished peon task``. A failed task logs the exception first; a task
  killed by its MiddleManager (exit code 137, a lost worker) just stops mid-log; a shutdown stops
  gracefully.

The work phase is produced as :class:`~simulator.overlord.logblocks.Event` objects for
:class:`~simulator.overlord.logblocks.BlockWriter`; the start and the end are :class:`Out` lines.
"""

from __future__ import annotations

import random
import re
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import orjson

from simulator.clock import format_instant
from simulator.overlord.fakes import FakePools
from simulator.overlord.ids import random_id
from simulator.overlord.jackson import pretty
from simulator.overlord.logblocks import (
    BlockWriter,
    Clock,
    Counter,
    CounterSpec,
    Event,
    Growing,
    Line,
    Num,
    Part,
    Tally,
    instant,
)
from simulator.overlord.task import Task

VERSION = "35.0.0"
RUNNER = "task-runner-0-priority-0"
KAFKA_END = 9223372036854775807  # Long.MAX_VALUE: a Kafka task's open end offset
HOUR_MS = 3600 * 1000
DAY_MS = 24 * HOUR_MS

CLI_PEON = "org.apache.druid.cli.CliPeon"
LIFECYCLE = "org.apache.druid.java.util.common.lifecycle.Lifecycle"
EXECUTOR = "org.apache.druid.indexing.worker.executor.ExecutorLifecycle"
BACKGROUND = "org.apache.druid.indexing.overlord.SingleTaskBackgroundRunner"
ANNOUNCER = "org.apache.druid.curator.discovery.CuratorDruidNodeAnnouncer"
EMITTER = "org.apache.druid.java.util.emitter.core.LoggingEmitter"
STREAM_APPENDERATOR = "org.apache.druid.segment.realtime.appenderator.StreamAppenderator"
BATCH_APPENDERATOR = "org.apache.druid.segment.realtime.appenderator.BatchAppenderator"
DRIVER = "org.apache.druid.segment.realtime.appenderator.BaseAppenderatorDriver"
SEEKABLE = "org.apache.druid.indexing.seekablestream.SeekableStreamIndexTaskRunner"
KAFKA_CONSUMER = "org.apache.kafka.clients.consumer.internals.ClassicKafkaConsumer"
PARALLEL = "org.apache.druid.indexing.common.task.batch.parallel"
S3_PULLER = "org.apache.druid.storage.s3.S3DataSegmentPuller"

#: Extensions every peon loads, with the jars ``ExtensionsLoader`` lists.
EXTENSION_JARS = {
    "druid-s3-extensions": "druid-s3-extensions-35.0.0.jar, aws-java-sdk-s3-1.12.784.jar, "
    "aws-java-sdk-kms-1.12.784.jar, jmespath-java-1.12.784.jar",
    "druid-kafka-indexing-service": "druid-kafka-indexing-service-35.0.0.jar, kafka-clients-3.9.1.jar, "
    "lz4-java-1.8.0.jar, zstd-jni-1.5.6-4.jar, snappy-java-1.1.10.7.jar",
    "druid-datasketches": "druid-datasketches-35.0.0.jar, datasketches-java-6.2.0.jar, datasketches-memory-3.0.2.jar",
    "druid-multi-stage-query": "druid-multi-stage-query-35.0.0.jar",
    "postgresql-metadata-storage": "postgresql-metadata-storage-35.0.0.jar, postgresql-42.7.5.jar, "
    "checker-qual-3.48.3.jar",
}
#: JvmMonitor's metrics: (name, dimensions, smallest and largest value).
JVM_METRICS: tuple[tuple[str, dict[str, Any], int, int], ...] = (
    ("jvm/pool/committed", {"poolKind": "heap", "poolName": "G1 Eden Space"}, 4_194_304, 700_000_000),
    ("jvm/pool/used", {"poolKind": "heap", "poolName": "G1 Eden Space"}, 0, 600_000_000),
    ("jvm/pool/used", {"poolKind": "heap", "poolName": "G1 Old Gen"}, 1_000_000, 700_000_000),
    ("jvm/pool/used", {"poolKind": "heap", "poolName": "G1 Survivor Space"}, 0, 40_000_000),
    ("jvm/pool/used", {"poolKind": "nonheap", "poolName": "Metaspace"}, 60_000_000, 140_000_000),
    ("jvm/pool/used", {"poolKind": "nonheap", "poolName": "CodeHeap 'non-profiled nmethods'"}, 500_000, 60_000_000),
    ("jvm/mem/used", {"memKind": "heap"}, 20_000_000, 1_073_741_824),
    ("jvm/mem/committed", {"memKind": "heap"}, 268_435_456, 1_073_741_824),
    ("jvm/mem/used", {"memKind": "nonheap"}, 60_000_000, 190_000_000),
    ("jvm/bufferpool/used", {"bufferpoolName": "direct"}, 0, 1_073_741_824),
    ("jvm/bufferpool/count", {"bufferpoolName": "mapped"}, 0, 4_000),
    ("jvm/gc/count", {"gcGen": ["young"], "gcName": ["g1"]}, 0, 400),
    ("jvm/gc/cpu", {"gcGen": ["young"], "gcName": ["g1"]}, 0, 900_000_000),
    ("jvm/gc/count", {"gcGen": ["old"], "gcName": ["g1"]}, 0, 3),
    ("jvm/gc/cpu", {"gcGen": ["old"], "gcName": ["g1"]}, 0, 90_000_000),
    ("jvm/pool/committed", {"poolKind": "nonheap", "poolName": "Metaspace"}, 60_000_000, 150_000_000),
    ("jvm/pool/used", {"poolKind": "nonheap", "poolName": "Compressed Class Space"}, 5_000_000, 20_000_000),
    ("jvm/pool/used", {"poolKind": "nonheap", "poolName": "CodeHeap 'non-nmethods'"}, 1_000_000, 9_000_000),
    ("jvm/pool/max", {"poolKind": "heap", "poolName": "G1 Old Gen"}, 1_073_741_824, 1_073_741_824),
    ("jvm/pool/init", {"poolKind": "nonheap", "poolName": "Compressed Class Space"}, 0, 0),
    ("jvm/mem/max", {"memKind": "heap"}, 1_073_741_824, 1_073_741_824),
    ("jvm/mem/init", {"memKind": "nonheap"}, 7_667_712, 7_667_712),
    ("jvm/bufferpool/capacity", {"bufferpoolName": "direct"}, 0, 1_073_741_824),
    ("jvm/bufferpool/count", {"bufferpoolName": "direct"}, 0, 2_000),
)
#: What a streaming task's realtime metrics monitor adds.
INGEST_METRICS: tuple[tuple[str, dict[str, Any], int, int], ...] = (
    ("ingest/events/processed", {}, 0, 2_500_000),
    ("ingest/rows/output", {}, 0, 2_500_000),
    ("ingest/events/unparseable", {}, 0, 40),
    ("ingest/persists/count", {}, 0, 30),
    ("ingest/persists/timeMs", {}, 0, 90_000),
    ("ingest/events/messageGap", {}, 0, 60_000),
    ("ingest/handoff/count", {}, 0, 4),
)
#: Placeholders in start and end lines for what depends on the line's own time, filled by ``Peon.fill``.
AT_EPOCH, AT_SEGMENT, AT_KEY, AT_INSTANT, AT_UPTIME = "\x00", "\x01", "\x02", "\x03", "\x04"
#: Messages with which a peon never gets to log an ending: its process was killed or was never there.
_PROCESS_GONE = ("exited unsuccessfully", "disappeared", "Failed to run task", "Failed to assign")


def line(level: str, thread: str, logger: str, *parts: Part, after: int = 0) -> Line:
    return Line((f"{level} [{thread}] {logger} - ", *parts), after)


def text(level: str, thread: str, logger: str, message: str) -> str:
    return f"{level} [{thread}] {logger} - {message}"


@dataclass(frozen=True, slots=True)
class Out:
    """A line of the log's start or end: ``after_ms`` after the previous one (stack frames: no stamp)."""

    after_ms: int
    text: str
    stamped: bool = True


def epoch(ms: int) -> bytes:
    """``System.currentTimeMillis()``: 13 digits for any real date (zero-padded before 2001, to keep the width)."""
    return b"%013d" % ms


def basic_iso(ms: int) -> str:
    """Joda's ``basicDateTime``, as segment paths in deep storage have it: ``20260101T000000.000Z``."""
    return format_instant(ms).replace("-", "").replace(":", "")


def ktp(partition: int | str) -> str:
    """How ``KafkaTopicPartition`` prints itself."""
    return f"KafkaTopicPartition{{partition={partition}, topic='null', multiTopicPartition=false}}"


def dig(payload: Any, *keys: str) -> Any:
    """``payload[k1][k2]...``, or None where a level is missing or not an object (payloads are the client's)."""
    for key in keys:
        if not isinstance(payload, dict):
            return None
        payload = payload.get(key)
    return payload


def section(payload: Any, *keys: str) -> dict[str, Any]:
    """The object at ``keys`` in ``payload``, or an empty one."""
    found = dig(payload, *keys)
    return found if isinstance(found, dict) else {}


def process_gone(error_msg: str | None) -> bool:
    """True when the peon was killed or lost, so its log just stops (no status, no shutdown)."""
    return error_msg is not None and any(marker in error_msg for marker in _PROCESS_GONE)


@dataclass(slots=True)
class PeonContext:
    """The task a peon runs and where: what every line can mention."""

    task: Task
    payload: dict[str, Any]
    pools: FakePools
    host: str
    port: int
    rows_per_block: float  # rows ingested while a block of log is written


class Peon:
    """A peon running a task of a type with no log of its own: start-up, metrics, the end."""

    extensions: tuple[str, ...] = (
        "druid-s3-extensions",
        "druid-datasketches",
        "druid-multi-stage-query",
        "postgresql-metadata-storage",
    )
    task_class = "org.apache.druid.indexing.common.task.AbstractTask"

    def __init__(self, ctx: PeonContext) -> None:
        self.ctx = ctx
        self.task = ctx.task
        rng = random.Random(f"peon:{ctx.task.seed}")
        self.rng = rng
        self.counters: dict[str, CounterSpec] = {}
        self.clocks: dict[str, Callable[[int], bytes]] = {"iso": instant, "epoch": epoch}
        self.session = f"0x{rng.getrandbits(64):016x}"
        self.hashes = [f"{rng.getrandbits(32):x}" for _ in range(4)]
        # The realtime monitor's metrics name the task; the JVM's carry their own dimensions only.
        task = {"dataSource": self.task.datasource, "taskId": [self.task.id], "taskType": self.task.type}
        self.rows_per_persist = max(1, int(ctx.rows_per_block / 3))  # about three persists a block
        self.metrics = [
            self._metric(name, own, task if name.startswith("ingest/") else {}, low, high)
            for name, own, low, high in self.metric_kinds()
        ]

    # -- the work phase (the EventSource protocol) ------------------------------------------------

    def event(self, rng: random.Random) -> Event:
        return self.metrics_event(rng, rng.randint(2, 5))

    def filler(self, rng: random.Random) -> Event:
        return self.metrics_event(rng, rng.randint(1, 2))

    def settle(self, writer: BlockWriter) -> None:
        """Counters that depend on the templates (totals) are set here; most types have none."""

    def metric_kinds(self) -> tuple[tuple[str, dict[str, Any], int, int], ...]:
        return JVM_METRICS

    def _metric(
        self, name: str, own: dict[str, Any], task: dict[str, Any], low: int, high: int
    ) -> tuple[str, str, Num]:
        """A metric as the logging emitter writes it: the JSON around its timestamp and its value."""
        before_value = (
            f'","service":"druid/middleManager","host":"{self.ctx.host}:{self.ctx.port}","version":"{VERSION}",'
            f'"metric":"{name}","value":'
        )
        dims = orjson.dumps(dict(sorted({**own, **task}.items()))).decode()
        return before_value, "," + dims[1:], Num(low, high)

    def metrics_event(self, rng: random.Random, count: int) -> Event:
        """The logging emitter writing ``count`` metrics of one emission (a millisecond or two apart)."""
        lines = []
        for number, (before_value, dims, value) in enumerate(rng.sample(self.metrics, min(count, len(self.metrics)))):
            parts: tuple[Part, ...] = (
                '{"feed":"metrics","timestamp":"',
                Clock("iso", -rng.randint(0, 2)),
                before_value,
                Num(value.lo, value.hi),
                dims,
            )
            lines.append(line("INFO", "MonitorScheduler-0", EMITTER, *parts, after=number // 4))
        return Event(tuple(lines), "metrics")

    def fill(self, message: str, ms: int, jvm_start: int) -> str:
        """A start or end line with its time-dependent placeholders (``AT_*``) filled for time ``ms``."""
        if AT_EPOCH in message:
            message = message.replace(AT_EPOCH, str(ms))
        if AT_INSTANT in message:
            message = message.replace(AT_INSTANT, format_instant(ms))
        if AT_UPTIME in message:
            message = message.replace(AT_UPTIME, str(ms - jvm_start))
        for marker, clock in ((AT_SEGMENT, "segment"), (AT_KEY, "key")):
            if marker in message:
                message = message.replace(marker, self.clocks[clock](ms).decode())
        return message

    def persist_cause(self, rng: random.Random, max_rows: int, estimated: str) -> tuple[tuple[Part, ...], Num, Num]:
        """Why a persist happens, the rows it writes and their bytes, consistent with the task's row rate.

        Rows fill ``maxRowsInMemory`` only when they come fast enough; otherwise the flush period
        (or now and then the memory estimate) is what triggers it.
        """
        expected = self.rows_per_persist
        if expected >= max_rows:
            rows = Num(max_rows, max_rows, commas=True)
            cause: tuple[Part, ...] = (
                f"rowsCurrentlyInMemory[{max_rows}] is greater than maxRowsInMemory[{max_rows}]",
            )
        else:
            rows = Num(max(1, expected // 2), max(2, expected * 3 // 2), commas=True)
            if rng.random() < 0.15:
                cause = (
                    f"{estimated}bytesCurrentlyInMemory[",
                    Num(178_956_971, 179_999_999),
                    "] is greater than maxBytesInMemory[178956970]",
                )
            else:
                flushed = Clock("epoch", -rng.randint(1, 900))
                cause = ("current time[", Clock("epoch"), "] is greater than nextFlush[", flushed, "]")
        return cause, rows, Num(rows.lo * 250, rows.hi * 1200, commas=True)

    # -- start and end -----------------------------------------------------------------------------

    def starting(self) -> list[Out]:
        """The task's own first lines, after ``Running task: <id>``."""
        return []

    def finishing(self, writer: BlockWriter, body_bytes: int) -> list[Out]:
        """The task's own last lines before ``Task completed with status``, for a success."""
        return []

    def stopping(self) -> list[Out]:
        """What a graceful stop (a shutdown request) makes the task write."""
        return [Out(2, text("INFO", "Thread-57", BACKGROUND, f"Starting graceful shutdown of task[{self.task.id}]."))]

    def info(self, message: str, after: int = 1, thread: str = RUNNER, logger: str | None = None) -> Out:
        return Out(after, text("INFO", thread, logger or self.task_class, message))


# -- index_kafka ----------------------------------------------------------------------------------------


class KafkaPeon(Peon):
    """``index_kafka``: a task group's partitions read from their start offsets, persisted, published."""

    extensions = (
        "druid-s3-extensions",
        "druid-kafka-indexing-service",
        "druid-datasketches",
        "druid-multi-stage-query",
        "postgresql-metadata-storage",
    )
    task_class = "org.apache.druid.indexing.kafka.KafkaIndexTask"

    def __init__(self, ctx: PeonContext) -> None:
        super().__init__(ctx)
        rng = self.rng
        start = section(ctx.payload, "ioConfig", "startSequenceNumbers", "partitionSequenceNumberMap")
        offsets = {int(p): int(v) for p, v in start.items() if str(p).isdigit() and isinstance(v, int)}
        if not offsets:
            offsets = {p: rng.randrange(10**9, 6 * 10**10) for p in sorted(rng.sample(range(12), rng.randint(1, 3)))}
        self.offsets = offsets
        max_rows = dig(ctx.payload, "tuningConfig", "maxRowsInMemory")
        self.max_rows = max_rows if isinstance(max_rows, int) and 0 < max_rows < 10**9 else 150_000
        self.stream = str(dig(ctx.payload, "ioConfig", "startSequenceNumbers", "stream") or self.task.datasource)
        self.base = str(dig(ctx.payload, "ioConfig", "baseSequenceName") or self.task.id)
        self.group = random_id(rng)
        self.client = (
            f"[Consumer clientId=consumer-kafka-supervisor-{self.group}-1, groupId=kafka-supervisor-{self.group}] "
        )
        self.brokers = [f"kafka-{number}.{ctx.pools.domain}:9092" for number in range(1, 4)]
        self.partition_number = rng.randint(1, 40)
        self.bucket = ctx.pools.deep_storage
        share = max(ctx.rows_per_block / len(offsets), 1.0)
        for partition, offset in offsets.items():
            self.counters[f"offset{partition}"] = Growing(offset, share)
        self.counters["processed"] = Growing(0, ctx.rows_per_block)
        self.counters["spill"] = Tally("persist", start=-1)
        self.counters["hydrants"] = Tally("persist", start=1)
        self.counters["sequence"] = Tally("checkpoint")
        self._hours: dict[int, tuple[bytes, bytes]] = {}
        self.clocks["segment"] = self._segment
        self.clocks["key"] = self._key
        self.persist_thread = f"[{self.task.id}]-appenderator-persist"
        self.merge_thread = f"[{self.task.id}]-appenderator-merge"

    def metric_kinds(self) -> tuple[tuple[str, dict[str, Any], int, int], ...]:
        return JVM_METRICS + INGEST_METRICS

    def _segment(self, ms: int) -> bytes:
        return (self._hours.get(ms // HOUR_MS) or self._hour(ms))[0]

    def _key(self, ms: int) -> bytes:
        return (self._hours.get(ms // HOUR_MS) or self._hour(ms))[1]

    def _hour(self, ms: int) -> tuple[bytes, bytes]:
        """The segment id and deep-storage key of the hour ``ms`` falls in (Kafka tasks append by hour)."""
        hour = ms // HOUR_MS
        found = self._hours.get(hour)
        if found is None:
            if len(self._hours) > 64:
                self._hours.clear()
            start = hour * HOUR_MS
            salt = random.Random(f"{self.task.seed}:{hour}")
            version = format_instant(start + salt.randrange(1000, 58000))
            segment = f"{self.task.datasource}_{format_instant(start)}_{format_instant(start + HOUR_MS)}_{version}"
            segment += f"_{self.partition_number}"
            key = (
                f"druid/segments/{self.task.datasource}/{basic_iso(start)}_{basic_iso(start + HOUR_MS)}/"
                f"{version.replace(':', '_')}/{self.partition_number}/{uuid.UUID(int=salt.getrandbits(128))}/index.zip"
            )
            found = self._hours[hour] = (segment.encode(), key.encode())
        return found

    def _offsets(self, add: int = 0) -> list[Part]:
        parts: list[Part] = ["{"]
        for number, partition in enumerate(self.offsets):
            parts += [", " if number else "", ktp(partition), "=", Counter(f"offset{partition}", add)]
        return [*parts, "}"]

    def _commit(self) -> list[Part]:
        sequence: list[Part] = [self.base, "_", Counter("sequence")]
        return [
            "AppenderatorDriverMetadata{segments={",
            *sequence,
            "=[SegmentWithState{segmentIdentifier=",
            Clock("segment"),
            ", state=APPENDING}]}, lastSegmentIds={",
            *sequence,
            "=",
            Clock("segment"),
            f"}}, callerMetadata={{nextPartitions=SeekableStreamStartSequenceNumbers{{stream='{self.stream}', "
            "partitionSequenceNumberMap=",
            *self._offsets(),
            f", exclusivePartitions=[]}}, publishPartitions=SeekableStreamEndSequenceNumbers{{stream='{self.stream}', "
            "partitionSequenceNumberMap=",
            *self._offsets(),
            "}}}",
        ]

    def _persist_start(self, rng: random.Random) -> tuple[list[Line], Num]:
        """The persist's reason and ``Persisted rows[...]``, and the rows it persists."""
        cause, rows, size = self.persist_cause(rng, self.max_rows, "(estimated) ")
        return [
            line("INFO", RUNNER, STREAM_APPENDERATOR, "Flushing in-memory data to disk because [", *cause, "]."),
            line(
                "INFO",
                RUNNER,
                STREAM_APPENDERATOR,
                "Persisted rows[",
                rows,
                "] and (estimated) bytes[",
                size,
                "]",
                after=1,
            ),
        ], rows

    def event(self, rng: random.Random) -> Event:
        pick = rng.random()
        if pick < 0.55:
            took = rng.randint(120, 2400)
            first, rows = self._persist_start(rng)
            persist = self.persist_thread
            return Event(
                (
                    *first,
                    line(
                        "INFO",
                        persist,
                        STREAM_APPENDERATOR,
                        "Flushed in-memory data for segment[",
                        Clock("segment"),
                        "] spill[",
                        Counter("spill"),
                        "] to disk in [",
                        Num(took, took, commas=True),
                        "] ms (",
                        rows,
                        " rows).",
                        after=took,
                    ),
                    line(
                        "INFO",
                        persist,
                        STREAM_APPENDERATOR,
                        "Flushed in-memory data with commit metadata [",
                        *self._commit(),
                        "] for segments: ",
                        Clock("segment"),
                        after=took + 1,
                    ),
                    line(
                        "INFO",
                        persist,
                        STREAM_APPENDERATOR,
                        "Persisted stats: processed rows: [",
                        Counter("processed"),
                        "], persisted rows[",
                        rows.plain(),
                        "], sinks: [1], total fireHydrants (across sinks): [",
                        Counter("hydrants"),
                        "], persisted fireHydrants (across sinks): [1]",
                        after=took + 1,
                    ),
                ),
                "persist",
            )
        if pick < 0.565:  # a checkpoint: the segment pushed and published, now and then
            return self._checkpoint(rng)
        if pick < 0.9:
            return self.metrics_event(rng, rng.randint(2, 6))
        return self.filler(rng)

    def _checkpoint(self, rng: random.Random) -> Event:
        """A sequence checkpointed: the segment pushed and published, a new sequence started."""
        pushed = rng.randint(800, 9000)
        merge = self.merge_thread
        assignments = ", ".join(ktp(p) for p in self.offsets)
        ends = ", ".join(f"{ktp(p)}={KAFKA_END}" for p in self.offsets)
        return Event(
            (
                line(
                    "INFO",
                    merge,
                    STREAM_APPENDERATOR,
                    "Preparing to push (stats): processed rows: [",
                    Counter("processed"),
                    "], sinks: [1], fireHydrants (across sinks): [",
                    Counter("hydrants"),
                    "]",
                ),
                line(
                    "INFO",
                    merge,
                    STREAM_APPENDERATOR,
                    "Segment[",
                    Clock("segment"),
                    "] of ",
                    Num(20_000_000, 900_000_000, commas=True),
                    " bytes built from ",
                    Counter("hydrants"),
                    " incremental persist(s) in ",
                    Num(pushed, pushed, commas=True),
                    "ms; pushed to deep storage in ",
                    Num(300, 6000, commas=True),
                    f'ms. Load spec is: {{"type":"s3_zip","bucket":"{self.bucket}","key":"',
                    Clock("key"),
                    '","S3Schema":"s3n"}',
                    after=pushed,
                ),
                line("INFO", merge, STREAM_APPENDERATOR, "Push complete...", after=pushed),
                line(
                    "INFO",
                    f"[{self.task.id}]-publish",
                    SEEKABLE,
                    "Published 1 segments for sequence [",
                    self.base,
                    "_",
                    Counter("sequence", -1),
                    "] with metadata [",
                    *self._commit(),
                    "].",
                    after=pushed + 40,
                ),
                line(
                    "INFO",
                    RUNNER,
                    SEEKABLE,
                    "Saved sequence metadata to disk: [SequenceMetadata{sequenceId=",
                    Counter("sequence"),
                    ", sequenceName='",
                    self.base,
                    "_",
                    Counter("sequence"),
                    f"', assignments=[{assignments}], startOffsets=",
                    *self._offsets(),
                    f", exclusiveStartPartitions=[], endOffsets={{{ends}}}, sentinel=false, checkpointed=false}}]",
                    after=pushed + 42,
                ),
            ),
            "checkpoint",
        )

    def filler(self, rng: random.Random) -> Event:
        pick = rng.random()
        if pick < 0.45:
            return self.metrics_event(rng, rng.randint(1, 2))
        node = Num(1, 3)
        if pick < 0.85:
            message: tuple[Part, ...] = (
                self.client,
                "Node ",
                node,
                " was unable to process the fetch request with (sessionId=",
                Num(10_000_000, 2_147_483_647),
                ", epoch=",
                Num(1, 99_999),
                "): FETCH_SESSION_ID_NOT_FOUND.",
            )
            return Event((line("INFO", RUNNER, "org.apache.kafka.clients.FetchSessionHandler", *message),), "kafka")
        if pick < 0.95:
            return Event(
                (
                    line(
                        "INFO",
                        RUNNER,
                        "org.apache.kafka.clients.NetworkClient",
                        self.client,
                        "Node ",
                        node,
                        " disconnected.",
                    ),
                ),
                "kafka",
            )
        return Event(
            (
                line(
                    "WARN",
                    RUNNER,
                    STREAM_APPENDERATOR,
                    "Ingestion was throttled for [",
                    Num(1_000, 90_000, commas=True),
                    "] millis because persists were pending.",
                ),
            ),
            "throttled",
        )

    def starting(self) -> list[Out]:
        rng = random.Random(f"{self.task.seed}:start")
        config = "\n".join(
            f"\t{key} = {value}"
            for key, value in (
                ("allow.auto.create.topics", "true"),
                ("auto.offset.reset", "none"),
                ("bootstrap.servers", f"[{', '.join(self.brokers)}]"),
                ("client.id", f"consumer-kafka-supervisor-{self.group}-1"),
                ("enable.auto.commit", "false"),
                ("fetch.max.bytes", "52428800"),
                ("group.id", f"kafka-supervisor-{self.group}"),
                ("group.protocol", "classic"),
                ("isolation.level", "read_committed"),
                ("key.deserializer", "class org.apache.kafka.common.serialization.ByteArrayDeserializer"),
                ("max.poll.records", "500"),
                ("metadata.max.age.ms", "10000"),
                ("receive.buffer.bytes", "65536"),
                ("security.protocol", "PLAINTEXT"),
                ("value.deserializer", "class org.apache.kafka.common.serialization.ByteArrayDeserializer"),
            )
        )
        starts = ", ".join(f"{ktp(p)}={offset}" for p, offset in self.offsets.items())
        ends = ", ".join(f"{ktp(p)}={KAFKA_END}" for p in self.offsets)
        sequence = (
            f"SequenceMetadata{{sequenceId=0, sequenceName='{self.base}_0', assignments=[{', '.join(map(ktp, self.offsets))}], "
            f"startOffsets={{{starts}}}, exclusiveStartPartitions=[], endOffsets={{{ends}}}, sentinel=false, "
            "checkpointed=false}"
        )
        out = [
            Out(rng.randint(3, 12), text("INFO", RUNNER, SEEKABLE, f"Starting with sequences: [{sequence}]")),
            Out(
                rng.randint(20, 60),
                text(
                    "INFO",
                    RUNNER,
                    "org.apache.kafka.clients.consumer.ConsumerConfig",
                    f"ConsumerConfig values: \n{config}\n",
                ),
            ),
            Out(
                rng.randint(40, 120),
                text("INFO", RUNNER, "org.apache.kafka.common.utils.AppInfoParser", "Kafka version: 3.9.1"),
            ),
            Out(
                0,
                text("INFO", RUNNER, "org.apache.kafka.common.utils.AppInfoParser", "Kafka commitId: f745dfdcee2b9851"),
            ),
            Out(
                0, text("INFO", RUNNER, "org.apache.kafka.common.utils.AppInfoParser", f"Kafka startTimeMs: {AT_EPOCH}")
            ),
            Out(rng.randint(30, 200), text("INFO", RUNNER, SEEKABLE, f"Initialized sequences: {sequence}")),
        ]
        for partition, offset in self.offsets.items():
            out.append(
                Out(
                    1,
                    text(
                        "INFO",
                        RUNNER,
                        SEEKABLE,
                        f"Adding partition[{ktp(partition)}], start[{offset}] -> end[{KAFKA_END}] to assignment.",
                    ),
                )
            )
        assigned = ", ".join(f"{self.stream}-{p}" for p in self.offsets)
        out.append(Out(2, text("INFO", RUNNER, KAFKA_CONSUMER, f"{self.client}Assigned to partition(s): {assigned}")))
        for partition, offset in self.offsets.items():
            out.append(Out(1, text("INFO", RUNNER, SEEKABLE, f"Seeking partition[{ktp(partition)}] to[{offset}].")))
            out.append(
                Out(
                    0,
                    text(
                        "INFO",
                        RUNNER,
                        KAFKA_CONSUMER,
                        f"{self.client}Seeking to offset {offset} for partition {self.stream}-{partition}",
                    ),
                )
            )
        cluster = random_id(rng) + random_id(rng) + "Qx-" + random_id(rng)[:3]
        out.append(
            Out(
                rng.randint(20, 90),
                text("INFO", RUNNER, "org.apache.kafka.clients.Metadata", f"{self.client}Cluster ID: {cluster}"),
            )
        )
        out.append(
            Out(
                rng.randint(5, 60),
                text("INFO", RUNNER, DRIVER, f"New segment[{AT_SEGMENT}] for sequenceName[{self.base}_0]."),
            )
        )
        return out

    def finishing(self, writer: BlockWriter, body_bytes: int) -> list[Out]:
        rng = random.Random(f"{self.task.seed}:finish")
        offsets = ", ".join(f"{ktp(p)}={writer.growing_at(f'offset{p}', body_bytes)}" for p in self.offsets)
        processed = writer.growing_at("processed", body_bytes)
        sequence = writer.tally_through("checkpoint", body_bytes)
        hydrants = 1 + writer.tally_through("persist", body_bytes)
        persist, merge = self.persist_thread, self.merge_thread
        rows = rng.randint(1, min(self.max_rows, self.rows_per_persist * 2))
        took = rng.randint(100, 2000)
        pushed = rng.randint(800, 9000)
        return [
            Out(1, text("INFO", RUNNER, SEEKABLE, "Stopping gracefully (status: [READING])")),
            Out(
                3,
                text(
                    "INFO",
                    RUNNER,
                    STREAM_APPENDERATOR,
                    f"Persisted rows[{rows:,}] and (estimated) bytes[{rows * 412:,}]",
                ),
            ),
            Out(
                took,
                text(
                    "INFO",
                    persist,
                    STREAM_APPENDERATOR,
                    f"Flushed in-memory data for segment[{AT_SEGMENT}] spill[{hydrants - 1}] to disk in [{took:,}] ms ({rows:,} rows).",
                ),
            ),
            Out(
                1,
                text(
                    "INFO",
                    persist,
                    STREAM_APPENDERATOR,
                    f"Persisted stats: processed rows: [{processed}], persisted rows[{rows}], sinks: [1], total fireHydrants (across sinks): [{hydrants}], persisted fireHydrants (across sinks): [1]",
                ),
            ),
            Out(
                4,
                text(
                    "INFO",
                    merge,
                    STREAM_APPENDERATOR,
                    f"Preparing to push (stats): processed rows: [{processed}], sinks: [1], fireHydrants (across sinks): [{hydrants}]",
                ),
            ),
            Out(
                pushed,
                text(
                    "INFO",
                    merge,
                    STREAM_APPENDERATOR,
                    f'Segment[{AT_SEGMENT}] of {rng.randint(10**7, 9 * 10**8):,} bytes built from {hydrants} incremental persist(s) in {pushed:,}ms; pushed to deep storage in {rng.randint(300, 6000):,}ms. Load spec is: {{"type":"s3_zip","bucket":"{self.bucket}","key":"{AT_KEY}","S3Schema":"s3n"}}',
                ),
            ),
            Out(0, text("INFO", merge, STREAM_APPENDERATOR, "Push complete...")),
            Out(
                rng.randint(30, 300),
                text(
                    "INFO",
                    f"[{self.task.id}]-publish",
                    SEEKABLE,
                    f"Published 1 segments for sequence [{self.base}_{sequence}] with metadata [{{nextPartitions=SeekableStreamEndSequenceNumbers{{stream='{self.stream}', partitionSequenceNumberMap={{{offsets}}}}}}}].",
                ),
            ),
            Out(2, text("INFO", f"[{self.task.id}]-publish", SEEKABLE, "Saved sequence metadata to disk: []")),
            Out(
                rng.randint(2000, 20000),
                text(
                    "INFO",
                    RUNNER,
                    SEEKABLE,
                    f"Handoff complete for segments: DataSegment{{binaryVersion=9, id={AT_SEGMENT}, loadSpec={{type=>s3_zip, bucket=>{self.bucket}, key=>{AT_KEY}, S3Schema=>s3n}}, dimensions=[channel, country, user, device, page], metrics=[], shardSpec=NumberedShardSpec{{partitionNum={self.partition_number}, partitions=0}}, lastCompactionState=null, size={rng.randint(10**7, 9 * 10**8)}}}",
                ),
            ),
        ]

    def stopping(self) -> list[Out]:
        return [
            *super().stopping(),
            Out(1, text("INFO", "Thread-57", SEEKABLE, "Stopping gracefully (status: [READING])")),
        ]


# -- batch ingestion: index, index_parallel run sequentially, and what compact runs -----------------


class BatchPeon(Peon):
    """``index`` (and ``index_parallel`` with one sub-task): rows read, persisted in spills, pushed."""

    task_class = "org.apache.druid.indexing.common.task.IndexTask"

    def __init__(self, ctx: PeonContext) -> None:
        super().__init__(ctx)
        rng = self.rng
        intervals = dig(ctx.payload, "spec", "dataSchema", "granularitySpec", "intervals")
        max_rows = dig(ctx.payload, "spec", "tuningConfig", "maxRowsInMemory")
        self.max_rows = max_rows if isinstance(max_rows, int) and 0 < max_rows < 10**9 else 1_000_000
        first = intervals[0] if isinstance(intervals, list) and intervals else None
        self.interval = self._interval(first if isinstance(first, str) else None)
        self.version = format_instant(self.task.plan.running_at + rng.randint(1500, 4000))
        start, end = self.interval
        self.segment_base = f"{self.task.datasource}_{start}_{end}_{self.version}"
        self.counters["spill"] = Tally("persist", start=-1)
        self.counters["processed"] = Growing(0, ctx.rows_per_block)
        self.counters["partition"] = Tally("segment", style="suffix")
        self.persist_thread = f"[{self.task.id}]-batch-appenderator-persist"

    def _interval(self, given: str | None) -> tuple[str, str]:
        if given and "/" in given:
            start, end = given.split("/", 1)
            if re.fullmatch(r"\d{4}-\d\d-\d\dT[\d:.]+Z", start) and re.fullmatch(r"\d{4}-\d\d-\d\dT[\d:.]+Z", end):
                return start, end
        day = self.task.created_ms - self.task.created_ms % DAY_MS - DAY_MS
        return format_instant(day), format_instant(day + DAY_MS)

    def _segment(self) -> tuple[Part, ...]:
        return (self.segment_base, Counter("partition"))

    def _persist_start(self, rng: random.Random) -> tuple[list[Line], Num]:
        cause, rows, size = self.persist_cause(rng, self.max_rows, "")
        return [
            line("INFO", RUNNER, BATCH_APPENDERATOR, "Incremental persist to disk because ", *cause, "."),
            line("INFO", RUNNER, BATCH_APPENDERATOR, "Persisted rows[", rows, "] and bytes[", size, "]", after=1),
        ], rows

    def persist(self, rng: random.Random) -> Event:
        first, rows = self._persist_start(rng)
        took = rng.randint(300, 6000)
        persist = self.persist_thread
        return Event(
            (
                *first,
                line(
                    "INFO",
                    persist,
                    BATCH_APPENDERATOR,
                    "Flushed in-memory data for segment[",
                    *self._segment(),
                    "] spill[",
                    Counter("spill"),
                    "] to disk in [",
                    Num(took, took, commas=True),
                    "] ms (",
                    rows,
                    " rows).",
                    after=took,
                ),
                line(
                    "INFO",
                    persist,
                    BATCH_APPENDERATOR,
                    "Flushed in-memory data for segments: ",
                    *self._segment(),
                    after=took,
                ),
                line(
                    "INFO",
                    persist,
                    BATCH_APPENDERATOR,
                    "Persisted stats: processed rows: [",
                    Counter("processed"),
                    "], persisted rows[",
                    rows.plain(),
                    "], sinks: [1], total fireHydrants (across sinks): [1], persisted fireHydrants (across sinks): [1]",
                    after=took + 1,
                ),
                line(
                    "INFO",
                    RUNNER,
                    BATCH_APPENDERATOR,
                    "Clearing all sinks & hydrants, removing data on disk: [false]",
                    after=took + 2,
                ),
            ),
            "persist",
        )

    def event(self, rng: random.Random) -> Event:
        pick = rng.random()
        if pick < 0.62:
            return self.persist(rng)
        if pick < 0.66:
            return Event(
                (
                    line(
                        "INFO", RUNNER, DRIVER, "New segment[", *self._segment(), f"] for sequenceName[{self.task.id}]."
                    ),
                ),
                "segment",
            )
        if pick < 0.97:
            return self.metrics_event(rng, rng.randint(2, 6))
        return self.filler(rng)

    def filler(self, rng: random.Random) -> Event:
        pick = rng.random()
        if pick < 0.7:
            return self.metrics_event(rng, rng.randint(1, 2))
        return Event(
            (
                line(
                    "WARN",
                    RUNNER,
                    BATCH_APPENDERATOR,
                    "Ingestion was throttled for [",
                    Num(1_000, 90_000, commas=True),
                    "] millis because persists were pending.",
                ),
            ),
            "throttled",
        )

    def starting(self) -> list[Out]:
        rng = random.Random(f"{self.task.seed}:start")
        out = []
        if self.task.type == "index_parallel":
            out.append(
                Out(
                    rng.randint(4, 30),
                    text(
                        "WARN",
                        RUNNER,
                        f"{PARALLEL}.ParallelIndexSupervisorTask",
                        "maxNumConcurrentSubTasks[1] is less than or equal to 1. Running sequentially. Please set "
                        "maxNumConcurrentSubTasks to something higher than 1 if you want to run in parallel ingestion mode.",
                    ),
                )
            )
        out.append(self.info("Skipping determine partition scan", rng.randint(5, 80), logger=self.task_class))
        out.append(
            Out(
                rng.randint(30, 400),
                text("INFO", RUNNER, DRIVER, f"New segment[{self.segment_base}] for sequenceName[{self.task.id}]."),
            )
        )
        return out

    def pushes(self, writer: BlockWriter, body_bytes: int) -> list[Out]:
        rng = random.Random(f"{self.task.seed}:finish")
        segments = 1 + writer.tally_through("segment", body_bytes)
        processed = writer.growing_at("processed", body_bytes)
        rows = rng.randint(1, min(self.max_rows, self.rows_per_persist * 2))
        took = rng.randint(200, 3000)
        out = [
            Out(2, text("INFO", RUNNER, BATCH_APPENDERATOR, f"Persisted rows[{rows:,}] and bytes[{rows * 97:,}]")),
            Out(
                took,
                text(
                    "INFO",
                    self.persist_thread,
                    BATCH_APPENDERATOR,
                    f"Persisted stats: processed rows: [{processed}], persisted rows[{rows}], sinks: [1], total fireHydrants (across sinks): [1], persisted fireHydrants (across sinks): [1]",
                ),
            ),
            Out(
                3, text("INFO", f"[{self.task.id}]-batch-appenderator-push", BATCH_APPENDERATOR, "Preparing to push...")
            ),
        ]
        bucket = self.ctx.pools.deep_storage
        start, end = self.interval
        for partition in range(segments):
            segment = self.segment_base + (f"_{partition}" if partition else "")
            key = (
                f"druid/segments/{self.task.datasource}/{start.replace('-', '').replace(':', '')}_"
                f"{end.replace('-', '').replace(':', '')}/{self.version.replace(':', '_')}/{partition}/"
                f"{uuid.UUID(int=rng.getrandbits(128))}/index.zip"
            )
            merged = rng.randint(2_000, 60_000)
            out.append(
                Out(
                    merged,
                    text(
                        "INFO",
                        f"[{self.task.id}]-batch-appenderator-push",
                        BATCH_APPENDERATOR,
                        f"Segment[{segment}] of {rng.randint(10**7, 6 * 10**8):,} bytes built from {rng.randint(1, 40)} "
                        f"incremental persist(s) in {merged:,}ms; pushed to deep storage in {rng.randint(300, 9000):,}ms. "
                        f'Load spec is: {{"type":"s3_zip","bucket":"{bucket}","key":"{key}","S3Schema":"s3n"}}',
                    ),
                )
            )
        out.append(
            Out(1, text("INFO", f"[{self.task.id}]-batch-appenderator-push", BATCH_APPENDERATOR, "Push complete..."))
        )
        out.append(
            self.info(
                f"Processed[{processed:,}] events, unparseable[0], thrownAway[0].",
                rng.randint(20, 300),
                logger="org.apache.druid.indexing.common.task.IndexTask",
            )
        )
        out.append(
            self.info(
                f"Published [{segments}] segments",
                rng.randint(40, 900),
                logger="org.apache.druid.indexing.common.task.IndexTask",
            )
        )
        return out

    def finishing(self, writer: BlockWriter, body_bytes: int) -> list[Out]:
        return self.pushes(writer, body_bytes)


class CompactionPeon(BatchPeon):
    """``compact``: one spec generated, the interval's segments pulled from deep storage, rewritten."""

    task_class = "org.apache.druid.indexing.common.task.CompactionTask"

    def __init__(self, ctx: PeonContext) -> None:
        super().__init__(ctx)
        given = dig(ctx.payload, "ioConfig", "inputSpec", "interval")
        self.interval = self._interval(given if isinstance(given, str) else None)
        start, end = self.interval
        self.segment_base = f"{self.task.datasource}_{start}_{end}_{self.version}"
        rng = self.rng
        self.old_version = format_instant(self.task.created_ms - rng.randrange(DAY_MS, 9 * DAY_MS))
        self.counters["pulled"] = Tally("pull", start=-1)
        self.counters["pulled_suffix"] = Tally("pull", start=-1, style="suffix")

    def pull(self, rng: random.Random) -> Event:
        start, end = self.interval
        ds = self.task.datasource
        key: tuple[Part, ...] = (
            f"druid/segments/{ds}/{start.replace('-', '').replace(':', '')}_{end.replace('-', '').replace(':', '')}/"
            f"{self.old_version.replace(':', '_')}/",
            Counter("pulled"),
            f"/{uuid.UUID(int=rng.getrandbits(128))}/index.zip",
        )
        where: tuple[Part, ...] = (f"CloudObjectLocation{{bucket='{self.ctx.pools.deep_storage}', path='", *key, "'}")
        out_dir: tuple[Part, ...] = (
            f"var/druid/task/{self.task.id}/work/indexing-tmp/{ds}_{start}_{end}_{self.old_version}",
            Counter("pulled_suffix"),
        )
        took = rng.randint(40, 4000)
        return Event(
            (
                line("INFO", RUNNER, S3_PULLER, "Pulling index at path[", *where, "] to outDir[", *out_dir, "]"),
                line(
                    "INFO",
                    RUNNER,
                    S3_PULLER,
                    "Loaded ",
                    Num(2_000_000, 700_000_000),
                    " bytes from [",
                    *where,
                    "] to [",
                    *out_dir,
                    "]",
                    after=took,
                ),
            ),
            "pull",
        )

    def event(self, rng: random.Random) -> Event:
        return self.pull(rng) if rng.random() < 0.2 else super().event(rng)

    def starting(self) -> list[Out]:
        rng = random.Random(f"{self.task.seed}:start")
        start, end = self.interval
        spec = {
            "type": "index_parallel",
            "id": self.task.id,
            "groupId": self.task.group_id,
            "resource": {"availabilityGroup": self.task.id, "requiredCapacity": 1},
            "spec": {
                "dataSchema": {
                    "dataSource": self.task.datasource,
                    "timestampSpec": {"column": "__time", "format": "millis", "missingValue": None},
                    "dimensionsSpec": {"dimensions": [{"type": "string", "name": "channel"}]},
                    "granularitySpec": {"type": "uniform", "segmentGranularity": "DAY", "rollup": False},
                },
                "ioConfig": {
                    "type": "index_parallel",
                    "inputSource": {"type": "druid", "dataSource": self.task.datasource, "interval": f"{start}/{end}"},
                    "appendToExisting": False,
                    "dropExisting": True,
                },
                "tuningConfig": {
                    "type": "index_parallel",
                    "maxRowsInMemory": self.max_rows,
                    "maxNumConcurrentSubTasks": 1,
                },
            },
            "context": {"storeCompactionState": True, "priority": 25, "appenderatorTrackingTaskId": self.task.id},
            "dataSource": self.task.datasource,
        }
        return [
            self.info("Generated [1] compaction task specs", rng.randint(100, 900)),
            self.info(f"Running indexSpec: {pretty(spec)}", rng.randint(2, 20)),
            *super().starting(),
        ]

    def finishing(self, writer: BlockWriter, body_bytes: int) -> list[Out]:
        return [*self.pushes(writer, body_bytes), self.info("Ran [1] specs, [1] succeeded, [0] failed", 3)]


# -- index_parallel in parallel ---------------------------------------------------------------------


class ParallelPeon(Peon):
    """``index_parallel`` with sub-tasks: the supervisor submits them and counts them as they succeed."""

    task_class = f"{PARALLEL}.ParallelIndexSupervisorTask"

    def __init__(self, ctx: PeonContext, concurrent: int) -> None:
        super().__init__(ctx)
        self.concurrent = concurrent
        source = section(ctx.payload, "spec", "ioConfig", "inputSource")
        prefixes = source.get("prefixes") or source.get("uris") or []
        prefix = str(prefixes[0]) if prefixes else f"s3://{ctx.pools.buckets[0]}/{self.task.datasource}/"
        bucket, _, path = prefix.removeprefix("s3://").partition("/")
        self.bucket, self.path = bucket, path.rstrip("/")
        self.counters["done"] = Tally("subtask")
        self.counters["spec"] = Tally("subtask", start=concurrent - 1)
        self.counters["expected"] = Tally("subtask", start=concurrent)  # the total, set in settle()
        self.total = concurrent

    def settle(self, writer: BlockWriter) -> None:
        plan = self.task.plan
        planned = writer.tally_through("subtask", int(max(0, plan.end_at - plan.running_at) * writer.rate))
        self.total = planned + self.concurrent
        self.counters["expected"] = Growing(self.total, 0.0)

    def _split(self, rng: random.Random) -> str:
        return f"InputSplit{{split=[CloudObjectLocation{{bucket='{self.bucket}', path='{self.path}/part-{rng.randrange(100000):05d}.json.gz'}}]}}"

    def _submit(self, rng: random.Random, spec: tuple[Part, ...], after: int) -> list[Line]:
        sub = f"single_phase_sub_task_{self.task.datasource}_{random_id(rng)}_"
        return [
            line(
                "INFO",
                RUNNER,
                f"{PARALLEL}.ParallelIndexPhaseRunner",
                "Submit a new task for spec[",
                *spec,
                "] and inputSplit[",
                self._split(rng),
                "]",
                after=after,
            ),
            line(
                "INFO",
                RUNNER,
                f"{PARALLEL}.TaskMonitor",
                "Submitting a new task[",
                sub,
                Clock("iso", 1),
                "] for spec[",
                *spec,
                "]",
                after=after + 2,
            ),
        ]

    def event(self, rng: random.Random) -> Event:
        pick = rng.random()
        if pick < 0.35:
            spec = (f"{self.task.id}_", Counter("spec"))
            return Event(
                (
                    line(
                        "INFO",
                        "task-monitor-0",
                        f"{PARALLEL}.TaskMonitor",
                        "[",
                        Counter("done"),
                        "/",
                        Counter("expected"),
                        "] tasks succeeded",
                    ),
                    *self._submit(rng, spec, rng.randint(5, 900)),
                ),
                "subtask",
            )
        if pick < 0.37:
            spec = (f"{self.task.id}_", Counter("spec", -rng.randint(1, self.concurrent)))
            failed = f"single_phase_sub_task_{self.task.datasource}_{random_id(rng)}_"
            return Event(
                (
                    line(
                        "WARN",
                        "task-monitor-0",
                        f"{PARALLEL}.TaskMonitor",
                        "task[",
                        failed,
                        Clock("iso", -rng.randint(60_000, 600_000)),
                        "] failed!",
                    ),
                    line(
                        "INFO",
                        "task-monitor-0",
                        f"{PARALLEL}.TaskMonitor",
                        "We still have chances[1/3] to complete for spec[",
                        *spec,
                        "].",
                        after=1,
                    ),
                    line(
                        "INFO",
                        "task-monitor-0",
                        f"{PARALLEL}.TaskMonitor",
                        "Submitting a new task[",
                        failed,
                        Clock("iso", 3),
                        "] for retrying spec[",
                        *spec,
                        "]",
                        after=3,
                    ),
                ),
                "retry",
            )
        return self.metrics_event(rng, rng.randint(2, 6))

    def filler(self, rng: random.Random) -> Event:
        if rng.random() < 0.5:
            return super().filler(rng)
        interval = dig(self.ctx.payload, "spec", "dataSchema", "granularitySpec", "intervals")
        day = str(interval[0]).split("/")[0][:10] if isinstance(interval, list) and interval else "2026-01-01"
        action = (
            f"SegmentAllocateAction{{dataSource='{self.task.datasource}', timestamp={day}T",
            Num(10, 23),
            ":",
            Num(10, 59),
            ":00.000Z, queryGranularity=NoneGranularity, preferredSegmentGranularity={type=period, period=P1D, "
            f"timeZone=UTC, origin=null}}, sequenceName='{self.task.id}_",
            Num(0, 400),
            "', previousSegmentId='null', skipSegmentLineageCheck=false, lockGranularity=TIME_CHUNK}",
        )
        client = "org.apache.druid.indexing.common.actions.RemoteTaskActionClient"
        submit = line(
            "INFO", RUNNER, client, f"Submitting action for task[{self.task.id}] to overlord: [", *action, "]."
        )
        return Event((submit,), "allocation")

    def starting(self) -> list[Out]:
        rng = random.Random(f"{self.task.seed}:start")
        monitor = f"{PARALLEL}.TaskMonitor"
        runner = f"{PARALLEL}.ParallelIndexPhaseRunner"
        out = [
            self.info(
                f"TaskMonitor is initialized with expectedNumSucceededTasks[{self.total}]",
                rng.randint(200, 2500),
                logger=monitor,
            ),
            self.info("Starting taskMonitor", 0, logger=monitor),
            self.info("Submitting initial tasks", 1, logger=runner),
        ]
        for number in range(self.concurrent):
            spec = f"{self.task.id}_{number}"
            out.append(
                self.info(
                    f"Submit a new task for spec[{spec}] and inputSplit[{self._split(rng)}]",
                    rng.randint(2, 30),
                    logger=runner,
                )
            )
            out.append(
                self.info(
                    f"Submitting a new task[single_phase_sub_task_{self.task.datasource}_{random_id(rng)}_{AT_INSTANT}] for spec[{spec}]",
                    2,
                    logger=monitor,
                )
            )
        out.append(self.info("Waiting for subTasks to be completed", 1, logger=runner))
        return out

    def finishing(self, writer: BlockWriter, body_bytes: int) -> list[Out]:
        rng = random.Random(f"{self.task.seed}:finish")
        done = writer.tally_through("subtask", body_bytes)
        out = [
            Out(
                rng.randint(500, 20000),
                text("INFO", "task-monitor-0", f"{PARALLEL}.TaskMonitor", f"[{number}/{self.total}] tasks succeeded"),
            )
            for number in range(done + 1, self.total + 1)
        ]
        out += [
            self.info("Cleaning up resources", 3, logger=f"{PARALLEL}.ParallelIndexPhaseRunner"),
            self.info("Stopped taskMonitor", 0, logger=f"{PARALLEL}.TaskMonitor"),
            self.info(
                f"Published [{self.total + rng.randint(0, self.total)}] segments",
                rng.randint(300, 3000),
                logger=self.task_class,
            ),
        ]
        return out


# -- kill ----------------------------------------------------------------------------------------------


class KillPeon(Peon):
    """``kill``: unused segments deleted from the metadata store and deep storage, batch by batch."""

    task_class = "org.apache.druid.indexing.common.task.KillUnusedSegmentsTask"

    def __init__(self, ctx: PeonContext) -> None:
        super().__init__(ctx)
        interval = ctx.payload.get("interval")
        self.interval = interval if isinstance(interval, str) and "/" in interval else ""
        if not self.interval:
            day = self.task.created_ms - self.task.created_ms % DAY_MS - 120 * DAY_MS
            self.interval = f"{format_instant(day)}/{format_instant(day + DAY_MS)}"
        size = ctx.payload.get("batchSize")
        self.batch_size = size if isinstance(size, int) and size > 0 else 100
        self.counters["batches"] = Tally("batch")

    def _removal(self, rng: random.Random, after: int = 0) -> Line:
        """``S3DataSegmentKiller`` deleting one unused segment's file."""
        start, end = self.interval.split("/", 1)
        version = format_instant(self.task.created_ms - rng.randrange(100 * DAY_MS, 500 * DAY_MS))
        where = f"{self.task.datasource}/{basic_iso(_ms(start))}_{basic_iso(_ms(end))}/{version.replace(':', '_')}"
        return line(
            "INFO",
            RUNNER,
            "org.apache.druid.storage.s3.S3DataSegmentKiller",
            f"Removing index file[s3://{self.ctx.pools.deep_storage}/druid/segments/{where}/",
            Num(0, 120),
            f"/{uuid.UUID(int=rng.getrandbits(128))}/index.zip] from s3!",
            after=after,
        )

    def event(self, rng: random.Random) -> Event:
        if rng.random() < 0.7:
            return self.metrics_event(rng, rng.randint(2, 6))
        lines = [self._removal(rng, number * rng.randint(20, 90)) for number in range(rng.randint(1, 4))]
        done = line(
            "INFO",
            RUNNER,
            self.task_class,
            "Processed [",
            Counter("batches"),
            f"] batches for kill task[{self.task.id}].",
        )
        return Event((*lines, Line(done.parts, len(lines) * 90)), "batch")

    def filler(self, rng: random.Random) -> Event:
        if rng.random() < 0.5:
            return super().filler(rng)
        return Event((self._removal(rng),), "removal")

    def starting(self) -> list[Out]:
        return [
            self.info(
                f"Starting kill for datasource[{self.task.datasource}] in interval[{self.interval}] and versions[null] with "
                f"batchSize[{self.batch_size}], up to limit[null] segments before maxUsedStatusLastUpdatedTime[null] will be deleted.",
                random.Random(f"{self.task.seed}:start").randint(20, 300),
            )
        ]

    def finishing(self, writer: BlockWriter, body_bytes: int) -> list[Out]:
        batches = writer.tally_through("batch", body_bytes)
        segments = batches * self.batch_size + random.Random(f"{self.task.seed}:finish").randint(0, self.batch_size)
        return [
            self.info(
                f"Finished kill task[{self.task.id}] for dataSource[{self.task.datasource}] and interval[{self.interval}]. "
                f"Deleted total [{segments}] unused segments in [{batches + 1}] batches.",
                40,
            )
        ]


def _ms(instant: str) -> int:
    """Milliseconds of ``2026-01-01T00:00:00.000Z`` (what :func:`format_instant` writes)."""
    import calendar
    import time as _time

    seconds = calendar.timegm(_time.strptime(instant[:19], "%Y-%m-%dT%H:%M:%S"))
    return seconds * 1000 + int(instant[20:23] or 0)


# -- query_controller --------------------------------------------------------------------------------


class QueryControllerPeon(Peon):
    """``query_controller``: an MSQ query's stages started on their workers."""

    task_class = "org.apache.druid.msq.indexing.MSQControllerTask"
    CONTROLLER = "org.apache.druid.msq.exec.ControllerImpl"

    def __init__(self, ctx: PeonContext) -> None:
        super().__init__(ctx)
        self.counters["stage"] = Tally("stage", cap=12)

    def event(self, rng: random.Random) -> Event:
        if rng.random() < 0.15:
            where = rng.choice(("LOCAL_STORAGE", "MEMORY", "DURABLE_STORAGE"))
            shuffle = rng.choice(("globalSort", "mix", "hash", "none"))
            return Event(
                (
                    line(
                        "INFO",
                        RUNNER,
                        self.CONTROLLER,
                        f"Query [{self.task.id}] using workers[",
                        Num(1, 4),
                        "] for stage[",
                        Counter("stage"),
                        f"], writing to[{where}], shuffle[{shuffle}].",
                    ),
                ),
                "stage",
            )
        return self.metrics_event(rng, rng.randint(2, 5))

    def starting(self) -> list[Out]:
        return [
            self.info(
                f"Query [{self.task.id}] using workers[1] for stage[0], writing to[LOCAL_STORAGE], shuffle[globalSort].",
                400,
                logger=self.CONTROLLER,
            )
        ]


def peon_for(ctx: PeonContext) -> Peon:
    """The peon that runs ``ctx.task``, by task type (and, for ``index_parallel``, its sub-task count)."""
    kind = ctx.task.type
    if kind == "index_kafka":
        return KafkaPeon(ctx)
    if kind == "index_parallel":
        concurrent = dig(ctx.payload, "spec", "tuningConfig", "maxNumConcurrentSubTasks")
        if isinstance(concurrent, int) and concurrent > 1:
            return ParallelPeon(ctx, min(concurrent, 64))
        return BatchPeon(ctx)
    if kind == "index":
        return BatchPeon(ctx)
    if kind == "compact":
        return CompactionPeon(ctx)
    if kind == "kill":
        return KillPeon(ctx)
    if kind == "query_controller":
        return QueryControllerPeon(ctx)
    return Peon(ctx)


# -- start-up and the end, common to every peon ----------------------------------------------------------


def _properties(peon: Peon) -> list[tuple[str, str]]:
    ctx = peon.ctx
    pools = ctx.pools
    loaded = ", ".join(f'"{name}"' for name in peon.extensions)
    props = {
        "druid.emitter": "logging",
        "druid.emitter.logging.logLevel": "info",
        "druid.extensions.loadList": f"[{loaded}]",
        "druid.host": ctx.host,
        "druid.indexer.logs.s3Bucket": pools.deep_storage,
        "druid.indexer.logs.s3Prefix": "druid/indexing-logs",
        "druid.indexer.logs.type": "s3",
        "druid.indexer.runner.javaOptsArray": '["-server","-Xms1g","-Xmx1g","-XX:MaxDirectMemorySize=1g",'
        '"-Duser.timezone=UTC","-Dfile.encoding=UTF-8","-XX:+ExitOnOutOfMemoryError",'
        '"-Djava.util.logging.manager=org.apache.logging.log4j.jul.LogManager"]',
        "druid.indexer.task.baseTaskDir": "var/druid/task",
        "druid.metadata.storage.connector.connectURI": f"jdbc:postgresql://{pools.metadata_host}:5432/druid",
        "druid.metadata.storage.connector.password": "<masked>",
        "druid.metadata.storage.connector.user": "druid",
        "druid.metadata.storage.type": "postgresql",
        "druid.plaintextPort": str(ctx.port),
        "druid.processing.buffer.sizeBytes": "100MiB",
        "druid.processing.numMergeBuffers": "2",
        "druid.processing.numThreads": "1",
        "druid.service": "druid/middleManager",
        "druid.startup.logging.logProperties": "true",
        "druid.storage.baseKey": "druid/segments",
        "druid.storage.bucket": pools.deep_storage,
        "druid.storage.type": "s3",
        "druid.tlsPort": "-1",
        "druid.zk.paths.base": "/druid",
        "druid.zk.service.host": ",".join(f"{host}:2181" for host in pools.zookeepers),
        "file.encoding": "UTF-8",
        "java.vendor": "Eclipse Adoptium",
        "java.version": "17.0.14",
        "log4j.configurationFile": "conf/druid/cluster/_common/log4j2.xml",
        "user.timezone": "UTC",
    }
    return sorted(props.items())


def _node(peon: Peon, start_ms: int) -> str:
    ctx = peon.ctx
    return orjson.dumps(
        {
            "druidNode": {
                "service": "druid/middleManager",
                "host": ctx.host,
                "bindOnHost": False,
                "plaintextPort": ctx.port,
                "port": -1,
                "tlsPort": -1,
                "enablePlaintextPort": True,
                "enableTlsPort": False,
            },
            "nodeType": "peon",
            "services": {
                "dataNodeService": {
                    "type": "dataNodeService",
                    "tier": "_default_tier",
                    "maxSize": 0,
                    "serverType": "indexer-executor",
                    "priority": 0,
                },
                "lookupNodeService": {"type": "lookupNodeService", "lookupTier": "__default"},
            },
            "startTime": format_instant(start_ms),
        }
    ).decode()


def startup(peon: Peon, payload_json: str, start_ms: int) -> list[Out]:
    """Everything a peon logs from JVM start to ``Running task`` and its type's first lines."""
    ctx = peon.ctx
    rng = random.Random(f"{peon.task.seed}:startup")
    task_id = peon.task.id
    zk = rng.choice(ctx.pools.zookeepers)
    zk_ip, my_ip = rng.choice(ctx.pools.ips), rng.choice(ctx.pools.ips)
    out: list[Out] = []
    for number, name in enumerate(peon.extensions):
        jars = EXTENSION_JARS.get(name, f"{name}-{VERSION}.jar")
        after = rng.randint(700, 1300) if number == 0 else rng.randint(15, 140)
        out.append(
            Out(
                after,
                text(
                    "INFO",
                    "main",
                    "org.apache.druid.guice.ExtensionsLoader",
                    f"Loading extension [{name}], jars: {jars}. Druid extension dependencies []",
                ),
            )
        )
    memory = 1_073_741_824
    out.append(
        Out(
            rng.randint(400, 900),
            text(
                "INFO",
                "main",
                CLI_PEON,
                f"Starting up with processors[{rng.choice((2, 4, 8))}], memory[{memory:,}], maxMemory[{memory:,}], directMemory[{memory:,}]. Properties follow.",
            ),
        )
    )
    out += [
        Out(rng.randint(0, 1), text("INFO", "main", CLI_PEON, f"* {key}: {value}")) for key, value in _properties(peon)
    ]
    send = f"main-SendThread({zk}:2181)"
    out += [
        Out(rng.randint(20, 90), text("INFO", "main", LIFECYCLE, "Starting lifecycle [module] stage [INIT]")),
        Out(
            rng.randint(5, 40),
            text("INFO", "main", "org.apache.curator.framework.imps.CuratorFrameworkImpl", "Starting"),
        ),
        Out(
            rng.randint(1, 9),
            text(
                "INFO",
                "main",
                "org.apache.zookeeper.ZooKeeper",
                f"Initiating client connection, connectString={','.join(f'{h}:2181' for h in ctx.pools.zookeepers)} sessionTimeout=30000 watcher=org.apache.curator.ConnectionState@{peon.hashes[0]}",
            ),
        ),
        Out(
            rng.randint(2, 30),
            text(
                "INFO",
                send,
                "org.apache.zookeeper.ClientCnxn",
                f"Opening socket connection to server {zk}/{zk_ip}:2181.",
            ),
        ),
        Out(
            rng.randint(1, 12),
            text(
                "INFO",
                send,
                "org.apache.zookeeper.ClientCnxn",
                f"Socket connection established, initiating session, client: /{my_ip}:{rng.randint(32768, 60999)}, server: {zk}/{zk_ip}:2181",
            ),
        ),
        Out(
            rng.randint(2, 25),
            text(
                "INFO",
                send,
                "org.apache.zookeeper.ClientCnxn",
                f"Session establishment complete on server {zk}/{zk_ip}:2181, session id = {peon.session}, negotiated timeout = 30000",
            ),
        ),
        Out(
            rng.randint(0, 3),
            text(
                "INFO",
                "main-EventThread",
                "org.apache.curator.framework.state.ConnectionStateManager",
                "State change: CONNECTED",
            ),
        ),
        Out(rng.randint(60, 400), text("INFO", "main", LIFECYCLE, "Starting lifecycle [module] stage [NORMAL]")),
        Out(rng.randint(30, 200), text("INFO", "main", EXECUTOR, f"Running with task: {payload_json}")),
        Out(
            rng.randint(1, 6),
            text("INFO", "main", EXECUTOR, f"Attempting to lock file[var/druid/task/{task_id}/lock]."),
        ),
        Out(
            rng.randint(0, 2),
            text(
                "INFO", "main", EXECUTOR, f"Acquired lock file[var/druid/task/{task_id}/lock] in {rng.randint(0, 3)}ms."
            ),
        ),
        Out(rng.randint(5, 60), text("INFO", RUNNER, BACKGROUND, f"Running task: {task_id}")),
        Out(rng.randint(1, 20), text("INFO", "main", LIFECYCLE, "Starting lifecycle [module] stage [SERVER]")),
        Out(
            rng.randint(2, 15),
            text(
                "INFO",
                "main",
                "org.eclipse.jetty.server.Server",
                "jetty-9.4.57.v20241219; built: 2025-01-08T21:24:30.412Z; git: df524e6b29271c2e09ba9aea83c18dc9db464a31; jvm 17.0.14+7",
            ),
        ),
        Out(
            rng.randint(40, 300),
            text(
                "INFO",
                "main",
                "org.eclipse.jetty.server.handler.ContextHandler",
                f"Started o.e.j.s.ServletContextHandler@{peon.hashes[1]}{{/,null,AVAILABLE}}",
            ),
        ),
        Out(
            rng.randint(1, 12),
            text(
                "INFO",
                "main",
                "org.eclipse.jetty.server.AbstractConnector",
                f"Started ServerConnector@{peon.hashes[2]}{{HTTP/1.1, (http/1.1)}}{{0.0.0.0:{ctx.port}}}",
            ),
        ),
        Out(rng.randint(0, 3), text("INFO", "main", "org.eclipse.jetty.server.Server", f"Started @{AT_UPTIME}ms")),
        Out(rng.randint(1, 10), text("INFO", "main", LIFECYCLE, "Starting lifecycle [module] stage [ANNOUNCEMENTS]")),
        Out(rng.randint(2, 30), text("INFO", "main", ANNOUNCER, f"Announced self [{_node(peon, start_ms)}].")),
        Out(rng.randint(0, 4), text("INFO", "main", LIFECYCLE, "Successfully started lifecycle [module]")),
    ]
    return out + peon.starting()


def _exception(error_msg: str) -> str:
    if re.match(r"^[\w.$]+(Exception|Error)\b", error_msg):
        return error_msg
    return f"org.apache.druid.java.util.common.RE: {error_msg}"


def ending(
    peon: Peon, status: dict[str, Any], how: str, writer: BlockWriter, body_bytes: int, start_ms: int
) -> tuple[list[Out], list[Out]]:
    """(lines before ``Task completed with status``, the rest) for a task ending ``how``.

    ``how``: ``success``, ``failed`` (an exception in the task) or ``shutdown`` (a graceful stop).
    """
    task = peon.task
    before: list[Out]
    if how == "success":
        before = peon.finishing(writer, body_bytes)
    elif how == "shutdown":
        before = [Out(0, text("INFO", "Thread-57", CLI_PEON, "Running shutdown hook")), *peon.stopping()]
    else:
        frames = (
            f"{peon.task_class}.runTask({peon.task_class.rsplit('.', 1)[-1]}.java:{random.Random(task.seed).randint(180, 900)}) ~[druid-indexing-service-{VERSION}.jar:{VERSION}]",
            f"org.apache.druid.indexing.common.task.AbstractTask.run(AbstractTask.java:179) ~[druid-indexing-service-{VERSION}.jar:{VERSION}]",
            f"org.apache.druid.indexing.overlord.SingleTaskBackgroundRunner$SingleTaskBackgroundRunnerCallable.call(SingleTaskBackgroundRunner.java:478) [druid-indexing-service-{VERSION}.jar:{VERSION}]",
            f"org.apache.druid.indexing.overlord.SingleTaskBackgroundRunner$SingleTaskBackgroundRunnerCallable.call(SingleTaskBackgroundRunner.java:450) [druid-indexing-service-{VERSION}.jar:{VERSION}]",
            "java.base/java.util.concurrent.FutureTask.run(FutureTask.java:264) [?:?]",
            "java.base/java.util.concurrent.ThreadPoolExecutor.runWorker(ThreadPoolExecutor.java:1136) [?:?]",
            "java.base/java.util.concurrent.ThreadPoolExecutor$Worker.run(ThreadPoolExecutor.java:635) [?:?]",
            "java.base/java.lang.Thread.run(Thread.java:840) [?:?]",
        )
        context = "forceTimeChunkLock=true, useLineageBasedSegmentAllocation=true"
        described = (
            f"AbstractTask{{id='{task.id}', groupId='{task.group_id}', taskResource=TaskResource{{availabilityGroup="
            f"'{task.id}', requiredCapacity=1}}, dataSource='{task.datasource}', context={{{context}}}}}"
        )
        before = [
            Out(3, text("ERROR", RUNNER, BACKGROUND, f"Exception while running task[{described}]")),
            Out(0, _exception(str(status.get("errorMsg") or "")), stamped=False),
            *(Out(0, f"\tat {frame}", stamped=False) for frame in frames),
        ]
    after = [
        Out(1, text("INFO", RUNNER, EXECUTOR, f"Task completed with status: {pretty(status)}")),
        Out(6, text("INFO", "main", LIFECYCLE, "Stopping lifecycle [module] stage [ANNOUNCEMENTS]")),
        Out(1, text("INFO", "main", ANNOUNCER, f"Unannounced self [{_node(peon, start_ms)}].")),
        Out(4, text("INFO", "main", LIFECYCLE, "Stopping lifecycle [module] stage [SERVER]")),
        Out(
            2,
            text(
                "INFO",
                "main",
                "org.eclipse.jetty.server.AbstractConnector",
                f"Stopped ServerConnector@{peon.hashes[2]}{{HTTP/1.1, (http/1.1)}}{{0.0.0.0:{peon.ctx.port}}}",
            ),
        ),
        Out(
            1,
            text(
                "INFO",
                "main",
                "org.eclipse.jetty.server.handler.ContextHandler",
                f"Stopped o.e.j.s.ServletContextHandler@{peon.hashes[1]}{{/,null,STOPPED}}",
            ),
        ),
        Out(3, text("INFO", "main", LIFECYCLE, "Stopping lifecycle [module] stage [NORMAL]")),
        Out(12, text("INFO", "main", LIFECYCLE, "Stopping lifecycle [module] stage [INIT]")),
        Out(
            1,
            text(
                "INFO",
                "main",
                "org.apache.curator.framework.imps.CuratorFrameworkImpl",
                "backgroundOperationsLoop exiting",
            ),
        ),
        Out(9, text("INFO", "main", "org.apache.zookeeper.ZooKeeper", f"Session: {peon.session} closed")),
        Out(
            0,
            text(
                "INFO",
                "main-EventThread",
                "org.apache.zookeeper.ClientCnxn",
                f"EventThread shut down for session: {peon.session}",
            ),
        ),
        Out(2, "Finished peon task", stamped=False),
    ]
    return before, after
