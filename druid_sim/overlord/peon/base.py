"""What every peon's log has: the names Druid logs with, line helpers, metrics, and the base :class:`Peon`.

A :class:`Peon` is an :class:`~druid_sim.overlord.logblocks.EventSource` (the work phase, as events)
plus the one-off lines of its start and end (:class:`Out`). Subclasses (one module per task family)
say what their task type writes.
"""

from __future__ import annotations

import calendar
import random
import re
import time
from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import orjson

from druid_sim.clock import format_instant
from druid_sim.overlord.fakes import FakePools
from druid_sim.overlord.logblocks import BlockWriter, Clock, Counter, CounterSpec, Event, Line, Num, Part, instant
from druid_sim.overlord.task import Task

VERSION = "35.0.0"
#: ``maxBytesInMemory``'s default: a sixth of the peon's heap (``-Xmx1g``).
MAX_BYTES_IN_MEMORY = 1_073_741_824 // 6
#: The most a row is estimated to take in memory (the demo's Kafka rows take 4 to 6 KB): a persist the
#: heap budget causes holds at least ``HEAP_ROWS`` rows, however fast the log grows (issue 20 item 8: a
#: 2 MB/s log once persisted 83 rows as 150 MB).
MAX_ROW_BYTES_IN_MEMORY = 6 * 1024
HEAP_ROWS = MAX_BYTES_IN_MEMORY // MAX_ROW_BYTES_IN_MEMORY
RUNNER = "task-runner-0-priority-0"  # SingleTaskBackgroundRunner's thread
HOUR_MS = 3600 * 1000
DAY_MS = 24 * HOUR_MS

CLI_PEON = "org.apache.druid.cli.CliPeon"
LIFECYCLE = "org.apache.druid.java.util.common.lifecycle.Lifecycle"
EXECUTOR = "org.apache.druid.indexing.worker.executor.ExecutorLifecycle"
BACKGROUND = "org.apache.druid.indexing.overlord.SingleTaskBackgroundRunner"
ANNOUNCER = "org.apache.druid.curator.discovery.CuratorDruidNodeAnnouncer"
EMITTER = "org.apache.druid.java.util.emitter.core.LoggingEmitter"
DRIVER = "org.apache.druid.segment.realtime.appenderator.BaseAppenderatorDriver"

Metric = tuple[str, dict[str, Any], int, int]  # name, its own dimensions, smallest and largest value
#: JvmMonitor's metrics.
JVM_METRICS: tuple[Metric, ...] = (
    ("jvm/pool/committed", {"poolKind": "heap", "poolName": "G1 Eden Space"}, 4_194_304, 700_000_000),
    ("jvm/pool/used", {"poolKind": "heap", "poolName": "G1 Eden Space"}, 0, 600_000_000),
    ("jvm/pool/used", {"poolKind": "heap", "poolName": "G1 Old Gen"}, 1_000_000, 700_000_000),
    ("jvm/pool/used", {"poolKind": "heap", "poolName": "G1 Survivor Space"}, 0, 40_000_000),
    ("jvm/pool/used", {"poolKind": "nonheap", "poolName": "Metaspace"}, 60_000_000, 140_000_000),
    ("jvm/pool/used", {"poolKind": "nonheap", "poolName": "CodeHeap 'non-profiled nmethods'"}, 500_000, 60_000_000),
    ("jvm/pool/committed", {"poolKind": "nonheap", "poolName": "Metaspace"}, 60_000_000, 150_000_000),
    ("jvm/pool/used", {"poolKind": "nonheap", "poolName": "Compressed Class Space"}, 5_000_000, 20_000_000),
    ("jvm/pool/used", {"poolKind": "nonheap", "poolName": "CodeHeap 'non-nmethods'"}, 1_000_000, 9_000_000),
    ("jvm/pool/max", {"poolKind": "heap", "poolName": "G1 Old Gen"}, 1_073_741_824, 1_073_741_824),
    ("jvm/pool/init", {"poolKind": "nonheap", "poolName": "Compressed Class Space"}, 0, 0),
    ("jvm/mem/used", {"memKind": "heap"}, 20_000_000, 1_073_741_824),
    ("jvm/mem/committed", {"memKind": "heap"}, 268_435_456, 1_073_741_824),
    ("jvm/mem/max", {"memKind": "heap"}, 1_073_741_824, 1_073_741_824),
    ("jvm/mem/used", {"memKind": "nonheap"}, 60_000_000, 190_000_000),
    ("jvm/mem/init", {"memKind": "nonheap"}, 7_667_712, 7_667_712),
    ("jvm/bufferpool/used", {"bufferpoolName": "direct"}, 0, 1_073_741_824),
    ("jvm/bufferpool/capacity", {"bufferpoolName": "direct"}, 0, 1_073_741_824),
    ("jvm/bufferpool/count", {"bufferpoolName": "direct"}, 0, 2_000),
    ("jvm/bufferpool/count", {"bufferpoolName": "mapped"}, 0, 4_000),
    ("jvm/gc/count", {"gcGen": ["young"], "gcName": ["g1"]}, 0, 400),
    ("jvm/gc/cpu", {"gcGen": ["young"], "gcName": ["g1"]}, 0, 900_000_000),
    ("jvm/gc/count", {"gcGen": ["old"], "gcName": ["g1"]}, 0, 3),
    ("jvm/gc/cpu", {"gcGen": ["old"], "gcName": ["g1"]}, 0, 90_000_000),
)
#: Placeholders in start and end lines for what depends on the line's own time (``Peon.fill``).
AT_EPOCH, AT_SEGMENT, AT_KEY, AT_INSTANT, AT_UPTIME = "\x00", "\x01", "\x02", "\x03", "\x04"
#: Messages with which a peon never gets to log an ending: its process was killed or was never there.
_PROCESS_GONE = ("exited unsuccessfully", "disappeared", "Failed to run task", "Failed to assign")
_NAMED = re.compile(r"\$(?:\{(\w+)\}|(\w+))")


