"""``index_kafka``: a task group's partitions assigned and sought, then persists, checkpoints, the publish.

Offsets come from the task's ``startSequenceNumbers`` (a supervisor puts them there) and grow with the
plan's row rate, so every commit, checkpoint and the final publish show the partitions moving on. The
segment is the current hour's (``segmentGranularity: HOUR``): its id follows the clock.
"""

from __future__ import annotations

import random
import uuid

from druid_sim.clock import format_instant
from druid_sim.overlord.ids import random_id
from druid_sim.overlord.logblocks import BlockWriter, Clock, Counter, Event, Growing, Line, Num, Part, Periodic, Tally
from druid_sim.overlord.peon.base import (
    AT_EPOCH,
    AT_KEY,
    AT_SEGMENT,
    DRIVER,
    HOUR_MS,
    JVM_METRICS,
    RUNNER,
    Metric,
    Out,
    Peon,
    PeonContext,
    basic_iso,
    count_in,
    dig,
    say,
    section,
    text,
)

KAFKA_END = 9223372036854775807  # Long.MAX_VALUE: a Kafka task's open end offset
STREAM_APPENDERATOR = "org.apache.druid.segment.realtime.appenderator.StreamAppenderator"
SEEKABLE = "org.apache.druid.indexing.seekablestream.SeekableStreamIndexTaskRunner"
CONSUMER = "org.apache.kafka.clients.consumer.internals.ClassicKafkaConsumer"
APP_INFO = "org.apache.kafka.common.utils.AppInfoParser"
#: What the realtime metrics monitor adds to the JVM's.
INGEST_METRICS: tuple[Metric, ...] = (
    ("ingest/events/processed", {}, 0, 2_500_000),
    ("ingest/rows/output", {}, 0, 2_500_000),
    ("ingest/events/unparseable", {}, 0, 40),
    ("ingest/persists/count", {}, 0, 30),
    ("ingest/persists/timeMs", {}, 0, 90_000),
    ("ingest/events/messageGap", {}, 0, 60_000),
    ("ingest/handoff/count", {}, 0, 4),
)
_CONSUMER_CONFIG = (
    ("allow.auto.create.topics", "true"),
    ("auto.offset.reset", "none"),
    ("bootstrap.servers", "[{brokers}]"),
    ("client.id", "consumer-kafka-supervisor-{group}-1"),
    ("enable.auto.commit", "false"),
    ("fetch.max.bytes", "52428800"),
    ("group.id", "kafka-supervisor-{group}"),
    ("group.protocol", "classic"),
    ("isolation.level", "read_committed"),
    ("key.deserializer", "class org.apache.kafka.common.serialization.ByteArrayDeserializer"),
    ("max.poll.records", "500"),
    ("metadata.max.age.ms", "10000"),
    ("receive.buffer.bytes", "65536"),
    ("security.protocol", "PLAINTEXT"),
    ("value.deserializer", "class org.apache.kafka.common.serialization.ByteArrayDeserializer"),
)


