"""What a Druid peon writes to its task log, by task type: start-up, the work, and the end.

Every line is one Druid (or its libraries: Curator, ZooKeeper, Jetty, the Kafka client) really logs,
with the thread and logger the log4j pattern ``%d{ISO8601} %p [%t] %c - %m%n`` prints. The work, by
type: ``index_kafka`` (:mod:`.kafka`) assigns and seeks its partitions, then persists, checkpoints and
publishes with offsets that keep growing; ``index_parallel`` (:mod:`.parallel`) submits sub-tasks and
counts them (``[3/8] tasks succeeded``), or runs sequentially when ``maxNumConcurrentSubTasks`` is 1;
``index`` and ``compact`` (:mod:`.batch`) persist spills and push segments, ``compact`` first pulling
the segments it rewrites; ``kill`` (:mod:`.kill`) deletes unused segments batch by batch;
``query_controller`` (:mod:`.query`) starts its stages. Between them, the logging emitter's metrics
(``druid.emitter=logging``, among the properties printed at start-up). The start and the end are
common (:mod:`.lifecycle`); a task killed by its MiddleManager (exit code 137, a lost worker) just
stops mid-log.
"""

from __future__ import annotations

from druid_sim.overlord.peon.base import Out, Peon, PeonContext, dig, process_gone
from druid_sim.overlord.peon.batch import BatchPeon, CompactionPeon
from druid_sim.overlord.peon.kafka import KafkaPeon
from druid_sim.overlord.peon.kill import KillPeon
from druid_sim.overlord.peon.lifecycle import ending, startup
from druid_sim.overlord.peon.parallel import ParallelPeon
from druid_sim.overlord.peon.query import QueryControllerPeon

__all__ = ["Out", "Peon", "PeonContext", "ending", "peon_for", "process_gone", "startup"]


def peon_for(ctx: PeonContext) -> Peon:
    """The peon that runs ``ctx.task``, by task type (and, for ``index_parallel``, its sub-task count)."""
    kind = ctx.task.type
    if kind == "index_kafka":
        return KafkaPeon(ctx)
    if kind == "index_parallel":
        concurrent = dig(ctx.payload, "spec", "tuningConfig", "maxNumConcurrentSubTasks")
        if isinstance(concurrent, int) and not isinstance(concurrent, bool) and concurrent > 1:
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
