"""Batch ingestion: ``index``, ``index_parallel`` run sequentially, and ``compact`` (which runs one).

Rows are read and persisted in spills (``BatchAppenderator``); a new segment starts each time one
fills ``maxRowsPerSegment``; at the end the spills are merged, pushed to deep storage and published.
``compact`` first pulls the segments it rewrites from deep storage, as it reads them.
"""

from __future__ import annotations

import random
import re
import uuid

from druid_sim.clock import format_instant
from druid_sim.overlord.jackson import pretty
from druid_sim.overlord.logblocks import BlockWriter, Counter, Event, Growing, Line, Num, Part, Tally
from druid_sim.overlord.peon.base import (
    DAY_MS,
    DRIVER,
    RUNNER,
    Out,
    Peon,
    PeonContext,
    count_in,
    dig,
    say,
    text,
)

BATCH_APPENDERATOR = "org.apache.druid.segment.realtime.appenderator.BatchAppenderator"
INDEX_TASK = "org.apache.druid.indexing.common.task.IndexTask"
SUPERVISOR_TASK = "org.apache.druid.indexing.common.task.batch.parallel.ParallelIndexSupervisorTask"
S3_PULLER = "org.apache.druid.storage.s3.S3DataSegmentPuller"
_INSTANT = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z")


def _path_time(instant: str) -> str:
    """An instant as deep-storage paths print it: ``20260101T000000.000Z``."""
    return instant.replace("-", "").replace(":", "")