def ktp(partition: int | str) -> str:
    """How ``KafkaTopicPartition`` prints itself."""
    return f"KafkaTopicPartition{{partition={partition}, topic='null', multiTopicPartition=false}}"


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
        offsets = {
            int(p): v for p, v in start.items() if str(p).isdigit() and isinstance(v, int) and 0 <= v < KAFKA_END
        }
        if not offsets:
            offsets = {p: rng.randrange(10**9, 6 * 10**10) for p in sorted(rng.sample(range(12), rng.randint(1, 3)))}
        self.offsets = dict(sorted(offsets.items())[:64])
        self.max_rows = count_in(ctx.payload, "tuningConfig", "maxRowsInMemory", default=150_000)
        self.stream = str(dig(ctx.payload, "ioConfig", "startSequenceNumbers", "stream") or self.task.datasource)
        self.base = str(dig(ctx.payload, "ioConfig", "baseSequenceName") or self.task.id)
        self.group = random_id(rng)
        self.client = (
            f"[Consumer clientId=consumer-kafka-supervisor-{self.group}-1, groupId=kafka-supervisor-{self.group}] "
        )
        self.brokers = [f"kafka-{number}.{ctx.pools.domain}:9092" for number in range(1, 4)]
        self.partition_number = rng.randint(1, 40)
        self.bucket = ctx.pools.deep_storage
        share = max(ctx.rows_per_block / len(self.offsets), 1.0)
        for partition, offset in self.offsets.items():
            self.counters[f"offset{partition}"] = Growing(offset, share)
        # read before the first persist: never fewer than that persist writes
        self.counters["processed"] = Growing(self.rows_per_persist * 3 // 2 + 1, ctx.rows_per_block)
        self.counters["spill"] = Tally("persist", start=-1)
        self.counters["hydrants"] = Tally("persist", start=1)
        self.counters["sequence"] = Tally("checkpoint")
        self._hours: dict[int, tuple[bytes, bytes]] = {}
        self.clocks["segment"] = Periodic(self._segment, HOUR_MS)
        self.clocks["key"] = Periodic(self._key, HOUR_MS)
        self.persist_thread = f"[{self.task.id}]-appenderator-persist"
        self.merge_thread = f"[{self.task.id}]-appenderator-merge"
        self.publish_thread = f"[{self.task.id}]-publish"

    def metric_kinds(self) -> tuple[Metric, ...]:
        return JVM_METRICS + INGEST_METRICS

    # -- the hour's segment -----------------------------------------------------------------------

    def _segment(self, ms: int) -> bytes:
        return (self._hours.get(ms // HOUR_MS) or self._hour(ms))[0]

    def _key(self, ms: int) -> bytes:
        return (self._hours.get(ms // HOUR_MS) or self._hour(ms))[1]

    def _hour(self, ms: int) -> tuple[bytes, bytes]:
        """The segment id and deep-storage key of the hour ``ms`` falls in."""
        hour = ms // HOUR_MS
        if len(self._hours) > 64:
            self._hours.clear()
        start = hour * HOUR_MS
        salt = random.Random(f"{self.task.seed}:{hour}")
        version = format_instant(start + salt.randrange(1000, 58000))
        interval = f"{format_instant(start)}_{format_instant(start + HOUR_MS)}"
        segment = f"{self.task.datasource}_{interval}_{version}_{self.partition_number}"
        key = (
            f"druid/segments/{self.task.datasource}/{basic_iso(start)}_{basic_iso(start + HOUR_MS)}/"
            f"{version.replace(':', '_')}/{self.partition_number}/{uuid.UUID(int=salt.getrandbits(128))}/index.zip"
        )
        found = self._hours[hour] = (segment.encode(), key.encode())
        return found

    # -- pieces of lines ---------------------------------------------------------------------------

    def _offsets(self) -> list[Part]:
        """``{KafkaTopicPartition{...}=offset, ...}`` with the offsets as they stand."""
        parts: list[Part] = ["{"]
        for number, partition in enumerate(self.offsets):
            parts += [", " if number else "", ktp(partition), "=", Counter(f"offset{partition}")]
        return [*parts, "}"]

    def _commit(self) -> list[Part]:
        """The driver's commit metadata: the sequence's segment and where each partition has got to."""
        sequence: list[Part] = [self.base, "_", Counter("sequence")]
        segment = Clock("segment")
        return [
            "AppenderatorDriverMetadata{segments={", *sequence, "=[SegmentWithState{segmentIdentifier=", segment,
            ", state=APPENDING}]}, lastSegmentIds={", *sequence, "=", segment,
            f"}}, callerMetadata={{nextPartitions=SeekableStreamStartSequenceNumbers{{stream='{self.stream}', "
            "partitionSequenceNumberMap=", *self._offsets(), ", exclusivePartitions=[]}, "
            f"publishPartitions=SeekableStreamEndSequenceNumbers{{stream='{self.stream}', partitionSequenceNumberMap=",
            *self._offsets(), "}}}",
        ]  # fmt: skip

    def _sequence(self, number: int | Counter) -> str | list[Part]:
        """``SequenceMetadata{...}`` as the runner prints it (offsets as they stand, or as they started)."""
        assignments = ", ".join(ktp(p) for p in self.offsets)
        ends = ", ".join(f"{ktp(p)}={KAFKA_END}" for p in self.offsets)
        if isinstance(number, int):
            starts = "{" + ", ".join(f"{ktp(p)}={offset}" for p, offset in self.offsets.items()) + "}"
            return (
                f"SequenceMetadata{{sequenceId={number}, sequenceName='{self.base}_{number}', "
                f"assignments=[{assignments}], startOffsets={starts}, exclusiveStartPartitions=[], "
                f"endOffsets={{{ends}}}, sentinel=false, checkpointed=false}}"
            )
        return [
            "SequenceMetadata{sequenceId=", number, f", sequenceName='{self.base}_", number,
            f"', assignments=[{assignments}], startOffsets=", *self._offsets(),
            f", exclusiveStartPartitions=[], endOffsets={{{ends}}}, sentinel=false, checkpointed=false}}",
        ]  # fmt: skip

    def _persist_start(self, rng: random.Random) -> tuple[list[Line], Num]:
        """The persist's reason and ``Persisted rows[...]``, and the rows it persists."""
        cause, rows, size = self.persist_cause(rng, self.max_rows, "(estimated) ")
        return [
            say("INFO", RUNNER, STREAM_APPENDERATOR, "Flushing in-memory data to disk because [$cause].", cause=cause),
            say("INFO", RUNNER, STREAM_APPENDERATOR, "Persisted rows[$rows] and (estimated) bytes[$size]", 1,
                rows=rows, size=size),
        ], rows  # fmt: skip

    # -- the work ----------------------------------------------------------------------------------

    def event(self, rng: random.Random) -> Event:
        pick = rng.random()
        if pick < 0.7:
            if self.persist_share >= 1.0 or rng.random() < self.persist_share:
                return self._persist(rng)
            return self.filler(rng)  # rows come too slowly for another persist yet: metrics fill the log
        if pick < 0.715:
            return self._checkpoint(rng)
        if pick < 0.85:
            return self.emission(rng)
        return self.filler(rng)

    def _persist(self, rng: random.Random) -> Event:
        """Rows flushed to a new spill and the commit metadata saved with them."""
        first, rows = self._persist_start(rng)
        took = rng.randint(120, 2400)
        persist = self.persist_thread
        return Event(
            (
                *first,
                self.flushed(persist, STREAM_APPENDERATOR, took, Clock("segment"), rows),
                say("INFO", persist, STREAM_APPENDERATOR, "Flushed in-memory data with commit metadata [$commit] "
                    "for segments: $segment", took + 1, commit=self._commit(), segment=Clock("segment")),
                say("INFO", persist, STREAM_APPENDERATOR, "Persisted stats: processed rows: [$processed], persisted "
                    "rows[$rows], sinks: [1], total fireHydrants (across sinks): [$hydrants], persisted fireHydrants "
                    "(across sinks): [1]", took + 1, processed=Counter("processed"), rows=rows.plain(),
                    hydrants=Counter("hydrants")),
            ),
            "persist",
        )  # fmt: skip

    def _checkpoint(self, rng: random.Random) -> Event:
        """A sequence checkpointed: its segment merged, pushed and published, a new sequence started."""
        merged = rng.randint(800, 9000)
        merge = self.merge_thread
        load = f'{{"type":"s3_zip","bucket":"{self.bucket}","key":"'
        return Event(
            (
                say("INFO", merge, STREAM_APPENDERATOR, "Preparing to push (stats): processed rows: [$processed], "
                    "sinks: [1], fireHydrants (across sinks): [$hydrants]", processed=Counter("processed"),
                    hydrants=Counter("hydrants")),
                say("INFO", merge, STREAM_APPENDERATOR, "Segment[$segment] of $bytes bytes built from $hydrants "
                    "incremental persist(s) in ${merged}ms; pushed to deep storage in ${pushed}ms. Load spec is: $load"
                    "$key\",\"S3Schema\":\"s3n\"}", merged, segment=Clock("segment"),
                    bytes=Num(20_000_000, 900_000_000, commas=True), hydrants=Counter("hydrants"),
                    merged=Num(merged, merged, commas=True), pushed=Num(300, 6000, commas=True), load=load,
                    key=Clock("key")),
                say("INFO", merge, STREAM_APPENDERATOR, "Push complete...", merged),
                say("INFO", self.publish_thread, SEEKABLE, "Published 1 segments for sequence [${base}_$sequence] with "
                    "metadata [$commit].", merged + 40, base=self.base, sequence=Counter("sequence", -1),
                    commit=self._commit()),
                say("INFO", RUNNER, SEEKABLE, "Saved sequence metadata to disk: [$sequence]", merged + 42,
                    sequence=self._sequence(Counter("sequence"))),
            ),
            "checkpoint",
        )  # fmt: skip

    def filler(self, rng: random.Random) -> Event:
        pick = rng.random()
        if pick < 0.8:  # the consumer's own lines are now and then, not every few seconds
            return self.metrics_event(rng, rng.randint(1, 3))
        node = Num(1, 3)
        if pick < 0.9:
            message = (
                "$client Node $node was unable to process the fetch request with (sessionId=$session, epoch=$epoch): "
            )
            fetch = say(
                "INFO",
                RUNNER,
                "org.apache.kafka.clients.FetchSessionHandler",
                message + "FETCH_SESSION_ID_NOT_FOUND.",
                client=self.client.rstrip(),
                node=node,
                session=Num(10_000_000, 2_147_483_647),
                epoch=Num(1, 99_999),
            )
            return Event((fetch,), "kafka")  # fmt: skip
        if pick < 0.99:
            lost = say(
                "INFO",
                RUNNER,
                "org.apache.kafka.clients.NetworkClient",
                "$client Node $node disconnected.",
                client=self.client.rstrip(),
                node=node,
            )
            return Event((lost,), "kafka")  # fmt: skip
        return self.throttled(STREAM_APPENDERATOR)

    # -- start and end -----------------------------------------------------------------------------

    def starting(self) -> list[Out]:
        rng = random.Random(f"{self.task.seed}:start")
        brokers, group = ", ".join(self.brokers), self.group
        config = "\n".join(f"\t{key} = {value.format(brokers=brokers, group=group)}" for key, value in _CONSUMER_CONFIG)
        sequence = self._sequence(0)
        out = [
            Out(rng.randint(3, 12), text("INFO", RUNNER, SEEKABLE, f"Starting with sequences: [{sequence}]")),
            Out(rng.randint(20, 60), text("INFO", RUNNER, "org.apache.kafka.clients.consumer.ConsumerConfig",
                                          f"ConsumerConfig values: \n{config}\n")),
            Out(rng.randint(40, 120), text("INFO", RUNNER, APP_INFO, "Kafka version: 3.9.1")),
            Out(0, text("INFO", RUNNER, APP_INFO, "Kafka commitId: f745dfdcee2b9851")),
            Out(0, text("INFO", RUNNER, APP_INFO, f"Kafka startTimeMs: {AT_EPOCH}")),
            Out(rng.randint(30, 200), text("INFO", RUNNER, SEEKABLE, f"Initialized sequences: {sequence}")),
        ]  # fmt: skip
        for partition, offset in self.offsets.items():
            message = f"Adding partition[{ktp(partition)}], start[{offset}] -> end[{KAFKA_END}] to assignment."
            out.append(Out(1, text("INFO", RUNNER, SEEKABLE, message)))
        assigned = ", ".join(f"{self.stream}-{p}" for p in self.offsets)
        out.append(Out(2, text("INFO", RUNNER, CONSUMER, f"{self.client}Assigned to partition(s): {assigned}")))
        for partition, offset in self.offsets.items():
            out.append(Out(1, text("INFO", RUNNER, SEEKABLE, f"Seeking partition[{ktp(partition)}] to[{offset}].")))
            seek = f"{self.client}Seeking to offset {offset} for partition {self.stream}-{partition}"
            out.append(Out(0, text("INFO", RUNNER, CONSUMER, seek)))
        cluster = f"{random_id(rng)}{random_id(rng)}Qx-{random_id(rng)[:3]}"
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
        """The supervisor's end offsets reached: the last persist, the push, the publish and the handoff."""
        rng = random.Random(f"{self.task.seed}:finish")
        offsets = ", ".join(f"{ktp(p)}={writer.growing_at(f'offset{p}', body_bytes)}" for p in self.offsets)
        processed = writer.growing_at("processed", body_bytes)
        sequence = writer.tally_through("checkpoint", body_bytes)
        hydrants = 1 + writer.tally_through("persist", body_bytes)
        rows = rng.randint(1, min(self.max_rows, self.rows_per_persist * 2))
        took, merged = rng.randint(100, 2000), rng.randint(800, 9000)
        persist, merge, publish = self.persist_thread, self.merge_thread, self.publish_thread
        load = f'{{"type":"s3_zip","bucket":"{self.bucket}","key":"{AT_KEY}","S3Schema":"s3n"}}'
        segment = (
            f"DataSegment{{binaryVersion=9, id={AT_SEGMENT}, loadSpec={{type=>s3_zip, bucket=>{self.bucket}, "
            f"key=>{AT_KEY}, S3Schema=>s3n}}, dimensions=[channel, country, user, device, page], metrics=[], "
            f"shardSpec=NumberedShardSpec{{partitionNum={self.partition_number}, partitions=0}}, "
            f"lastCompactionState=null, size={rng.randint(10**7, 9 * 10**8)}}}"
        )
        return [
            Out(1, text("INFO", RUNNER, SEEKABLE, "Stopping gracefully (status: [READING])")),
            Out(3, text("INFO", RUNNER, STREAM_APPENDERATOR, f"Persisted rows[{rows:,}] and (estimated) bytes[{rows * 412:,}]")),
            Out(took, text("INFO", persist, STREAM_APPENDERATOR, f"Flushed in-memory data for segment[{AT_SEGMENT}] "
                           f"spill[{hydrants - 1}] to disk in [{took:,}] ms ({rows:,} rows).")),
            Out(1, text("INFO", persist, STREAM_APPENDERATOR, f"Persisted stats: processed rows: [{processed}], persisted "
                        f"rows[{rows}], sinks: [1], total fireHydrants (across sinks): [{hydrants}], persisted fireHydrants "
                        "(across sinks): [1]")),
            Out(4, text("INFO", merge, STREAM_APPENDERATOR, f"Preparing to push (stats): processed rows: [{processed}], "
                        f"sinks: [1], fireHydrants (across sinks): [{hydrants}]")),
            Out(merged, text("INFO", merge, STREAM_APPENDERATOR, f"Segment[{AT_SEGMENT}] of {rng.randint(10**7, 9 * 10**8):,} "
                             f"bytes built from {hydrants} incremental persist(s) in {merged:,}ms; pushed to deep storage "
                             f"in {rng.randint(300, 6000):,}ms. Load spec is: {load}")),
            Out(0, text("INFO", merge, STREAM_APPENDERATOR, "Push complete...")),
            Out(rng.randint(30, 300), text("INFO", publish, SEEKABLE, f"Published 1 segments for sequence [{self.base}_"
                                           f"{sequence}] with metadata [{{nextPartitions=SeekableStreamEndSequenceNumbers"
                                           f"{{stream='{self.stream}', partitionSequenceNumberMap={{{offsets}}}}}}}].")),
            Out(2, text("INFO", publish, SEEKABLE, "Saved sequence metadata to disk: []")),
            Out(rng.randint(2000, 20000), text("INFO", RUNNER, SEEKABLE, f"Handoff complete for segments: {segment}")),
        ]  # fmt: skip

    def stopping(self) -> list[Out]:
        return [
            *super().stopping(),
            Out(1, text("INFO", "Thread-57", SEEKABLE, "Stopping gracefully (status: [READING])")),
        ]
