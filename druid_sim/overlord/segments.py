"""The metadata store's segments and the cluster compaction config, as far as the Overlord's API touches them.

Each datasource the model knows has a month of DAY segments (a few partitions each, one version per
day) ending the day before the clock started; all start used. Marking segments used or unused flips
these flags, so a second call that changes nothing answers ``numChangedSegments: 0`` as Druid does.
The cluster compaction config (``ClusterCompactionConfig``) is kept as last posted; its
``useSupervisors`` is what ``/compaction/isSupervisorEnabled`` answers (reference 16).
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from typing import Any

from druid_sim.clock import format_instant
from druid_sim.overlord.overlord import Overlord

DAY_MS = 24 * 3600 * 1000
#: Days of segments each datasource has.
HISTORY_DAYS = 30
#: ``ClusterCompactionConfig`` with every field at its default, in Jackson's order.
DEFAULT_COMPACTION_CONFIG: dict[str, Any] = {
    "compactionTaskSlotRatio": 0.1,
    "maxCompactionTaskSlots": 2147483647,
    "compactionPolicy": {"type": "newestSegmentFirst"},
    "useSupervisors": False,
    "engine": "native",
}


@dataclass(frozen=True, slots=True)
class Segment:
    """A ``SegmentId``: datasource, interval, version, partition number."""

    datasource: str
    start: int
    end: int
    version: str
    partition: int

    @property
    def id(self) -> str:
        """``SegmentId.toString()``: ``ds_start_end_version`` plus ``_partition`` when it is not 0."""
        text = f"{self.datasource}_{format_instant(self.start)}_{format_instant(self.end)}_{self.version}"
        return text if self.partition == 0 else f"{text}_{self.partition}"


@dataclass(slots=True)
class SegmentMetadata:
    """Used flags of every datasource's segments, made on first use of a datasource."""

    overlord: Overlord
    used: dict[str, dict[Segment, bool]] = field(default_factory=dict)
    compaction_config: dict[str, Any] = field(default_factory=lambda: dict(DEFAULT_COMPACTION_CONFIG))

    def segments(self, datasource: str) -> dict[Segment, bool]:
        found = self.used.get(datasource)
        if found is None:
            found = self.used[datasource] = self._made(datasource) if datasource in self.overlord.datasources else {}
        return found

    def _made(self, datasource: str) -> dict[Segment, bool]:
        rng = random.Random(f"segments:{self.overlord.seed}:{datasource}")
        today = self.overlord.clock.start_ms - self.overlord.clock.start_ms % DAY_MS
        made: dict[Segment, bool] = {}
        for day in range(HISTORY_DAYS, 0, -1):
            start = today - day * DAY_MS
            version = format_instant(start + DAY_MS + rng.randrange(3600_000, 6 * 3600_000))
            for partition in range(rng.choice((1, 2, 3, 4))):
                made[Segment(datasource, start, start + DAY_MS, version, partition)] = True
        return made

    def _flip(self, datasource: str, chosen: list[Segment], used: bool) -> int:
        flags = self.segments(datasource)
        changed = 0
        for segment in chosen:
            if flags.get(segment, used) != used:
                flags[segment] = used
                changed += 1
        return changed

    def mark_all(self, datasource: str, used: bool) -> int:
        return self._flip(datasource, list(self.segments(datasource)), used)

    def mark_interval(self, datasource: str, start: int, end: int, versions: list[str] | None, used: bool) -> int:
        """Segments wholly inside ``[start, end)`` (and of ``versions``, if given)."""
        chosen = [
            segment
            for segment in self.segments(datasource)
            if start <= segment.start and segment.end <= end and (versions is None or segment.version in versions)
        ]
        return self._flip(datasource, chosen, used)

    def mark_ids(self, datasource: str, ids: list[str], used: bool) -> int:
        by_id = {segment.id: segment for segment in self.segments(datasource)}
        return self._flip(datasource, [by_id[i] for i in dict.fromkeys(ids) if i in by_id], used)

    def is_segment_id(self, datasource: str, segment_id: str) -> bool:
        """Whether ``SegmentId.tryParse`` would read ``segment_id`` for ``datasource`` (its shape, not its existence)."""
        if not segment_id.startswith(datasource + "_"):
            return False
        parts = segment_id[len(datasource) + 1 :].split("_")
        return len(parts) >= 3 and all("T" in part for part in parts[:2])


def metadata_of(overlord: Overlord) -> SegmentMetadata:
    """The Overlord's segment metadata (made on first use, dropped with the Overlord on reset)."""
    found = overlord.extras.get("segments")
    if not isinstance(found, SegmentMetadata):
        found = overlord.extras["segments"] = SegmentMetadata(overlord)
    return found
