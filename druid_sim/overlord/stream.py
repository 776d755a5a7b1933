"""A stream's partitions and how far a supervisor's reading lags behind them, from the clock alone.

Each partition's latest offset grows with virtual time at its own rate. A task group's reading is
summed up by the *production time* it has consumed up to: it stands still while no task of the group
reads (suspended, tasks waiting for a slot, the stream unreachable), and while one reads it catches
up at `CATCH_UP` times the production rate until it is `BASE_LAG_MS` behind, or falls behind inside
a scripted slow-consumption window. Lag in messages is then rate x (now - consumed time).
"""

from __future__ import annotations

import itertools
import random
from collections.abc import Sequence
from dataclasses import dataclass

#: How much faster than production a caught-up task reads a backlog.
CATCH_UP = 4.0
#: How far behind a caught-up reader is (one poll and a persist).
BASE_LAG_MS = 1_500
#: Reading speed, as a fraction of production, inside a slow-consumption ("lag") window.
SLOW_READ = 0.3


@dataclass(frozen=True, slots=True)
class Partitions:
    """The stream: per partition, its offset at ``epoch_ms`` and messages per second."""

    epoch_ms: int
    base: tuple[int, ...]
    rates: tuple[float, ...]

    @classmethod
    def make(cls, count: int, messages_per_second: float, epoch_ms: int, seed: str) -> Partitions:
        rng = random.Random(f"partitions:{seed}")
        share = messages_per_second / max(1, count)
        return cls(
            epoch_ms,
            tuple(rng.randrange(10**8, 6 * 10**9) for _ in range(count)),
            tuple(share * rng.uniform(0.7, 1.3) for _ in range(count)),
        )

    def __len__(self) -> int:
        return len(self.base)

    def latest(self, partition: int, at_ms: int) -> int:
        """The partition's end offset at ``at_ms``."""
        return self.base[partition] + int(self.rates[partition] * max(0, at_ms - self.epoch_ms) / 1000)

    def time_of(self, partition: int, offset: int) -> int:
        """When the partition's end offset reached ``offset`` (to read a reset's offsets as a time)."""
        rate = self.rates[partition]
        if rate <= 0:
            return self.epoch_ms
        return self.epoch_ms + int((offset - self.base[partition]) * 1000 / rate)


def consumed_after(consumed_ms: int, start_ms: int, end_ms: int, slow_windows: Sequence[tuple[int, int]] = ()) -> int:
    """The production time a reader has consumed up to at ``end_ms``, reading from ``start_ms`` on.

    Piecewise over the slow windows: catching up at `CATCH_UP` x, never closer than `BASE_LAG_MS`;
    inside a window at `SLOW_READ` x.
    """
    if end_ms <= start_ms:
        return consumed_ms
    cuts = sorted({start_ms, end_ms, *(t for window in slow_windows for t in window if start_ms < t < end_ms)})
    for begin, finish in itertools.pairwise(cuts):
        middle = (begin + finish) // 2
        slow = any(low <= middle < high for low, high in slow_windows)
        speed = SLOW_READ if slow else CATCH_UP
        consumed_ms = max(consumed_ms, min(finish - BASE_LAG_MS, consumed_ms + int(speed * (finish - begin))))
    return consumed_ms
