"""``index_parallel`` with sub-tasks: the supervisor task splits the input and runs a sub-task per split.

It submits ``maxNumConcurrentSubTasks`` sub-tasks, then a new one each time one succeeds
(``[3/8] tasks succeeded``), retries a failed one now and then, allocates segments for them, and
publishes their segments at the end. The number of splits is what its planned run has room for.
"""

from __future__ import annotations

import random

from druid_sim.overlord.ids import random_id
from druid_sim.overlord.logblocks import BlockWriter, Clock, Counter, Event, Growing, Line, Num, Part, Tally
from druid_sim.overlord.peon.base import AT_INSTANT, RUNNER, Out, Peon, PeonContext, dig, say, section, text

PARALLEL = "org.apache.druid.indexing.common.task.batch.parallel"
MONITOR = f"{PARALLEL}.TaskMonitor"
PHASE_RUNNER = f"{PARALLEL}.ParallelIndexPhaseRunner"
ACTIONS = "org.apache.druid.indexing.common.actions.RemoteTaskActionClient"


class ParallelPeon(Peon):
    """``index_parallel`` with sub-tasks: the supervisor submits them and counts them as they succeed."""

    task_class = f"{PARALLEL}.ParallelIndexSupervisorTask"

    def __init__(self, ctx: PeonContext, concurrent: int) -> None:
        super().__init__(ctx)
        self.concurrent = concurrent
        source = section(ctx.payload, "spec", "ioConfig", "inputSource")
        prefixes = source.get("prefixes") or source.get("uris") or []
        prefix = str(prefixes[0]) if isinstance(prefixes, list) and prefixes else ""
        if not prefix.startswith("s3://"):
            prefix = f"s3://{ctx.pools.buckets[0]}/{self.task.datasource}/"
        bucket, _, path = prefix.removeprefix("s3://").partition("/")
        self.bucket, self.path = bucket, path.rstrip("/")
        intervals = dig(ctx.payload, "spec", "dataSchema", "granularitySpec", "intervals")
        first = str(intervals[0]) if isinstance(intervals, list) and intervals else ""
        self.day = first[:10] if first[:4].isdigit() else "2026-01-01"
        self.counters["done"] = Tally("subtask")
        self.counters["spec"] = Tally("subtask", start=concurrent - 1)
        self.counters["expected"] = Tally("subtask", start=concurrent)  # the total; set in settle()
        self.total = concurrent

    def settle(self, writer: BlockWriter) -> None:
        """The splits: as many sub-tasks as succeed in the planned run, plus the last ones at the end."""
        plan = self.task.plan
        planned = writer.tally_through("subtask", int(max(0, plan.end_at - plan.running_at) * writer.rate))
        self.total = planned + self.concurrent
        self.counters["expected"] = Growing(self.total, 0.0)

    def _split(self, rng: random.Random) -> str:
        file = f"{self.path}/part-{rng.randrange(100000):05d}.json.gz"
        return f"InputSplit{{split=[CloudObjectLocation{{bucket='{self.bucket}', path='{file}'}}]}}"

    def _submit(self, rng: random.Random, spec: list[Part], after: int) -> list[Line]:
        sub: list[Part] = [f"single_phase_sub_task_{self.task.datasource}_{random_id(rng)}_", Clock("iso", 1)]
        return [
            say("INFO", RUNNER, PHASE_RUNNER, "Submit a new task for spec[$spec] and inputSplit[$split]", after,
                spec=spec, split=self._split(rng)),
            say("INFO", RUNNER, MONITOR, "Submitting a new task[$sub] for spec[$spec]", after + 2, sub=sub, spec=spec),
        ]  # fmt: skip

    def event(self, rng: random.Random) -> Event:
        pick = rng.random()
        if pick < 0.35:
            done = say(
                "INFO",
                "task-monitor-0",
                MONITOR,
                "[$done/$expected] tasks succeeded",
                done=Counter("done"),
                expected=Counter("expected"),
            )
            return Event((done, *self._submit(rng, [f"{self.task.id}_", Counter("spec")], rng.randint(5, 900))), "subtask")  # fmt: skip
        if pick < 0.37:
            spec: list[Part] = [f"{self.task.id}_", Counter("spec", -rng.randint(1, self.concurrent))]
            sub = f"single_phase_sub_task_{self.task.datasource}_{random_id(rng)}_"
            return Event(
                (
                    say("WARN", "task-monitor-0", MONITOR, "task[$sub] failed!",
                        sub=[sub, Clock("iso", -rng.randint(60_000, 600_000))]),
                    say("INFO", "task-monitor-0", MONITOR, "We still have chances[1/3] to complete for spec[$spec].", 1,
                        spec=spec),
                    say("INFO", "task-monitor-0", MONITOR, "Submitting a new task[$sub] for retrying spec[$spec]", 3,
                        sub=[sub, Clock("iso", 3)], spec=spec),
                ),
                "retry",
            )  # fmt: skip
        return self.emission(rng) if pick < 0.6 else self.filler(rng)

    def filler(self, rng: random.Random) -> Event:
        if rng.random() < 0.5:
            return super().filler(rng)
        action: list[Part] = [
            f"SegmentAllocateAction{{dataSource='{self.task.datasource}', timestamp={self.day}T", Num(10, 23), ":",
            Num(10, 59), ":00.000Z, queryGranularity=NoneGranularity, preferredSegmentGranularity={type=period, "
            f"period=P1D, timeZone=UTC, origin=null}}, sequenceName='{self.task.id}_", Num(0, 400),
            "', previousSegmentId='null', skipSegmentLineageCheck=false, lockGranularity=TIME_CHUNK}",
        ]  # fmt: skip
        message = f"Submitting action for task[{self.task.id}] to overlord: [$action]."
        return Event((say("INFO", RUNNER, ACTIONS, message, action=action),), "allocation")

    def starting(self) -> list[Out]:
        rng = random.Random(f"{self.task.seed}:start")
        initialized = f"TaskMonitor is initialized with expectedNumSucceededTasks[{self.total}]"
        out = [
            self.info(initialized, rng.randint(200, 2500), logger=MONITOR),
            self.info("Starting taskMonitor", 0, logger=MONITOR),
            self.info("Submitting initial tasks", 1, logger=PHASE_RUNNER),
        ]
        for number in range(self.concurrent):
            spec = f"{self.task.id}_{number}"
            sub = f"single_phase_sub_task_{self.task.datasource}_{random_id(rng)}_{AT_INSTANT}"
            split = self._split(rng)
            out.append(self.info(f"Submit a new task for spec[{spec}] and inputSplit[{split}]", rng.randint(2, 30),
                                 logger=PHASE_RUNNER))  # fmt: skip
            out.append(self.info(f"Submitting a new task[{sub}] for spec[{spec}]", 2, logger=MONITOR))
        out.append(self.info("Waiting for subTasks to be completed", 1, logger=PHASE_RUNNER))
        return out

    def finishing(self, writer: BlockWriter, body_bytes: int) -> list[Out]:
        """The last sub-tasks succeeding, the monitor stopped, their segments published."""
        rng = random.Random(f"{self.task.seed}:finish")
        done = writer.tally_through("subtask", body_bytes)
        out = [
            Out(rng.randint(500, 20000), text("INFO", "task-monitor-0", MONITOR, f"[{number}/{self.total}] tasks succeeded"))
            for number in range(done + 1, self.total + 1)
        ]  # fmt: skip
        return [
            *out,
            self.info("Cleaning up resources", 3, logger=PHASE_RUNNER),
            self.info("Stopped taskMonitor", 0, logger=MONITOR),
            self.info(f"Published [{self.total + rng.randint(0, self.total)}] segments", rng.randint(300, 3000)),
        ]
