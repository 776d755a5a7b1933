"""The cassette indexed for replay: one sequence of answers per distinct normalised request.

Hits are a dictionary lookup on the normalised request; nothing scans the cassette. Misses are
explained from a second index built with the first, by method and path shape (the path with its task
id, datasource or supervisor id left out: ``GET /druid/indexer/v1/task/{}/status``), then by exact
path: the candidates of a miss are the sequences of the same method and path (differing in query,
headers or body), then those of the same shape (another task id), then the same shape under another
method, at most `CANDIDATES` from each. So a miss costs the same in a cassette of 1,000,000 status
polls of distinct tasks as in one of ten (``python -m bench misses`` measures it).

Building the index is the part of loading a cassette that this package owns, so it does as little as
it can per interaction: the match key, and (for cassettes up to `EAGER_ANSWERS` interactions) the
answer bytes. Bigger cassettes encode each answer the first time it is played and keep it, so a
100,000-interaction cassette loads in about the loader's own time; either way nothing is encoded twice.
"""

from __future__ import annotations

import gc
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from itertools import islice

from druid_sim.cassette import Cassette, Request
from druid_sim.replay.answers import Answer
from druid_sim.replay.normalize import Key, Normalized, normalize_headers, normalize_path, normalize_recorded
from druid_sim.replay.options import MatchRules

#: Up to this many interactions, every answer is encoded while the cassette loads.
EAGER_ANSWERS = 20_000
#: The most sequences a miss is compared with from each tier (same path, same shape, other methods).
CANDIDATES = 64
#: Path segments after which Druid's Tasks API names one thing (a task, a datasource, a supervisor, a worker).
_NAMED_AFTER = frozenset(("task", "datasources", "supervisor", "worker"))
_PREFIX = "/druid/indexer/v1/"


def path_shape(path: str) -> str:
    """``path`` with the id after ``task/``, ``datasources/``, ``supervisor/`` or ``worker/`` left out."""
    if not path.startswith(_PREFIX):
        return path
    head, sep, rest = path[len(_PREFIX) :].partition("/")
    if not sep or head not in _NAMED_AFTER:
        return path
    _, sep, tail = rest.partition("/")
    return f"{_PREFIX}{head}/{{}}{sep}{tail}"


@dataclass(slots=True)
class MissIndex:
    """Sequences by method and path shape, then by exact path: where a miss looks for its nearest."""

    #: (method, shape) → path → its sequences, in recorded order; dicts keep insertion (recorded) order.
    by_shape: dict[tuple[str, str], dict[str, list[Sequence]]] = field(default_factory=dict)
    #: shape → the methods recorded for it.
    methods: dict[str, list[str]] = field(default_factory=dict)

    def add(self, method: str, path: str, sequence: Sequence) -> None:
        shape = path_shape(path)
        paths = self.by_shape.get((method, shape))
        if paths is None:
            paths = self.by_shape[(method, shape)] = {}
            self.methods.setdefault(shape, []).append(method)
        same = paths.get(path)
        if same is None:
            paths[path] = [sequence]
        else:
            same.append(sequence)

    def tiers(self, method: str, path: str) -> list[list[Sequence]]:
        """The candidates of a miss on ``method path``, nearest tier first, at most `CANDIDATES` in each."""
        shape = path_shape(path)
        paths = self.by_shape.get((method, shape), {})
        exact = paths.get(path, [])[:CANDIDATES]
        others = _first(s for other, group in paths.items() if other != path for s in group)
        methods = (m for m in self.methods.get(shape, ()) if m != method)
        elsewhere = _first(s for m in methods for group in self.by_shape[(m, shape)].values() for s in group)
        return [exact, others, elsewhere]


def _first(sequences: Iterator[Sequence]) -> list[Sequence]:
    return list(islice(sequences, CANDIDATES))


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
    misses: MissIndex = field(default_factory=MissIndex)

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
        misses = MissIndex()
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
                    misses.add(key[0], key[1], sequence)
                else:
                    sequence.plays += plays
                if eager:
                    answers[position] = Answer.from_interaction(interaction, position)
        finally:
            if gc_was_enabled:
                gc.enable()
        return cls(cassette, rules, sequences, by_key, answers, redact, misses)

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

    def candidates(self, method: str, path: str) -> list[Sequence]:
        """Sequences worth explaining a miss against: the same method and path, then the same shape (another
        id), and only when that makes fewer than three, the same shape under another method, then any."""
        exact, others, elsewhere = self.misses.tiers(method, path)
        same = exact + others
        if len(same) < 3:
            same += elsewhere
        if len(same) < 3:
            seen = {s.slot for s in same}
            same.extend(s for s in self.sequences[:CANDIDATES] if s.slot not in seen)
        return same
