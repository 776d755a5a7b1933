"""How the task runner picks a MiddleManager for a task: Druid's worker select strategies (reference 18.5).

The Overlord's dynamic worker config (``WorkerBehaviorConfig``, ``POST /druid/indexer/v1/worker``) names
a strategy. This module holds what the model uses of it, with no HTTP and no JSON:

* ``equalDistribution`` (Druid's default, ``WorkerBehaviorConfig.DEFAULT_STRATEGY``): the eligible worker
  with the most free slots; ``fillCapacity``: the one with the most slots used (it fills a worker
  before the next). The ``...WithAffinity`` types are the same with an ``affinityConfig``.
* ``affinityConfig`` (``WorkerSelectUtils.selectWorker``): a datasource listed in ``affinity`` runs on its
  workers; when none has a free slot it waits (``strong``) or takes a worker that is in no affinity
  list. A datasource not listed runs only on workers in no affinity list.
* ``workerCategorySpec`` (``...WithCategorySpec``): every simulated MiddleManager has the default
  category, so a task whose preferred category is another one runs nowhere when ``strong`` and anywhere
  otherwise.

Ties go to the first worker in the order Druid's selector meets them: the ``HashMap`` that
``WorkerSelectUtils.getRunnableWorkers`` collects the workers into, ordered by bucket of the Java hash
of ``host:port`` (`java_map_order`), then by discovery order (the scenario's order).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TypeVar

#: However the caller names a worker (its ``host:port``, an index).
Worker = TypeVar("Worker")

EQUAL_DISTRIBUTION = "equalDistribution"
FILL_CAPACITY = "fillCapacity"
#: Every strategy type Druid 35 knows (``WorkerSelectStrategy``'s ``@JsonSubTypes``), and how each picks.
STRATEGY_KINDS: Mapping[str, str] = {
    "equalDistribution": EQUAL_DISTRIBUTION,
    "equalDistributionWithAffinity": EQUAL_DISTRIBUTION,
    "equalDistributionWithCategorySpec": EQUAL_DISTRIBUTION,
    "fillCapacity": FILL_CAPACITY,
    "fillCapacityWithAffinity": FILL_CAPACITY,
    "fillCapacityWithCategorySpec": FILL_CAPACITY,
}
#: ``druid.worker.category``'s default: the category of every simulated MiddleManager.
DEFAULT_CATEGORY = "_default_worker_category"


@dataclass(frozen=True, slots=True)
class Affinity:
    """``AffinityConfig``: datasource → the workers (``host:port``) it prefers; ``strong``: only those."""

    affinity: Mapping[str, tuple[str, ...]]
    strong: bool = False

    @property
    def workers(self) -> frozenset[str]:
        """``getAffinityWorkers``: every worker named in some list."""
        return frozenset(worker for workers in self.affinity.values() for worker in workers)


@dataclass(frozen=True, slots=True)
class CategorySpec:
    """``WorkerCategorySpec``: per task type, the default category and per-datasource categories."""

    #: task type → (defaultCategory or None, {datasource: category})
    category_map: Mapping[str, tuple[str | None, Mapping[str, str]]]
    strong: bool = False

    def preferred(self, task_type: str, datasource: str) -> str | None:
        config = self.category_map.get(task_type)
        if config is None:
            return None
        default, by_datasource = config
        return by_datasource.get(datasource, default)


@dataclass(frozen=True, slots=True)
class WorkerSelect:
    """The strategy in force: how to pick (``kind``) and which workers a task may use."""

    kind: str = EQUAL_DISTRIBUTION
    affinity: Affinity | None = None
    categories: CategorySpec | None = None

    def tiers(self, task_type: str, datasource: str, workers: Sequence[str]) -> tuple[tuple[str, ...], ...]:
        """The workers (of ``workers``, runnable ones in tie order) a task may take, most preferred first:
        the first tier with a free slot is picked from (``WorkerSelectUtils.selectWorker``)."""
        if self.categories is not None:
            preferred = self.categories.preferred(task_type, datasource)
            if preferred is not None and preferred != DEFAULT_CATEGORY and self.categories.strong:
                return ((),)  # no simulated MiddleManager has that category
            return (tuple(workers),)
        if self.affinity is None:
            return (tuple(workers),)
        taken = self.affinity.workers
        others = tuple(worker for worker in workers if worker not in taken)
        own = self.affinity.affinity.get(datasource)
        if own is None:
            return (others,)
        preferred_workers = tuple(worker for worker in workers if worker in own)
        return (preferred_workers,) if self.affinity.strong else (preferred_workers, others)

    def pick(self, candidates: Sequence[tuple[Worker, int, int]]) -> Worker:
        """The worker ``selectFromEligibleWorkers`` picks among ``(worker, free, used)`` (non-empty, in tie
        order): the most free slots, or the most used; the first on a tie (``Stream.max`` keeps it)."""
        best = candidates[0]
        for candidate in candidates[1:]:
            if self.kind == FILL_CAPACITY:
                if candidate[2] > best[2]:
                    best = candidate
            elif candidate[1] > best[1]:
                best = candidate
        return best[0]


DEFAULT_SELECT = WorkerSelect()


def java_string_hash(text: str) -> int:
    """``String.hashCode()``: over UTF-16 code units, in 32-bit two's complement."""
    value = 0
    data = text.encode("utf-16-be")
    for index in range(0, len(data), 2):
        value = (31 * value + (data[index] << 8 | data[index + 1])) & 0xFFFFFFFF
    return value - (1 << 32) if value >= 1 << 31 else value


def java_map_order(keys: Sequence[str | None]) -> list[int]:
    """Indexes of ``keys`` in the order a ``java.util.HashMap`` filled with them in this order iterates.

    A bucket is ``(h ^ (h >>> 16)) & (table size - 1)``; the table starts at 16 and doubles whenever
    the size passes three quarters of it; keys sharing a bucket keep their insertion order.
    """
    size = 16
    while len(keys) > size * 3 // 4:
        size *= 2

    def bucket(index: int) -> int:
        key = keys[index]
        h = 0 if key is None else java_string_hash(key) & 0xFFFFFFFF  # HashMap.hash(null) is 0
        return (h ^ (h >> 16)) & (size - 1)

    return sorted(range(len(keys)), key=lambda index: (bucket(index), index))
