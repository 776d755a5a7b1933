"""The cassette indexed for replay: one sequence of answers per distinct normalised request.

Hits are a dictionary lookup on the normalised request; nothing scans the cassette. Near misses are
looked for among the sequences of the same endpoint (``GET /druid/indexer/v1/task/{taskId}/status``),
which is a handful, not the whole cassette.

Building the index is the part of loading a cassette that this package owns, so it does as little as
it can per interaction: the match key, and (for cassettes up to `EAGER_ANSWERS` interactions) the
answer bytes. Bigger cassettes encode each answer the first time it is played and keep it, so a
100,000-interaction cassette loads in about the loader's own time; either way nothing is encoded twice.
"""

from __future__ import annotations

import gc
from collections.abc import Callable
from dataclasses import dataclass, field

from druid_sim.cassette import Cassette, Request
from druid_sim.cassette.summary import endpoint
from druid_sim.replay.answers import Answer
from druid_sim.replay.normalize import Key, Normalized, normalize_headers, normalize_path, normalize_recorded
from druid_sim.replay.options import MatchRules

#: Up to this many interactions, every answer is encoded while the cassette loads.
EAGER_ANSWERS = 20_000


@dataclass(slots=True)
class Sequence:
    """Every recorded answer to one normalised request, in recorded order (repeats expanded).

    ``plays[n]`` is the cassette position of the interaction that answers the n-th time.
    """

    slot: int
    first: int  # cassette position of its first interaction
    plays: list[int] = field(default_factory=list)
    _request: Normalized | None = None

    def played(self, count: int) -> dict[int, int]:
        """How many times each of its interactions was played after ``count`` plays in recorded order."""
        out = dict.fromkeys(self.plays, 0)  # its distinct cassette positions, in order
        for position in self.plays[: min(count, len(self.plays))]:
            out[position] += 1
        return out


@dataclass(slots=True)
class ReplayIndex:
    """Sequences by normalised request, answers by cassette position, and sequences by endpoint for misses."""

    cassette: Cassette
    rules: MatchRules
    sequences: list[Sequence]
    by_key: dict[Key, Sequence]
    answers: list[Answer | None]
    #: Applied to recorded requests before they are normalised: None for a redacted cassette (its requests
    #: are stored redacted), the replay's redactor for one recorded without redaction.
    redact: Callable[[Request], Request] | None = None
    _by_endpoint: dict[str, list[Sequence]] | None = None

    @classmethod
    def build(
        cls,
        cassette: Cassette,
        rules: MatchRules,
        eager: bool | None = None,
        redact: Callable[[Request], Request] | None = None,
    ) -> ReplayIndex:
        interactions = cassette.interactions
        eager = len(interactions) <= EAGER_ANSWERS if eager is None else eager
        by_key: dict[Key, Sequence] = {}
        sequences: list[Sequence] = []
        answers: list[Answer | None] = [None] * len(interactions)
        wanted = frozenset(rules.bodiless_headers)
        gc_was_enabled = gc.isenabled()
        gc.disable()  # hundreds of thousands of small objects: the cyclic GC would only slow the build
        try:
            for position, interaction in enumerate(interactions):
                request = interaction.request
                if request.body.kind is None and not request.query and (redact is None or not request.headers):
                    # The usual poll: its key without building a Normalized (the Authorization it carries, if any).
                    headers = normalize_headers(request.headers, rules, False) if wanted and request.headers else ()
                    key: Key = (request.method.upper(), normalize_path(request.path), (), headers, b"")
                else:
                    key = normalize_recorded(request if redact is None else redact(request), rules).key
                plays = [position] * interaction.count
                sequence = by_key.get(key)
                if sequence is None:
                    sequence = by_key[key] = Sequence(len(sequences), position, plays)
                    sequences.append(sequence)
                else:
                    sequence.plays += plays
                if eager:
                    answers[position] = Answer.from_interaction(interaction, position)
        finally:
            if gc_was_enabled:
                gc.enable()
        return cls(cassette, rules, sequences, by_key, answers, redact)

    def answer(self, position: int) -> Answer:
        """The prepared answer of the interaction at ``position`` (encoded on first use if not yet)."""
        answer = self.answers[position]
        if answer is None:
            answer = self.answers[position] = Answer.from_interaction(self.cassette.interactions[position], position)
        return answer

    def request(self, sequence: Sequence) -> Normalized:
        """The normalised request of a sequence (built when a miss needs it)."""
        if sequence._request is None:
            request = self.cassette.interactions[sequence.first].request
            sequence._request = normalize_recorded(request if self.redact is None else self.redact(request), self.rules)
        return sequence._request

    @property
    def by_endpoint(self) -> dict[str, list[Sequence]]:
        """Sequences by endpoint template, built on the first miss (hits never need it)."""
        if self._by_endpoint is None:
            grouped: dict[str, list[Sequence]] = {}
            for sequence in self.sequences:
                request = self.request(sequence)
                grouped.setdefault(endpoint(request.method, request.path), []).append(sequence)
            self._by_endpoint = grouped
        return self._by_endpoint

    def candidates(self, method: str, path: str) -> list[Sequence]:
        """Sequences worth explaining a miss against: same endpoint first, then the same path, then any."""
        wanted = endpoint(method, path)
        same = list(self.by_endpoint.get(wanted, ()))
        if len(same) >= 3:
            return same
        seen = {s.slot for s in same}
        template = wanted.split(" ", 1)[1]
        for name, group in self.by_endpoint.items():
            if name.split(" ", 1)[1] == template:
                same.extend(s for s in group if s.slot not in seen)
        if len(same) >= 3:
            return same
        seen = {s.slot for s in same}
        same.extend(s for s in self.sequences[:2000] if s.slot not in seen)
        return same
