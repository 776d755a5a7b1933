"""``kill``: the interval's unused segments deleted, batch by batch, from metadata and deep storage."""

from __future__ import annotations

import random
import uuid

from druid_sim.clock import format_instant
from druid_sim.overlord.logblocks import BlockWriter, Counter, Event, Line, Num, Part, Tally
from druid_sim.overlord.peon.base import DAY_MS, RUNNER, Out, Peon, PeonContext, basic_iso, count_in, dig, ms_of, say

KILLER = "org.apache.druid.storage.s3.S3DataSegmentKiller"


class KillPeon(Peon):
    """``kill``: unused segments deleted from the metadata store and deep storage, batch by batch."""

    task_class = "org.apache.druid.indexing.common.task.KillUnusedSegmentsTask"

    def __init__(self, ctx: PeonContext) -> None:
        super().__init__(ctx)
        interval = dig(ctx.payload, "interval")
        start = end = ""
        if isinstance(interval, str) and "/" in interval:
            start, end = interval.split("/", 1)
        try:
            self.span = (ms_of(start), ms_of(end))
        except ValueError:
            day = self.task.created_ms - self.task.created_ms % DAY_MS - 120 * DAY_MS
            self.span = (day, day + DAY_MS)
        self.interval = f"{format_instant(self.span[0])}/{format_instant(self.span[1])}"
        self.batch_size = count_in(ctx.payload, "batchSize", default=100, most=100_000)
        self.counters["batches"] = Tally("batch")

    def _removal(self, rng: random.Random, after: int = 0) -> Line:
        """``S3DataSegmentKiller`` deleting one unused segment's file."""
        version = format_instant(self.task.created_ms - rng.randrange(100 * DAY_MS, 500 * DAY_MS))
        where = (
            f"{self.task.datasource}/{basic_iso(self.span[0])}_{basic_iso(self.span[1])}/{version.replace(':', '_')}"
        )
        key: list[Part] = [f"druid/segments/{where}/", Num(0, 120), f"/{uuid.UUID(int=rng.getrandbits(128))}/index.zip"]
        bucket = self.ctx.pools.deep_storage
        return say("INFO", RUNNER, KILLER, f"Removing index file[s3://{bucket}/$key] from s3!", after, key=key)

    def event(self, rng: random.Random) -> Event:
        pick = rng.random()
        if pick < 0.2:
            return self.emission(rng)
        if pick < 0.4:
            return self.filler(rng)
        removed = [self._removal(rng, number * rng.randint(20, 90)) for number in range(rng.randint(1, 4))]
        message = f"Processed [$batches] batches for kill task[{self.task.id}]."
        done = say("INFO", RUNNER, self.task_class, message, len(removed) * 90, batches=Counter("batches"))
        return Event((*removed, done), "batch")

    def filler(self, rng: random.Random) -> Event:
        return super().filler(rng) if rng.random() < 0.5 else Event((self._removal(rng),), "removal")

    def starting(self) -> list[Out]:
        started = (
            f"Starting kill for datasource[{self.task.datasource}] in interval[{self.interval}] and versions[null] "
            f"with batchSize[{self.batch_size}], up to limit[null] segments before "
            "maxUsedStatusLastUpdatedTime[null] will be deleted."
        )
        return [self.info(started, random.Random(f"{self.task.seed}:start").randint(20, 300))]

    def finishing(self, writer: BlockWriter, body_bytes: int) -> list[Out]:
        batches = writer.tally_through("batch", body_bytes) + 1
        segments = (batches - 1) * self.batch_size + random.Random(f"{self.task.seed}:finish").randint(
            1, self.batch_size
        )
        finished = (
            f"Finished kill task[{self.task.id}] for dataSource[{self.task.datasource}] and interval[{self.interval}]. "
            f"Deleted total [{segments}] unused segments in [{batches}] batches."
        )
        return [self.info(finished, 40)]
