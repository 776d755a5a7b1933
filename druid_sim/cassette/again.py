"""Recording a cassette again: the same header, and the same timings for every exchange that did not change.

Recording the same client flow against the same cluster again should give the same file, so that a
reviewer's diff shows only what really changed (issue 19). Two things in a recording are not the flow
but the run: the redaction salt (random per cassette) and the measured timings (``at``, ``elapsed_ms``:
a few milliseconds of scheduling noise on every line). So a cassette recorded again over itself

* keeps its header (its salt, so every placeholder stays the same, and ``recorded_at``) when it was
  recorded from the same upstream with the same redaction (`again`); otherwise it is a new recording;
* keeps, for each exchange whose request and response are byte for byte what the cassette already held,
  the timings it already had (`KeptTimings`): timing drift alone is not a change. An exchange that
  changed, or is new, gets the timings measured now, ``at`` counted from the start of this recording.

Exchanges are paired in order (`KeptTimings.take`): each new one with the first unused earlier one with
the same request and response, after the last one paired, so a poll more or less shifts nothing else.
"""

from __future__ import annotations

import bisect
import hashlib
import logging
import re
from array import array
from dataclasses import dataclass, field
from pathlib import Path

import orjson

from druid_sim.cassette.errors import CassetteFormatError
from druid_sim.cassette.keys import RedactionKeyError
from druid_sim.cassette.loader import read_meta
from druid_sim.cassette.model import CassetteMeta
from druid_sim.cassette.redact import RedactionRules, Redactor, RuleError, recording_redactor

logger = logging.getLogger(__name__)

#: An interaction line as the writer writes it: the exchange, then its two timings.
_TIMED = re.compile(rb'^(.*),"elapsed_ms":(-?[0-9.eE+-]+),"at":(-?[0-9.eE+-]+)\}$', re.S)


def exchange_key(line: bytes) -> tuple[bytes, float, float] | None:
    """(a digest of the exchange, elapsed_ms, at) of an interaction line as the writer writes it, else None."""
    match = _TIMED.match(line)
    if match is None:
        return None
    try:
        elapsed, at = float(match.group(2)), float(match.group(3))
    except ValueError:
        return None
    return digest(match.group(1)), elapsed, at


def digest(exchange: bytes) -> bytes:
    """16 bytes standing for an encoded exchange: the earlier cassette's exchanges are kept as these only."""
    return hashlib.blake2b(exchange, digest_size=16).digest()


@dataclass(slots=True)
class KeptTimings:
    """The earlier recording's exchanges (in order, repeats expanded) and their timings, held compactly: a
    cassette of millions of repeated polls costs 20 bytes an exchange here (arrays, not objects)."""

    _elapsed: array[float] = field(default_factory=lambda: array("d"))
    _at: array[float] = field(default_factory=lambda: array("d"))
    #: Where each distinct exchange (its digest) occurs, in order.
    _positions: dict[bytes, array[int]] = field(default_factory=dict)
    _cursor: int = 0
    kept: int = 0

    @classmethod
    def read(cls, path: str | Path) -> KeptTimings:
        """The exchanges of the cassette at ``path`` (a line that does not parse is skipped: nothing is kept for it)."""
        kept = cls()
        last: bytes | None = None
        with Path(path).open("rb") as file:
            file.readline()  # the header
            for line in file:
                line = line.rstrip(b"\n")
                if line.startswith(b'{"repeat"'):
                    try:
                        obj = orjson.loads(line)
                        times, at, elapsed = int(obj["repeat"]), float(obj["at"]), float(obj["elapsed_ms"])
                    except (orjson.JSONDecodeError, KeyError, TypeError, ValueError):
                        continue
                    if last is not None:
                        for _ in range(min(times, 1_000_000)):
                            kept.add(last, elapsed, at)
                    continue
                found = exchange_key(line)
                last = None if found is None else found[0]
                if found is not None:
                    kept.add(*found)
        return kept

    def add(self, key: bytes, elapsed_ms: float, at: float) -> None:
        positions = self._positions.get(key)
        if positions is None:
            positions = self._positions[key] = array("L")
        positions.append(len(self._at))
        self._elapsed.append(elapsed_ms)
        self._at.append(at)

    def take(self, key: bytes) -> tuple[float, float] | None:
        """The (elapsed_ms, at) of the first earlier exchange equal to ``key`` after the last one taken, or None."""
        positions = self._positions.get(key)
        if not positions:
            return None
        index = bisect.bisect_left(positions, self._cursor)
        if index == len(positions):
            return None
        position = positions[index]
        self._cursor = position + 1
        self.kept += 1
        return self._elapsed[position], self._at[position]

    def __len__(self) -> int:
        return len(self._at)


@dataclass(frozen=True, slots=True)
class Again:
    """How to record a cassette again: its header, its redactor, and its timings to keep."""

    meta: CassetteMeta
    redactor: Redactor
    timings: KeptTimings


def again(path: str | Path, upstream: str | None, rules: RedactionRules, key_file: str | None = None) -> Again | None:
    """The header, redactor and timings a recording from ``upstream`` (its URL as given, None for a forward
    proxy) over the cassette at ``path`` keeps, or
    None when it is a new recording: no such cassette, another upstream, other redaction rules, or a key
    other than the cassette's (a salt where a key is asked for, or the reverse)."""
    path = Path(path)
    try:
        if not path.is_file() or path.stat().st_size == 0:
            return None
        meta = read_meta(path)
    except (OSError, CassetteFormatError):
        return None
    redaction = meta.redaction
    if redaction is None or (meta.upstream is None) != (upstream is None):
        return None
    asked = (rules.specs, rules.builtin)
    if asked != ((), True) and asked != (redaction.rules, redaction.builtin):  # none given: the cassette's own
        return None
    try:
        fresh = recording_redactor(rules, None, key_file).redaction
        if (redaction.salt is None) != (fresh.salt is None) or (
            redaction.key_id is not None and redaction.key_id != fresh.key_id
        ):
            return None
        redactor = recording_redactor(rules, meta, key_file)
        if upstream is not None and redactor.redact_url(upstream) != meta.upstream:
            return None  # another cluster: a new recording
        timings = KeptTimings.read(path)
    except (RuleError, RedactionKeyError, OSError):
        return None
    return Again(meta, redactor, timings)
