"""The cassette indexed for replay: one sequence of answers per distinct normalised request.

Hits are a dictionary lookup on the normalised request; nothing scans the cassette. Near misses are
looked for among the sequences of the same endpoint (``GET /druid/indexer/v1/task/{taskId}/status``),
which is a handful, not the whole cassette.
"""

from __future__ import annotations

import gc
from dataclasses import dataclass, field

from simulator.cassette import Cassette
from simulator.cassette.summary import endpoint
from simulator.replay.answers import Answer
from simulator.replay.normalize import Key, Normalized, normalize_recorded
from simulator.replay.options import MatchRules


@dataclass(slots=True)
class Sequence:
    """Every recorded answer to one normalised request, in recorded order (repeats expanded)."""

    slot: int
    request: Normalized
    answers: list[Answer] = field(default_factory=list)
    interactions: list[int] = field(default_factory=list)  # distinct cassette positions, in order

    def played(self, count: int) -> dict[int, int]:
        """How many times each of its interactions was played after ``count`` plays in recorded order."""
        out = dict.fromkeys(self.interactions, 0)
        for answer in self.answers[: min(count, len(self.answers))]:
            out[answer.interaction] += 1
        return out


@dataclass(slots=True)
class ReplayIndex:
    """Sequences by normalised request, and by endpoint for explaining misses."""

    rules: MatchRules
    sequences: list[Sequence]
    by_key: dict[Key, Sequence]
    _by_endpoint: dict[str, list[Sequence]] | None = None

    @classmethod
    def build(cls, cassette: Cassette, rules: MatchRules) -> ReplayIndex:
        by_key: dict[Key, Sequence] = {}
        sequences: list[Sequence] = []
        gc_was_enabled = gc.isenabled()
        gc.disable()  # hundreds of thousands of small objects: the cyclic GC would only slow the build
        try:
            for position, interaction in enumerate(cassette.interactions):
                normalized = normalize_recorded(interaction.request, rules)
                key = normalized.key
                sequence = by_key.get(key)
                if sequence is None:
                    sequence = Sequence(len(sequences), normalized)
                    by_key[key] = sequence
                    sequences.append(sequence)
                answer = Answer.from_interaction(interaction, position)
                if interaction.count == 1:
                    sequence.answers.append(answer)
                else:
                    sequence.answers.extend([answer] * interaction.count)
                sequence.interactions.append(position)
        finally:
            if gc_was_enabled:
                gc.enable()
        return cls(rules, sequences, by_key)

    @property
    def by_endpoint(self) -> dict[str, list[Sequence]]:
        """Sequences by endpoint template, built on the first miss (hits never need it)."""
        if self._by_endpoint is None:
            grouped: dict[str, list[Sequence]] = {}
            for sequence in self.sequences:
                grouped.setdefault(endpoint(sequence.request.method, sequence.request.path), []).append(sequence)
            self._by_endpoint = grouped
        return self._by_endpoint

    def candidates(self, method: str, path: str) -> list[Sequence]:
        """Sequences worth explaining a miss against: same endpoint first, then the same path, then any."""
        same = list(self.by_endpoint.get(endpoint(method, path), ()))
        if len(same) >= 3:
            return same
        seen = {s.slot for s in same}
        for name, group in self.by_endpoint.items():
            if name.split(" ", 1)[1] == endpoint(method, path).split(" ", 1)[1]:
                same.extend(s for s in group if s.slot not in seen)
        if len(same) >= 3:
            return same
        seen = {s.slot for s in same}
        same.extend(s for s in self.sequences[:2000] if s.slot not in seen)
        return same