@lru_cache(maxsize=1024)
def _pieces(message: str) -> tuple[str, ...]:
    """``message`` split into text and names, alternately (``$name``, or ``${name}`` before a letter)."""
    pieces: list[str] = []
    last = 0
    for found in _NAMED.finditer(message):
        pieces += [message[last : found.start()], found.group(1) or found.group(2)]
        last = found.end()
    return (*pieces, message[last:])


def say(level: str, thread: str, logger: str, message: str, after: int = 0, **values: Part | list[Part]) -> Line:
    """A body line: ``message`` with each ``$name`` replaced by ``values[name]`` (a part, or several)."""
    parts: list[Part] = [f"{level} [{thread}] {logger} - "]
    for position, piece in enumerate(_pieces(message)):
        if position % 2 == 0:
            if piece:
                parts.append(piece)
            continue
        value = values[piece]
        if isinstance(value, list):
            parts.extend(value)
        else:
            parts.append(value)
    return Line(tuple(parts), after)


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


def ms_of(instant_text: str) -> int:
    """Milliseconds of ``2026-01-01T00:00:00.000Z`` (what :func:`format_instant` writes)."""
    seconds = calendar.timegm(time.strptime(instant_text[:19], "%Y-%m-%dT%H:%M:%S"))
    millis = instant_text[20:23]
    return seconds * 1000 + (int(millis) if millis.isdigit() else 0)


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


