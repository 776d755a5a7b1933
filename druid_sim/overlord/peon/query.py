"""``query_controller``: an MSQ query's controller starting its stages on worker tasks."""

from __future__ import annotations

import random

from druid_sim.overlord.logblocks import Counter, Event, Num, Tally
from druid_sim.overlord.peon.base import Out, Peon, PeonContext, say

CONTROLLER = "org.apache.druid.msq.exec.ControllerImpl"


class QueryControllerPeon(Peon):
    """``query_controller``: an MSQ query's stages started on their workers, the JVM's metrics between."""

    task_class = "org.apache.druid.msq.indexing.MSQControllerTask"

    def __init__(self, ctx: PeonContext) -> None:
        super().__init__(ctx)
        self.counters["stage"] = Tally("stage", cap=12)

    def event(self, rng: random.Random) -> Event:
        if rng.random() < 0.15:
            where = rng.choice(("LOCAL_STORAGE", "MEMORY", "DURABLE_STORAGE"))
            shuffle = rng.choice(("globalSort", "mix", "hash", "none"))
            message = f"Query [{self.task.id}] using workers[$workers] for stage[$stage], writing to[{where}], shuffle[{shuffle}]."
            return Event((say("INFO", "task-runner-0-priority-0", CONTROLLER, message, workers=Num(1, 4), stage=Counter("stage")),), "stage")  # fmt: skip
        return self.emission(rng)

    def starting(self) -> list[Out]:
        first = f"Query [{self.task.id}] using workers[1] for stage[0], writing to[LOCAL_STORAGE], shuffle[globalSort]."
        return [self.info(first, random.Random(f"{self.task.seed}:start").randint(150, 900), logger=CONTROLLER)]