class BatchPeon(Peon):
    """``index`` (and ``index_parallel`` with one sub-task): rows read, persisted in spills, pushed."""

    task_class = INDEX_TASK

    def __init__(self, ctx: PeonContext) -> None:
        super().__init__(ctx)
        intervals = dig(ctx.payload, "spec", "dataSchema", "granularitySpec", "intervals")
        first = intervals[0] if isinstance(intervals, list) and intervals else None
        self.interval = self._interval(first)
        self.max_rows = count_in(ctx.payload, "spec", "tuningConfig", "maxRowsInMemory", default=1_000_000)
        per_segment = count_in(
            ctx.payload, "spec", "tuningConfig", "partitionsSpec", "maxRowsPerSegment", default=5_000_000
        )
        # About six events a block: a new segment as often as the rows fill one.
        self.new_segment_chance = min(0.3, ctx.rows_per_block / (6 * per_segment))
        self.version = format_instant(self.task.plan.running_at + self.rng.randint(1500, 4000))
        start, end = self.interval
        self.segment_base = f"{self.task.datasource}_{start}_{end}_{self.version}"
        self.counters["spill"] = Tally("persist", start=-1)
        # read before the first persist: never fewer than that persist writes
        self.counters["processed"] = Growing(self.rows_per_persist * 3 // 2 + 1, ctx.rows_per_block)
        self.counters["partition"] = Tally("segment", style="suffix")
        self.persist_thread = f"[{self.task.id}]-batch-appenderator-persist"
        self.push_thread = f"[{self.task.id}]-batch-appenderator-push"

    def _interval(self, given: object) -> tuple[str, str]:
        """The interval the task ingests: the payload's, else the day before the task was created."""
        if isinstance(given, str) and "/" in given:
            start, end = given.split("/", 1)
            if _INSTANT.fullmatch(start) and _INSTANT.fullmatch(end):
                return start, end
        day = self.task.created_ms - self.task.created_ms % DAY_MS - DAY_MS
        return format_instant(day), format_instant(day + DAY_MS)

    def _segment(self) -> list[Part]:
        """The segment being written: the interval's, with the partition number after the first."""
        return [self.segment_base, Counter("partition")]

    def _persist_start(self, rng: random.Random) -> tuple[list[Line], Num]:
        cause, rows, size = self.persist_cause(rng, self.max_rows, "")
        return [
            say("INFO", RUNNER, BATCH_APPENDERATOR, "Incremental persist to disk because $cause.", cause=cause),
            say("INFO", RUNNER, BATCH_APPENDERATOR, "Persisted rows[$rows] and bytes[$size]", 1, rows=rows, size=size),
        ], rows

    def persist(self, rng: random.Random) -> Event:
        """Rows in memory persisted as the next spill of the current segment, then cleared."""
        first, rows = self._persist_start(rng)
        took = rng.randint(300, 6000)
        persist = self.persist_thread
        return Event(
            (
                *first,
                self.flushed(persist, BATCH_APPENDERATOR, took, self._segment(), rows),
                say("INFO", persist, BATCH_APPENDERATOR, "Flushed in-memory data for segments: $segment", took,
                    segment=self._segment()),
                say("INFO", persist, BATCH_APPENDERATOR, "Persisted stats: processed rows: [$processed], persisted "
                    "rows[$rows], sinks: [1], total fireHydrants (across sinks): [1], persisted fireHydrants (across "
                    "sinks): [1]", took + 1, processed=Counter("processed"), rows=rows.plain()),
                say("INFO", RUNNER, BATCH_APPENDERATOR, "Clearing all sinks & hydrants, removing data on disk: [false]",
                    took + 2),
            ),
            "persist",
        )  # fmt: skip

    def event(self, rng: random.Random) -> Event:
        pick = rng.random()
        if pick < self.new_segment_chance:
            started = say(
                "INFO",
                RUNNER,
                DRIVER,
                f"New segment[$segment] for sequenceName[{self.task.id}].",
                segment=self._segment(),
            )
            return Event((started,), "segment")  # fmt: skip
        if pick < 0.8:
            return self.persist(rng)
        if pick < 0.95:
            return self.emission(rng)
        return self.filler(rng)

    def filler(self, rng: random.Random) -> Event:
        if rng.random() < 0.9:
            return self.metrics_event(rng, rng.randint(1, 3))
        return self.throttled(BATCH_APPENDERATOR)

    def starting(self) -> list[Out]:
        rng = random.Random(f"{self.task.seed}:start")
        out = []
        if self.task.type == "index_parallel":
            sequential = (
                "maxNumConcurrentSubTasks[1] is less than or equal to 1. Running sequentially. Please set "
                "maxNumConcurrentSubTasks to something higher than 1 if you want to run in parallel ingestion mode."
            )
            out.append(Out(rng.randint(4, 30), text("WARN", RUNNER, SUPERVISOR_TASK, sequential)))
        out.append(self.info("Skipping determine partition scan", rng.randint(5, 80), logger=INDEX_TASK))
        started = f"New segment[{self.segment_base}] for sequenceName[{self.task.id}]."
        out.append(Out(rng.randint(30, 400), text("INFO", RUNNER, DRIVER, started)))
        return out

    def pushes(self, writer: BlockWriter, body_bytes: int) -> list[Out]:
        """The last persist, each segment merged and pushed, and the publish."""
        rng = random.Random(f"{self.task.seed}:finish")
        segments = 1 + writer.tally_through("segment", body_bytes)
        processed = writer.growing_at("processed", body_bytes)
        rows = rng.randint(1, min(self.max_rows, self.rows_per_persist * 2))
        persisted = (
            f"Persisted stats: processed rows: [{processed}], persisted rows[{rows}], sinks: [1], total fireHydrants "
            "(across sinks): [1], persisted fireHydrants (across sinks): [1]"
        )
        out = [
            Out(2, text("INFO", RUNNER, BATCH_APPENDERATOR, f"Persisted rows[{rows:,}] and bytes[{rows * 97:,}]")),
            Out(rng.randint(200, 3000), text("INFO", self.persist_thread, BATCH_APPENDERATOR, persisted)),
            Out(3, text("INFO", self.push_thread, BATCH_APPENDERATOR, "Preparing to push...")),
        ]
        start, end = self.interval
        where = f"druid/segments/{self.task.datasource}/{_path_time(start)}_{_path_time(end)}/"
        for partition in range(segments):
            key = f"{where}{self.version.replace(':', '_')}/{partition}/{uuid.UUID(int=rng.getrandbits(128))}/index.zip"
            load = f'{{"type":"s3_zip","bucket":"{self.ctx.pools.deep_storage}","key":"{key}","S3Schema":"s3n"}}'
            merged = rng.randint(2_000, 60_000)
            pushed = (
                f"Segment[{self.segment_base}{f'_{partition}' if partition else ''}] of {rng.randint(10**7, 6 * 10**8):,} "
                f"bytes built from {rng.randint(1, 40)} incremental persist(s) in {merged:,}ms; pushed to deep storage "
                f"in {rng.randint(300, 9000):,}ms. Load spec is: {load}"
            )
            out.append(Out(merged, text("INFO", self.push_thread, BATCH_APPENDERATOR, pushed)))
        processed_line = f"Processed[{processed:,}] events, unparseable[0], thrownAway[0]."
        out += [
            Out(1, text("INFO", self.push_thread, BATCH_APPENDERATOR, "Push complete...")),
            self.info(processed_line, rng.randint(20, 300), logger=INDEX_TASK),
            self.info(f"Published [{segments}] segments", rng.randint(40, 900), logger=INDEX_TASK),
        ]
        return out

    def finishing(self, writer: BlockWriter, body_bytes: int) -> list[Out]:
        return self.pushes(writer, body_bytes)


class CompactionPeon(BatchPeon):
    """``compact``: one spec generated, the interval's segments pulled from deep storage, rewritten."""

    task_class = "org.apache.druid.indexing.common.task.CompactionTask"

    def __init__(self, ctx: PeonContext) -> None:
        super().__init__(ctx)
        self.interval = self._interval(dig(ctx.payload, "ioConfig", "inputSpec", "interval"))
        start, end = self.interval
        self.segment_base = f"{self.task.datasource}_{start}_{end}_{self.version}"
        self.old_version = format_instant(self.task.created_ms - self.rng.randrange(DAY_MS, 9 * DAY_MS))
        self.counters["pulled"] = Tally("pull", start=-1)
        self.counters["pulled_suffix"] = Tally("pull", start=-1, style="suffix")

    def pull(self, rng: random.Random) -> Event:
        """One of the old segments fetched from deep storage to be read."""
        start, end = self.interval
        ds = self.task.datasource
        path = f"druid/segments/{ds}/{_path_time(start)}_{_path_time(end)}/{self.old_version.replace(':', '_')}/"
        where: list[Part] = [
            f"CloudObjectLocation{{bucket='{self.ctx.pools.deep_storage}', path='{path}",
            Counter("pulled"),
            f"/{uuid.UUID(int=rng.getrandbits(128))}/index.zip'}}",
        ]
        into: list[Part] = [
            f"var/druid/task/{self.task.id}/work/indexing-tmp/{ds}_{start}_{end}_{self.old_version}",
            Counter("pulled_suffix"),
        ]
        took = rng.randint(40, 4000)
        return Event(
            (
                say("INFO", RUNNER, S3_PULLER, "Pulling index at path[$where] to outDir[$into]", where=where, into=into),
                say("INFO", RUNNER, S3_PULLER, "Loaded $bytes bytes from [$where] to [$into]", took,
                    bytes=Num(2_000_000, 700_000_000), where=where, into=into),
            ),
            "pull",
        )  # fmt: skip

    def event(self, rng: random.Random) -> Event:
        return self.pull(rng) if rng.random() < 0.2 else super().event(rng)

    def starting(self) -> list[Out]:
        rng = random.Random(f"{self.task.seed}:start")
        start, end = self.interval
        ds = self.task.datasource
        spec = {
            "type": "index_parallel",
            "id": self.task.id,
            "groupId": self.task.group_id,
            "resource": {"availabilityGroup": self.task.id, "requiredCapacity": 1},
            "spec": {
                "dataSchema": {
                    "dataSource": ds,
                    "timestampSpec": {"column": "__time", "format": "millis", "missingValue": None},
                    "dimensionsSpec": {"dimensions": [{"type": "string", "name": "channel"}]},
                    "granularitySpec": {"type": "uniform", "segmentGranularity": "DAY", "rollup": False},
                },
                "ioConfig": {
                    "type": "index_parallel",
                    "inputSource": {"type": "druid", "dataSource": ds, "interval": f"{start}/{end}"},
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
            "dataSource": ds,
        }
        return [
            self.info("Generated [1] compaction task specs", rng.randint(100, 900)),
            self.info(f"Running indexSpec: {pretty(spec)}", rng.randint(2, 20)),
            *super().starting(),
        ]

    def finishing(self, writer: BlockWriter, body_bytes: int) -> list[Out]:
        return [*self.pushes(writer, body_bytes), self.info("Ran [1] specs, [1] succeeded, [0] failed", 3)]