def count_in(payload: Any, *keys: str, default: int, most: int = 10**9) -> int:
    """A positive integer setting from the payload (``maxRowsInMemory``), or ``default``."""
    found = dig(payload, *keys)
    return found if isinstance(found, int) and not isinstance(found, bool) and 0 < found <= most else default


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
        self.session = f"0x{rng.getrandbits(64):016x}"  # the ZooKeeper session, opened and closed
        self.hashes = [f"{rng.getrandbits(32):x}" for _ in range(4)]  # Java objects' identity hashes
        self.rows_per_persist = max(1, int(ctx.rows_per_block / 3))  # about three persists a block
        #: How many of the persists a block would hold happen: fewer when rows come too slowly for the log's
        #: pace to fill the heap budget three times a block (each then holds ``HEAP_ROWS`` rows).
        self.persist_share = min(1.0, self.rows_per_persist / HEAP_ROWS)
        # The realtime monitor's metrics name the task; the JVM's carry their own dimensions only.
        task = {"dataSource": self.task.datasource, "taskId": [self.task.id], "taskType": self.task.type}
        self.metrics = [
            self._metric(name, own, task if name.startswith("ingest/") else {}, low, high)
            for name, own, low, high in self.metric_kinds()
        ]

    # -- the work phase (the EventSource protocol) ------------------------------------------------

    def event(self, rng: random.Random) -> Event:
        return self.emission(rng)

    def filler(self, rng: random.Random) -> Event:
        return self.metrics_event(rng, rng.randint(1, 3))

    def emission(self, rng: random.Random) -> Event:
        """A monitor emission: a burst of metrics, all stamped with the emission's time."""
        return self.metrics_event(rng, rng.randint(4, 12))

    def settle(self, writer: BlockWriter) -> None:
        """Counters that depend on the templates (totals) are set here; most types have none."""

    def metric_kinds(self) -> tuple[Metric, ...]:
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
        created = -rng.randint(0, 2)  # the emission's time, a millisecond or two before its lines
        for number, (before_value, dims, value) in enumerate(rng.sample(self.metrics, min(count, len(self.metrics)))):
            emitted = Clock("iso", created - number // 4)  # every metric of the emission has its time
            message = '{"feed":"metrics","timestamp":"$at$metric$value$dims'
            lines.append(
                say("INFO", "MonitorScheduler-0", EMITTER, message, number // 4, at=emitted, metric=before_value,
                    value=Num(value.lo, value.hi), dims=dims)
            )  # fmt: skip
        return Event(tuple(lines), "metrics")

    @staticmethod
    def throttled(appenderator: str) -> Event:
        """The appenderator's WARN when rows came in faster than persists could write them."""
        message = "Ingestion was throttled for [$ms] millis because persists were pending."
        line = say("WARN", RUNNER, appenderator, message, ms=Num(1_001, 4_999, commas=True))  # persists take seconds
        return Event((line,), "throttled")

    @staticmethod
    def flushed(thread: str, appenderator: str, took: int, segment: Part | list[Part], rows: Num) -> Line:
        """The persist thread's line for a spill written, ``took`` ms after the persist started."""
        message = "Flushed in-memory data for segment[$segment] spill[$spill] to disk in [$took] ms ($rows rows)."
        took_ms = Num(took, took, commas=True)
        return say("INFO", thread, appenderator, message, took, segment=segment, spill=Counter("spill"),
                   took=took_ms, rows=rows)  # fmt: skip

    def persist_cause(self, rng: random.Random, max_rows: int, estimated: str) -> tuple[list[Part], Num, Num]:
        """Why a persist happens, the rows it writes and their bytes, consistent with the task's row rate.

        Rows fill ``maxRowsInMemory`` only when they come fast enough; otherwise, persisting every few
        seconds, it is the heap budget that fills: ``maxBytesInMemory``, a sixth of the peon's 1 GiB
        heap. (The flush period, ``intermediatePersistPeriod``, is ten minutes: never the cause at this pace.)
        """
        expected = self.rows_per_persist
        if expected >= max_rows:
            rows = Num(max_rows, max_rows, commas=True)
            cause: list[Part] = [f"rowsCurrentlyInMemory[{max_rows}] is greater than maxRowsInMemory[{max_rows}]"]
            return cause, rows, Num(max_rows * 250, min(MAX_BYTES_IN_MEMORY - 1, max_rows * 1200), commas=True)
        if expected < HEAP_ROWS:  # rarer persists (persist_share), each as big as the heap budget allows
            rows = Num(HEAP_ROWS * 11 // 10, HEAP_ROWS * 3 // 2, commas=True)
        else:
            rows = Num(max(1, expected // 2), max(2, expected * 3 // 2), commas=True)
        memory = Num(MAX_BYTES_IN_MEMORY + 1, MAX_BYTES_IN_MEMORY + rng.randint(2, 9) * 100_000)
        cause = [
            f"{estimated}bytesCurrentlyInMemory[",
            memory,
            f"] is greater than maxBytesInMemory[{MAX_BYTES_IN_MEMORY}]",
        ]
        return cause, rows, Num(MAX_BYTES_IN_MEMORY - 30_000_000, MAX_BYTES_IN_MEMORY - 1_000_000, commas=True)

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
